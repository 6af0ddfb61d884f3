"""The course catalog; at district level, a course can be added or edited."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.i18n import pick
from ui.course_admin.common import CourseAdmin
from ui.course_catalog import course_editor
from ui.state import lang, tr


def render(a: CourseAdmin) -> None:
    viewer, catalog, areas, L = a.viewer, a.catalog, a.areas, lang()
    course_ids, course_label, district_level = a.course_ids, a.course_label, a.district_level
    st.dataframe(
        pd.DataFrame(
            {
                tr("courses.col.course"): [course_label[i] for i in catalog["id"]],
                tr("courses.col.skill_area"): catalog["skill_area"].map(
                    lambda code: pick(L, *areas.get(code, (code, code)))
                ),
                tr("courses.col.questions"): catalog["questions"],
                tr("courses.col.pass_mark"): catalog["pass_mark"],
                tr("courses.col.validity"): catalog["validity_months"],
                tr("courses.col.active"): catalog["is_active"],
            }
        ),
        hide_index=True,
        width="stretch",
        placeholder="",
    )
    if not district_level:
        st.caption(tr("courses.catalog.district_only"))
    else:
        pick_id = st.selectbox(
            tr("courses.catalog.edit_pick"),
            [None, *course_ids],
            format_func=lambda i: tr("courses.catalog.new") if i is None else course_label[i],
        )
        course_editor(viewer, pick_id, areas)
