"""Worker (phone first): upcoming sessions with join link and check-in, my courses and quizzes, certificates."""

from datetime import timedelta

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core import clock
from core.i18n import pick
from courses.attendance import CHECKIN_OPENS_MINUTES, request_excuse
from courses.catalog import course_files, parse_links
from courses.learner import my_certificates, my_courses
from courses.models import Course
from courses.training_sessions import upcoming_for_worker
from evaluation.field.registry import field_now
from ui import resources
from ui.errors import refusals
from ui.guard import require
from ui.state import lang, tr

viewer = require(__file__)
L = lang()
now = clock.now()

st.title(tr("courses.my.title"))
if viewer.worker_id is None:
    st.warning(tr("courses.my.no_worker"))
    st.stop()

with Session(resources.engine()) as session:
    upcoming = upcoming_for_worker(session, viewer, now=now)
    mine = my_courses(session, viewer, now=now)
    # Certificates are judged on the demo's own date (2020-09-30 in a demo database, whose quizzes and
    # certificates are from 2020), the clock elsewhere: not every 2020 certificate shown 过期 in 2026.
    as_of = field_now(session)

st.subheader(tr("courses.my.upcoming"))
if upcoming.empty:
    st.info(tr("courses.my.no_upcoming"))
for s in upcoming.itertuples():
    with st.container(border=True):
        title = pick(L, s.course_zh, s.course_en)
        st.markdown(f"**{title}**")
        st.caption(f"{s.start_at:%Y-%m-%d %H:%M} – {s.end_at:%H:%M}")
        if s.status == "cancelled":
            st.warning(tr("courses.my.cancelled"))
            continue
        opens = s.start_at - timedelta(minutes=CHECKIN_OPENS_MINUTES)
        checked_in = pd.notna(s.checked_in_at)
        if checked_in:
            st.success(
                tr(
                    "courses.my.checked_in",
                    at=f"{s.checked_in_at:%H:%M}",
                    status=tr(f"courses.status.{s.attendance}"),
                )
            )
        elif s.attendance == "excused":
            st.info(tr("courses.status.excused"))
        if s.meeting_url:
            st.link_button(tr("courses.my.join"), s.meeting_url, icon=":material/videocam:", width="stretch")
        if opens <= now <= s.end_at and not checked_in:
            st.page_link(
                "pages/checkin.py",
                label=tr("courses.my.checkin_now"),
                icon=":material/how_to_reg:",
                query_params={"session": str(s.id)},
                width="stretch",
            )
        elif now < opens:
            st.caption(tr("courses.my.checkin_opens", at=f"{opens:%m-%d %H:%M}"))
            with st.expander(tr("courses.my.excuse")):
                with st.form(f"excuse_{s.id}", border=False):
                    reason = st.text_input(tr("courses.my.excuse_reason"), max_chars=300)
                    if st.form_submit_button(tr("courses.my.excuse_send"), width="stretch"):
                        with refusals():
                            with resources.unit_of_work() as session:
                                request_excuse(session, viewer, session_id=int(s.id), reason=reason)
                            st.success(tr("courses.my.excuse_sent"))

st.subheader(tr("courses.my.courses"))
if mine.empty:
    st.info(tr("courses.my.no_courses"))
for c in mine.itertuples():
    with st.container(border=True):
        st.markdown(f"**{pick(L, c.title_zh, c.title_en)}**")
        if pd.notna(c.certificate_valid_until) and c.certificate_valid_until > as_of:
            st.success(
                tr("courses.my.cert_valid", until=f"{c.certificate_valid_until:%Y-%m-%d}"),
                icon=":material/workspace_premium:",
            )
        elif pd.notna(c.certificate_valid_until):
            st.warning(tr("courses.my.cert_expired", until=f"{c.certificate_valid_until:%Y-%m-%d}"))
        grade = f"{c.grade:.0f}" if pd.notna(c.grade) else "—"
        st.caption(
            tr(
                "courses.my.course_line",
                grade=grade,
                pass_mark=c.pass_mark,
                used=c.attempts_used,
                max=c.max_attempts,
                method=tr(f"courses.grading.{c.grading_method}"),
            )
        )
        if pd.notna(c.quiz_due_at) and not c.certificate_valid:
            st.caption(tr("courses.my.quiz_due", at=f"{c.quiz_due_at:%Y-%m-%d %H:%M}"))
        if pd.notna(c.in_progress_id):
            label = tr("courses.my.quiz_resume")
        elif c.attempts_left > 0:
            label = tr("courses.my.quiz_start", n=c.quiz_questions, minutes=c.time_limit_minutes)
        else:
            label = None
        if label:
            st.page_link(
                "pages/quiz.py",
                label=label,
                icon=":material/quiz:",
                query_params={"course": str(c.course_id)},
                width="stretch",
            )
        with st.expander(tr("courses.my.material")):
            with Session(resources.engine()) as session:
                course = session.get(Course, int(c.course_id))
                files = course_files(session, course.id)
            st.markdown(pick(L, course.material_md_zh, course.material_md_en) or tr("courses.my.no_material"))
            for label_, url in parse_links(course.links):
                st.link_button(label_, url, width="stretch")
            for f in files:
                st.download_button(
                    f.filename,
                    f.data,
                    file_name=f.filename,
                    mime=f.content_type,
                    key=f"file_{f.id}",
                    width="stretch",
                )

with Session(resources.engine()) as session:
    certs = my_certificates(session, viewer)
st.subheader(tr("courses.my.certificates"))
st.caption(tr("courses.my.as_of", date=f"{as_of:%Y-%m-%d}"))
if certs.empty:
    st.caption(tr("courses.my.no_certificates"))
for c in certs.itertuples():
    valid = c.valid_until > as_of
    icon = ":green[:material/verified:]" if valid else ":gray[:material/history:]"
    st.markdown(
        f"{icon} **{pick(L, c.title_zh, c.title_en)}** · {c.score:.0f}  \n"
        + tr("courses.my.cert_line", issued=f"{c.issued_at:%Y-%m-%d}", until=f"{c.valid_until:%Y-%m-%d}")
    )
