"""The shipped 6-category / 43-item patrol taxonomy (data/taxonomy.json, DOMAIN.md §3), read once per process.

Every area takes it from here: courses (skill areas), field events (items, priorities, handlers) and
assignment (qualification courses).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from core.i18n import pick
from core.settings import DATA_DIR


@lru_cache(maxsize=1)
def load_taxonomy() -> dict[str, Any]:
    return json.loads((DATA_DIR / "taxonomy.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _names() -> dict[str, tuple[str, str]]:
    names: dict[str, tuple[str, str]] = {}
    for cat in load_taxonomy()["categories"]:
        names[cat["code"]] = (cat["name_zh"], cat["name_en"])
        for item in cat["items"]:
            names[item["code"]] = (item["name_zh"], item["name_en"])
    return names


def item_name(code: str, lang: str) -> str:
    """The name of a taxonomy item or category in ``lang``; an unknown code is returned as it is."""
    zh_en = _names().get(code)
    return pick(lang, *zh_en) if zh_en else code
