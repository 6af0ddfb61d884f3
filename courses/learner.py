"""What a worker sees of their own training: courses with their standing, certificates, open sessions."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import and_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core import clock
from core.models import OrgLevel, Role, Worker
from core.scope import ScopeError, Viewer, worker_scope_clause
from courses._sql import frame
from courses.attendance import CHECKIN_OPENS_MINUTES
from courses.models import Attendance, Certificate, Course, Enrollment, SessionStatus, TrainingSession
from courses.quizzes import standing


def my_courses(session: Session, viewer: Viewer, *, now: datetime | None = None) -> pd.DataFrame:
    """One row per course the worker is enrolled in, with grade, attempts and certificate."""
    now = now or clock.now()
    if viewer.worker_id is None:
        return pd.DataFrame()
    rows = []
    courses = session.exec(
        select(Course, col(Enrollment.quiz_due_at))
        .join(
            Enrollment,
            and_(col(Enrollment.course_id) == col(Course.id), col(Enrollment.worker_id) == viewer.worker_id),
        )
        .where(col(Course.is_active))
        .order_by(col(Course.code))
    ).all()
    for course, due in courses:  # a worker's handful of courses
        st = standing(session, course=course, worker_id=viewer.worker_id, now=now)
        cert = st.certificate
        rows.append(
            {
                "course_id": course.id,
                "code": course.code,
                "title_zh": course.title_zh,
                "title_en": course.title_en,
                "skill_area": course.skill_area,
                "pass_mark": course.pass_mark,
                "grading_method": course.grading_method,
                "time_limit_minutes": course.time_limit_minutes,
                "quiz_questions": course.quiz_questions,
                "max_attempts": course.max_attempts,
                "attempts_used": st.attempts_used,
                "attempts_left": st.attempts_left,
                "grade": st.grade,
                "in_progress_id": st.in_progress.id if st.in_progress else None,
                "certificate_valid_until": cert.valid_until if cert else None,
                "certificate_valid": st.certificate_valid(now),
                "quiz_due_at": due,
            }
        )
    return pd.DataFrame(rows)


def my_certificates(session: Session, viewer: Viewer) -> pd.DataFrame:
    return frame(
        session,
        sa_select(
            col(Certificate.id),
            col(Course.title_zh),
            col(Course.title_en),
            col(Certificate.score),
            col(Certificate.issued_at),
            col(Certificate.valid_until),
        )
        .join(Course, col(Course.id) == col(Certificate.course_id))
        .where(col(Certificate.worker_id) == (viewer.worker_id or -1))
        .order_by(col(Certificate.issued_at).desc()),
    )


def open_for_checkin(session: Session, viewer: Viewer, *, now: datetime | None = None) -> pd.DataFrame:
    """The worker's seats at sessions whose check-in window is open now."""
    now = now or clock.now()
    df = frame(
        session,
        sa_select(
            col(TrainingSession.id),
            col(Course.title_zh),
            col(Course.title_en),
            col(TrainingSession.start_at),
            col(TrainingSession.end_at),
            col(TrainingSession.meeting_url),
            col(Attendance.status),
            col(Attendance.checked_in_at),
        )
        .join(
            Attendance,
            and_(
                col(Attendance.session_id) == col(TrainingSession.id),
                col(Attendance.worker_id) == (viewer.worker_id or -1),
            ),
        )
        .join(Course, col(Course.id) == col(TrainingSession.course_id))
        .where(
            col(TrainingSession.status) == SessionStatus.SCHEDULED.value,
            col(TrainingSession.end_at) >= now,
            col(TrainingSession.start_at) <= now + timedelta(minutes=CHECKIN_OPENS_MINUTES),
        )
        .order_by(col(TrainingSession.start_at)),
    )
    return df


def worker_training(
    session: Session, viewer: Viewer, *, worker_id: int, now: datetime | None = None
) -> pd.DataFrame:
    """A worker's courses as they see them in My learning (my_courses), for a manager (or an API client)
    whose scope holds the worker; ScopeError otherwise."""
    if viewer.role == Role.WORKER and viewer.worker_id != worker_id:
        raise ScopeError("scope.err.own_training")
    if (
        session.exec(
            select(col(Worker.id)).where(col(Worker.id) == worker_id, worker_scope_clause(viewer))
        ).first()
        is None
    ):
        raise ScopeError("scope.err.worker_out_of_scope")
    as_worker = Viewer(
        user_id=viewer.user_id,
        role=Role.WORKER,
        scope_level=OrgLevel.DISTRICT,
        scope_unit_id=None,
        worker_id=worker_id,
        display_name=viewer.display_name,
    )
    return my_courses(session, as_worker, now=now)
