"""Enrollment by hand, by rule and through the API, and scheduling a course for an audience.

Enrolling seats the worker at the course's coming sessions (``courses.seating``). Seats are what check-in,
the register, reminders, ``busy_workers`` and ``training_figures`` work from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Select, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core import clock
from core.audit import record
from core.models import OrgUnit, Worker, WorkerStatus, row_id
from core.scope import ScopeError, Viewer, path_scope_clause, worker_scope_clause
from courses._sql import can_manage_unit, frame, insert_ignore, must_get, require_manager, rowcount, table_of
from courses.catalog import CourseError, course_by_code
from courses.models import (
    Attendance,
    Certificate,
    Course,
    Enrollment,
    EnrollmentRule,
    RuleKind,
    TrainingSession,
)
from courses.seating import seat_enrolled
from courses.training.completion import check_prerequisite
from courses.training_sessions import SessionPlan, check_plan, schedule, session_in_scope


def _in_unit(unit_id: int | None):  # noqa: ANN202
    if unit_id is None:
        return col(Worker.id).is_not(None)
    return or_(
        col(Worker.subdistrict_id) == unit_id,
        col(Worker.community_id) == unit_id,
        col(Worker.grid_id) == unit_id,
    )


def enroll(
    session: Session,
    viewer: Viewer,
    *,
    course_id: int,
    worker_ids: list[int],
    source: str = "manual",
    reason: str = "",
    rule_id: int | None = None,
    quiz_due_at: datetime | None = None,
    now: datetime | None = None,
) -> int:
    """Enroll workers (idempotent: the unique key skips those already in); return how many are new.

    Every id must be a worker in the viewer's scope; otherwise nothing is enrolled.
    """
    require_manager(viewer)  # a worker's scope is themselves: without this they could enroll themselves
    now = now or clock.now()
    ids = sorted({int(w) for w in worker_ids})
    if not ids:
        return 0
    if session.get(Course, course_id) is None:
        raise CourseError("no_course")
    visible = set(
        session.exec(select(col(Worker.id)).where(col(Worker.id).in_(ids), worker_scope_clause(viewer))).all()
    )
    outside = [w for w in ids if w not in visible]
    if outside:
        raise ScopeError("scope.err.n_workers_out_of_scope", n=len(outside), example=outside[0])
    check_prerequisite(session, course_id=course_id, worker_ids=ids, at=now)  # raises naming the course first
    new = insert_ignore(
        session,
        Enrollment,
        [
            {
                "course_id": course_id,
                "worker_id": w,
                "source": source,
                "reason": reason[:300],
                "rule_id": rule_id,
                "quiz_due_at": quiz_due_at,
                "enrolled_at": now,
            }
            for w in ids
        ],
        conflict=["course_id", "worker_id"],
    )
    seat_enrolled(session, course_ids=[course_id], worker_ids=ids, now=now)
    if new:
        record(
            session,
            "course.enroll",
            viewer=viewer,
            entity="course",
            entity_id=must_get(session, Course, course_id).code,
            after={"enrolled": new},
            detail={"worker_ids": ids, "source": source, "reason": reason[:300]},
        )
    return new


def enroll_by_code(
    session: Session,
    viewer: Viewer,
    *,
    course_code: str,
    worker_ids: list[int],
    reason: str,
    now: datetime | None = None,
) -> int:
    course = course_by_code(session, course_code)
    return enroll(
        session,
        viewer,
        course_id=row_id(course.id),
        worker_ids=worker_ids,
        source="api",
        reason=reason,
        now=now,
    )


def unenroll(
    session: Session, viewer: Viewer, *, course_id: int, worker_id: int, now: datetime | None = None
) -> None:
    """Remove a worker from a course and their unmarked seats at future sessions."""
    require_manager(viewer)
    now = now or clock.now()
    worker = session.get(Worker, worker_id)
    if (
        worker is None
        or worker_id
        not in session.exec(
            select(col(Worker.id)).where(col(Worker.id) == worker_id, worker_scope_clause(viewer))
        ).all()
    ):
        raise ScopeError("scope.err.worker_out_of_scope")
    future = select(col(TrainingSession.id)).where(
        col(TrainingSession.course_id) == course_id, col(TrainingSession.start_at) > now
    )
    seats = rowcount(
        session.execute(
            table_of(Attendance)
            .delete()
            .where(
                col(Attendance.worker_id) == worker_id,
                col(Attendance.status).is_(None),
                col(Attendance.session_id).in_(future),
            )
        )
    )
    removed = rowcount(
        session.execute(
            table_of(Enrollment)
            .delete()
            .where(col(Enrollment.course_id) == course_id, col(Enrollment.worker_id) == worker_id)
        )
    )
    if removed:
        record(
            session,
            "course.unenroll",
            viewer=viewer,
            entity="course",
            entity_id=must_get(session, Course, course_id).code,
            before={"worker": worker.employee_no, "enrolled": True, "future_seats": seats or 0},
            after={"worker": worker.employee_no, "enrolled": False, "future_seats": 0},
        )


def seat_one(session: Session, viewer: Viewer, *, session_id: int, worker_id: int) -> None:
    """Seat a worker by hand (a manager adding someone to one session, enrolling them in the course)."""
    require_manager(viewer)
    ts = session.get(TrainingSession, session_id)
    if ts is None:
        raise CourseError("no_session")
    session_in_scope(session, viewer, session_id)  # another community's session is not theirs to fill
    enroll(session, viewer, course_id=ts.course_id, worker_ids=[worker_id])
    if insert_ignore(
        session,
        Attendance,
        [{"session_id": session_id, "worker_id": worker_id}],
        conflict=["session_id", "worker_id"],
    ):
        record(
            session,
            "course.session.seat",
            viewer=viewer,
            entity="training_session",
            entity_id=session_id,
            after={"worker": must_get(session, Worker, worker_id).employee_no},
        )


# --- scheduling for an audience ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scheduled:
    """What ``schedule_for_audience`` did."""

    sessions: list[TrainingSession]
    enrolled: int  # workers newly enrolled for the audience
    seated: int  # seats at the new sessions
    rule_id: int | None = None  # the standing rule that keeps the unit's audience enrolled


def schedule_for_audience(
    session: Session,
    viewer: Viewer,
    plan: SessionPlan,
    *,
    enroll_audience: bool = False,
    now: datetime | None = None,
) -> Scheduled:
    """排课: create the session(s) of ``plan`` and, when asked, first enroll its audience — every step or none.

    The audience is ``plan.unit_id`` (a standing unit rule enrolls its active workers now and those who join
    later) or, without a unit, every active worker in the viewer's scope. The plan is checked (scope, course,
    times: a start in the past is refused) before anything is written; each step writes its audit entry
    (``course.rule.add`` or ``course.enroll``, then ``course.session.create``).
    """
    now = now or clock.now()
    check_plan(session, viewer, plan, now=now)
    enrolled, rule_id = 0, None
    if enroll_audience and plan.unit_id is not None:
        rule, enrolled = add_rule(
            session, viewer, course_id=plan.course_id, kind=RuleKind.UNIT, unit_id=plan.unit_id, now=now
        )
        rule_id = rule.id
    elif enroll_audience:
        everyone = session.exec(
            select(col(Worker.id)).where(
                worker_scope_clause(viewer), col(Worker.status) == WorkerStatus.ACTIVE.value
            )
        ).all()
        enrolled = enroll(
            session, viewer, course_id=plan.course_id, worker_ids=[row_id(w) for w in everyone], now=now
        )
    created = schedule(session, viewer, plan, now=now)
    seated = session.exec(
        select(func.count())
        .select_from(Attendance)
        .where(col(Attendance.session_id).in_([ts.id for ts in created]))
    ).one()
    return Scheduled(created, enrolled, int(seated), rule_id)


# --- rules ----------------------------------------------------------------------------------------------


def add_rule(
    session: Session,
    viewer: Viewer,
    *,
    course_id: int,
    kind: RuleKind,
    unit_id: int | None = None,
    cert_course_id: int | None = None,
    now: datetime | None = None,
) -> tuple[EnrollmentRule, int]:
    """Add a standing enrollment rule and apply it now; return the rule and how many were enrolled."""
    require_manager(viewer)
    unit_id = unit_id if unit_id is not None else viewer.scope_unit_id
    if not can_manage_unit(session, viewer, unit_id):
        raise ScopeError("scope.err.rules_own_scope")
    if kind == RuleKind.UNIT and unit_id is None:
        raise CourseError("rule_unit")
    rule = EnrollmentRule(
        course_id=course_id,
        kind=kind.value,
        unit_id=unit_id,
        cert_course_id=cert_course_id if kind == RuleKind.LACKING_CERT else None,
        created_by=viewer.user_id,
        created_at=now or clock.now(),
    )
    session.add(rule)
    session.flush()
    n = apply_rules(session, rule_ids=[row_id(rule.id)], now=now)
    record(
        session,
        "course.rule.add",
        viewer=viewer,
        entity="enrollment_rule",
        entity_id=rule.id,
        after={
            "course_id": course_id,
            "kind": rule.kind,
            "unit_id": unit_id,
            "cert_course_id": rule.cert_course_id,
        },
        detail={"enrolled": n},
    )
    return rule, n


def rule_matches(session: Session, rule: EnrollmentRule, *, now: datetime) -> list[int]:
    """Ids of the active workers a rule covers right now."""
    stmt = select(col(Worker.id)).where(col(Worker.status) != WorkerStatus.LEFT.value, _in_unit(rule.unit_id))
    if rule.kind == RuleKind.PARTY.value:
        stmt = stmt.where(col(Worker.party_member))
    elif rule.kind == RuleKind.LACKING_CERT.value:
        valid = select(col(Certificate.worker_id)).where(
            col(Certificate.course_id) == (rule.cert_course_id or rule.course_id),
            col(Certificate.valid_until) > now,
        )
        stmt = stmt.where(col(Worker.id).not_in(valid))
    return [row_id(w) for w in session.exec(stmt).all()]


def apply_rules(session: Session, *, rule_ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Enroll everyone the active rules cover who is not enrolled yet (workers who joined since, too)."""
    now = now or clock.now()
    stmt = select(EnrollmentRule).where(col(EnrollmentRule.is_active))
    if rule_ids is not None:
        stmt = stmt.where(col(EnrollmentRule.id).in_(rule_ids))
    added = 0
    for rule in session.exec(stmt).all():  # a handful of rules; each is one set-based insert
        ids = check_prerequisite(
            session,
            course_id=rule.course_id,
            worker_ids=rule_matches(session, rule, now=now),
            at=now,
            skip_missing=True,
        )  # those without the required certificate wait
        added += insert_ignore(
            session,
            Enrollment,
            [
                {
                    "course_id": rule.course_id,
                    "worker_id": w,
                    "source": "rule",
                    "reason": f"rule {rule.id}",
                    "rule_id": rule.id,
                    "enrolled_at": now,
                }
                for w in ids
            ],
            conflict=["course_id", "worker_id"],
        )
        seat_enrolled(session, course_ids=[rule.course_id], worker_ids=ids, now=now)
    return added


