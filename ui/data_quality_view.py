"""数据质量 drill-down: the rows behind a check as a manager reads them — labelled columns, names instead of ids,
reasons and items in words (the check functions return keys and codes for the task generator) — read from the
data-quality job's findings: a bounded page of them on the screen, all of them in the CSV when it is clicked."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.i18n import t
from core.privacy import mask_reference, mask_text
from core.scope import Viewer
from core.tabular import safe_frame
from core.taxonomy import item_name
from evaluation.field.findings import DRILL_LIMIT, finding_rows
from ui import resources
from ui.audit_reads import download_button as audited_download
from ui.audit_reads import record_view
from ui.cells import table_height
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


def drill_table(
    kind: str, rows: pd.DataFrame, communities: dict[int, str], language: str | None = None
) -> pd.DataFrame:
    """The rows of one check with the columns of ``DRILL_COLUMNS[kind]``, labelled in ``language`` (default:
    the viewer's; given when this runs outside the page's script, as the CSV's deferred build does)."""
    L = language or lang()
    shown = rows.assign(community=rows["community_id"].map(communities))
    if "item_code" in shown.columns:
        shown["item"] = [item_name(c, L) if isinstance(c, str) else "" for c in shown["item_code"]]
    if "reason" in shown.columns:
        shown["reason"] = shown["reason"].map(lambda r: t(f"field.dq.reason.{r}", L))
    if "person_ref" in shown.columns:  # a resident's record: masked on the screen and in the CSV
        shown["person_ref"] = shown["person_ref"].map(mask_reference)
    if "standard_address" in shown.columns:  # typed by hand: a phone or ID number in it is masked
        shown["standard_address"] = shown["standard_address"].map(mask_text)
    for name in ("worker_name", "name"):
        if name in shown.columns:
            shown[name] = shown[name].fillna("—")
    columns = DRILL_COLUMNS[kind]
    return shown[[c for c, _ in columns]].rename(columns={c: t(key, L) for c, key in columns})


def drill_csv(
    engine: Engine,
    viewer: Viewer,
    kind: str,
    community_id: int | None,
    communities: dict[int, str],
    language: str,
) -> bytes:
    """Every finding of ``kind`` in the viewer's scope (one community's when given) as the screen labels and
    masks them, as CSV with a BOM for Excel."""
    with Session(engine) as session:
        rows = finding_rows(session, viewer, kind, community_id=community_id, limit=None)
    table = drill_table(kind, rows, communities, language)
    return safe_frame(table).to_csv(index=False).encode("utf-8-sig")


def show_drill(
    viewer: Viewer, kind: str, community_id: int | None, communities: dict[int, str], total: int
) -> None:
    """The first ``DRILL_LIMIT`` findings of ``kind`` (of ``total`` in the chosen scope) with a "showing N of
    M" caption, the view audited, and the CSV of all ``total`` built only when its button is clicked."""
    with Session(resources.engine()) as session:
        rows = finding_rows(session, viewer, kind, community_id=community_id, limit=DRILL_LIMIT)
    shown = drill_table(kind, rows, communities)
    filters = {"kind": kind, "community_id": community_id}
    if total > len(shown):
        st.caption(tr("field.dq.showing", n=len(shown), m=total))
    else:
        st.caption(tr("common.rows", n=len(shown)))
    record_view(viewer, "data_quality", filters=filters, rows=len(shown))
    st.dataframe(
        safe_frame(shown),
        hide_index=True,
        width="stretch",
        height=table_height(len(shown), 360),
        placeholder="",
    )
    if total:
        audited_download(
            tr("common.download_csv"),
            _deferred_csv(resources.engine(), viewer, kind, community_id, communities, lang()),
            viewer=viewer,
            what="data_quality",
            filters=filters,
            rows=total,
            file_name=f"data_quality_{kind}.csv",
            mime="text/csv",
        )


def _deferred_csv(
    engine: Engine,
    viewer: Viewer,
    kind: str,
    community_id: int | None,
    communities: dict[int, str],
    language: str,
) -> Callable[[], bytes]:
    """The CSV's builder, run by Streamlit on its own thread when the button is clicked (so no session state
    there: the engine and the language are taken now)."""
    return lambda: drill_csv(engine, viewer, kind, community_id, communities, language)
