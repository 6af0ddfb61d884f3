"""数据质量 drill-down: the rows behind a check as a manager reads them — labelled columns, names instead of ids,
reasons and items in words (the check functions return keys and codes for the task generator)."""

from __future__ import annotations

import pandas as pd

from core.privacy import mask_reference, mask_text
from core.taxonomy import item_name
from ui.state import lang, tr

# Per check: the columns shown, in order, each with its catalog label.
DRILL_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "address_codes": [
        ("standard_address", "field.dq.col.standard_address"),
        ("house_code", "field.dq.col.house_code"),
        ("community", "field.dq.community"),
        ("worker_name", "field.dq.col.worker"),
    ],
    "visit_overflow": [
        ("name", "field.dq.col.worker"),
        ("employee_no", "field.dq.col.employee_no"),
        ("day", "field.dq.col.day"),
        ("visits", "field.dq.col.visits"),
        ("community", "field.dq.community"),
    ],
    "duplicate_event": [
        ("event_no", "field.col.event_no"),
        ("first_event_no", "field.dq.col.first_event_no"),
        ("item", "field.col.item"),
        ("building_code", "field.dq.col.building_code"),
        ("reported_at", "field.col.reported_at"),
        ("community", "field.dq.community"),
    ],
    "reversed_dereg": [
        ("person_ref", "field.dq.col.person_ref"),
        ("reason", "field.dq.col.reason"),
        ("deregistered_at", "field.dq.col.deregistered_at"),
        ("reversed_at", "field.dq.col.reversed_at"),
        ("worker_name", "field.dq.col.worker"),
        ("community", "field.dq.community"),
    ],
}


def drill_table(kind: str, rows: pd.DataFrame, communities: dict[int, str]) -> pd.DataFrame:
    """The rows of one check with the columns of ``DRILL_COLUMNS[kind]``, labelled in the viewer's language."""
    L = lang()
    shown = rows.assign(community=rows["community_id"].map(communities))
    if "item_code" in shown.columns:
        shown["item"] = [item_name(c, L) if isinstance(c, str) else "" for c in shown["item_code"]]
    if "reason" in shown.columns:
        shown["reason"] = shown["reason"].map(lambda r: tr(f"field.dq.reason.{r}"))
    if "person_ref" in shown.columns:  # a resident's record: masked on the screen and in the CSV
        shown["person_ref"] = shown["person_ref"].map(mask_reference)
    if "standard_address" in shown.columns:  # typed by hand: a phone or ID number in it is masked
        shown["standard_address"] = shown["standard_address"].map(mask_text)
    for name in ("worker_name", "name"):
        if name in shown.columns:
            shown[name] = shown[name].fillna("—")
    columns = DRILL_COLUMNS[kind]
    return shown[[c for c, _ in columns]].rename(columns={c: tr(key) for c, key in columns})
