"""Course notices: reminders, session changes, excuses, quiz deadlines, expiring certificates, warnings.

Every notice has a unique key naming what it is about ("remind24:<session>:<worker>:<start>"), inserted
with ON CONFLICT DO NOTHING: a job that runs twice, late, or on two servers sends each notice once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import and_, func
from sqlalchemy import select as sa_select
from sqlmodel import Session

from core import clock
from core.inbox import notify, send_rows, worker_users  # noqa: F401  (notify re-exported for old callers)
from core.models import OrgLevel, Role, Worker
from core.scope import Viewer
from core.sql import frame
from courses.models import (
    Attendance,
    Certificate,
    Course,
    Enrollment,
    ExcuseRequest,
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
        stmt = (sa_select(Attendance.worker_id, TrainingSession.id.label("session_id"), TrainingSession.start_at,
                          TrainingSession.meeting_url, Course.title_zh, Course.title_en)
                .select_from(Attendance)
                .join(TrainingSession, TrainingSession.id == Attendance.session_id)
                .join(Course, Course.id == TrainingSession.course_id)
                .where(TrainingSession.status == SessionStatus.SCHEDULED.value, TrainingSession.start_at > now,
                       TrainingSession.start_at <= now + timedelta(hours=hours), Attendance.status.is_(None)))
        df = _seated_with_users(session, stmt)
        rows = [{
            "user_id": int(r.user_id), "kind": kind, "created_at": now,
            "key": f"{kind}:{r.session_id}:{r.worker_id}:{r.start_at:%Y%m%d%H%M}",
            "title_zh": f"课程提醒:{r.title_zh} {r.start_at:%m-%d %H:%M} 开始",
            "title_en": f"Reminder: {r.title_en or r.title_zh} starts {r.start_at:%m-%d %H:%M}",
            "body_zh": ("请提前15分钟进入并签到。" + (f"会议链接:{r.meeting_url}" if r.meeting_url else "")),
            "body_en": ("Check in from 15 minutes before the start. "
                        + (f"Meeting link: {r.meeting_url}" if r.meeting_url else "")),
            "link": "pages/my_learning.py",
        } for r in df.itertuples()]
        sent += send_rows(session, rows)
    return sent


def notify_session_change(session: Session, ts: TrainingSession, *, cancelled: bool, now: datetime) -> int:
    """Tell everyone seated that the session moved or was cancelled (one notice per edit: key has the version)."""
    course = session.get(Course, ts.course_id)
    stmt = sa_select(Attendance.worker_id).where(Attendance.session_id == ts.id)
    df = _seated_with_users(session, stmt)
    kind = "session_cancelled" if cancelled else "session_changed"
    if cancelled:
        title_zh = f"课程取消:{course.title_zh} {ts.start_at:%m-%d %H:%M}"
        title_en = f"Cancelled: {course.title_en or course.title_zh} {ts.start_at:%m-%d %H:%M}"
    else:
        title_zh = f"课程时间变更:{course.title_zh} 改为 {ts.start_at:%m-%d %H:%M}–{ts.end_at:%H:%M}"
        title_en = (f"Changed: {course.title_en or course.title_zh} now {ts.start_at:%m-%d %H:%M}–"
                    f"{ts.end_at:%H:%M}")
    rows = [{"user_id": int(u), "kind": kind, "created_at": now, "key": f"{kind}:{ts.id}:v{ts.version}:{w}",
             "title_zh": title_zh, "title_en": title_en,
             "body_zh": f"会议链接:{ts.meeting_url}" if ts.meeting_url and not cancelled else "",
             "body_en": f"Meeting link: {ts.meeting_url}" if ts.meeting_url and not cancelled else "",
             "link": "pages/my_learning.py"} for w, u in zip(df["worker_id"], df["user_id"], strict=True)]
    return send_rows(session, rows)


def notify_excuse_request(session: Session, req: ExcuseRequest, ts: TrainingSession, *, now: datetime) -> int:
    """Tell the session's host (or whoever scheduled it) that a worker asks to be excused."""
    to = ts.host_user_id or ts.created_by
    if to is None:
        return 0
    worker = session.get(Worker, req.worker_id)
    course = session.get(Course, ts.course_id)
    return send_rows(session, [{
        "user_id": to, "kind": "excuse_request", "created_at": now, "key": f"excuse:{req.id}",
        "title_zh": f"请假申请:{worker.name} · {course.title_zh} {ts.start_at:%m-%d %H:%M}",
        "title_en": f"Excuse request: {worker.name} · {course.title_en or course.title_zh} {ts.start_at:%m-%d %H:%M}",
        "body_zh": req.reason, "body_en": req.reason, "link": "pages/attendance.py"}])


