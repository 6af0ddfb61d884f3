"""Triage as the rest of the system uses it: a file of report texts → suggested items, and one text →
a suggestion with its category, default priority and handler from data/taxonomy.json.

Files are read with core.tabular like every other import (CSV in any encoding or .xlsx, a ``text`` column
under a Chinese or English header). A file that cannot be read, has no ``text`` column, no rows or an
empty text is refused whole with one :class:`TriageRefused` naming the file and the first row at fault.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from core.errors import GridwiseError
from core.i18n import t
from core.tabular import Column, RowError, Schema, read_table
from core.taxonomy import load_taxonomy
from evaluation.triage import model as triage_model
from evaluation.triage.examples import TRIAGE_DIR, read_examples

MAX_TEXT = 2000

TEXT_SCHEMA = Schema(
    name="triage",
    columns=[
        Column(
            "text",
            ["text", "内容", "事件描述", "描述", "问题描述", "诉求内容", "report", "description"],
            required=True,
            max_length=MAX_TEXT,
            label_zh="内容",
            label_en="text",
            example="12栋消防车道停满私家车",
        )
    ],
)


class TriageRefused(GridwiseError):
    """A file refused whole: ``problem`` is core.tabular's message for the first row (or the file) at fault."""

    def __init__(self, filename: str, problem: RowError, count: int) -> None:
        self.problem, self.count = problem, count
        super().__init__("triage.refused", filename=filename, n=count, problem="")

    def message(self, lang: str) -> str:
        return t(
            "triage.refused",
            lang,
            filename=self.params["filename"],
            n=self.count,
            problem=self.problem.message(lang),
        )

    def __str__(self) -> str:
        return self.message("en")


def item_info(code: str) -> dict[str, Any]:
    for cat in load_taxonomy()["categories"]:
        for item in cat["items"]:
            if item["code"] == code:
                return {
                    "item": code,
                    "category": cat["code"],
                    "name_zh": item["name_zh"],
                    "name_en": item["name_en"],
                    "default_priority": item["default_priority"],
                    "handler": item["handler"],
                }
    raise KeyError(code)


def suggest(text: str) -> dict[str, Any]:
    """One text → ``item``, ``confidence`` (0–1), ``top3``, ``unsure`` and the item's taxonomy facts."""
    s = triage_model.suggest(text)
    return {
        **item_info(s.item),
        "confidence": round(s.confidence, 4),
        "top3": list(s.top3),
        "unsure": s.unsure,
    }


def triage_file(data: bytes, filename: str) -> list[dict[str, Any]]:
    """Every row's suggestion, in the file's order: ``text``, ``item``, ``confidence``, ``top3``, ``unsure``."""
    result = read_table(data, filename, TEXT_SCHEMA)
    if result.errors:
        raise TriageRefused(filename, result.errors[0], result.error_count)
    if not len(result.rows):
        raise TriageRefused(filename, _no_rows(filename, result.warnings), 1)
    texts = [str(x) for x in result.rows["text"]]
    out = []
    for text, s in zip(texts, triage_model.suggest_many(texts), strict=True):
        out.append(
            {
                "text": text,
                "item": s.item,
                "confidence": round(s.confidence, 4),
                "top3": list(s.top3),
                "unsure": s.unsure,
            }
        )
    return out


def _no_rows(filename: str, warnings: list[RowError]) -> RowError:
    for w in warnings:
        if w.code == "no_rows":
            return w
    zh, en = (t("tabular.no_rows", lang, filename=filename) for lang in ("zh", "en"))
    return RowError(None, None, None, "no_rows", zh, en)


def train(examples: Path = TRIAGE_DIR / "train.csv", out: Path = triage_model.MODEL_PATH) -> dict[str, Any]:
    """Fit the model on the shipped examples and write it: the same examples give the same file."""
    rows = read_examples(examples)
    model = triage_model.fit([text for text, _ in rows], [item for _, item in rows])
    model.meta["train_sha"] = hashlib.sha256(examples.read_bytes()).hexdigest()[:16]
    path = triage_model.save(model, out)
    triage_model.shipped.cache_clear()
    return {
        "path": str(path),
        "examples": len(rows),
        "vocabulary": len(model.vocab),
        "bytes": path.stat().st_size,
    }
