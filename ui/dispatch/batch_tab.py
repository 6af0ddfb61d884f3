"""The batch tab: "assign all open" — propose the optimal assignment of every unassigned task, then confirm
(one unit of work for the whole batch) or discard."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.i18n import col
from core.scope import Viewer
from evaluation.assignment import service
from evaluation.assignment.batch import BatchProposal
from evaluation.assignment.explain import explain
from ui import resources
from ui.cells import table_height
from ui.dispatch.common import PRESETS, forget_after_assignment, preset_names
from ui.state import lang, lang_key, tr

PROPOSAL = "assign_proposal"


def _show(proposal: BatchProposal) -> None:
    L = lang()
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(tr("assign.batch.tasks"), proposal.n_tasks)
    c2.metric(tr("assign.batch.proposed"), len(proposal.assigned))
    c3.metric(tr("assign.batch.total"), f"{proposal.total_score:,.1f}")
    c4.metric(
        tr("assign.batch.first_choice"),
        "—" if proposal.assigned.empty else f"{proposal.first_choice_share:.0%}",
    )
    if not proposal.assigned.empty:
        a = proposal.assigned
        st.dataframe(
            pd.DataFrame(
                {
                    tr("assign.col.priority"): a["priority"].map(
                        lambda p: tr(f"assign.priority_rank.{int(p)}")
                    ),
                    tr("assign.col.task"): a[col(L, "title")],
                    tr("assign.col.worker"): a["name"],
                    tr("assign.col.score"): a["score"],
                    tr("assign.col.choice"): a["rank_in_task"],
                    tr("assign.col.why"): explain(a, L, top=3),
                }
            ),
            hide_index=True,
            width="stretch",
            height=table_height(len(a)),
            column_config={tr("assign.col.score"): st.column_config.NumberColumn(format="%.1f")},
            placeholder="",
        )
    if not proposal.unassigned.empty:
        u = proposal.unassigned
        st.warning(tr("assign.batch.left", n=len(u)))
        st.dataframe(
            pd.DataFrame(
                {
                    tr("assign.col.priority"): u["priority"].map(
                        lambda p: tr(f"assign.priority_rank.{int(p)}")
                    ),
                    tr("assign.col.task"): u[col(L, "title")],
                    tr("assign.col.reason"): u["reason"].map(lambda r: tr(f"assign.reason.unassigned.{r}")),
                }
            ),
            hide_index=True,
            width="stretch",
            height=table_height(len(u), 300),
            placeholder="",
        )


def render(viewer: Viewer, ctx: service.Context) -> None:
    # The batch has its own preset (routine by default): the sidebar follows whichever task is open.
    names = preset_names()
    code = (
        st.segmented_control(
            tr("assign.batch.preset"),
            list(PRESETS),
            default="routine",
            key=lang_key("assign_batch_preset"),
            format_func=names.get,
        )
        or "routine"
    )
    st.caption(tr("assign.batch.caption", preset=names[code]))
    if st.button(tr("assign.batch.propose"), icon=":material/auto_awesome:", key="assign_batch_propose"):
        with st.status(tr("assign.batch.working"), expanded=False) as status:
            with Session(resources.engine()) as session:
                st.session_state[PROPOSAL] = service.propose_batch(session, viewer, code, ctx=ctx)
            status.update(label=tr("assign.batch.ready"), state="complete")
    proposal = st.session_state.get(PROPOSAL)
    if proposal is not None:
        _show(proposal)
        b1, b2 = st.columns(2)
        if b1.button(
            tr("assign.batch.confirm"),
            type="primary",
            disabled=proposal.assigned.empty,
            key="assign_batch_confirm",
            icon=":material/done_all:",
        ):
            with resources.unit_of_work() as session:
                result = service.commit_batch(session, viewer, proposal, now=ctx.now)
            st.session_state.pop(PROPOSAL, None)
            forget_after_assignment()
            st.session_state["assign_batch_done"] = tr("assign.batch.done", **result)
            st.rerun()
        if b2.button(tr("assign.batch.discard"), key="assign_batch_discard"):
            st.session_state.pop(PROPOSAL, None)
            st.rerun()
    if done := st.session_state.pop("assign_batch_done", None):
        st.success(done)
