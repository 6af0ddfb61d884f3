"""我的数据 as a worker reads it: each table of what Gridwise holds about them with labelled columns, codes in
words, dates formatted, names instead of internal ids and empty cells for empty values.

The download (core.rights.my_data_file) stays the machine-readable copy with the stored column names and
values; this module only shapes the screen. Columns are labelled ``rights.column.<table>.<column>`` or
``rights.column.<column>``; a pair ``x_zh``/``x_en`` shows as one column ``x`` in the reader's language."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Boolean, Date, DateTime, Float, Integer

from core.i18n import catalog, pick, t
from core.migrate import import_all_models
from core.rights import NAMED_BY, referenced
from core.taxonomy import item_name
from evaluation.scoring.scheme import Scheme
from ui.cells import cell_number, cell_time

# Not shown in the tables (the download has them): row numbers, keys that only join tables, JSON blobs.
HIDDEN = {
    "id",
    "key",
    "link",
    "source_ref",
    "source_key",
    "task_id",
    "ref_key",
    "card",
    "components",
    "scores_json",
    "veto_json",
    "payload",
    "formula",  # a component's rule in the scheme's notation; 我的考评 says it in words
}
# Coded values read as catalog words: the column (``table.column`` or any table's ``column``) → key prefix.
CODES = {
    "worker.status": "status.",
    "app_user.role": "role.",
    "field_event.priority": "field.priority.",
    "field_event.state": "field.state.",
    "field_event.satisfaction": "field.sat.",
    "field_event.source": "rights.code.event_source.",
    "field_rental_building.grade": "field.grade.",
    "field_metric_value.source": "rights.code.figure_source.",
    "field_verification_task.kind": "field.dq.kind.",
    "field_verification_task.state": "rights.code.task_state.",
    "field_deregistration.reason": "field.dq.reason.",
    "quiz_attempt.status": "rights.code.attempt.",
    "assignment_decision.kind": "assign.kind.",
    "assignment_decision.source": "assign.source.",
    "notification.kind": "courses.inbox.kind.",
    "notify_delivery.kind": "courses.inbox.kind.",
    "notify_delivery.state": "notify.state.",
    "notify_delivery.error_kind": "notify.reason.",
    "notify_preference.language": "rights.code.language.",
    "course_attendance.status": "courses.status.",
    "course_attendance.source": "courses.mark_source.",
    "course_enrollment.source": "courses.source.",
    "course_excuse.status": "rights.code.excuse.",
    "training_hours.source": "training.source.",
    "training_group_member.worker_group": "training.group.",
    "correction_request.field": "rights.field.",
    "correction_request.status": "rights.status.",
}
# What a referenced row's NAMED_BY value needs before it is read: a code, a date, an attempt.
TARGET_CODES = {"course_enrollment_rule": "courses.rule."}
TAXONOMY = {"item_code", "suggested_item", "category_code"}
PAIRED = ("_zh", "_en")


def column_label(table: str, column: str, lang: str) -> str | None:
    """The column's header in ``lang``, or None when the catalog has none."""
    words = catalog(lang)
    return words.get(f"rights.column.{table}.{column}") or words.get(f"rights.column.{column}")


def _code(prefix: str, value: Any, lang: str) -> str:
    key = f"{prefix}{value}"
    return t(key, lang) if key in catalog("zh") else str(value)


def _time(value: Any) -> str:
    if isinstance(value, str) and len(value) == 10:  # a date stored as ISO text
        return value
    return cell_time(value)


class Reader:
    """Formats the stored values of 我的数据 for one reader: names of what the rows point to
    (core.rights.my_data_names), the scoring scheme's names for grades and components, the preset names."""

    def __init__(
        self,
        lang: str,
        names: dict[str, dict[Any, tuple[Any, Any]]],
        scheme: Scheme | None = None,
        presets: dict[str, str] | None = None,
    ) -> None:
        self.lang = lang
        self.names = names
        self.scheme_names: dict[str, str] = {}
        if scheme is not None:
            for part in (*scheme.grades, *scheme.components, *scheme.adjustments):
                self.scheme_names[part.code] = pick(lang, part.name_zh, part.name_en)
        self.presets = presets or {}

    def _named(self, target: str, key: Any) -> str:
        zh_en = self.names.get(target, {}).get(key)
        if zh_en is None:
            return f"#{key}"
        zh, en = zh_en
        if target == "quiz_attempt":
            return t("rights.my.attempt", self.lang, n=zh, at=_time(en))
        if target in TARGET_CODES:
            return _code(TARGET_CODES[target], zh, self.lang)
        if target == "training_hours":
            return _time(zh)
        return pick(self.lang, str(zh or ""), str(en or ""))

    def formatter(self, table: str, column: str) -> Callable[[Any], str]:
        """How one column's stored value reads."""
        target = referenced(table, column)
        if target is not None and target[0] in NAMED_BY:
            return lambda v: self._named(target[0], v)
        prefix = CODES.get(f"{table}.{column}")
        if prefix is not None:
            return lambda v: _code(prefix, v, self.lang)
        if column in TAXONOMY:
            return lambda v: item_name(str(v), self.lang)
        if column == "preset":
            return lambda v: self.presets.get(str(v), str(v))
        if column in ("grade", "component", "code") and table in (
            "served_card",
            "scorecard_entry",
            "scorecard_component",
            "score_adjustment",
        ):
            return lambda v: self.scheme_names.get(str(v), str(v))
        if column == "operations":  # an API client's operations, "events.read,events.write"
            sep = t("common.list_sep", self.lang)
            return lambda v: sep.join(_code("api.op.", x, self.lang) for x in str(v).split(",") if x)
        if column == "missing_components":
            sep = t("common.list_sep", self.lang)
            return lambda v: sep.join(self.scheme_names.get(x, x) for x in str(v).split(",") if x)
        kind = import_all_models().tables[table].c[column].type
        if isinstance(kind, Boolean):
            return lambda v: t("common.yes" if v else "common.no", self.lang)
        if isinstance(kind, DateTime | Date):
            return _time
        if isinstance(kind, Float):  # a coordinate keeps its digits, any other figure two decimals at most
            return cell_number if column in ("lat", "lon") else lambda v: cell_number(round(float(v), 2))
        if isinstance(kind, Integer):
            return lambda v: str(int(v))
        return _plain

    def frame(self, table: str, rows: list[dict[str, Any]], own: set[Any]) -> pd.DataFrame:
        """One table as the reader sees it; ``own`` holds the reader's worker and account ids, whose columns
        (worker_id on each of their rows) say nothing and are left out."""
        out: dict[str, list[str]] = {}
        columns = list(rows[0]) if rows else []
        for column in columns:
            if column in HIDDEN or column.endswith(PAIRED[1]):
                continue
            if column in ("worker_id", "user_id") and all(r[column] in own for r in rows):
                continue
            stem = column.removesuffix(PAIRED[0])
            if stem != column and f"{stem}{PAIRED[1]}" in columns:
                values = [pick(self.lang, r[column], r[f"{stem}{PAIRED[1]}"]) for r in rows]
                label = column_label(table, stem, self.lang) or stem
                out[label] = [v or "" for v in values]
                continue
            show = self.formatter(table, column)
            label = column_label(table, column, self.lang) or column
            out[label] = ["" if _empty(r[column]) else show(r[column]) for r in rows]
        return pd.DataFrame(out)


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and pd.isna(value))


def _plain(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime | date):
        return _time(value)
    return str(value)
