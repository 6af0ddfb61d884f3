"""Attendance: self check-in (rotating code or link), the register, excuses, closing, rates and warnings (and
the notices for excuse requests and attendance warnings).

Check-in and every mark are conditional UPDATEs of the worker's seat (unique per session and worker),
so a double tap, a retry or two servers at once leave exactly one record with one status.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Select, and_, case, func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core import clock
from core.audit import record
from core.inbox import send_rows, worker_users
from core.models import OrgUnit, Worker, row_id
from core.scope import SYSTEM, ScopeError, Viewer, worker_scope_clause
from courses._sql import frame, must_get, require_manager, rowcount
from courses.errors import CoursesError
from courses.models import (
    Attendance,
    AttendanceStatus,
    Course,
    ExcuseRequest,
    ExcuseStatus,
    SessionStatus,
    TrainingSession,
)

CHECKIN_OPENS_MINUTES = 15  # self check-in opens this long before the start and closes at the end
CODE_STEP_SECONDS = 60  # the host's six-digit code changes every minute; the previous one is still accepted
ATTENDED = (AttendanceStatus.PRESENT.value, AttendanceStatus.LATE.value)


class CheckInError(CoursesError):
    """A check-in that cannot be recorded (the message says why)."""


# --- codes and links --------------------------------------------------------------------------------------


def _hmac(secret: str, message: str) -> bytes:
    return hmac.new(bytes.fromhex(secret), message.encode(), hashlib.sha256).digest()


def checkin_code(secret: str, at: datetime, step: int = CODE_STEP_SECONDS) -> str:
    """The six-digit code for the time step containing ``at`` (HOTP-style dynamic truncation, RFC 4226)."""
    counter = int(at.timestamp()) // step
    digest = _hmac(secret, f"code:{counter}")
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFF_FFFF
    return f"{value % 1_000_000:06d}"


def code_matches(secret: str, code: str, at: datetime) -> bool:
    """True for the current step's code or the previous one (a code read out just before it changed)."""
    code = (code or "").strip()
    return any(
        hmac.compare_digest(checkin_code(secret, at - timedelta(seconds=back)), code)
        for back in (0, CODE_STEP_SECONDS)
    )


def link_token(secret: str, session_id: int) -> str:
    return _hmac(secret, f"link:{session_id}").hex()[:24]


def checkin_url(base_url: str, ts: TrainingSession) -> str:
    return f"{base_url.rstrip('/')}/checkin?session={ts.id}&token={link_token(ts.secret, row_id(ts.id))}"


def window(ts: TrainingSession) -> tuple[datetime, datetime]:
    return ts.start_at - timedelta(minutes=CHECKIN_OPENS_MINUTES), ts.end_at


def _points(course: Course, status: str | None) -> int | None:
    return None if status is None else int(getattr(course, f"points_{status}"))


@dataclass(frozen=True)
class CheckInResult:
    status: str  # present | late
    checked_in_at: datetime
    already: bool  # True when this worker had already checked in (nothing new was recorded)


