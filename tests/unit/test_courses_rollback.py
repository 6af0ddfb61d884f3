"""Each courses action is one transaction: all of its steps land together or none does.

The caller owns the unit of work (``core.db.unit_of_work``). A multi-step action whose last step fails
leaves every table exactly as it was (the rollback pattern of tests/unit/test_audit_trail.py, here with a
fault injected into the action's last step instead of a refused commit).
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any

import numpy as np
import pytest
from sqlmodel import Session, SQLModel, select

from core.db import unit_of_work
from core.scope import ScopeError
from courses import jobs
from courses.attendance import (
    check_in,
    checkin_code,
    close_ended_sessions,
    decide_excuse,
    mark_many,
    request_excuse,
)
from courses.attendance_import import commit_platform_import, preview_platform_import
from courses.catalog import Upload, save_course
from courses.enrollment import add_rule, enroll, schedule_for_audience, seat_one, unenroll
from courses.models import Attendance, AttendanceStatus, CourseBase, EnrollmentRule, RuleKind
from courses.quizzes import attempt_questions, auto_submit_expired, start_attempt, submit_attempt
from courses.training_sessions import SessionPlan, cancel_session, schedule, update_session
from tests.unit._courses_world import make_world

NOW = datetime(2020, 3, 2, 9, 0)
START = datetime(2020, 3, 3, 14, 0)


@pytest.fixture
def held(session):
    """Community A's three workers enrolled and seated at a session of A on START (committed)."""
    w = make_world(session)
    course = w.courses["residence_registration"]
    enroll(session, w.manager, course_id=course.id, worker_ids=[x.id for x in w.org.workers_a], now=NOW)
    (ts,) = schedule(
        session,
        w.manager,
        SessionPlan(
            course_id=course.id, first_day=START.date(), start=time(14), end=time(16), unit_id=w.org.comm_a.id
        ),
        now=NOW,
    )
    session.commit()
    return w, ts


def _seats(session, ts) -> dict[int, str | None]:
    session.expire_all()
    return dict(
        session.exec(
            select(Attendance.worker_id, Attendance.status).where(Attendance.session_id == ts.id)
        ).all()
    )


def test_saving_the_register_is_all_or_nothing(session, held):
    """Test that saving a register whose changes include one the manager may not make (a worker of another
    community, in a later status group) leaves every seat as it was, and a valid save sets them all."""
    w, ts = held
    a0, a1, a2 = w.org.workers_a
    b0 = w.org.workers_b[0]
    changes = {a1.id: AttendanceStatus.ABSENT, b0.id: AttendanceStatus.LATE, a0.id: AttendanceStatus.PRESENT}
    with pytest.raises(ScopeError), unit_of_work(session.get_bind()) as s:
        mark_many(s, w.manager_a, session_id=ts.id, statuses=changes, now=START)
    assert _seats(session, ts) == {a0.id: None, a1.id: None, a2.id: None}
    del changes[b0.id]
    with unit_of_work(session.get_bind()) as s:
        assert mark_many(s, w.manager_a, session_id=ts.id, statuses=changes, now=START) == 2
    assert _seats(session, ts) == {a0.id: "present", a1.id: "absent", a2.id: None}


# --- a fault at the last step of every multi-step action -----------------------------------------------------


class InjectedFault(RuntimeError):
    pass


