""" "What would raise the score": the components with the most points still to gain and the courses that train
them, shown on the worker's own card (pages/my_scorecard.py, a link to my courses) and on a manager's view of one
worker (pages/scorecard.py, a button that enrols the worker)."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.i18n import col
from core.scope import Viewer
from evaluation.scoring.service import (
    course_rows_for_components,
    enroll_for_improvement,
    improvement_rows,
)
from ui import resources
from ui.errors import refusals
from ui.state import lang, tr

SHOWN = 3  # the options worth a person's attention


def improvement_section(
    viewer: Viewer, components: pd.DataFrame | list[dict], *, enroll_worker_id: int | None = None
) -> None:
    """The section: up to three components by points to gain, each with its courses. With ``enroll_worker_id``
    (a manager's view) each course has an enrol button for that worker; without it (the worker's own card) the
    courses are listed and the section ends with a link to my courses. ``components``: the card's components
    (a frame or its records)."""
    L = lang()  # noqa: N806 - the pages' name for the language
    name_col, title_col = col(L, "name"), col(L, "title")
    st.subheader(tr("score.improve"))
    rows = components.to_dict("records") if isinstance(components, pd.DataFrame) else components
    options, ties = improvement_rows(rows)
    for tied in ties:  # said plainly, not offered as a way up
        st.caption(
            tr(
                "score.improve_tied",
                component=tied[name_col],
                value=_value_text(tied),
                cohort=tr(f"score.cohort.{tied['cohort']}"),
                points=f"{tied['points']:.1f}",
                weight=f"{tied['eff_weight']:.1f}",
            )
        )
    if not options:
        st.success(tr("score.improve_none"))
        return
    with Session(resources.engine()) as session:
        courses = course_rows_for_components(session, options, limit=SHOWN)
    for opt in options[:SHOWN]:
        offer = [c for c in courses if c["component"] == opt["component"]]
        with st.container(border=True):
            if opt["ranked"] and pd.notna(opt["cohort_rank"]):
                text = tr(
                    "score.improve_item_ranked",
                    component=opt[name_col],
                    value=_value_text(opt),
                    cohort=tr(f"score.cohort.{opt['cohort']}"),
                    rank=f"{opt['cohort_rank']:.0f}",
                    n=f"{opt['cohort_n']:.0f}",
                    gain=f"{opt['gain']:.1f}",
                )
            else:
                text = tr(
                    "score.improve_item",
                    component=opt[name_col],
                    gain=f"{opt['gain']:.1f}",
                    value=_value_text(opt),
                )
            st.markdown(text)
            if not offer:
                st.caption(tr("score.no_course"))
            for course in offer:
                label = f"📘 {course[title_col]}"
                if enroll_worker_id is None:
                    st.write(label)
                    continue
                c = st.columns([3, 1])
                c[0].write(label)
                if c[1].button(
                    tr("score.enroll"),
                    key=f"enroll_{opt['component']}_{course['code']}",
                    icon=":material/person_add:",
                ):
                    with refusals():
                        with resources.unit_of_work() as session:
                            n = enroll_for_improvement(
                                session,
                                viewer,
                                worker_id=enroll_worker_id,
                                course_code=str(course["code"]),
                                component=str(opt["component"]),
                            )
                        st.success(tr("score.enrolled") if n else tr("score.already_enrolled"))
    if enroll_worker_id is None:
        st.page_link("pages/my_learning.py", label=tr("menu.my_learning"), icon=":material/school:")


def _value_text(row: dict) -> str:
    return f"{row['value']:.1f}{'%' if row['unit'] == '%' else ''}"