def check_in(
    session: Session,
    viewer: Viewer,
    *,
    session_id: int,
    code: str | None = None,
    token: str | None = None,
    now: datetime | None = None,
) -> CheckInResult:
    """Record the signed-in worker's own check-in by the host's code or the session's link token.

    Safe to repeat from scratch (a conditional UPDATE of the seat): callers run it in
    ``core.db.retry_unit_of_work``, so a burst of check-ins that finds the database busy is retried whole.
    """
    now = now or clock.now()
    if viewer.worker_id is None:
        raise CheckInError("worker_only")
    ts = session.get(TrainingSession, session_id)
    if ts is None:
        raise CheckInError("no_session")
    if ts.status == SessionStatus.CANCELLED.value:
        raise CheckInError("session_cancelled")
    seat = session.exec(
        select(Attendance).where(
            col(Attendance.session_id) == session_id, col(Attendance.worker_id) == viewer.worker_id
        )
    ).first()
    if seat is None:
        raise CheckInError("not_seated")
    if seat.checked_in_at is not None:
        return CheckInResult(seat.status or "", seat.checked_in_at, already=True)
    opens, closes = window(ts)
    if now < opens:
        raise CheckInError("checkin_not_open", at=f"{opens:%m-%d %H:%M}")
    if now > closes or ts.status == SessionStatus.CLOSED.value:
        raise CheckInError("checkin_closed")
    if token is not None:
        if not hmac.compare_digest(link_token(ts.secret, row_id(ts.id)), token.strip()):
            raise CheckInError("bad_token")
        source = "link"
    elif code is not None:
        if not code_matches(ts.secret, code, now):
            raise CheckInError("bad_code")
        source = "code"
    else:
        raise CheckInError("code_missing")
    course = must_get(session, Course, ts.course_id)
    late = now > ts.start_at + timedelta(minutes=course.late_after_minutes)
    status = AttendanceStatus.LATE.value if late else AttendanceStatus.PRESENT.value
    was = seat.status
    # Only an unmarked (or pre-excused-but-came) seat without a check-in changes: one winner per seat.
    result = session.execute(
        update(Attendance)
        .where(col(Attendance.id) == seat.id, col(Attendance.checked_in_at).is_(None))
        .values(
            status=status, points=_points(course, status), source=source, checked_in_at=now, marked_at=now
        )
    )
    if rowcount(result):
        record(
            session,
            "attendance.check_in",
            viewer=viewer,
            entity="training_session",
            entity_id=session_id,
            before={"status": was},
            after={"status": status, "source": source},
        )
    if rowcount(result) == 0:
        session.refresh(seat)
        return CheckInResult(seat.status or "", seat.checked_in_at or now, already=True)
    return CheckInResult(status, now, already=False)


# --- the register -----------------------------------------------------------------------------------------


def register(session: Session, viewer: Viewer, session_id: int) -> pd.DataFrame:
    """The seats of one session in the viewer's scope, with status, points and any excuse request."""
    require_manager(viewer)
    stmt: Select = (
        sa_select(
            col(Attendance.id).label("attendance_id"),
            col(Attendance.worker_id),
            col(Worker.employee_no),
            col(Worker.name),
            col(OrgUnit.name_zh).label("community_zh"),
            col(OrgUnit.name_en).label("community_en"),
            col(Attendance.status),
            col(Attendance.points),
            col(Attendance.source),
            col(Attendance.checked_in_at),
            col(Attendance.minutes_attended),
            col(ExcuseRequest.id).label("excuse_id"),
            col(ExcuseRequest.status).label("excuse_status"),
            col(ExcuseRequest.reason).label("excuse_reason"),
        )
        .join(Worker, col(Worker.id) == col(Attendance.worker_id))
        .join(OrgUnit, col(OrgUnit.id) == col(Worker.community_id))
        .join(
            ExcuseRequest,
            and_(
                col(ExcuseRequest.session_id) == col(Attendance.session_id),
                col(ExcuseRequest.worker_id) == col(Attendance.worker_id),
            ),
            isouter=True,
        )
        .where(col(Attendance.session_id) == session_id, worker_scope_clause(viewer))
        .order_by(col(Worker.employee_no))
    )
    return frame(session, stmt)


def mark_many(
    session: Session,
    viewer: Viewer,
    *,
    session_id: int,
    statuses: Mapping[int, AttendanceStatus | str],
    source: str = "manual",
    now: datetime | None = None,
) -> int:
    """Save a register: set each listed worker's seat to its status (and the course's points for it), all of
    them or — when any worker is outside the viewer's scope or the session cannot take marks — none. One
    audit entry names every seat whose status moved. Returns the seats written."""
    require_manager(viewer)
    now = now or clock.now()
    ts = session.get(TrainingSession, session_id)
    if ts is None:
        raise CoursesError("no_session")
    if ts.status == SessionStatus.CANCELLED.value:
        raise CoursesError("cancelled_no_attendance")
    wanted = {int(w): AttendanceStatus(s).value for w, s in statuses.items()}
    if not wanted:
        return 0
    ids = sorted(wanted)
    visible = set(
        session.exec(select(col(Worker.id)).where(col(Worker.id).in_(ids), worker_scope_clause(viewer))).all()
    )
    if len(visible) != len(ids):
        raise ScopeError("scope.err.some_workers_out_of_scope")
    course = must_get(session, Course, ts.course_id)
    was = session.execute(
        select(col(Worker.employee_no), col(Attendance.worker_id), col(Attendance.status))
        .join(Worker, col(Worker.id) == col(Attendance.worker_id))
        .where(col(Attendance.session_id) == session_id, col(Attendance.worker_id).in_(ids))
    ).all()
    written = 0
    for status in sorted(set(wanted.values())):  # one UPDATE per status (at most four)
        group = [w for w in ids if wanted[w] == status]
        written += rowcount(
            session.execute(
                update(Attendance)
                .where(col(Attendance.session_id) == session_id, col(Attendance.worker_id).in_(group))
                .values(
                    status=status,
                    points=_points(course, status),
                    source=source,
                    marked_by=viewer.user_id,
                    marked_at=now,
                )
            )
        )
    moved = {no: (old, wanted[w]) for no, w, old in was if old != wanted[w]}
    if moved:
        record(
            session,
            "attendance.mark",
            viewer=viewer,
            entity="training_session",
            entity_id=session_id,
            before={no: old for no, (old, _) in moved.items()},
            after={no: new for no, (_, new) in moved.items()},
            detail={"source": source},
        )
    return written


