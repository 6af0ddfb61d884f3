"""Course notices of the scheduled jobs and of session edits: reminders, session changes, quiz deadlines,
expiring certificates. (Excuse requests and attendance warnings are announced by courses.attendance.)

Every notice has a unique key naming what it is about ("remind24:<session>:<worker>:<start>"), inserted
with ON CONFLICT DO NOTHING: a job that runs twice, late, or on two servers sends each notice once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Select, and_, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from core import clock
from core.inbox import send_rows, worker_users
from core.models_inbox import Notification
from core.sql import frame
from courses._sql import must_get
from courses.models import (
    Attendance,
    Certificate,
    Course,
    Enrollment,
    SessionStatus,
    TrainingSession,
)

EXPIRY_NOTICE_DAYS = 30
QUIZ_DUE_NOTICE_DAYS = 3


def _seated_with_users(session: Session, stmt) -> pd.DataFrame:  # noqa: ANN001
    """``stmt`` selects seats; add the worker's user id (workers without an account get no notice)."""
    df = frame(session, stmt)
    if df.empty:
        return df.assign(user_id=pd.Series(dtype="int64"))
    users = worker_users(session, df["worker_id"].unique().tolist())
    df["user_id"] = df["worker_id"].map(users)
    return df.dropna(subset=["user_id"])


def send_reminders(session: Session, *, now: datetime | None = None) -> int:
    """24-hour and 1-hour reminders for seats in sessions starting within those horizons. The key holds the
    start time, so a moved session is reminded again at its new time."""
    now = now or clock.now()
    sent = 0
    for hours, kind in ((24, "remind24"), (1, "remind1")):
        stmt: Select = (
            sa_select(
                col(Attendance.worker_id),
                col(TrainingSession.id).label("session_id"),
                col(TrainingSession.start_at),
                col(TrainingSession.meeting_url),
                col(Course.title_zh),
                col(Course.title_en),
            )
            .select_from(Attendance)
            .join(TrainingSession, col(TrainingSession.id) == col(Attendance.session_id))
            .join(Course, col(Course.id) == col(TrainingSession.course_id))
            .where(
                col(TrainingSession.status) == SessionStatus.SCHEDULED.value,
                col(TrainingSession.start_at) > now,
                col(TrainingSession.start_at) <= now + timedelta(hours=hours),
                col(Attendance.status).is_(None),
            )
        )
        df = _seated_with_users(session, stmt)
        rows = [
            {
                "user_id": int(r.user_id),
                "kind": kind,
                "created_at": now,
                "key": f"{kind}:{r.session_id}:{r.worker_id}:{r.start_at:%Y%m%d%H%M}",
                "title_zh": f"课程提醒:{r.title_zh} {r.start_at:%m-%d %H:%M} 开始",
                "title_en": f"Reminder: {r.title_en or r.title_zh} starts {r.start_at:%m-%d %H:%M}",
                "body_zh": (
                    "请提前15分钟进入并签到。" + (f"会议链接:{r.meeting_url}" if r.meeting_url else "")
                ),
                "body_en": (
                    "Check in from 15 minutes before the start. "
                    + (f"Meeting link: {r.meeting_url}" if r.meeting_url else "")
                ),
                "link": "pages/my_learning.py",
            }
            for r in df.itertuples()
        ]
        sent += send_rows(session, rows)
    return sent


def notify_session_change(session: Session, ts: TrainingSession, *, cancelled: bool, now: datetime) -> int:
    """Tell everyone seated that the session moved (one notice per edit: the key has the version) or was
    cancelled. A cancellation goes only to those who were told of the session (a reminder or a change notice:
    nobody learns of a session from its cancellation), once per course and start time: two identical sessions
    (排课 pressed twice, before that was refused) cancelled together make one notice, not two."""
    course = must_get(session, Course, ts.course_id)
    stmt = sa_select(col(Attendance.worker_id)).where(col(Attendance.session_id) == ts.id)
    df = _seated_with_users(session, stmt)
    if cancelled:
        told = session.execute(
            sa_select(col(Notification.user_id)).where(
                or_(
                    *(
                        col(Notification.key).like(f"{k}:{ts.id}:%")
                        for k in ("remind24", "remind1", "session_changed")
                    )
                )
            )
        ).scalars()
        df = df[df["user_id"].isin({int(u) for u in told})]
    kind = "session_cancelled" if cancelled else "session_changed"
    if cancelled:
        title_zh = f"课程取消:{course.title_zh} {ts.start_at:%m-%d %H:%M}"
        title_en = f"Cancelled: {course.title_en or course.title_zh} {ts.start_at:%m-%d %H:%M}"
    else:
        title_zh = f"课程时间变更:{course.title_zh} 改为 {ts.start_at:%m-%d %H:%M}–{ts.end_at:%H:%M}"
        title_en = (
            f"Changed: {course.title_en or course.title_zh} now {ts.start_at:%m-%d %H:%M}–{ts.end_at:%H:%M}"
        )
    rows = [
        {
            "user_id": int(u),
            "kind": kind,
            "created_at": now,
            "key": (
                f"{kind}:{ts.course_id}:{ts.start_at:%Y%m%d%H%M}:{w}"
                if cancelled
                else f"{kind}:{ts.id}:v{ts.version}:{w}"
            ),
            "title_zh": title_zh,
            "title_en": title_en,
            "body_zh": f"会议链接:{ts.meeting_url}" if ts.meeting_url and not cancelled else "",
            "body_en": f"Meeting link: {ts.meeting_url}" if ts.meeting_url and not cancelled else "",
            "link": "pages/my_learning.py",
        }
        for w, u in zip(df["worker_id"], df["user_id"], strict=True)
    ]
    return send_rows(session, rows)


