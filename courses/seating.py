"""Seating: who gets a seat (an Attendance row with no status yet) at which session.

A worker enrolled in a course gets a seat at every scheduled, future session of the course whose audience
includes them, up to the session's capacity. Scheduling a session seats the enrolled; enrolling a worker
seats them at the course's sessions. Its own module, so enrollment and sessions both use it without
importing each other.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Select, and_, false, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from core import clock
from core.models import Worker, WorkerStatus
from core.sql import frame, insert_ignore
from courses.models import Attendance, Enrollment, SessionStatus, TrainingSession


def seat_enrolled(
    session: Session,
    *,
    session_ids: list[int] | None = None,
    course_ids: list[int] | None = None,
    worker_ids: list[int] | None = None,
    now: datetime | None = None,
) -> int:
    """Give enrolled, active workers seats at future scheduled sessions of their courses, within each
    session's audience and capacity (first enrolled, first seated). Returns the seats added."""
    now = now or clock.now()
    stmt: Select = (
        sa_select(
            col(TrainingSession.id).label("session_id"),
            col(Enrollment.worker_id),
            col(Enrollment.enrolled_at),
            col(TrainingSession.capacity),
        )
        .select_from(TrainingSession)
        .join(Enrollment, col(Enrollment.course_id) == col(TrainingSession.course_id))
        .join(Worker, col(Worker.id) == col(Enrollment.worker_id))
        .join(
            Attendance,
            and_(
                col(Attendance.session_id) == col(TrainingSession.id),
                col(Attendance.worker_id) == col(Enrollment.worker_id),
            ),
            isouter=True,
        )
        .where(
            col(TrainingSession.status) == SessionStatus.SCHEDULED.value,
            col(TrainingSession.end_at) > now,
            col(Worker.status) != WorkerStatus.LEFT.value,
            col(Attendance.id).is_(None),
            or_(
                col(TrainingSession.unit_id).is_(None),
                col(Worker.subdistrict_id) == col(TrainingSession.unit_id),
                col(Worker.community_id) == col(TrainingSession.unit_id),
                col(Worker.grid_id) == col(TrainingSession.unit_id),
            ),
        )
    )
    if session_ids is not None:
        stmt = stmt.where(col(TrainingSession.id).in_(session_ids) if session_ids else false())
    if course_ids is not None:
        stmt = stmt.where(col(TrainingSession.course_id).in_(course_ids) if course_ids else false())
    if worker_ids is not None:
        stmt = stmt.where(col(Enrollment.worker_id).in_(worker_ids) if worker_ids else false())
    cand = frame(session, stmt)
    if cand.empty:
        return 0
    limited = cand[cand["capacity"].notna()]
    if not limited.empty:
        taken = frame(
            session,
            sa_select(col(Attendance.session_id), func.count().label("taken"))
            .where(col(Attendance.session_id).in_(limited["session_id"].unique().tolist()))
            .group_by(col(Attendance.session_id)),
        )
        limited = limited.merge(taken, on="session_id", how="left").fillna({"taken": 0})
        limited = limited.sort_values(["session_id", "enrolled_at", "worker_id"])
        limited["rank"] = limited.groupby("session_id").cumcount() + 1
        limited = limited[limited["rank"] <= limited["capacity"] - limited["taken"]]
        cand = pd.concat([cand[cand["capacity"].isna()], limited[cand.columns]])
    rows = [
        {"session_id": int(s), "worker_id": int(w)}
        for s, w in zip(cand["session_id"], cand["worker_id"], strict=True)
    ]
    return insert_ignore(session, Attendance, rows, conflict=["session_id", "worker_id"])
