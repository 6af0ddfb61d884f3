"""Held-out figures for the triage model and the methods it was chosen against.

``evaluate(model, rows)`` gives top-1, top-3, the share flagged unsure and the CPU time per report;
``compare()`` trains each candidate on data/triage/train.csv and scores it on data/triage/heldout.csv:

- ``logreg``: character 1–3-gram TF-IDF + multinomial logistic regression (the shipped model);
- ``naive_bayes``: multinomial naive Bayes (α = 0.1) on the same character 1–3-gram counts;
- ``keywords``: rules from the taxonomy's own item names (the item whose name shares most character
  bigrams with the report), i.e. what a keyword table written from the list alone gives;
- ``logreg+nb``: the mean of the two models' probabilities.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from core.taxonomy import load_taxonomy
from evaluation.triage.examples import TRIAGE_DIR, read_examples
from evaluation.triage.model import UNSURE_BELOW, Classifier, fit, grams, item_codes, normalise

Scorer = Callable[[str], np.ndarray]  # text → one score per item code (higher is likelier)


@dataclass(frozen=True)
class Figures:
    method: str
    reports: int
    top1: float
    top3: float
    unsure_share: float  # share of reports below the confidence threshold (logreg only; else NaN)
    top1_when_sure: float  # top-1 on the reports above the threshold
    cpu_ms_per_report: float

    def line(self) -> str:
        return (
            f"{self.method:<12} top-1 {self.top1:6.1%}  top-3 {self.top3:6.1%}  "
            f"unsure {self.unsure_share:6.1%}  top-1 when sure {self.top1_when_sure:6.1%}  "
            f"CPU {self.cpu_ms_per_report:.3f} ms/report  (n={self.reports})"
        )


def _figures(
    method: str,
    scorer: Scorer,
    rows: Sequence[tuple[str, str]],
    sure: Callable[[np.ndarray], bool] | None = None,
) -> Figures:
    codes = item_codes()
    hit1 = hit3 = unsure = sure_hits = 0
    started = time.process_time()
    scores = [scorer(text) for text, _ in rows]
    cpu = time.process_time() - started
    for s, (_, label) in zip(scores, rows, strict=True):
        order = np.argsort(-s, kind="stable")[:3]
        top = [codes[i] for i in order]
        hit1 += top[0] == label
        hit3 += label in top
        if sure is not None:
            if sure(s):
                sure_hits += top[0] == label
            else:
                unsure += 1
    n = len(rows)
    return Figures(
        method,
        n,
        hit1 / n,
        hit3 / n,
        unsure / n if sure is not None else float("nan"),
        sure_hits / max(1, n - unsure) if sure is not None else float("nan"),
        cpu / n * 1000,
    )


def evaluate(model: Classifier, rows: Sequence[tuple[str, str]], method: str = "logreg") -> Figures:
    return _figures(method, model.probabilities, rows, sure=lambda p: float(p.max()) >= UNSURE_BELOW)


class NaiveBayes:
    def __init__(self, texts: Sequence[str], labels: Sequence[str], alpha: float = 0.1) -> None:
        codes = item_codes()
        counts: dict[str, Counter[str]] = {c: Counter() for c in codes}
        for text, label in zip(texts, labels, strict=True):
            counts[label].update(grams(text))
        self.vocab = {g: i for i, g in enumerate(sorted({g for c in counts.values() for g in c}))}
        table = np.full((len(codes), len(self.vocab)), alpha)
        for k, c in enumerate(codes):
            for g, n in counts[c].items():
                table[k, self.vocab[g]] += n
        self.log_p = np.log(table / table.sum(axis=1, keepdims=True)).T.copy()
        prior = np.array([sum(1 for label in labels if label == c) for c in codes], dtype=float)
        self.log_prior = np.log(prior / prior.sum())

    def probabilities(self, text: str) -> np.ndarray:
        idx = [self.vocab[g] for g in grams(text) if g in self.vocab]
        z = self.log_prior + (self.log_p[idx].sum(axis=0) if idx else 0.0)
        z = np.exp(z - z.max())
        return z / z.sum()


class KeywordRules:
    def __init__(self) -> None:
        names = {i["code"]: i["name_zh"] for c in load_taxonomy()["categories"] for i in c["items"]}
        self.keys = [
            {normalise(names[code])[i : i + 2] for i in range(len(normalise(names[code])) - 1)}
            for code in item_codes()
        ]

    def scores(self, text: str) -> np.ndarray:
        s = normalise(text)
        bigrams = {s[i : i + 2] for i in range(len(s) - 1)}
        return np.array([len(bigrams & k) + 1e-3 * (len(self.keys) - i) for i, k in enumerate(self.keys)])


def compare() -> list[Figures]:
    train = read_examples(TRIAGE_DIR / "train.csv")
    heldout = read_examples(TRIAGE_DIR / "heldout.csv")
    texts, labels = [t for t, _ in train], [label for _, label in train]
    logreg = fit(texts, labels)
    nb = NaiveBayes(texts, labels)
    rules = KeywordRules()
    return [
        evaluate(logreg, heldout),
        _figures("naive_bayes", nb.probabilities, heldout),
        _figures("keywords", rules.scores, heldout),
        _figures("logreg+nb", lambda t: (logreg.probabilities(t) + nb.probabilities(t)) / 2, heldout),
    ]