def mark(
    session: Session,
    viewer: Viewer,
    *,
    session_id: int,
    worker_ids: list[int],
    status: AttendanceStatus,
    source: str = "manual",
    now: datetime | None = None,
) -> int:
    """Set one status for these workers' seats (the register's "mark the unmarked as …"); see ``mark_many``."""
    return mark_many(
        session,
        viewer,
        session_id=session_id,
        statuses=dict.fromkeys(worker_ids, status),
        source=source,
        now=now,
    )


def close_session(session: Session, ts: TrainingSession, *, now: datetime) -> int:
    """Mark the unmarked absent and close the session (idempotent); return how many were set absent."""
    course = must_get(session, Course, ts.course_id)
    n = rowcount(
        session.execute(
            update(Attendance)
            .where(col(Attendance.session_id) == ts.id, col(Attendance.status).is_(None))
            .values(
                status=AttendanceStatus.ABSENT.value,
                points=course.points_absent,
                source="auto",
                marked_at=now,
            )
        )
    )
    session.execute(
        update(TrainingSession)
        .where(col(TrainingSession.id) == ts.id, col(TrainingSession.status) == SessionStatus.SCHEDULED.value)
        .values(status=SessionStatus.CLOSED.value, closed_at=now)
    )
    return n


def close_ended_sessions(session: Session, *, now: datetime | None = None) -> int:
    """Close every scheduled session that has ended; return how many seats were set absent."""
    now = now or clock.now()
    ended = session.exec(
        select(TrainingSession).where(
            col(TrainingSession.status) == SessionStatus.SCHEDULED.value, col(TrainingSession.end_at) <= now
        )
    ).all()
    n = sum(close_session(session, ts, now=now) for ts in ended)
    if ended:
        record(
            session,
            "attendance.auto_absent",
            username="scheduler",
            entity="job",
            entity_id="courses.close_sessions",
            detail={"sessions_closed": len(ended), "set_absent": n, "session_ids": [ts.id for ts in ended]},
        )
    return n


# --- excuses ----------------------------------------------------------------------------------------------


def request_excuse(
    session: Session, viewer: Viewer, *, session_id: int, reason: str, now: datetime | None = None
) -> ExcuseRequest:
    """A worker asks, before the session starts, to be excused (one request per session)."""
    now = now or clock.now()
    if viewer.worker_id is None:
        raise CoursesError("worker_only")
    if not reason.strip():
        raise CoursesError("excuse_reason")
    ts = session.get(TrainingSession, session_id)
    seat = session.exec(
        select(Attendance).where(
            col(Attendance.session_id) == session_id, col(Attendance.worker_id) == viewer.worker_id
        )
    ).first()
    if ts is None or seat is None:
        raise CoursesError("not_seated")
    if now >= ts.start_at:
        raise CoursesError("excuse_too_late")
    existing = session.exec(
        select(ExcuseRequest).where(
            col(ExcuseRequest.session_id) == session_id, col(ExcuseRequest.worker_id) == viewer.worker_id
        )
    ).first()
    if existing is not None:
        return existing
    req = ExcuseRequest(
        session_id=session_id, worker_id=viewer.worker_id, reason=reason.strip()[:300], requested_at=now
    )
    session.add(req)
    session.flush()
    notify_excuse_request(session, req, ts, now=now)
    return req


