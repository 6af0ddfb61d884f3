"""The 督导看板 tab of the training plan page (pages/training_plan.py): the served figures of a plan year's
latest month (courses.training.progress, kept by the ledger job) — headline, communities, the workers behind,
overdue compulsory courses, new hires past their pre-service deadline — with the time of the figures."""

from __future__ import annotations

import streamlit as st
from sqlmodel import Session

from core.i18n import col
from core.scope import Viewer
from courses.training import progress
from courses.training.charts import community_completion_chart
from courses.training.progress import Figures
from ui import resources
from ui.state import lang, tr
from ui.training_bulletin import figures_caption, shown_table


def dashboard_tab(viewer: Viewer, year: int, figures: Figures | None, *, has_plan: bool) -> int:
    """The tab's content; returns the rows shown (for the read's audit record). ``has_plan``: a plan applies
    to the viewer's workers this year (without one the job serves nothing, and says so differently)."""
    L = lang()  # noqa: N806 - the pages' name for the language
    if figures is None:
        st.info(tr("training.plan.not_served" if has_plan else "training.plan.empty", year=year))
        return 0
    with Session(resources.engine()) as session:
        head = progress.headline(session, viewer, figures)
        if head["required_to_date"] == 0:
            st.info(tr("training.plan.empty", year=year))
            return 0
        summary = progress.communities(session, viewer, figures)
        behind = progress.workers(session, viewer, figures, flag="behind")
        over = progress.overdue(session, viewer, figures)
        pre = progress.workers(session, viewer, figures, flag="preservice_overdue")
    figures_caption(figures)
    m = st.columns(4)
    m[0].metric(tr("training.col.completion"), f"{(head['completion'] or 0) * 100:.0f}%")
    m[1].metric(tr("training.col.behind"), head["behind"])
    m[2].metric(tr("training.col.preservice_overdue"), head["preservice_overdue"])
    m[3].metric(tr("training.col.compulsory_overdue"), head["compulsory_overdue"])
    st.altair_chart(community_completion_chart(summary, L), width="stretch")
    st.subheader(tr("training.bulletin.sheet.behind"))
    show = ["employee_no", "name", col(L, "community"), "required_to_date", "credited", "completion"]
    st.dataframe(
        shown_table(behind.sort_values("completion"), show), hide_index=True, width="stretch", placeholder=""
    )
    st.subheader(tr("training.bulletin.sheet.overdue"))
    if over.empty:
        st.caption(tr("training.plan.none"))
    else:
        cols = ["employee_no", "name", col(L, "community"), col(L, "title"), "due", "days_over"]
        st.dataframe(shown_table(over, cols), hide_index=True, width="stretch", placeholder="")
    st.subheader(tr("training.bulletin.sheet.preservice"))
    if pre.empty:
        st.caption(tr("training.plan.none"))
    else:
        cols = [
            "employee_no",
            "name",
            col(L, "community"),
            "hire_date",
            "preservice_deadline",
            "preservice_hours",
            "preservice_credited",
        ]
        st.dataframe(shown_table(pre, cols), hide_index=True, width="stretch", placeholder="")
    return len(behind) + len(over) + len(pre)