def notify_quiz_deadlines(session: Session, *, now: datetime | None = None) -> int:
    """Enrolled workers without a valid certificate whose quiz is due within a few days."""
    now = now or clock.now()
    valid = sa_select(Certificate.worker_id).where(Certificate.course_id == Enrollment.course_id,
                                                   Certificate.valid_until > now)
    stmt = (sa_select(Enrollment.worker_id, Enrollment.course_id, Enrollment.quiz_due_at, Course.title_zh,
                      Course.title_en)
            .join(Course, Course.id == Enrollment.course_id)
            .where(Enrollment.quiz_due_at.is_not(None), Enrollment.quiz_due_at > now,
                   Enrollment.quiz_due_at <= now + timedelta(days=QUIZ_DUE_NOTICE_DAYS),
                   ~Enrollment.worker_id.in_(valid)))
    df = _seated_with_users(session, stmt)
    rows = [{"user_id": int(r.user_id), "kind": "quiz_due", "created_at": now,
             "key": f"quizdue:{r.course_id}:{r.worker_id}:{r.quiz_due_at:%Y%m%d}",
             "title_zh": f"测验截止提醒:{r.title_zh} 请于 {r.quiz_due_at:%m-%d %H:%M} 前完成",
             "title_en": f"Quiz due: {r.title_en or r.title_zh} by {r.quiz_due_at:%m-%d %H:%M}",
             "link": "pages/my_learning.py"} for r in df.itertuples()]
    return send_rows(session, rows)


def notify_expiring_certificates(session: Session, *, now: datetime | None = None) -> int:
    """Certificates expiring within 30 days, unless a newer one of the same course exists."""
    now = now or clock.now()
    newest = (sa_select(Certificate.worker_id, Certificate.course_id,
                        func.max(Certificate.valid_until).label("valid_until"))
              .group_by(Certificate.worker_id, Certificate.course_id).subquery())
    stmt = (sa_select(Certificate.id, Certificate.worker_id, Certificate.valid_until, Course.title_zh,
                      Course.title_en)
            .join(newest, and_(newest.c.worker_id == Certificate.worker_id,
                               newest.c.course_id == Certificate.course_id,
                               newest.c.valid_until == Certificate.valid_until))
            .join(Course, Course.id == Certificate.course_id)
            .where(Certificate.valid_until > now,
                   Certificate.valid_until <= now + timedelta(days=EXPIRY_NOTICE_DAYS)))
    df = _seated_with_users(session, stmt)
    rows = [{"user_id": int(r.user_id), "kind": "cert_expiry", "created_at": now, "key": f"certexp:{r.id}",
             "title_zh": f"证书即将到期:{r.title_zh} 于 {r.valid_until:%Y-%m-%d} 到期,请重新参加测验",
             "title_en": f"Certificate expiring: {r.title_en or r.title_zh} on {r.valid_until:%Y-%m-%d}; "
                         "retake the quiz",
             "link": "pages/my_learning.py"} for r in df.itertuples()]
    return send_rows(session, rows)


def notify_attendance_warnings(session: Session, *, now: datetime | None = None, min_rate: float = 0.8,
                               min_sessions: int = 3) -> int:
    """A warning to each worker on the attendance warning list (once per worker and month)."""
    from courses.attendance import attendance_warnings, worker_attendance

    now = now or clock.now()
    system = Viewer(user_id=0, role=Role.ADMIN, scope_level=OrgLevel.DISTRICT, scope_unit_id=None)
    warned = attendance_warnings(worker_attendance(session, system, now=now), min_rate=min_rate,
                                 min_sessions=min_sessions)
    if warned.empty:
        return 0
    users = worker_users(session, warned["worker_id"].tolist())
    rows = []
    for r in warned.itertuples():
        if r.worker_id not in users:
            continue
        rate = f"{r.rate:.0%}" if pd.notna(r.rate) else "—"
        rows.append({
            "user_id": users[r.worker_id], "kind": "attendance_warning", "created_at": now,
            "key": f"attwarn:{r.worker_id}:{now:%Y%m}",
            "title_zh": f"出勤预警:您的课程出勤率为 {rate},低于 {min_rate:.0%}",
            "title_en": f"Attendance warning: your course attendance is {rate}, under {min_rate:.0%}",
            "body_zh": "请按时参加后续课程;无法参加请提前请假。" if r.can_recover else
                       "按剩余课程计算已无法达到要求,请联系网格站安排补课。",
            "body_en": "Attend the coming sessions; ask for an excuse in advance if you cannot." if r.can_recover
                       else "Even attending every remaining session will not reach the rate; ask your station "
                            "about a make-up session.",
            "link": "pages/my_learning.py"})
    return send_rows(session, rows)