def notify_excuse_request(session: Session, req: ExcuseRequest, ts: TrainingSession, *, now: datetime) -> int:
    """Tell the session's host (or whoever scheduled it) that a worker asks to be excused."""
    to = ts.host_user_id or ts.created_by
    if to is None:
        return 0
    worker = must_get(session, Worker, req.worker_id)
    course = must_get(session, Course, ts.course_id)
    return send_rows(
        session,
        [
            {
                "user_id": to,
                "kind": "excuse_request",
                "created_at": now,
                "key": f"excuse:{req.id}",
                "title_zh": f"请假申请:{worker.name} · {course.title_zh} {ts.start_at:%m-%d %H:%M}",
                "title_en": f"Excuse request: {worker.name} · {course.title_en or course.title_zh} {ts.start_at:%m-%d %H:%M}",
                "body_zh": req.reason,
                "body_en": req.reason,
                "link": "pages/attendance.py",
            }
        ],
    )


def decide_excuse(
    session: Session, viewer: Viewer, *, excuse_id: int, approve: bool, now: datetime | None = None
) -> ExcuseRequest:
    require_manager(viewer)
    now = now or clock.now()
    req = session.get(ExcuseRequest, excuse_id)
    if req is None:
        raise CoursesError("no_request")
    worker = session.exec(
        select(Worker).where(col(Worker.id) == req.worker_id, worker_scope_clause(viewer))
    ).first()
    if worker is None:
        raise ScopeError("scope.err.worker_out_of_scope")
    if req.status != ExcuseStatus.PENDING.value:
        return req
    req.status = (ExcuseStatus.APPROVED if approve else ExcuseStatus.REJECTED).value
    req.decided_by, req.decided_at = viewer.user_id, now
    session.add(req)
    excused = 0
    if approve:
        ts = must_get(session, TrainingSession, req.session_id)
        course = must_get(session, Course, ts.course_id)
        excused = rowcount(
            session.execute(
                update(Attendance)
                .where(
                    col(Attendance.session_id) == req.session_id,
                    col(Attendance.worker_id) == req.worker_id,
                    col(Attendance.checked_in_at).is_(None),
                )
                .values(
                    status=AttendanceStatus.EXCUSED.value,
                    points=course.points_excused,
                    source="excuse",
                    marked_by=viewer.user_id,
                    marked_at=now,
                )
            )
        )
    record(
        session,
        f"attendance.excuse_{'approve' if approve else 'reject'}",
        viewer=viewer,
        entity="excuse",
        entity_id=req.id,
        before={"status": ExcuseStatus.PENDING.value},
        after={"status": req.status},
        detail={"session_id": req.session_id, "worker": worker.employee_no, "seat_excused": bool(excused)},
    )
    return req


def pending_excuses(session: Session, viewer: Viewer) -> pd.DataFrame:
    require_manager(viewer)
    stmt: Select = (
        sa_select(
            col(ExcuseRequest.id),
            col(ExcuseRequest.session_id),
            col(Worker.employee_no),
            col(Worker.name),
            col(Course.title_zh).label("course_zh"),
            col(Course.title_en).label("course_en"),
            col(TrainingSession.start_at),
            col(ExcuseRequest.reason),
            col(ExcuseRequest.requested_at),
        )
        .join(Worker, col(Worker.id) == col(ExcuseRequest.worker_id))
        .join(TrainingSession, col(TrainingSession.id) == col(ExcuseRequest.session_id))
        .join(Course, col(Course.id) == col(TrainingSession.course_id))
        .where(col(ExcuseRequest.status) == ExcuseStatus.PENDING.value, worker_scope_clause(viewer))
        .order_by(col(TrainingSession.start_at))
    )
    return frame(session, stmt)


# --- rates and warnings ----------------------------------------------------------------------------------


