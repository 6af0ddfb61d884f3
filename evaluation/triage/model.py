"""Report text → taxonomy item: character n-gram TF-IDF and a multinomial logistic regression.

Why this method (the figures are printed by ``bench/bench_triage.py --compare`` and quoted in the README):
reports are short, unsegmented Chinese with local words (飞线, 走鬼, 握手楼), typos and no punctuation.
Character 1–3-grams need no word segmenter (nothing to download or ship) and survive a wrong character in
a word; a linear model over them weighs the few grams that matter (充电, 飞线, 押金) against the place and
time words every report carries. It was compared on the held-out set with a multinomial naive Bayes on the
same grams and with keyword rules taken from the item names; see :func:`compare`.

The trained model is a small gzipped JSON file (vocabulary, idf, weights rounded to 4 decimals), written
deterministically by :func:`train` (``gridwise field triage-train``) and read once per process. Numpy and
scipy only; nothing is downloaded at run time.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import optimize, sparse

from core.errors import Misuse
from core.settings import DATA_DIR
from core.taxonomy import load_taxonomy

MODEL_PATH = DATA_DIR / "triage" / "model.json.gz"
MODEL_VERSION = 1
NGRAMS = (1, 2, 3)
MIN_DF = 2  # a gram seen in one example only says nothing general
L2 = 0.1  # ridge on the weights (loss averaged per example: strength L2 / n); 1.0 gave 85.8 % top-1, 0.1 88.4 %
PRUNE_BELOW = 0.05  # weights smaller than this are not shipped (see _pack)
UNSURE_BELOW = 0.2  # top-1 probability under this: shown as unsure, the person asked (held-out: 22 % of reports; 94 % right above it)

_DROP = re.compile(r"[\s\u3000，。：；！？、,.:;!?【】\[\]()（）@#'\"“”‘’《》<>/\\|~～…\-—_*+=]+")
_DIGITS = re.compile(r"[0-9]+")


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, digit runs to one ``0``, punctuation and spaces removed."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return _DROP.sub("", _DIGITS.sub("0", text))


def grams(text: str) -> list[str]:
    s = normalise(text)
    return [s[i : i + n] for n in NGRAMS for i in range(len(s) - n + 1)]


def item_codes() -> list[str]:
    return [item["code"] for cat in load_taxonomy()["categories"] for item in cat["items"]]


@dataclass(frozen=True)
class Suggestion:
    item: str
    confidence: float
    top3: tuple[str, str, str]

    @property
    def unsure(self) -> bool:
        return self.confidence < UNSURE_BELOW


class Classifier:
    """A trained model: scores a text for every item code."""

    def __init__(
        self,
        classes: Sequence[str],
        vocab: Sequence[str],
        idf: np.ndarray,
        weights: np.ndarray,
        bias: np.ndarray,
        meta: dict | None = None,
    ) -> None:
        self.classes = list(classes)
        self.index = {g: i for i, g in enumerate(vocab)}
        self.vocab = list(vocab)
        self.idf = np.asarray(idf, dtype=np.float64)
        self.weights = np.ascontiguousarray(np.asarray(weights, dtype=np.float64).T)  # (vocab, classes)
        self.bias = np.asarray(bias, dtype=np.float64)
        self.meta = meta or {}

    def _vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        counts = Counter(self.index[g] for g in grams(text) if g in self.index)
        if not counts:
            return np.zeros(0, dtype=np.intp), np.zeros(0)
        idx = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
        vals = tf * self.idf[idx]
        return idx, vals / np.sqrt(vals @ vals)

    def probabilities(self, text: str) -> np.ndarray:
        idx, vals = self._vector(text)
        z = self.bias + vals @ self.weights[idx] if len(idx) else self.bias.copy()
        z = np.exp(z - z.max())
        return z / z.sum()

    def suggest(self, text: str) -> Suggestion:
        p = self.probabilities(text)
        order = np.argsort(-p, kind="stable")[:3]
        top = tuple(self.classes[i] for i in order)
        return Suggestion(top[0], float(p[order[0]]), (top[0], top[1], top[2]))

    def to_json(self) -> dict:
        return {
            "version": MODEL_VERSION,
            "method": "char 1-3-gram tf-idf (sublinear tf, l2) + multinomial logistic regression",
            "ngrams": list(NGRAMS),
            "min_df": MIN_DF,
            "l2": L2,
            "unsure_below": UNSURE_BELOW,
            **self.meta,
            "classes": self.classes,
            "vocab": self.vocab,
            "idf": [round(float(x), 4) for x in self.idf],
            "bias": [round(float(x), 4) for x in self.bias],
            "weights": _pack(self.weights),
        }

    @classmethod
    def from_json(cls, data: dict) -> Classifier:
        if data.get("version") != MODEL_VERSION:
            raise Misuse(f"triage model version {data.get('version')} is not {MODEL_VERSION}")
        meta = {k: data[k] for k in ("examples", "train_sha") if k in data}
        return cls(
            data["classes"],
            data["vocab"],
            np.array(data["idf"]),
            _unpack(data["weights"], len(data["vocab"]), len(data["classes"])).T,
            np.array(data["bias"]),
            meta,
        )


def _pack(weights: np.ndarray) -> dict:
    """(vocab, classes) weights as a sparse, int16-quantised table in base64: weights under PRUNE_BELOW in
    magnitude are dropped (80 % of them; held-out top-1 moves by 0.3 points), the rest kept to 1/4096 of the
    largest. Keeps the shipped file near 200 KB."""
    scale = float(np.abs(weights).max()) / 32767 or 1.0
    keep = np.abs(weights) >= PRUNE_BELOW
    rows, cols = np.nonzero(keep)
    indptr = np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype("<i4")
    values = np.round(weights[rows, cols] / scale).astype("<i2")
    b64 = lambda a: base64.b64encode(a.tobytes()).decode()  # noqa: E731
    return {"scale": scale, "indptr": b64(indptr), "classes": b64(cols.astype("u1")), "values": b64(values)}


def _unpack(packed: dict, n_vocab: int, n_classes: int) -> np.ndarray:
    indptr = np.frombuffer(base64.b64decode(packed["indptr"]), dtype="<i4")
    cols = np.frombuffer(base64.b64decode(packed["classes"]), dtype="u1").astype(np.intp)
    values = np.frombuffer(base64.b64decode(packed["values"]), dtype="<i2") * float(packed["scale"])
    rows = np.repeat(np.arange(n_vocab), np.diff(indptr))
    weights = np.zeros((n_vocab, n_classes))
    weights[rows, cols] = values
    return weights


# --- training -------------------------------------------------------------------------------------------


def _design(texts: Sequence[str], vocab: dict[str, int], idf: np.ndarray) -> sparse.csr_matrix:
    rows, cols, vals = [], [], []
    for r, text in enumerate(texts):
        counts = Counter(vocab[g] for g in grams(text) if g in vocab)
        if not counts:
            continue
        idx = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        v = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * idf[idx]
        v /= np.sqrt(v @ v)
        rows.extend([r] * len(idx))
        cols.extend(idx.tolist())
        vals.extend(v.tolist())
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(texts), len(vocab)))


def _vocabulary(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    df: Counter[str] = Counter()
    for text in texts:
        df.update(set(grams(text)))
    vocab = sorted(g for g, n in df.items() if n >= MIN_DF)
    n = len(texts)
    idf = np.array([math.log((1 + n) / (1 + df[g])) + 1.0 for g in vocab])
    return vocab, idf


def fit(texts: Sequence[str], labels: Sequence[str], classes: Sequence[str] | None = None) -> Classifier:
    """Train on (text, item code) pairs. Deterministic: sorted vocabulary, zero start, L-BFGS."""
    classes = list(classes or item_codes())
    cls_index = {c: i for i, c in enumerate(classes)}
    vocab, idf = _vocabulary(texts)
    x = _design(texts, {g: i for i, g in enumerate(vocab)}, idf)
    y = np.array([cls_index[label] for label in labels])
    n, v, k = x.shape[0], x.shape[1], len(classes)
    onehot = np.zeros((n, k))
    onehot[np.arange(n), y] = 1.0
    lam = L2 / n

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[: v * k].reshape(v, k), theta[v * k :]
        z = x @ w + b
        z -= z.max(axis=1, keepdims=True)
        ez = np.exp(z)
        p = ez / ez.sum(axis=1, keepdims=True)
        nll = -np.sum(np.log(p[np.arange(n), y] + 1e-12)) / n
        g = (p - onehot) / n
        gw = x.T @ g + lam * w
        gb = g.sum(axis=0)
        return nll + 0.5 * lam * float(np.sum(w * w)), np.concatenate([np.asarray(gw).ravel(), gb])

    res = optimize.minimize(loss, np.zeros(v * k + k), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    w, b = res.x[: v * k].reshape(v, k), res.x[v * k :]
    return Classifier(classes, vocab, idf, w.T, b, {"examples": n})


# --- the shipped model ----------------------------------------------------------------------------------


def save(model: Classifier, path: Path = MODEL_PATH) -> Path:
    """Gzipped JSON with a fixed header time, so the same examples give the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps(model.to_json(), ensure_ascii=False, separators=(",", ":")).encode()
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(body)
    return path


def load(path: Path = MODEL_PATH) -> Classifier:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return Classifier.from_json(json.load(fh))


@lru_cache(maxsize=1)
def shipped() -> Classifier:
    """The model in data/triage/, loaded once per process."""
    return load()


def suggest(text: str) -> Suggestion:
    return shipped().suggest(text)


def suggest_many(texts: Iterable[str]) -> list[Suggestion]:
    model = shipped()
    return [model.suggest(t) for t in texts]
