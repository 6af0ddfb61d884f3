"""Schedule a course: one session or a weekly series, for an audience."""

from __future__ import annotations

from datetime import time, timedelta

import streamlit as st

from core.errors import GridwiseError
from courses.enrollment import (
    schedule_for_audience,
)
from courses.training_sessions import (
    SessionPlan,
)
from ui import resources
from ui.course_admin.common import CourseAdmin
from ui.errors import show_error
from ui.state import tr

WEEKDAYS = list(range(7))


def render(a: CourseAdmin) -> None:
    viewer, now, district_level = a.viewer, a.now, a.district_level
    course_ids, course_label, unit_label = a.course_ids, a.course_label, a.unit_label
    if not course_ids:
        st.info(tr("courses.catalog.empty"))
    else:
        if done_text := st.session_state.get("sched_done"):
            st.success(done_text)
            if st.button(tr("courses.sched.again"), icon=":material/add:"):
                st.session_state.pop("sched_done")
                st.rerun()
        else:
            with st.form("schedule"):
                course_id = st.selectbox(tr("courses.col.course"), course_ids, format_func=course_label.get)
                s1, s2, s3 = st.columns(3)
                first_day = s1.date_input(tr("courses.sched.first_day"), value=now.date() + timedelta(days=1))
                start = s2.time_input(tr("courses.col.start"), value=time(14, 30), step=timedelta(minutes=15))
                end = s3.time_input(tr("courses.col.end"), value=time(16, 0), step=timedelta(minutes=15))
                weekly = st.toggle(tr("courses.sched.weekly"))
                r1, r2 = st.columns(2)
                weekdays = r1.multiselect(
                    tr("courses.sched.weekdays"),
                    WEEKDAYS,
                    format_func=lambda d: tr(f"courses.weekday.{d}"),
                    placeholder=tr("common.choose_many"),
                )
                until = r2.date_input(tr("courses.sched.until"), value=now.date() + timedelta(days=28))
                url = st.text_input(
                    tr("courses.col.meeting_url"), placeholder="https://meeting.tencent.com/…"
                )
                a1, a2 = st.columns(2)
                audience_options = ([None] if district_level else []) + list(unit_label)
                audience = a1.selectbox(
                    tr("courses.col.audience"),
                    audience_options,
                    format_func=lambda u: tr("courses.all_enrolled") if u is None else unit_label[u],
                )
                capacity = a2.number_input(
                    tr("courses.col.capacity"), min_value=0, value=0, help=tr("courses.sched.capacity_help")
                )
                enroll_all = st.checkbox(
                    tr("courses.sched.enroll_audience"),
                    value=False,
                    help=tr("courses.sched.enroll_audience_help"),
                )
                submitted = st.form_submit_button(tr("courses.sched.submit"), type="primary")
            if submitted:
                try:
                    with resources.unit_of_work() as session:
                        done = schedule_for_audience(
                            session,
                            viewer,
                            SessionPlan(
                                course_id=course_id,
                                first_day=first_day,
                                start=start,
                                end=end,
                                weekdays=tuple(weekdays) if weekly else (),
                                until=until if weekly else None,
                                meeting_url=url,
                                capacity=int(capacity) or None,
                                unit_id=audience,
                            ),
                            enroll_audience=enroll_all,
                        )
                    # The form gives way to the result: a second click cannot make the same session again (and
                    # the domain refuses an identical one, courses.training_sessions.check_plan).
                    st.session_state["sched_done"] = tr(
                        "courses.sched.done", n=len(done.sessions), seated=done.seated
                    )
                    st.rerun()
                except GridwiseError as exc:
                    show_error(exc)
