"""The audit trail in the reader's words: an action, an object and the recorded values as people read them,
not as the code stores them (``signin.ok``, ``web_session 8``, JSON).

Labels come from the catalog: ``audit.action.<action>`` for an action, else the action's family (a view or a
download of personal data, an event step, a sign-in session ending), else its area (``audit.area.<area>``);
``audit.entity.<entity>`` for an object; ``audit.field.<key>`` for a recorded value's name. What has no label
yet reads as its area or as the recorded text, never as nothing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from core.auth import UNKNOWN_USER
from core.i18n import catalog, t
from core.scope import SYSTEM

LIST_SHOWN = 5  # a list of ids shows its first few and how many in all
# Punctuation per language: (between pairs, between a name and its value, between list items, brackets).
PUNCT = {"zh": ("；", "：", "、", "（", "）"), "en": ("; ", ": ", ", ", "(", ")")}


def _label(key: str, lang: str) -> str | None:
    """The catalog text of ``key`` in ``lang``, or None when the catalog has none."""
    return t(key, lang) if key in catalog(lang) or key in catalog("zh") else None


def action_text(action: str, lang: str) -> str:
    """``signin.ok`` → 登录成功; ``view.workers`` → 浏览个人信息：网格员档案; an unknown action → its area."""
    if text := _label(f"audit.action.{action}", lang):
        return text
    area, _, rest = action.partition(".")
    if area in ("view", "export"):
        what = _label(f"audit.what.{rest}", lang) or t("audit.what.other", lang)
        return t(f"audit.action.{area}", lang, what=what)
    if area == "field" and rest.startswith("event."):
        step = _label(f"field.action.{rest.removeprefix('event.')}", lang)
        if step:
            return t("audit.action.field_event", lang, action=step)
    return _label(f"audit.area.{area}", lang) or action


def user_text(username: str, lang: str) -> str:
    """Who acted: a person's username as it is; the system (jobs, the command line) and an unknown sign-in
    name in words."""
    if username == SYSTEM.display_name:
        return t("audit.user.system", lang)
    if username == UNKNOWN_USER:
        return t("audit.user.unknown", lang)
    return username


def entity_text(
    entity: str, entity_id: str, lang: str, names: Mapping[tuple[str, str], str] | None = None
) -> str:
    """The object an entry is about: its kind's label and its number or name (``web_session 8`` → 登录会话 8;
    a course recorded by its code → its title, from ``names``: (entity, id) → name, which the caller reads)."""
    if not entity:
        return entity_id
    kind = _label(f"audit.entity.{entity}", lang) or entity
    value = (names or {}).get((entity, entity_id)) or _label(f"audit.value.{entity_id}", lang) or entity_id
    return f"{kind} {value}".strip()


def _value(value: Any, lang: str, field: str = "") -> str:
    between, _, item, opening, closing = PUNCT.get(lang, PUNCT["zh"])
    if value is None:
        return t("audit.value.empty", lang)
    if isinstance(value, bool):
        return t("audit.value.yes" if value else "audit.value.no", lang)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | dict) and not value:
        return t("audit.value.empty", lang)
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            return between.join(f"{opening}{_pairs(v, lang)}{closing}" for v in value)
        shown = item.join(_value(v, lang) for v in value[:LIST_SHOWN])
        return shown if len(value) <= LIST_SHOWN else t("audit.value.more", lang, shown=shown, n=len(value))
    if isinstance(value, dict):
        return f"{opening}{_pairs(value, lang)}{closing}"
    text = str(value)
    # A code of one field (a failure kind) first, then a value that reads the same in every field.
    return (
        (field and _label(f"audit.value.{field}.{text}", lang)) or _label(f"audit.value.{text}", lang) or text
    )


def _pairs(values: dict[str, Any], lang: str) -> str:
    between, colon = PUNCT.get(lang, PUNCT["zh"])[:2]
    return between.join(
        f"{_label(f'audit.field.{k}', lang) or k}{colon}{_value(v, lang, k)}" for k, v in values.items()
    )


def values_text(raw: object, lang: str) -> str:
    """A recorded JSON value as "名称：值；…" (empty when nothing was recorded); other text as it is."""
    if not isinstance(raw, str) or not raw:  # None, or NaN from a table: nothing was recorded
        return ""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return _pairs(value, lang) if isinstance(value, dict) else _value(value, lang)
