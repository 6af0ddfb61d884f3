"""Scheduling: one-off and weekly recurring sessions, edits and cancellations (the week calendar's chart is
``courses.charts.calendar_chart``)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import Select, and_, case, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core import clock
from core.audit import changed_fields, record
from core.models import OrgUnit, Worker, row_id
from core.scope import ScopeError, Viewer, worker_scope_clause
from courses._sql import (
    can_manage_unit,
    frame,
    must_get,
    require_manager,
    training_session_scope_clause,
    unit_path,
)
from courses.errors import CoursesError
from courses.models import Attendance, Course, SessionStatus, TrainingSession
from courses.notifications import notify_session_change
from courses.seating import seat_enrolled

MAX_OCCURRENCES = 200


class ScheduleError(CoursesError):
    """A schedule that cannot be made as asked."""


@dataclass(frozen=True)
class SessionPlan:
    """What a manager fills in to schedule one session or a weekly series."""

    course_id: int
    first_day: date
    start: time
    end: time
    weekdays: tuple[int, ...] = ()  # 0 = Monday; empty = a one-off session
    until: date | None = None
    meeting_url: str = ""
    capacity: int | None = None
    unit_id: int | None = None  # audience: enrolled workers in this unit (None = all enrolled)
    title_zh: str = ""
    title_en: str = ""


def occurrences(
    first_day: date, start: time, end: time, weekdays: tuple[int, ...] = (), until: date | None = None
) -> list[tuple[datetime, datetime]]:
    """Start and end of every occurrence: ``first_day`` alone, or each listed weekday from ``first_day``
    to ``until`` inclusive (wall-clock Asia/Shanghai, so a series keeps its local hour)."""
    if end <= start:
        raise ScheduleError("end_before_start")
    if not weekdays:
        return [(datetime.combine(first_day, start), datetime.combine(first_day, end))]
    if until is None or until < first_day:
        raise ScheduleError("series_until")
    if any(not 0 <= d <= 6 for d in weekdays):
        raise ScheduleError("weekdays")
    out = []
    day = first_day
    while day <= until:
        if day.weekday() in weekdays:
            out.append((datetime.combine(day, start), datetime.combine(day, end)))
            if len(out) > MAX_OCCURRENCES:
                raise ScheduleError("series_too_long", n=MAX_OCCURRENCES)
        day += timedelta(days=1)
    if not out:
        raise ScheduleError("series_empty")
    return out


def _editable(session: Session, viewer: Viewer, ts: TrainingSession) -> None:
    if not can_manage_unit(session, viewer, ts.unit_id):
        raise ScopeError("scope.err.session_out_of_scope")


def _scheduled(session: Session, viewer: Viewer, session_id: int, *, refusal: str) -> TrainingSession:
    """The session to change, if the viewer may change it and it is still scheduled (else ``refusal``)."""
    ts = session.get(TrainingSession, session_id)
    if ts is None:
        raise ScheduleError("no_session")
    _editable(session, viewer, ts)
    if ts.status != SessionStatus.SCHEDULED.value:
        raise ScheduleError(refusal)
    return ts


def check_plan(
    session: Session, viewer: Viewer, plan: SessionPlan, *, now: datetime
) -> tuple[int | None, Course, list[tuple[datetime, datetime]]]:
    """Refuse a plan the viewer may not schedule (scope, course, capacity, times); return its audience unit,
    course and occurrences. Writes nothing, so an action can check before its first write."""
    require_manager(viewer)
    unit_id = plan.unit_id if plan.unit_id is not None else viewer.scope_unit_id
    if not can_manage_unit(session, viewer, unit_id):
        raise ScopeError("scope.err.schedule_own_scope")
    course = must_get(session, Course, plan.course_id)
    if course is None or not course.is_active:
        raise ScheduleError("choose_course")
    if plan.capacity is not None and plan.capacity < 1:
        raise ScheduleError("capacity")
    slots = occurrences(plan.first_day, plan.start, plan.end, plan.weekdays, plan.until)
    if slots[0][0] < now - timedelta(minutes=1) and not viewer.is_admin:
        raise ScheduleError("in_past")
    if (taken := _already_scheduled(session, row_id(course.id), unit_id, [s for s, _ in slots])) is not None:
        raise ScheduleError("duplicate", start=f"{taken:%Y-%m-%d %H:%M}")
    return unit_id, course, slots


def _already_scheduled(
    session: Session, course_id: int, unit_id: int | None, starts: list[datetime]
) -> datetime | None:
    """The first of ``starts`` at which this course already has a live session for the same audience: 排课
    pressed twice (or the same plan made again) must not make a second, identical session."""
    audience = (
        col(TrainingSession.unit_id).is_(None) if unit_id is None else TrainingSession.unit_id == unit_id
    )
    return session.exec(
        select(func.min(TrainingSession.start_at)).where(
            TrainingSession.course_id == course_id,
            audience,
            TrainingSession.status != SessionStatus.CANCELLED.value,
            col(TrainingSession.start_at).in_(starts),
        )
    ).one()


def schedule(
    session: Session, viewer: Viewer, plan: SessionPlan, *, now: datetime | None = None
) -> list[TrainingSession]:
    """Create the session(s) of ``plan`` and seat the enrolled workers of its audience."""
    now = now or clock.now()
    unit_id, course, slots = check_plan(session, viewer, plan, now=now)
    series = uuid.uuid4().hex[:12] if len(slots) > 1 else None
    created = [
        TrainingSession(
            course_id=row_id(course.id),
            series=series,
            title_zh=plan.title_zh,
            title_en=plan.title_en,
            start_at=s,
            end_at=e,
            meeting_url=plan.meeting_url.strip(),
            capacity=plan.capacity,
            unit_id=unit_id,
            secret=secrets.token_hex(16),
            host_user_id=viewer.user_id,
            created_by=viewer.user_id,
            created_at=now,
            updated_at=now,
        )
        for s, e in slots
    ]
    session.add_all(created)
    session.flush()
    seated = seat_enrolled(session, session_ids=[row_id(s.id) for s in created], now=now)
    record(
        session,
        "course.session.create",
        viewer=viewer,
        entity="course",
        entity_id=course.code,
        after={
            "sessions": len(created),
            "first_start": created[0].start_at,
            "last_start": created[-1].start_at,
            "unit_id": unit_id,
            "capacity": plan.capacity,
            "series": series,
        },
        detail={"session_ids": [s.id for s in created], "seated": seated},
    )
    return created


def update_session(
    session: Session,
    viewer: Viewer,
    session_id: int,
    *,
    start_at: datetime,
    end_at: datetime,
    meeting_url: str,
    capacity: int | None,
    now: datetime | None = None,
) -> TrainingSession:
    """Change a scheduled session's time, link or capacity; the seated are told (one notice per edit)."""
    require_manager(viewer)
    now = now or clock.now()
    ts = _scheduled(session, viewer, session_id, refusal="not_editable")
    if end_at <= start_at:
        raise ScheduleError("end_before_start")
    before, after = changed_fields(
        {
            "start_at": ts.start_at,
            "end_at": ts.end_at,
            "meeting_url": ts.meeting_url,
            "capacity": ts.capacity,
        },
        {"start_at": start_at, "end_at": end_at, "meeting_url": meeting_url.strip(), "capacity": capacity},
    )
    if not after:
        return ts
    record(
        session,
        "course.session.update",
        viewer=viewer,
        entity="training_session",
        entity_id=ts.id,
        before=before,
        after=after,
    )
    ts.start_at, ts.end_at, ts.meeting_url, ts.capacity = start_at, end_at, meeting_url.strip(), capacity
    ts.version += 1
    ts.updated_at = now
    session.add(ts)
    session.flush()
    notify_session_change(session, ts, cancelled=False, now=now)
    return ts


