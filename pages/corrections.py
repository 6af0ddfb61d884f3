"""Managers: workers' correction requests in scope, answered accepted / declined with a note (the worker is
told in their inbox). Administrators: a second tab erases a departed worker's personal data."""

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.rights import answer_correction, corrections, departed_workers, erase_worker
from core.settings import get_settings
from ui import resources
from ui.audit_reads import record_view
from ui.errors import refusals
from ui.guard import require
from ui.state import lang_key, tr

viewer = require(__file__)

st.title(tr("rights.mgr.title"))
tabs = st.tabs(
    [tr("rights.mgr.tab_requests"), tr("rights.mgr.tab_erase")]
    if viewer.is_admin
    else [tr("rights.mgr.tab_requests")]
)

with tabs[0]:
    st.caption(tr("rights.mgr.caption"))
    open_only = st.toggle(tr("rights.mgr.open_only"), value=True, key="corr_open_only")
    with Session(resources.engine()) as session:
        frame = corrections(session, viewer, open_only=open_only)
    record_view(viewer, "corrections", filters={"open_only": open_only}, rows=len(frame))
    if frame.empty:
        st.info(tr("rights.mgr.none"))
    else:
        shown = pd.DataFrame(
            {
                tr("rights.col.id"): frame["id"],
                tr("rights.col.worker"): frame["worker_name"] + " (" + frame["employee_no"] + ")",
                tr("rights.col.field"): [tr(f"rights.field.{f}") for f in frame["field"]],
                tr("rights.col.message"): frame["message"],
                tr("rights.col.status"): [tr(f"rights.status.{s}") for s in frame["status"]],
                tr("rights.col.answer"): frame["answer_note"],
                tr("rights.col.created"): pd.to_datetime(frame["created_at"]).dt.strftime("%Y-%m-%d %H:%M"),
            }
        )
        st.dataframe(shown, hide_index=True, width="stretch", placeholder="")
        pending = frame[frame["status"] == "open"]
        if not pending.empty:
            with st.form("answer"):
                labels = {
                    int(r.id): f"{r.id} · {r.worker_name} · {tr(f'rights.field.{r.field}')}"
                    for r in pending.itertuples()
                }
                picked = st.selectbox(
                    tr("rights.mgr.pick"), list(labels), format_func=labels.get, key=lang_key("corr_pick")
                )
                note = st.text_area(tr("rights.mgr.note"), max_chars=1000, key="corr_note")
                left, right = st.columns(2)
                accept = left.form_submit_button(tr("rights.mgr.accept"), type="primary", width="stretch")
                decline = right.form_submit_button(tr("rights.mgr.decline"), width="stretch")
            if accept or decline:
                with refusals():
                    with resources.unit_of_work() as session:
                        answer_correction(session, viewer, int(picked), accept=bool(accept), note=note)
                    st.success(tr("rights.mgr.answered"))

if viewer.is_admin:
    with tabs[1]:
        st.caption(tr("rights.erase.caption", days=get_settings().erase_after_days))
        with Session(resources.engine()) as session:
            departed = departed_workers(session, viewer)
        record_view(viewer, "departed_workers", filters={}, rows=len(departed))
        if departed.empty:
            st.info(tr("rights.erase.none"))
        else:
            st.dataframe(departed, hide_index=True, width="stretch", placeholder="")
            todo = departed[departed["erased_at"].isna()]
            if not todo.empty:
                with st.form("erase"):
                    names = {int(r.worker_id): f"{r.employee_no} · {r.name}" for r in todo.itertuples()}
                    wid = st.selectbox(tr("rights.erase.pick"), list(names), format_func=names.get)
                    sure = st.checkbox(tr("rights.erase.confirm"))
                    go = st.form_submit_button(tr("rights.erase.button"), disabled=False)
                if go and sure:
                    with refusals():
                        with resources.unit_of_work() as session:
                            done = erase_worker(session, viewer, int(wid))
                        st.success(tr("rights.erase.done", cells=done["cells"]))