def worker_attendance(session: Session, viewer: Viewer, *, now: datetime | None = None) -> pd.DataFrame:
    """Per worker in scope, across all courses: sessions held (closed), attended, excused, absent, points,
    and the seats still to come. rate = attended / (held − excused)."""
    now = now or clock.now()
    held = col(TrainingSession.status) == SessionStatus.CLOSED.value
    upcoming = and_(
        col(TrainingSession.status) == SessionStatus.SCHEDULED.value, col(TrainingSession.end_at) > now
    )
    stmt: Select = (
        sa_select(
            col(Worker.id).label("worker_id"),
            col(Worker.employee_no),
            col(Worker.name),
            col(Worker.party_member),
            col(OrgUnit.name_zh).label("community_zh"),
            col(OrgUnit.name_en).label("community_en"),
            func.sum(case((held, 1), else_=0)).label("held"),
            func.sum(case((and_(held, col(Attendance.status).in_(ATTENDED)), 1), else_=0)).label("attended"),
            func.sum(case((and_(held, col(Attendance.status) == "late"), 1), else_=0)).label("late"),
            func.sum(case((and_(held, col(Attendance.status) == "excused"), 1), else_=0)).label("excused"),
            func.sum(case((and_(held, col(Attendance.status) == "absent"), 1), else_=0)).label("absent"),
            func.coalesce(func.sum(case((held, col(Attendance.points)), else_=0)), 0).label("points"),
            func.sum(case((upcoming, 1), else_=0)).label("remaining"),
        )
        .select_from(Attendance)
        .join(TrainingSession, col(TrainingSession.id) == col(Attendance.session_id))
        .join(Worker, col(Worker.id) == col(Attendance.worker_id))
        .join(OrgUnit, col(OrgUnit.id) == col(Worker.community_id))
        .where(worker_scope_clause(viewer), col(TrainingSession.status) != SessionStatus.CANCELLED.value)
        .group_by(
            col(Worker.id),
            col(Worker.employee_no),
            col(Worker.name),
            col(Worker.party_member),
            col(OrgUnit.name_zh),
            col(OrgUnit.name_en),
        )
        .order_by(col(Worker.employee_no))
    )
    df = frame(session, stmt)
    for name in ("held", "attended", "late", "excused", "absent", "points", "remaining"):
        df[name] = df[name].fillna(0).astype(int)
    counted = df["held"] - df["excused"]
    df["rate"] = (df["attended"] / counted.where(counted > 0)).astype(float)
    return df


def attendance_warnings(
    frame_: pd.DataFrame, *, min_rate: float = 0.8, min_sessions: int = 3
) -> pd.DataFrame:
    """Workers under ``min_rate`` after at least ``min_sessions`` counted sessions, and whether they can
    still reach it if they attend every remaining seat: best = (attended + remaining) / (counted + remaining)."""
    df = frame_.copy()
    counted = df["held"] - df["excused"]
    best = (df["attended"] + df["remaining"]) / (counted + df["remaining"]).where(
        counted + df["remaining"] > 0
    )
    df["best_possible_rate"] = best.astype(float)
    df["can_recover"] = df["best_possible_rate"] >= min_rate
    flagged = ((counted >= min_sessions) & (df["rate"] < min_rate)) | ((counted > 0) & ~df["can_recover"])
    return df[flagged].sort_values(["can_recover", "rate"]).reset_index(drop=True)


def notify_attendance_warnings(
    session: Session, *, now: datetime | None = None, min_rate: float = 0.8, min_sessions: int = 3
) -> int:
    """A warning to each worker on the attendance warning list (once per worker and month)."""
    now = now or clock.now()
    warned = attendance_warnings(
        worker_attendance(session, SYSTEM, now=now), min_rate=min_rate, min_sessions=min_sessions
    )
    if warned.empty:
        return 0
    users = worker_users(session, warned["worker_id"].tolist())
    rows = []
    for r in warned.itertuples():
        if r.worker_id not in users:
            continue
        rate = f"{r.rate:.0%}" if pd.notna(r.rate) else "—"
        rows.append(
            {
                "user_id": users[r.worker_id],
                "kind": "attendance_warning",
                "created_at": now,
                "key": f"attwarn:{r.worker_id}:{now:%Y%m}",
                "title_zh": f"出勤预警:您的课程出勤率为 {rate},低于 {min_rate:.0%}",
                "title_en": f"Attendance warning: your course attendance is {rate}, under {min_rate:.0%}",
                "body_zh": "请按时参加后续课程;无法参加请提前请假。"
                if r.can_recover
                else "按剩余课程计算已无法达到要求,请联系网格站安排补课。",
                "body_en": "Attend the coming sessions; ask for an excuse in advance if you cannot."
                if r.can_recover
                else "Even attending every remaining session will not reach the rate; ask your station "
                "about a make-up session.",
                "link": "pages/my_learning.py",
            }
        )
    return send_rows(session, rows)