def cancel_session(
    session: Session, viewer: Viewer, session_id: int, *, now: datetime | None = None
) -> TrainingSession:
    require_manager(viewer)
    now = now or clock.now()
    ts = _scheduled(session, viewer, session_id, refusal="not_cancellable")
    record(
        session,
        "course.session.cancel",
        viewer=viewer,
        entity="training_session",
        entity_id=ts.id,
        before={"status": ts.status},
        after={"status": SessionStatus.CANCELLED.value},
        detail={"start_at": ts.start_at},
    )
    ts.status = SessionStatus.CANCELLED.value
    ts.version += 1
    ts.updated_at = now
    session.add(ts)
    session.flush()
    notify_session_change(session, ts, cancelled=True, now=now)
    return ts


def sessions_frame(
    session: Session,
    viewer: Viewer,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    course_id: int | None = None,
) -> pd.DataFrame:
    """Sessions a manager may see, with their course, audience and seat counts in the viewer's scope."""
    require_manager(viewer)
    seats = (
        select(
            col(Attendance.session_id),
            func.count().label("seated"),
            func.sum(case((col(Attendance.status).in_(["present", "late"]), 1), else_=0)).label("attended"),
        )
        .join(Worker, col(Worker.id) == col(Attendance.worker_id))
        .where(worker_scope_clause(viewer))
        .group_by(col(Attendance.session_id))
        .subquery()
    )
    stmt: Select = (
        sa_select(
            col(TrainingSession.id),
            col(TrainingSession.course_id),
            col(Course.code).label("course_code"),
            col(Course.title_zh).label("course_zh"),
            col(Course.title_en).label("course_en"),
            col(TrainingSession.title_zh),
            col(TrainingSession.title_en),
            col(TrainingSession.series),
            col(TrainingSession.start_at),
            col(TrainingSession.end_at),
            col(TrainingSession.meeting_url),
            col(TrainingSession.capacity),
            col(TrainingSession.status),
            col(TrainingSession.unit_id),
            col(OrgUnit.name_zh).label("unit_zh"),
            col(OrgUnit.name_en).label("unit_en"),
            func.coalesce(seats.c.seated, 0).label("seated"),
            func.coalesce(seats.c.attended, 0).label("attended"),
        )
        .join(Course, col(Course.id) == col(TrainingSession.course_id))
        .join(OrgUnit, col(OrgUnit.id) == col(TrainingSession.unit_id), isouter=True)
        .join(seats, seats.c.session_id == col(TrainingSession.id), isouter=True)
        .where(training_session_scope_clause(viewer, unit_path(session, viewer.scope_unit_id)))
        .order_by(col(TrainingSession.start_at))
    )
    if start is not None:
        stmt = stmt.where(col(TrainingSession.end_at) > start)
    if end is not None:
        stmt = stmt.where(col(TrainingSession.start_at) < end)
    if course_id is not None:
        stmt = stmt.where(col(TrainingSession.course_id) == course_id)
    return frame(session, stmt)