def notify_quiz_deadlines(session: Session, *, now: datetime | None = None) -> int:
    """Enrolled workers without a valid certificate whose quiz is due within a few days."""
    now = now or clock.now()
    valid = sa_select(col(Certificate.worker_id)).where(
        col(Certificate.course_id) == col(Enrollment.course_id), col(Certificate.valid_until) > now
    )
    stmt = (
        sa_select(
            col(Enrollment.worker_id),
            col(Enrollment.course_id),
            col(Enrollment.quiz_due_at),
            col(Course.title_zh),
            col(Course.title_en),
        )
        .join(Course, col(Course.id) == col(Enrollment.course_id))
        .where(
            col(Enrollment.quiz_due_at).is_not(None),
            col(Enrollment.quiz_due_at) > now,
            col(Enrollment.quiz_due_at) <= now + timedelta(days=QUIZ_DUE_NOTICE_DAYS),
            ~col(Enrollment.worker_id).in_(valid),
        )
    )
    df = _seated_with_users(session, stmt)
    rows = [
        {
            "user_id": int(r.user_id),
            "kind": "quiz_due",
            "created_at": now,
            "key": f"quizdue:{r.course_id}:{r.worker_id}:{r.quiz_due_at:%Y%m%d}",
            "title_zh": f"测验截止提醒:{r.title_zh} 请于 {r.quiz_due_at:%m-%d %H:%M} 前完成",
            "title_en": f"Quiz due: {r.title_en or r.title_zh} by {r.quiz_due_at:%m-%d %H:%M}",
            "link": "pages/my_learning.py",
        }
        for r in df.itertuples()
    ]
    return send_rows(session, rows)


def notify_expiring_certificates(session: Session, *, now: datetime | None = None) -> int:
    """Certificates expiring within 30 days, unless a newer one of the same course exists."""
    now = now or clock.now()
    newest = (
        sa_select(
            col(Certificate.worker_id),
            col(Certificate.course_id),
            func.max(col(Certificate.valid_until)).label("valid_until"),
        )
        .group_by(col(Certificate.worker_id), col(Certificate.course_id))
        .subquery()
    )
    stmt = (
        sa_select(
            col(Certificate.id),
            col(Certificate.worker_id),
            col(Certificate.valid_until),
            col(Course.title_zh),
            col(Course.title_en),
        )
        .join(
            newest,
            and_(
                newest.c.worker_id == col(Certificate.worker_id),
                newest.c.course_id == col(Certificate.course_id),
                newest.c.valid_until == col(Certificate.valid_until),
            ),
        )
        .join(Course, col(Course.id) == col(Certificate.course_id))
        .where(
            col(Certificate.valid_until) > now,
            col(Certificate.valid_until) <= now + timedelta(days=EXPIRY_NOTICE_DAYS),
        )
    )
    df = _seated_with_users(session, stmt)
    rows = [
        {
            "user_id": int(r.user_id),
            "kind": "cert_expiry",
            "created_at": now,
            "key": f"certexp:{r.id}",
            "title_zh": f"证书即将到期:{r.title_zh} 于 {r.valid_until:%Y-%m-%d} 到期,请重新参加测验",
            "title_en": f"Certificate expiring: {r.title_en or r.title_zh} on {r.valid_until:%Y-%m-%d}; "
            "retake the quiz",
            "link": "pages/my_learning.py",
        }
        for r in df.itertuples()
    ]
    return send_rows(session, rows)
