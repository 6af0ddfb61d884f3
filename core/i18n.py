"""Translations. Catalogs live in data/locales/<lang>/<area>.json (flat "area.key": "text" maps),
one file per product area so that areas do not edit each other's files. zh is the default."""

from __future__ import annotations

import json
from functools import lru_cache

from core.paths import DATA_DIR

LANGUAGES = ("zh", "en")


class CatalogError(ValueError):
    """A shipped catalog file is broken (a bug in data/locales, not a person's input; core.errors imports this
    module, so the class lives here)."""


LOCALES_DIR = DATA_DIR / "locales"


@lru_cache(maxsize=len(LANGUAGES))
def catalog(lang: str) -> dict[str, str]:
    """All keys of one language, merged from every area file."""
    merged: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / lang).glob("*.json")):
        entries = json.loads(path.read_text(encoding="utf-8"))
        dup = merged.keys() & entries.keys()
        if dup:
            raise CatalogError(f"{path.name} repeats keys defined elsewhere: {sorted(dup)[:5]}")
        merged.update(entries)
    return merged


def t(key: str, lang: str = "zh", /, **params: object) -> str:
    """The text for ``key`` in ``lang`` (falling back to zh, then to the key itself)."""
    text = catalog(lang if lang in LANGUAGES else "zh").get(key)
    if text is None:
        text = catalog("zh").get(key, key)
    return text.format(**params) if params else text


def pick(lang: str, zh: str | None, en: str | None) -> str:
    """Choose between a record's zh and en fields (falling back to whichever exists)."""
    if lang == "en":
        return en or zh or ""
    return zh or en or ""


def col(lang: str, stem: str) -> str:
    """The column holding ``stem`` in ``lang``: ``col("en", "name")`` → ``"name_en"`` (zh otherwise)."""
    return f"{stem}_en" if lang == "en" else f"{stem}_zh"