def rules_frame(session: Session, viewer: Viewer, course_id: int | None = None) -> pd.DataFrame:
    require_manager(viewer)
    stmt: Select = (
        sa_select(
            col(EnrollmentRule.id),
            col(EnrollmentRule.course_id),
            col(Course.code).label("course_code"),
            col(EnrollmentRule.kind),
            col(EnrollmentRule.unit_id),
            col(OrgUnit.name_zh).label("unit_zh"),
            col(OrgUnit.name_en).label("unit_en"),
            col(EnrollmentRule.cert_course_id),
            col(EnrollmentRule.is_active),
            col(EnrollmentRule.created_at),
        )
        .join(Course, col(Course.id) == col(EnrollmentRule.course_id))
        .join(OrgUnit, col(OrgUnit.id) == col(EnrollmentRule.unit_id), isouter=True)
        .order_by(col(EnrollmentRule.id))
    )
    if viewer.scope_unit_id is not None:
        stmt = stmt.where(path_scope_clause(viewer, col(OrgUnit.path)))
    if course_id is not None:
        stmt = stmt.where(col(EnrollmentRule.course_id) == course_id)
    return frame(session, stmt)


def deactivate_rule(session: Session, viewer: Viewer, rule_id: int) -> None:
    rule = session.get(EnrollmentRule, rule_id)
    if rule is None or not can_manage_unit(session, viewer, rule.unit_id):
        raise ScopeError("scope.err.rule_out_of_scope")
    record(
        session,
        "course.rule.deactivate",
        viewer=viewer,
        entity="enrollment_rule",
        entity_id=rule.id,
        before={"is_active": rule.is_active},
        after={"is_active": False},
    )
    rule.is_active = False
    session.add(rule)


def enrolled_frame(session: Session, viewer: Viewer, course_id: int) -> pd.DataFrame:
    """Enrolled workers of a course in the viewer's scope."""
    require_manager(viewer)
    stmt: Select = (
        sa_select(
            col(Enrollment.worker_id),
            col(Worker.employee_no),
            col(Worker.name),
            col(Worker.party_member),
            col(OrgUnit.name_zh).label("community_zh"),
            col(OrgUnit.name_en).label("community_en"),
            col(Enrollment.source),
            col(Enrollment.reason),
            col(Enrollment.enrolled_at),
        )
        .join(Worker, col(Worker.id) == col(Enrollment.worker_id))
        .join(OrgUnit, col(OrgUnit.id) == col(Worker.community_id))
        .where(col(Enrollment.course_id) == course_id, worker_scope_clause(viewer))
        .order_by(col(Worker.employee_no))
    )
    return frame(session, stmt)