def session_in_scope(session: Session, viewer: Viewer, session_id: int) -> TrainingSession:
    """The session, if the manager may see it."""
    require_manager(viewer)
    stmt = (
        select(TrainingSession)
        .join(OrgUnit, col(OrgUnit.id) == col(TrainingSession.unit_id), isouter=True)
        .where(
            col(TrainingSession.id) == session_id,
            training_session_scope_clause(viewer, unit_path(session, viewer.scope_unit_id)),
        )
    )
    ts = session.exec(stmt).first()
    if ts is None:
        raise ScopeError("scope.err.session_out_of_scope")
    return ts


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def upcoming_for_worker(
    session: Session, viewer: Viewer, *, now: datetime | None = None, days: int = 30
) -> pd.DataFrame:
    """The signed-in worker's seats in sessions that have not ended (and those starting within ``days``)."""
    if viewer.worker_id is None:
        raise ScopeError("scope.err.worker_plan")
    worker_id = viewer.worker_id
    now = now or clock.now()
    stmt: Select = (
        sa_select(
            col(TrainingSession.id),
            col(TrainingSession.course_id),
            col(Course.code).label("course_code"),
            col(Course.title_zh).label("course_zh"),
            col(Course.title_en).label("course_en"),
            col(TrainingSession.start_at),
            col(TrainingSession.end_at),
            col(TrainingSession.meeting_url),
            col(TrainingSession.status),
            col(Attendance.status).label("attendance"),
            col(Attendance.checked_in_at),
        )
        .join(
            Attendance,
            and_(
                col(Attendance.session_id) == col(TrainingSession.id), col(Attendance.worker_id) == worker_id
            ),
        )
        .join(Course, col(Course.id) == col(TrainingSession.course_id))
        .where(
            col(TrainingSession.end_at) > now,
            col(TrainingSession.start_at) < now + timedelta(days=days),
            or_(
                col(TrainingSession.status) != SessionStatus.CANCELLED.value,
                col(TrainingSession.start_at) > now,
            ),
        )
        .order_by(col(TrainingSession.start_at))
    )
    return frame(session, stmt)
