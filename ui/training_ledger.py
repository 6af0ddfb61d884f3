"""The "hours ledger" tab of the training plan page (pages/training_plan.py): one worker's credited hours of the
year, each row by its date, hours, where they came from and the course, and a correction form
(``courses.training.ledger.correct_entry``, one row added, the original kept)."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.i18n import pick
from core.scope import Viewer
from courses.training.ledger import correct_entry, ledger_frame
from ui import resources
from ui.audit_reads import record_view
from ui.cells import cell_number
from ui.errors import refusals
from ui.state import lang, tr


def _shown(rows: pd.DataFrame) -> pd.DataFrame:
    """The ledger as a person reads it: labelled columns, the source in words, empty cells empty. The entry
    number stays (a correction names the entry it corrects); the source's internal reference does not."""
    L = lang()  # noqa: N806 - the pages' name for the language
    return pd.DataFrame(
        {
            tr("training.col.entry"): rows["id"],
            tr("training.col.credited_on"): pd.to_datetime(rows["credited_on"]).dt.strftime("%Y-%m-%d"),
            tr("training.col.hours"): rows["hours"].map(cell_number),
            tr("training.col.source"): rows["source"].map(lambda s: tr(f"training.source.{s}")),
            tr("training.col.title"): [
                pick(L, z, e) if isinstance(z, str) else ""
                for z, e in zip(rows["title_zh"], rows["title_en"], strict=True)
            ],
            tr("training.col.note"): rows["note"].fillna(""),
            tr("training.col.evidence"): rows["evidence"].fillna(""),
            tr("training.col.corrects"): rows["corrects_id"].map(lambda v: "" if pd.isna(v) else str(int(v))),
        }
    )


def ledger_tab(viewer: Viewer, people: pd.DataFrame, year: int) -> None:
    """The tab's content: pick a worker in scope, see their ledger, add a correction."""
    if people.empty:
        st.caption(tr("training.plan.none"))
        return
    names = dict(zip(people["worker_id"], people["employee_no"] + " " + people["name"], strict=True))
    who = st.selectbox(
        tr("training.col.name"), list(names), format_func=lambda w: names[w], key="ledger_worker"
    )
    with Session(resources.engine()) as session:
        rows = ledger_frame(session, viewer, year=year, worker_id=int(who))
    record_view(viewer, "training_ledger", filters={"year": year}, rows=len(rows), entity_id=int(who))
    st.metric(tr("training.col.credited"), f"{rows['hours'].sum():.2f} h" if len(rows) else "0 h")
    st.dataframe(_shown(rows), hide_index=True, width="stretch", placeholder="")
    with st.form("correct"):
        st.caption(tr("training.plan.correct_help"))
        entry = st.selectbox(tr("training.plan.entry"), rows["id"].tolist())
        delta = st.number_input(
            tr("training.plan.hours"), min_value=-200.0, max_value=200.0, value=-0.5, step=0.5
        )
        reason = st.text_input(tr("training.plan.reason"), key="correct_reason")
        if st.form_submit_button(tr("training.plan.correct")) and entry is not None:
            with refusals() as refused:
                with resources.unit_of_work() as session:
                    correct_entry(session, viewer, entry_id=int(entry), hours=float(delta), note=reason)
            if not refused:
                st.success(tr("training.plan.recorded"))