def fingerprint(engine) -> dict[str, str]:  # noqa: ANN001
    """A digest of every table's committed rows, read on a connection of its own."""
    out = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            order = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
            rows = conn.exec_driver_sql(f'SELECT * FROM "{table.name}" ORDER BY {order}').fetchall()
            out[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


@dataclass(frozen=True)
class LastStep:
    """Where an action's last step is: ``module.name`` is replaced by a version that raises on the call
    ``when`` accepts (the earlier calls run for real)."""

    module: str
    name: str
    when: Callable[..., bool] = lambda *a, **k: True


def _action(name: str) -> Callable[..., bool]:
    """The audit entry ``name`` (record's second argument)."""
    return lambda _session, action, *a, **k: action == name


class _nth:
    """True on the n-th call only; the test resets the count before each run (the same case object serves the
    SQLite and the PostgreSQL run of one process)."""

    def __init__(self, n: int) -> None:
        self.n, self.calls = n, 0

    def reset(self) -> None:
        self.calls = 0

    def __call__(self, *_a: Any, **_k: Any) -> bool:
        self.calls += 1
        return self.calls == self.n


@dataclass(frozen=True)
class Case:
    name: str
    last: LastStep
    act: Callable[[Session, Any], Any]  # (session, world) → the action, in the caller's unit of work
    setup: Callable[[Session, Any], None] = lambda s, x: None  # committed before the fingerprint


@dataclass
class Ctx:
    w: Any
    ts: Any
    future: Any = None
    data: dict[str, Any] = field(default_factory=dict)


def _plan(ctx: Ctx, course: str = "fire_safety", day: int = 10) -> SessionPlan:
    return SessionPlan(
        course_id=ctx.w.courses[course].id,
        first_day=(NOW + timedelta(days=day)).date(),
        start=time(9),
        end=time(10),
        unit_id=ctx.w.org.comm_a.id,
    )


def _excuse(s: Session, ctx: Ctx) -> None:
    ctx.data["excuse"] = request_excuse(
        s, ctx.w.worker(ctx.w.org.workers_a[1]), session_id=ctx.ts.id, reason="值班", now=NOW
    ).id


def _attempt(s: Session, ctx: Ctx) -> None:
    a0 = ctx.w.org.workers_a[0]
    attempt = start_attempt(
        s, ctx.w.worker(a0), course_id=ctx.ts.course_id, now=NOW, rng=np.random.default_rng(1)
    )
    _, qs = attempt_questions(s, ctx.w.worker(a0), attempt.id)
    ctx.data["attempt"] = attempt.id
    ctx.data["answers"] = {q["question_id"]: [o["id"] for o in q["options"] if o["correct"]] for q in qs}


def _two_expired(s: Session, ctx: Ctx) -> None:
    for worker in ctx.w.org.workers_a[:2]:
        start_attempt(
            s, ctx.w.worker(worker), course_id=ctx.ts.course_id, now=NOW, rng=np.random.default_rng(2)
        )


def _meeting_file(ctx: Ctx) -> bytes:
    a0, a1, _ = ctx.w.org.workers_a
    return (
        "工号,入会时间,离会时间\n"
        f"{a0.employee_no},2020-03-03 14:00,2020-03-03 16:00\n"
        f"{a1.employee_no},2020-03-03 14:30,2020-03-03 16:00\n"
    ).encode("utf-8-sig")


def _edited_course(ctx: Ctx) -> CourseBase:
    course = ctx.w.courses["fire_safety"]
    return CourseBase.model_validate(course, from_attributes=True).model_copy(update={"pass_mark": 90})


CASES = [
    Case(
        "schedule for an audience (rule, enrolments, sessions, seats)",
        LastStep("courses.training_sessions", "record", _action("course.session.create")),
        lambda s, c: schedule_for_audience(s, c.w.manager, _plan(c), enroll_audience=True, now=NOW),
    ),
    Case(
        "schedule for the whole scope (enrolments, sessions, seats)",
        LastStep("courses.training_sessions", "record", _action("course.session.create")),
        lambda s, c: schedule_for_audience(
            s, c.w.manager_a, replace(_plan(c), unit_id=None), enroll_audience=True, now=NOW
        ),
    ),
    Case(
        "schedule a weekly series (sessions, seats)",
        LastStep("courses.training_sessions", "record"),
        lambda s, c: schedule(
            s,
            c.w.manager,
            replace(
                _plan(c, "residence_registration"), weekdays=(0, 2), until=(NOW + timedelta(days=30)).date()
            ),
            now=NOW,
        ),
    ),
    Case(
        "save a register with two statuses",
        LastStep("courses.attendance", "record", _action("attendance.mark")),
        lambda s, c: mark_many(
            s,
            c.w.manager,
            session_id=c.ts.id,
            now=START,
            statuses={
                c.w.org.workers_a[0].id: AttendanceStatus.PRESENT,
                c.w.org.workers_a[1].id: AttendanceStatus.ABSENT,
            },
        ),
    ),
    Case(
        "enroll (enrolments, seats)",
        LastStep("courses.enrollment", "record", _action("course.enroll")),
        lambda s, c: enroll(
            s, c.w.manager, course_id=c.ts.course_id, now=NOW, worker_ids=[x.id for x in c.w.org.workers_b]
        ),
    ),
    Case(
        "add a rule (rule, enrolments, seats)",
        LastStep("courses.enrollment", "record", _action("course.rule.add")),
        lambda s, c: add_rule(
            s, c.w.manager, course_id=c.ts.course_id, kind=RuleKind.UNIT, unit_id=c.w.org.comm_b.id, now=NOW
        ),
    ),
    Case(
        "seat one worker (enrolment, seat)",
        LastStep("courses.enrollment", "record", _action("course.session.seat")),
        lambda s, c: seat_one(s, c.w.manager, session_id=c.ts.id, worker_id=c.w.org.workers_b[0].id),
    ),
    Case(
        "unenroll (seats, enrolment)",
        LastStep("courses.enrollment", "record", _action("course.unenroll")),
        lambda s, c: unenroll(
            s, c.w.manager, course_id=c.ts.course_id, worker_id=c.w.org.workers_a[2].id, now=NOW
        ),
    ),
    Case(
        "request an excuse (request, notice to the host)",
        LastStep("courses.attendance", "send_rows"),
        lambda s, c: request_excuse(
            s, c.w.worker(c.w.org.workers_a[0]), session_id=c.ts.id, reason="病假", now=NOW
        ),
    ),
    Case(
        "approve an excuse (request, seat)",
        LastStep("courses.attendance", "record"),
        lambda s, c: decide_excuse(s, c.w.manager, excuse_id=c.data["excuse"], approve=True, now=NOW),
        setup=_excuse,
    ),
    Case(
        "move a session (session, notices)",
        LastStep("courses.training_sessions", "notify_session_change"),
        lambda s, c: update_session(
            s,
            c.w.manager,
            c.ts.id,
            start_at=START + timedelta(hours=1),
            end_at=START + timedelta(hours=3),
            meeting_url="",
            capacity=None,
            now=NOW,
        ),
    ),
    Case(
        "cancel a session (session, notices)",
        LastStep("courses.training_sessions", "notify_session_change"),
        lambda s, c: cancel_session(s, c.w.manager, c.ts.id, now=NOW),
    ),
    Case(
        "import a meeting platform's attendance (seats)",
        LastStep("courses.attendance_import", "record"),
        lambda s, c: commit_platform_import(
            s,
            c.w.manager,
            preview_platform_import(
                s, c.w.manager, session_id=c.ts.id, data=_meeting_file(c), filename="会议.csv"
            ),
            now=START,
        ),
    ),
    Case(
        "save a course with an attachment (course, file)",
        LastStep("courses.catalog", "record", _action("course.file_add")),
        lambda s, c: save_course(
            s,
            c.w.manager,
            _edited_course(c),
            c.w.courses["fire_safety"].id,
            files=[Upload("讲义.txt", "第一讲".encode())],
        ),
    ),
    Case(
        "check in (seat, audit)",
        LastStep("courses.attendance", "record"),
        lambda s, c: check_in(
            s,
            c.w.worker(c.w.org.workers_a[0]),
            session_id=c.ts.id,
            now=START,
            code=checkin_code(c.ts.secret, START),
        ),
    ),
    Case(
        "start a quiz (attempt, drawn questions)",
        LastStep("courses.quizzes", "AttemptAnswer"),
        lambda s, c: start_attempt(s, c.w.worker(c.w.org.workers_a[0]), course_id=c.ts.course_id, now=NOW),
    ),
    Case(
        "submit a passing quiz (attempt, answers, certificate)",
        LastStep("courses.quizzes", "insert_ignore"),
        lambda s, c: submit_attempt(
            s,
            c.w.worker(c.w.org.workers_a[0]),
            attempt_id=c.data["attempt"],
            answers=c.data["answers"],
            now=NOW + timedelta(minutes=5),
        ),
        setup=_attempt,
    ),
    Case(
        "the closing job (seats set absent, sessions closed, audit)",
        LastStep("courses.attendance", "record"),
        lambda s, c: close_ended_sessions(s, now=START + timedelta(hours=3)),
    ),
    Case(
        "the deadline job (two attempts submitted)",
        LastStep("courses.quizzes", "finalize", _nth(2)),
        lambda s, c: auto_submit_expired(s, now=NOW + timedelta(days=1)),
        setup=_two_expired,
    ),
    Case(
        "the rules job (enrolments, seats, audit)",
        LastStep("courses.jobs", "record"),
        lambda s, c: jobs._apply_rules(s, now=NOW),
        setup=lambda s, c: s.add(
            EnrollmentRule(course_id=c.ts.course_id, kind="unit", unit_id=c.w.org.comm_b.id, created_at=NOW)
        ),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_fault_at_the_last_step_leaves_every_table_unchanged(session, held, case, monkeypatch):
    """Test that when an action's last step fails, its unit of work leaves every table as it was — and that
    the same action without the fault does change the database (so the fault really came last)."""
    w, ts = held
    ctx = Ctx(w, ts)
    case.setup(session, ctx)
    session.commit()
    engine = session.get_bind()
    before = fingerprint(engine)
    module = importlib.import_module(case.last.module)
    real = getattr(module, case.last.name)
    if isinstance(case.last.when, _nth):
        case.last.when.reset()

    def faulty(*args: Any, **kwargs: Any) -> Any:
        if case.last.when(*args, **kwargs):
            raise InjectedFault(f"{case.last.module}.{case.last.name}")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, case.last.name, faulty)
    with pytest.raises(InjectedFault), unit_of_work(engine) as s:
        case.act(s, ctx)
    assert fingerprint(engine) == before
    monkeypatch.setattr(module, case.last.name, real)
    with unit_of_work(engine) as s:
        case.act(s, ctx)
    assert fingerprint(engine) != before
