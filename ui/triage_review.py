"""The events page's tab of unconfirmed suggestions: events that came with text and no item carry the
suggested item and its confidence until a manager confirms it or picks another (an ``st.fragment``: picking
and confirming rerun only the tab)."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.i18n import pick
from core.privacy import mask_text
from core.scope import Viewer
from core.tabular import safe_frame
from evaluation.field.registry import item_lookup
from evaluation.triage.reports import confirm_item, unconfirmed_events
from ui import resources
from ui.errors import refusals
from ui.state import lang, lang_key, tr


def pending(viewer: Viewer) -> pd.DataFrame:
    with Session(resources.engine()) as session:
        return unconfirmed_events(session, viewer)


def _label(code: str) -> str:
    meta = item_lookup().get(code, {})
    return f"{code} {pick(lang(), meta.get('item_zh'), meta.get('item_en'))}"


def _confirm(viewer: Viewer, event_id: int, event_no: str) -> None:
    item = st.session_state.get(f"triage_item_{event_id}")
    with refusals() as refused:
        with resources.unit_of_work() as session:
            confirm_item(session, viewer, event_id=event_id, item_code=str(item))
    if not refused:
        st.session_state["triage_flash"] = tr("triage.review.done", event_no=event_no, item=_label(str(item)))


@st.fragment
def review(viewer: Viewer) -> None:
    if flash := st.session_state.pop("triage_flash", None):
        st.success(flash)
    rows = pending(viewer)
    if rows.empty:
        st.info(tr("triage.review.none"))
        return
    st.caption(tr("triage.review.caption", n=len(rows)))
    st.dataframe(
        safe_frame(
            pd.DataFrame(
                {
                    tr("field.col.event_no"): rows["event_no"],
                    tr("triage.review.text"): rows["report_text"].map(mask_text),
                    tr("triage.review.suggested"): rows["suggested_item"].map(_label),
                    tr("triage.review.confidence"): rows["confidence"],
                }
            )
        ),
        hide_index=True,
        width="stretch",
        column_config={
            tr("triage.review.confidence"): st.column_config.ProgressColumn(
                min_value=0, max_value=1, format="percent"
            )
        },
        placeholder="",
    )
    by_id = {int(r.id): r for r in rows.itertuples(index=False)}
    chosen = st.selectbox(
        tr("triage.review.pick"),
        list(by_id),
        key="triage_pick",
        format_func=lambda i: f"{by_id[i].event_no} · {mask_text(by_id[i].report_text)[:40]}",
    )
    row = by_id[int(chosen)]
    codes = list(item_lookup())
    st.selectbox(
        tr("triage.review.item"),
        codes,
        index=codes.index(row.suggested_item) if row.suggested_item in codes else 0,
        key=lang_key(f"triage_item_{row.id}"),
        format_func=_label,
    )
    st.button(
        tr("triage.review.confirm"),
        type="primary",
        on_click=_confirm,
        args=(viewer, int(row.id), str(row.event_no)),
    )
