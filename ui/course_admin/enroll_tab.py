"""Enrol workers in a course by hand or by rule, and the list of who is enrolled."""

from __future__ import annotations

from datetime import datetime, time

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.errors import GridwiseError
from core.i18n import pick
from core.org import worker_names
from courses.enrollment import (
    add_rule,
    deactivate_rule,
    enroll,
    enrolled_frame,
    rules_frame,
)
from courses.models import RuleKind
from ui import resources
from ui.audit_reads import record_view
from ui.cells import table_height
from ui.course_admin.common import CourseAdmin
from ui.errors import show_error
from ui.state import lang, lang_key, tr


def render(a: CourseAdmin) -> None:
    viewer, district_level, L = a.viewer, a.district_level, lang()
    course_ids, course_label, unit_label = a.course_ids, a.course_label, a.unit_label
    if course_ids:
        course_id = st.selectbox(
            tr("courses.col.course"), course_ids, format_func=course_label.get, key=lang_key("enr_course")
        )
        by_hand, by_rule = st.columns(2)
        with by_hand:
            st.markdown(f"**{tr('courses.enroll.by_hand')}**")
            with Session(resources.engine()) as session:
                everyone = worker_names(session, viewer, status="active")
            label = dict(zip(everyone["id"], everyone["employee_no"] + " · " + everyone["name"], strict=True))
            with st.form("enroll_hand", clear_on_submit=True):
                chosen = st.multiselect(
                    tr("courses.enroll.workers"),
                    everyone["id"].tolist(),
                    format_func=label.get,
                    placeholder=tr("common.choose_many"),
                )
                reason = st.text_input(tr("courses.enroll.reason"))
                due = st.date_input(
                    tr("courses.enroll.quiz_due"), value=None, help=tr("courses.enroll.quiz_due_help")
                )
                go = st.form_submit_button(tr("courses.enroll.submit"), type="primary")
            if go:
                try:
                    with resources.unit_of_work() as session:
                        n = enroll(
                            session,
                            viewer,
                            course_id=course_id,
                            worker_ids=chosen,
                            reason=reason,
                            quiz_due_at=datetime.combine(due, time(23, 59)) if due else None,
                        )
                    st.success(tr("courses.enroll.done", n=n))
                except GridwiseError as exc:
                    show_error(exc)
        with by_rule:
            st.markdown(f"**{tr('courses.enroll.by_rule')}**")
            with st.form("enroll_rule"):
                kind = st.selectbox(
                    tr("courses.rule.kind"),
                    [k.value for k in RuleKind],
                    format_func=lambda k: tr(f"courses.rule.{k}"),
                )
                unit = st.selectbox(
                    tr("courses.rule.unit"),
                    ([None] if district_level else []) + list(unit_label),
                    format_func=lambda u: tr("courses.rule.whole_scope") if u is None else unit_label[u],
                )
                cert_course = st.selectbox(
                    tr("courses.rule.cert_course"),
                    course_ids,
                    format_func=course_label.get,
                    index=course_ids.index(course_id),
                )
                go_rule = st.form_submit_button(tr("courses.rule.submit"), type="primary")
            if go_rule:
                try:
                    with resources.unit_of_work() as session:
                        _, n = add_rule(
                            session,
                            viewer,
                            course_id=course_id,
                            kind=RuleKind(kind),
                            unit_id=unit,
                            cert_course_id=cert_course,
                        )
                    st.success(tr("courses.rule.done", n=n))
                except GridwiseError as exc:
                    show_error(exc)
        with Session(resources.engine()) as session:
            rules = rules_frame(session, viewer, course_id)
            enrolled = enrolled_frame(session, viewer, course_id)
        record_view(viewer, "enrolled", filters={"course_id": course_id}, rows=len(enrolled))
        active = rules[rules["is_active"]] if not rules.empty else rules
        if not active.empty:
            st.markdown(f"**{tr('courses.rule.active')}**")
            for r in active.itertuples():
                c1, c2 = st.columns([4, 1])
                unit_name = (
                    pick(L, r.unit_zh, r.unit_en) if pd.notna(r.unit_zh) else tr("courses.rule.whole_scope")
                )
                c1.write(f"{tr('courses.rule.' + r.kind)} · {unit_name}")
                if c2.button(tr("courses.rule.stop"), key=f"stop_rule_{r.id}"):
                    with resources.unit_of_work() as session:
                        deactivate_rule(session, viewer, int(r.id))
                    st.rerun()
        st.markdown(f"**{tr('courses.enroll.list', n=len(enrolled))}**")
        st.dataframe(
            pd.DataFrame(
                {
                    tr("col.employee_no"): enrolled["employee_no"],
                    tr("col.name"): enrolled["name"],
                    tr("col.community"): [
                        pick(L, z, e)
                        for z, e in zip(enrolled["community_zh"], enrolled["community_en"], strict=True)
                    ],
                    tr("col.party_member"): enrolled["party_member"],
                    tr("courses.col.source"): enrolled["source"].map(lambda s: tr(f"courses.source.{s}")),
                    tr("courses.enroll.reason"): enrolled["reason"],
                    tr("courses.col.enrolled_at"): enrolled["enrolled_at"],
                }
            ),
            hide_index=True,
            width="stretch",
            height=table_height(len(enrolled), 360),
            placeholder="",
        )
