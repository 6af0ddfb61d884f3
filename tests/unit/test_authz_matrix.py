"""Who may do what, in the domain layer: every write action × every kind of viewer.

Each row of ``WRITES`` is one action performed on a record owned by community A (or by worker a0 of
A); each column a viewer. An allowed cell must run and change the database; a denied one must raise
``ScopeError`` (a PermissionError) — or, where listed on the row, the domain's own refusal for that
action — and leave the database exactly as it was. Every cell runs inside a transaction that is rolled
back, so the rows share one world per test.

``READS`` does the same for functions that take an id: A's data must reach A's managers and never
the community manager of B or another worker (a ScopeError or an empty answer).

``test_every_write_function_has_a_row`` keeps the matrix honest: every public function of the domain
modules below is either covered by a row or listed, with the reason, as not a viewer's write.
"""

from __future__ import annotations

import hashlib
import inspect
import re
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

import core.account_lifecycle
import core.api_clients
import core.audit
import core.org
import core.users
import core.web_sessions
import core.worker_import
import courses.api
import courses.attendance
import courses.attendance_import
import courses.catalog
import courses.enrollment
import courses.learner
import courses.notifications
import courses.quizzes
import courses.seating
import courses.training.completion
import courses.training.ledger
import courses.training.lessons
import courses.training.plans
import courses.training.supervision
import courses.training_sessions
import evaluation.assignment.service
import evaluation.field.events
import evaluation.field.findings
import evaluation.field.imports
import evaluation.field.quality
import evaluation.field.registry
import evaluation.field.rentals
import evaluation.field.tasks
import evaluation.scoring.adjustments
import evaluation.scoring.remedial
import evaluation.scoring.service
import evaluation.scoring.snapshots
import evaluation.scoring.store
import evaluation.sync
import evaluation.webhooks
from core import inbox as core_inbox
from core.api_clients import OPERATIONS, client_viewer, create_client
from core.db import make_engine
from core.models import OrgUnit, Role, User, Worker, WorkerCreate, WorkerStatus
from core.models_inbox import Notification
from core.scope import SYSTEM, Viewer
from core.totp import begin_enrolment, confirm, current_step, totp
from courses.models import (
    AttendanceStatus,
    Course,
    RuleKind,
    TrainingSession,
)
from evaluation.field.models import (
    Event,
    EventState,
    RentalBuilding,
    RentalGrading,
    VerificationTask,
    VisitDay,
)
from tests.conftest import _wipe
from tests.factories import MiniOrg, viewer
from tests.unit._courses_world import make_world

NOW = datetime(2020, 6, 1, 10, 0)
# The three administrator duties (三员分立) are three columns: the system administrator ("sysadmin") manages
# configuration and the business data district-wide; the security ("secadmin") and audit ("auditor")
# administrators touch no business data at all.
COLUMNS = ("sysadmin", "secadmin", "auditor", "district", "sub", "mgr_a", "mgr_b", "owner", "other")
MANAGERS_OF_A = frozenset({"sysadmin", "district", "sub", "mgr_a"})
DISTRICT = frozenset({"sysadmin", "district"})
SYSADMIN = frozenset({"sysadmin"})
SECADMIN = frozenset({"secadmin"})
AUDITOR = frozenset({"auditor"})
OWNER = frozenset({"owner"})
ABOVE_A_AND_B = frozenset({"sysadmin", "district", "sub"})  # those who manage both communities


# --- the world ------------------------------------------------------------------------------------------


@dataclass
class Ids:
    """Ids of the records in community A that the actions work on (plain ints: the world is built
    in one session and used in others)."""

    org: MiniOrg
    owner: int  # worker a0
    other: int  # worker a1 (same community, not the owner)
    b0: int  # a worker of community B
    owner_user: int
    course: int  # a0 enrolled, quiz attempt in progress
    course2: int  # a0 enrolled, no attempt yet
    course_free: int  # nobody enrolled
    live: int  # A's session running at NOW, a0 seated
    future: int  # A's session in two days, a0 seated, a0's excuse pending
    future2: int  # A's session in three days, a0 seated, no excuse
    excuse: int
    attempt: int
    notification: int
    rule: int
    ev_reported: int
    ev_registered: int
    ev_dispatched: int  # dispatched to a0
    ev_handling: int  # held by a0
    building: int
    verification: int
    decision: int = 0  # an assignment decision choosing a0 (the sync API's decisions page)
    web_session: int = 0  # a0's signed-in browser session
    viewers: dict[str, Viewer] = field(default_factory=dict)
    baseline: dict[str, str] = field(default_factory=dict)  # the world's fingerprint, every cell's start


def _user(session: Session, name: str, role: Role, unit: OrgUnit | None = None) -> User:
    u = User(
        username=name,
        display_name=name,
        password_hash="x",
        role=role.value,
        scope_unit_id=unit.id if unit else None,
    )
    session.add(u)
    session.flush()
    return u


def build_world(session: Session) -> Ids:
    from courses.attendance import request_excuse
    from courses.enrollment import add_rule, enroll
    from courses.quizzes import start_attempt
    from courses.training_sessions import SessionPlan, schedule
    from evaluation.field.registry import ensure_reference_data
    from evaluation.scoring.store import ensure_default_scheme

    w = make_world(session)
    org = w.org
    a0, a1 = org.workers_a[0], org.workers_a[1]
    admin = _user(session, "sysadmin", Role.SYSADMIN)
    secadmin = _user(session, "secadmin", Role.SECADMIN)
    auditor = _user(session, "auditor", Role.AUDITOR)
    sub = _user(session, "sub", Role.MANAGER, org.sub)
    mgr_b = _user(session, "mgr_b", Role.MANAGER, org.comm_b)
    session.commit()
    viewers = {
        "sysadmin": viewer(Role.SYSADMIN, user_id=admin.id),
        "secadmin": viewer(Role.SECADMIN, user_id=secadmin.id),
        "auditor": viewer(Role.AUDITOR, user_id=auditor.id),
        "district": w.manager,
        "sub": viewer(Role.MANAGER, org.sub, user_id=sub.id),
        "mgr_a": w.manager_a,
        "mgr_b": viewer(Role.MANAGER, org.comm_b, user_id=mgr_b.id),
        "owner": w.worker(a0),
        "other": w.worker(a1),
    }
    ensure_reference_data(session)
    ensure_default_scheme(session)
    course, course2, course_free = (w.courses[c] for c in ("fire_safety", "info_collection", "house_coding"))
    before = NOW - timedelta(days=1)
    enroll(session, w.manager, course_id=course.id, worker_ids=[a0.id], now=before)
    enroll(session, w.manager, course_id=course2.id, worker_ids=[a0.id], now=before)

    def plan(start: datetime, minutes: int = 60) -> SessionPlan:
        return SessionPlan(
            course_id=course.id,
            first_day=start.date(),
            start=start.time(),
            end=(start + timedelta(minutes=minutes)).time(),
            unit_id=org.comm_a.id,
        )

    (live,) = schedule(session, w.manager, plan(NOW - timedelta(minutes=5)), now=before)
    (future,) = schedule(session, w.manager, plan(NOW + timedelta(days=2)), now=before)
    (future2,) = schedule(session, w.manager, plan(NOW + timedelta(days=3)), now=before)
    excuse = request_excuse(session, viewers["owner"], session_id=future.id, reason="家中有事", now=NOW)
    attempt = start_attempt(session, viewers["owner"], course_id=course.id, now=NOW)
    note = Notification(user_id=w.users[a0.id], key="authz:1", kind="test", title_zh="通知", created_at=NOW)
    session.add(note)
    rule, _ = add_rule(
        session,
        w.manager_a,
        course_id=w.courses["epidemic_screening"].id,
        kind=RuleKind.PARTY,
        unit_id=org.comm_a.id,
        now=NOW,
    )
    grid = org.grids_a[0]

    def ev(no: str, state: EventState, **kw: Any) -> Event:
        e = Event(
            event_no=no,
            item_code="C03",
            category_code="city",
            grid_id=grid.id,
            community_id=grid.parent_id,
            lat=grid.lat,
            lon=grid.lon,
            priority="normal",
            state=state.value,
            reported_at=NOW - timedelta(hours=3),
            **kw,
        )
        session.add(e)
        return e

    e_rep = ev("A-REP", EventState.REPORTED)
    e_reg = ev("A-REG", EventState.REGISTERED, accepted_at=NOW - timedelta(hours=2))
    e_dis = ev(
        "A-DIS",
        EventState.DISPATCHED,
        accepted_at=NOW - timedelta(hours=2),
        assignee_id=a0.id,
        dispatched_at=NOW - timedelta(hours=1),
        sign_due_at=NOW + timedelta(hours=1),
        due_at=NOW + timedelta(hours=24),
    )
    e_han = ev(
        "A-HAN",
        EventState.HANDLING,
        accepted_at=NOW - timedelta(hours=2),
        assignee_id=a0.id,
        dispatched_at=NOW - timedelta(hours=1),
        signed_at=NOW - timedelta(minutes=50),
        started_at=NOW - timedelta(minutes=40),
        due_at=NOW + timedelta(hours=24),
    )
    building = RentalBuilding(
        code="A-B1",
        address="甲社区一巷1号",
        grid_id=grid.id,
        community_id=grid.parent_id,
        lat=grid.lat,
        lon=grid.lon,
        grade="red",
        graded_at=NOW - timedelta(days=60),
    )
    task = VerificationTask(
        kind="address_codes",
        ref_key="A-ADDR",
        community_id=org.comm_a.id,
        grid_id=grid.id,
        title_zh="核查地址",
        title_en="Check address",
        created_at=NOW - timedelta(days=1),
        due_at=NOW + timedelta(days=3),
    )
    overflow = VisitDay(worker_id=a0.id, day=(NOW - timedelta(days=1)).date(), visits=200)  # A's data problem
    session.add_all([building, task, overflow])
    session.flush()
    evaluation.field.findings.run_checks(session, SYSTEM, now=NOW)  # the daily job's findings, A's overflow
    session.add(
        RentalGrading(
            building_id=building.id,
            graded_at=NOW - timedelta(days=60),
            grade="red",
            score=50.0,
            scores_json="{}",
        )
    )
    _training_world(session, w, course.id, a0.id)
    # API clients act as viewers too: one scoped to community A, one to B (test_api_client_* below).
    for name, unit in (("api_a", org.comm_a), ("api_b", org.comm_b)):
        client, _ = create_client(
            session, SYSTEM, name=name, scope_unit_id=unit.id, operations=list(OPERATIONS)
        )
        viewers[name] = client_viewer(session, client)
    from evaluation.assignment.models import AssignmentDecision

    decision = AssignmentDecision(
        task_id="event:authz-sync",
        kind="event",
        chosen_worker_id=a0.id,
        community_id=org.comm_a.id,
        preset="routine",
        decided_at=NOW - timedelta(hours=1),
    )
    session.add(decision)
    # a0 is signed in (the security administrator's sessions list and "end session" rows).
    from core.web_sessions import open_session, redeem_code

    web, code = open_session(session, session.get(User, w.users[a0.id]), now=NOW)
    redeem_code(session, code, now=NOW)
    session.commit()
    return Ids(
        org=org,
        owner=a0.id,
        other=a1.id,
        b0=org.workers_b[0].id,
        owner_user=w.users[a0.id],
        course=course.id,
        course2=course2.id,
        course_free=course_free.id,
        live=live.id,
        future=future.id,
        future2=future2.id,
        excuse=excuse.id,
        attempt=attempt.id,
        notification=note.id,
        rule=rule.id,
        ev_reported=e_rep.id,
        ev_registered=e_reg.id,
        ev_dispatched=e_dis.id,
        ev_handling=e_han.id,
        building=building.id,
        verification=task.id,
        decision=decision.id or 0,
        web_session=web.id or 0,
        viewers=viewers,
    )


def _training_world(session: Session, w: Any, course_id: int, a0_id: int) -> None:
    """A district plan with a compulsory course overdue at NOW, lessons for ``course``, an external entry for a0."""
    from courses.training.ledger import record_external
    from courses.training.lessons import ensure_lessons
    from courses.training.plans import save_plan

    save_plan(
        session,
        w.manager,
        year=2020,
        unit_id=w.org.district.id,
        requirements=[{"worker_group": "all", "hours": 40}],
        courses=[{"course_code": "house_coding", "worker_group": "all", "due_date": date(2020, 5, 1)}],
        now=NOW,
    )
    ensure_lessons(session, course_ids=[course_id])
    record_external(
        session,
        w.manager,
        worker_id=a0_id,
        hours=2,
        on=date(2020, 5, 6),
        note="外部培训",
        evidence=("签到表.txt", b"x"),
        now=NOW,
    )


def _lesson(s: Session, ids: Ids, position: int = 1) -> int:
    from courses.training.models import Lesson

    return (
        s.exec(select(Lesson.id).where(Lesson.course_id == ids.course, Lesson.position == position))
        .scalars()
        .one()
    )


def _a0_entry(s: Session, ids: Ids) -> int:
    from courses.training.models import HoursEntry

    return s.exec(select(HoursEntry.id).where(HoursEntry.worker_id == ids.owner)).scalars().first()


def _workbook_names_a0(data: bytes, ids: Ids) -> bool:
    import io

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    return any("A00" == c for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row)


# --- running one cell in a transaction that is thrown away ---------------------------------------------


@pytest.fixture(scope="module")
def cell_engine(engine: Engine) -> Iterator[Engine]:
    """A second engine on the test database whose transactions really nest (SAVEPOINT), so each cell's
    commits land inside an outer transaction the harness rolls back. pysqlite needs the documented
    recipe: no implicit transactions, an explicit BEGIN."""
    eng = make_engine(engine.url.render_as_string(hide_password=False))
    if eng.dialect.name == "sqlite":

        @event.listens_for(eng, "connect")
        def _no_pysqlite_transactions(dbapi_conn, _record) -> None:  # noqa: ANN001
            dbapi_conn.isolation_level = None

        @event.listens_for(eng, "begin")
        def _begin(conn) -> None:  # noqa: ANN001
            conn.exec_driver_sql("BEGIN")

    yield eng
    eng.dispose()


@pytest.fixture(autouse=True)
def _secret_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A channel-secret key, so an administrator's webhook subscription can store its signing secret."""
    from cryptography.fernet import Fernet

    from core.settings import get_settings

    monkeypatch.setenv("GRIDWISE_SECRET_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("GRIDWISE_SECRET_KEY")
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def world(engine: Engine) -> Iterator[Ids]:
    """One world for the module (every cell rolls back what it did); emptied afterwards like the
    ``session`` fixture does after each test."""
    with Session(engine, expire_on_commit=False) as session:
        ids = build_world(session)
    with Session(engine) as session:
        ids.baseline = fingerprint(session)
    yield ids
    _wipe(engine)


def fingerprint(session: Session, tables: set[str] | None = None) -> dict[str, str]:
    """A digest of every table's rows (the world is small), or of the named ones."""
    conn = session.connection()
    out = {}
    for table in SQLModel.metadata.sorted_tables:
        if tables is not None and table.name not in tables:
            continue
        # Raw driver rows: no per-value type processing, so a cell costs milliseconds.
        order = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
        rows = conn.exec_driver_sql(f'SELECT * FROM "{table.name}" ORDER BY {order}').fetchall()
        out[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


# A statement that may write: the table it names (INSERT INTO / UPDATE / DELETE FROM, quoted or not).
WRITE_SQL = re.compile(
    r'^\s*(?:WITH\b.*?\)\s*)?(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.I | re.S
)
DML_WORD = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE)\b", re.I)


@contextmanager
def tables_written() -> Iterator[set[str]]:
    """The tables every statement run meanwhile (on any engine) may have written; ``"*"`` when a statement
    could write and its table cannot be read off it (the cell then compares every table)."""
    seen: set[str] = set()

    def note(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        head = statement.lstrip()[:6].upper()
        if head in ("SELECT", "SAVEPO", "RELEAS", "ROLLBA", "BEGIN", "COMMIT", "PRAGMA", "SHOW T", "SET TR"):
            return
        named = WRITE_SQL.match(statement)
        if named:
            seen.add(named.group(1))
        elif DML_WORD.search(statement):
            seen.add("*")

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", note)


def run_cell(
    eng: Engine, act: Callable[[Session, Ids, Viewer], Any], ids: Ids, who: str
) -> tuple[Any, BaseException | None, list[str]]:
    """Run ``act`` as ``who``; return its result, any exception and the tables it changed.

    Every cell starts from the same world (each one's outer transaction is rolled back), so the world's
    fingerprint is taken once (``ids.baseline``); after the cell only the tables a statement wrote to are
    digested again and compared with it. A write that was rolled back, or that stored what was there
    already, changes nothing."""
    with eng.connect() as conn:
        outer = conn.begin()
        try:
            with Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False) as s:
                result, error = None, None
                with tables_written() as written:
                    try:
                        result = act(s, ids, ids.viewers[who])
                        s.flush()
                    except Exception as exc:  # noqa: BLE001 - the cell decides what was expected
                        error = exc
                        s.rollback()
                after = fingerprint(s, None if "*" in written else written)
        finally:
            outer.rollback()
    return result, error, sorted(t for t in after if after[t] != ids.baseline[t])


def refusal_key(exc: BaseException) -> str | None:
    return getattr(exc, "key", None)


# --- the write actions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    name: str
    covers: tuple[Callable, ...]  # the domain functions this row exercises
    act: Callable[[Session, Ids, Viewer], Any]
    allowed: frozenset[str]
    refusals: tuple[str, ...] = ()  # domain error keys that also count as a refusal (besides ScopeError)
    refused_result: Callable[[Any], bool] | None = None  # for writes that refuse by doing nothing


def _second_factor(session: Session, user_id: int) -> None:
    """Give the account an authenticator (enrolled and confirmed) for the reset row to remove."""
    confirm(session, user_id, totp(begin_enrolment(session, user_id), current_step()))


def _course_data(session: Session, course_id: int, **changes: Any):  # noqa: ANN202
    from courses.models import CourseBase

    course = session.get(Course, course_id)
    return CourseBase.model_validate(
        {**CourseBase.model_validate(course, from_attributes=True).model_dump(), **changes}
    )


def _metrics_csv(ids: Ids, employee_no: str) -> bytes:
    return f"工号,统计月份,指标,分子,分母\n{employee_no},2020-05,collection_rate,40,50\n".encode()


def _event_csv(event_no: str, grid_code: str) -> bytes:
    return (
        f"事件编号,事项,网格编码,地点,上报时间\n{event_no},C03,{grid_code},甲社区路口,2020-05-30 09:00\n"
    ).encode()


def _platform_preview(session: Session, ids: Ids):  # noqa: ANN202
    from courses.attendance_import import preview_platform_import

    ts = session.get(TrainingSession, ids.live)
    a0 = session.get(Worker, ids.owner)
    data = (
        f"工号,姓名,入会时间,离会时间\n{a0.employee_no},{a0.name},{ts.start_at:%Y-%m-%d %H:%M},"
        f"{ts.end_at:%Y-%m-%d %H:%M}\n"
    ).encode()
    return preview_platform_import(
        session, ids.viewers["district"], session_id=ids.live, data=data, filename="meeting.csv"
    )


def _worker_preview(session: Session, ids: Ids):  # noqa: ANN202
    from core.worker_import import preview_worker_import

    a0 = session.get(Worker, ids.owner)
    grid = session.get(OrgUnit, a0.grid_id)
    data = (
        "工号,姓名,网格编码,入职日期,手机号\n"
        f"{a0.employee_no},{a0.name}改,{grid.code},2018-01-01,13900000000\n"
    ).encode()
    return preview_worker_import(session, ids.viewers["sysadmin"], data, "roster.csv")


def _registry_tables(session: Session):  # noqa: ANN202
    before = evaluation.field.registry.metric_registry(session).set_index("code")
    after = before.copy()
    after.loc["collection_rate", "name_en"] = "Collection (edited)"
    return before, after


def _sla_table(session: Session):  # noqa: ANN202
    import pandas as pd

    levels = evaluation.field.registry.sla_levels(session)
    return pd.DataFrame(
        [
            {
                "code": c,
                **{k: getattr(x, k) for k in evaluation.field.registry.SLA_LIMITS},
                "sign_limit_hours": 3.0 if c == "normal" else x.sign_limit_hours,
            }
            for c, x in levels.items()
        ]
    )


def _batch_proposal(session: Session, ids: Ids):  # noqa: ANN202
    """The district's batch proposal: A's open tasks (B has none) to A's workers."""
    proposal = evaluation.assignment.service.propose_batch(
        session, ids.viewers["district"], "routine", now=NOW
    )
    assert not proposal.assigned.empty and set(proposal.assigned["community_id"]) == {ids.org.comm_a.id}
    return proposal


def _save_worker(grid_of: Callable[[Ids], OrgUnit]) -> Callable[[Session, Ids, Viewer], Any]:
    def act(s: Session, ids: Ids, v: Viewer) -> Any:
        a0 = s.get(Worker, ids.owner)
        data = WorkerCreate.model_validate(a0, from_attributes=True).model_dump()
        return core.org.save_worker(
            s, v, WorkerCreate(**{**data, "phone": "13900000000", "grid_id": grid_of(ids).id})
        )

    return act


def _assign_task(kind: str, worker: str) -> Callable[[Session, Ids, Viewer], Any]:
    """Assign A's task of ``kind`` (event, verification task, rental patrol) to ``worker`` of Ids."""

    def act(s: Session, i: Ids, v: Viewer) -> Any:
        key = {"event": i.ev_registered, "verification": i.verification, "patrol": i.building}[kind]
        return F.tasks.assign_task(
            s,
            v,
            task_id=f"{kind}:{key}",
            worker_id=getattr(i, worker),
            reason_zh="近",
            reason_en="near",
            assigned_by=v.user_id,
            now=NOW,
        )

    return act


def _new_session_plan(ids: Ids, course: str = "course"):  # noqa: ANN202
    from courses.training_sessions import SessionPlan

    day = (NOW + timedelta(days=5)).date()
    return SessionPlan(
        course_id=getattr(ids, course), first_day=day, start=time(9), end=time(10), unit_id=ids.org.comm_a.id
    )


C, F, S, A, K = courses, evaluation.field, evaluation.scoring, evaluation.assignment, core
E = evaluation
T = courses.training

WRITES: list[Write] = [
    # --- courses: catalog (district-wide) ---
    Write(
        "save_course",
        (C.catalog.save_course,),
        lambda s, i, v: C.catalog.save_course(
            s, v, _course_data(s, i.course, description_en="edited"), i.course
        ),
        DISTRICT,
    ),
    Write(
        "attach_file",
        (C.catalog.attach_file,),
        lambda s, i, v: C.catalog.attach_file(s, v, course_id=i.course, filename="a.txt", data=b"x"),
        DISTRICT,
    ),
    # --- sessions ---
    Write(
        "schedule session for A",
        (C.training_sessions.schedule,),
        lambda s, i, v: C.training_sessions.schedule(s, v, _new_session_plan(i), now=NOW),
        MANAGERS_OF_A,
    ),
    Write(
        "update A's session",
        (C.training_sessions.update_session,),
        lambda s, i, v: C.training_sessions.update_session(
            s,
            v,
            i.future,
            start_at=NOW + timedelta(days=2, hours=1),
            end_at=NOW + timedelta(days=2, hours=2),
            meeting_url="",
            capacity=None,
            now=NOW,
        ),
        MANAGERS_OF_A,
    ),
    Write(
        "cancel A's session",
        (C.training_sessions.cancel_session,),
        lambda s, i, v: C.training_sessions.cancel_session(s, v, i.future, now=NOW),
        MANAGERS_OF_A,
    ),
    # --- enrollment ---
    Write(
        "enroll a0",
        (C.enrollment.enroll,),
        lambda s, i, v: C.enrollment.enroll(s, v, course_id=i.course_free, worker_ids=[i.owner], now=NOW),
        MANAGERS_OF_A,
    ),
    Write(
        "enroll a0 by code",
        (C.enrollment.enroll_by_code,),
        lambda s, i, v: C.enrollment.enroll_by_code(
            s, v, course_code="house_coding", worker_ids=[i.owner], reason="x", now=NOW
        ),
        MANAGERS_OF_A,
    ),
    Write(
        "enroll a0 through the api",
        (C.api.enroll_workers,),
        lambda s, i, v: C.api.enroll_workers(
            s, v, course_code="house_coding", worker_ids=[i.owner], reason="x"
        ),
        MANAGERS_OF_A,
    ),
    Write(
        "unenroll a0",
        (C.enrollment.unenroll,),
        lambda s, i, v: C.enrollment.unenroll(s, v, course_id=i.course2, worker_id=i.owner, now=NOW),
        MANAGERS_OF_A,
    ),
    Write(
        "seat a0 at A's session",
        (C.enrollment.seat_one,),
        lambda s, i, v: C.enrollment.seat_one(s, v, session_id=i.future, worker_id=i.other),
        MANAGERS_OF_A,
    ),
    Write(
        "seat B's worker at A's session",
        (C.enrollment.seat_one,),
        lambda s, i, v: C.enrollment.seat_one(s, v, session_id=i.future, worker_id=i.b0),
        ABOVE_A_AND_B,
    ),
    Write(
        "schedule for A's audience, enrolling it",
        (C.enrollment.schedule_for_audience,),
        lambda s, i, v: C.enrollment.schedule_for_audience(
            s, v, _new_session_plan(i, course="course_free"), enroll_audience=True, now=NOW
        ),
        MANAGERS_OF_A,
    ),
    Write(
        "add a rule for A",
        (C.enrollment.add_rule,),
        lambda s, i, v: C.enrollment.add_rule(
            s, v, course_id=i.course2, kind=RuleKind.UNIT, unit_id=i.org.comm_a.id, now=NOW
        ),
        MANAGERS_OF_A,
    ),
    Write(
        "deactivate A's rule",
        (C.enrollment.deactivate_rule,),
        lambda s, i, v: C.enrollment.deactivate_rule(s, v, i.rule),
        MANAGERS_OF_A,
    ),
    # --- attendance ---
    Write(
        "check in to A's live session (link)",
        (C.attendance.check_in,),
        lambda s, i, v: C.attendance.check_in(
            s,
            v,
            session_id=i.live,
            now=NOW,
            token=C.attendance.link_token(s.get(TrainingSession, i.live).secret, i.live),
        ),
        OWNER,
        refusals=("worker_only", "not_seated"),
    ),
    Write(
        "mark a0 present",
        (C.attendance.mark,),
        lambda s, i, v: C.attendance.mark(
            s, v, session_id=i.live, worker_ids=[i.owner], status=AttendanceStatus.PRESENT, now=NOW
        ),
        MANAGERS_OF_A,
    ),
    Write(
        "save A's register (two statuses)",
        (C.attendance.mark_many,),
        lambda s, i, v: C.attendance.mark_many(
            s,
            v,
            session_id=i.live,
            now=NOW,
            statuses={i.owner: AttendanceStatus.PRESENT, i.other: AttendanceStatus.ABSENT},
        ),
        MANAGERS_OF_A,
    ),
    Write(
        "request an excuse",
        (C.attendance.request_excuse,),
        lambda s, i, v: C.attendance.request_excuse(s, v, session_id=i.future2, reason="病假", now=NOW),
        OWNER,
        refusals=("worker_only", "not_seated"),
    ),
    Write(
        "decide a0's excuse",
        (C.attendance.decide_excuse,),
        lambda s, i, v: C.attendance.decide_excuse(s, v, excuse_id=i.excuse, approve=True, now=NOW),
        MANAGERS_OF_A,
    ),
    Write(
        "commit a meeting-platform import for A's session",
        (C.attendance_import.commit_platform_import,),
        lambda s, i, v: C.attendance_import.commit_platform_import(s, v, _platform_preview(s, i), now=NOW),
        MANAGERS_OF_A,
    ),
    # --- quizzes ---
    Write(
        "start a quiz",
        (C.quizzes.start_attempt,),
        lambda s, i, v: C.quizzes.start_attempt(s, v, course_id=i.course2, now=NOW),
        OWNER,
        refusals=("worker_only", "not_enrolled"),
    ),
    Write(
        "save an answer in a0's attempt",
        (C.quizzes.save_answer,),
        lambda s, i, v: C.quizzes.save_answer(
            s,
            v,
            attempt_id=i.attempt,
            question_id=_first_question(s, i)[0],
            option_ids=[_first_question(s, i)[1]],
            now=NOW + timedelta(minutes=1),
        ),
        OWNER,
        refusals=("not_your_attempt",),
    ),
    Write(
        "submit a0's attempt",
        (C.quizzes.submit_attempt,),
        lambda s, i, v: C.quizzes.submit_attempt(
            s, v, attempt_id=i.attempt, answers={}, now=NOW + timedelta(minutes=2)
        ),
        OWNER,
        refusals=("not_your_attempt",),
    ),
    # --- notifications: only one's own notices are marked (others' ids are ignored) ---
    Write(
        "mark a0's notice read",
        (core_inbox.mark_read,),
        lambda s, i, v: core_inbox.mark_read(s, v, [i.notification], now=NOW),
        OWNER,
        refused_result=lambda n: n == 0,
    ),
    # --- field data ---
    Write(
        "import metrics for a0",
        (F.imports.import_file,),
        lambda s, i, v: F.imports.import_file(s, v, "metrics", _metrics_csv(i, "A00"), "m.csv", now=NOW),
        MANAGERS_OF_A,
        refusals=("field.import.refused_msg",),
    ),
    Write(
        "import a new event in A's grid",
        (F.imports.import_file,),
        lambda s, i, v: F.imports.import_file(s, v, "events", _event_csv("A-NEW", "D1A0"), "e.csv", now=NOW),
        MANAGERS_OF_A,
        refusals=("field.import.refused_msg",),
    ),
    Write(
        "import: A's event number under B's grid",
        (F.imports.import_file,),
        lambda s, i, v: F.imports.import_file(s, v, "events", _event_csv("A-REP", "D1B0"), "e.csv", now=NOW),
        ABOVE_A_AND_B,
        refusals=("field.import.refused_msg",),
    ),
    Write(
        "accept A's event",
        (F.events.transition,),
        lambda s, i, v: F.events.transition(s, v, event_id=i.ev_reported, action="accept", now=NOW),
        MANAGERS_OF_A,
    ),
    Write(
        "dispatch A's event to a0",
        (F.events.transition,),
        lambda s, i, v: F.events.transition(
            s, v, event_id=i.ev_registered, action="dispatch", assignee_id=i.owner, now=NOW
        ),
        MANAGERS_OF_A,
    ),
    Write(
        "dispatch A's event to B's worker",
        (F.events.transition,),
        lambda s, i, v: F.events.transition(
            s, v, event_id=i.ev_registered, action="dispatch", assignee_id=i.b0, now=NOW
        ),
        ABOVE_A_AND_B,
    ),
    Write(
        "sign the event dispatched to a0",
        (F.events.transition,),
        lambda s, i, v: F.events.transition(s, v, event_id=i.ev_dispatched, action="sign", now=NOW),
        MANAGERS_OF_A | OWNER,
    ),
    Write(
        "feed back on a0's event",
        (F.events.transition,),
        lambda s, i, v: F.events.transition(
            s, v, event_id=i.ev_handling, action="feedback", note="已清理", now=NOW
        ),
        MANAGERS_OF_A | OWNER,
    ),
    Write(
        "dispatch A's event to a0 from the events page",
        (F.tasks.act_on_event,),
        lambda s, i, v: F.tasks.act_on_event(
            s, v, event_id=i.ev_registered, action="dispatch", worker_id=i.owner, note="就近", now=NOW
        ),
        MANAGERS_OF_A,
    ),
    Write(
        "accept A's event from the events page",
        (F.tasks.act_on_event,),
        lambda s, i, v: F.tasks.act_on_event(s, v, event_id=i.ev_reported, action="accept", now=NOW),
        MANAGERS_OF_A,
    ),
    Write(
        "grade A's rental building",
        (F.rentals.grade_building,),
        lambda s, i, v: F.rentals.grade_building(
            s, v, building_id=i.building, scores=_full_scores(), now=NOW
        ),
        MANAGERS_OF_A,
    ),
    Write(
        "record a0's patrol of A's building",
        (F.rentals.record_patrol,),
        lambda s, i, v: F.rentals.record_patrol(
            s, v, building_id=i.building, worker_id=i.owner, visited_at=NOW
        ),
        MANAGERS_OF_A | OWNER,
    ),
    *[
        Write(f"assign A's {kind} to {to}", (F.tasks.assign_task,), _assign_task(kind, worker), allowed)
        for kind in ("event", "verification", "patrol")
        for to, worker, allowed in (("a0", "owner", MANAGERS_OF_A), ("B's worker", "b0", ABOVE_A_AND_B))
    ],
    Write(
        "run the data-quality checks (a manager's 重新检查: each manager's own communities)",
        (F.findings.run_checks,),
        lambda s, i, v: F.findings.run_checks(s, v, now=NOW + timedelta(hours=1)),
        MANAGERS_OF_A | {"mgr_b"},
    ),
    Write(
        "raise verification tasks for A's data problems",
        (F.quality.raise_verification_tasks,),
        lambda s, i, v: F.quality.raise_verification_tasks(s, v, now=NOW),
        MANAGERS_OF_A,
        refused_result=lambda made: sum(made.values()) == 0,
    ),
    Write(
        "edit a metric definition",
        (F.registry.update_metric,),
        lambda s, i, v: F.registry.update_metric(
            s, v, code="collection_rate", changes={"name_en": "Collection"}
        ),
        SYSADMIN,
    ),
    Write(
        "save the edited metric registry table",
        (F.registry.save_registry_table,),
        lambda s, i, v: F.registry.save_registry_table(s, v, *_registry_tables(s)),
        SYSADMIN,
    ),
    Write(
        "save the edited time-limit table",
        (F.registry.save_sla_table,),
        lambda s, i, v: F.registry.save_sla_table(s, v, _sla_table(s)),
        SYSADMIN,
    ),
    Write(
        "edit a time limit",
        (F.registry.update_sla,),
        lambda s, i, v: F.registry.update_sla(s, v, code="normal", sign_limit_hours=3.0),
        SYSADMIN,
    ),
    # --- scoring ---
    Write(
        "save a scheme version",
        (S.store.save_scheme_version,),
        lambda s, i, v: S.store.save_scheme_version(s, v, _edited_scheme(s), note="x"),
        SYSADMIN,
    ),
    Write(
        "activate a scheme version",
        (S.store.activate_version,),
        lambda s, i, v: S.store.activate_version(s, v, _inactive_scheme(s)),
        SYSADMIN,
    ),
    Write(
        "record a deduction for a0",
        (S.adjustments.record_adjustment,),
        lambda s, i, v: S.adjustments.record_adjustment(
            s, v, worker_id=i.owner, period="2020-05", code=_adjustment_code(s), cases=1
        ),
        MANAGERS_OF_A,
    ),
    Write(
        "freeze a month",
        (S.snapshots.freeze_period,),
        lambda s, i, v: S.snapshots.freeze_period(s, "2020-05", viewer=v, now=NOW),
        DISTRICT,
    ),
    Write(
        "enroll a0 to improve a component",
        (S.service.enroll_for_improvement,),
        lambda s, i, v: S.service.enroll_for_improvement(
            s, v, worker_id=i.owner, course_code="house_coding", component="accuracy_rate"
        ),
        MANAGERS_OF_A,
    ),
    # --- dispatch ---
    Write(
        "assign A's task to a1 (dispatch)",
        (A.service.assign,),
        lambda s, i, v: A.service.assign(
            s,
            v,
            task_id=f"event:{i.ev_registered}",
            worker_id=i.other,
            preset="routine",
            override_reason="就近",
            now=NOW,
        ),
        MANAGERS_OF_A,
        refusals=("assign.error.no_task",),
    ),
    Write(
        "commit a batch with A's task",
        (A.service.commit_batch,),
        lambda s, i, v: A.service.commit_batch(s, v, _batch_proposal(s, i), now=NOW),
        MANAGERS_OF_A,
        refused_result=lambda r: r["assigned"] == 0,
    ),
    # --- training plans ---
    Write(
        "save A's training plan",
        (T.plans.save_plan,),
        lambda s, i, v: T.plans.save_plan(
            s,
            v,
            year=2020,
            unit_id=i.org.comm_a.id,
            requirements=[{"worker_group": "all", "hours": 4}],
            now=NOW,
        ),
        MANAGERS_OF_A,
    ),
    Write(
        "save the district's training plan",
        (T.plans.save_plan,),
        lambda s, i, v: T.plans.save_plan(
            s,
            v,
            year=2021,
            unit_id=i.org.district.id,
            requirements=[{"worker_group": "all", "hours": 40}],
            now=NOW,
        ),
        DISTRICT,
    ),
    Write(
        "record external hours for a0",
        (T.ledger.record_external,),
        lambda s, i, v: T.ledger.record_external(
            s, v, worker_id=i.owner, hours=1.5, on=date(2020, 5, 20), note="市里培训", now=NOW
        ),
        MANAGERS_OF_A,
    ),
    Write(
        "correct a0's hours",
        (T.ledger.correct_entry,),
        lambda s, i, v: T.ledger.correct_entry(
            s, v, entry_id=_a0_entry(s, i), hours=-0.5, note="多记", now=NOW
        ),
        MANAGERS_OF_A,
    ),
    Write(
        "set a course's completion rule",
        (T.completion.set_rule,),
        lambda s, i, v: T.completion.set_rule(s, v, course_id=i.course2, min_attendance_pct=80, now=NOW),
        DISTRICT,
    ),
    Write(
        "edit a lesson",
        (T.lessons.set_lesson,),
        lambda s, i, v: T.lessons.set_lesson(
            s,
            v,
            lesson_id=_lesson(s, i),
            title_zh="第一课",
            min_read_minutes=3,
            credit_minutes=10,
            video_url="https://example.org/v.mp4",
        ),
        DISTRICT,
    ),
    Write(
        "open a lesson",
        (T.lessons.open_lesson,),
        lambda s, i, v: T.lessons.open_lesson(s, v, lesson_id=_lesson(s, i), now=NOW),
        OWNER,
    ),
    Write(
        "finish a lesson",
        (T.lessons.complete_lesson,),
        lambda s, i, v: (
            T.lessons.open_lesson(s, v, lesson_id=_lesson(s, i), now=NOW - timedelta(hours=1)),
            T.lessons.complete_lesson(s, v, lesson_id=_lesson(s, i), now=NOW),
        ),
        OWNER,
    ),
    Write(
        "place the bottom of May's scorecard in remedial training",
        (S.remedial.enroll_bottom_group,),
        lambda s, i, v: (
            T.plans.save_plan(
                s,
                i.viewers["district"],
                year=2020,
                unit_id=i.org.district.id,
                requirements=[{"worker_group": "bottom", "hours": 12, "bottom_pct": 50}],
                courses=[{"course_code": "house_coding", "worker_group": "bottom"}],
                now=NOW,
            ),
            S.remedial.enroll_bottom_group(s, v, period="2020-05", now=NOW),
        )[1],
        DISTRICT,
    ),
    # --- core: accounts, workers ---
    Write(
        "create a user",
        (K.users.create_user,),
        lambda s, i, v: K.users.create_user(
            s,
            v,
            username="new_a",
            display_name="新",
            role=Role.MANAGER,
            password="Passw0rd!long",
            scope_unit_id=i.org.comm_a.id,
        ),
        SYSADMIN,
        refusals=("users.err.keeper_sysadmin",),
    ),
    Write(
        "update a0's account",
        (K.users.update_user,),
        lambda s, i, v: K.users.update_user(s, v, i.owner_user, display_name="改名"),
        SYSADMIN,
        refusals=("users.err.keeper_sysadmin",),
    ),
    Write(
        "reset a0's password",
        (K.users.reset_password,),
        lambda s, i, v: K.users.reset_password(s, v, i.owner_user),
        SYSADMIN,
        refusals=("users.err.keeper_sysadmin",),
    ),
    # Separated administrator duties (三员分立): the security administrator decides roles and keeps the
    # administrators' own accounts; the system administrator keeps the workers' and managers'.
    Write(
        "create an audit administrator's account",
        (K.users.create_user,),
        lambda s, i, v: K.users.create_user(
            s, v, username="audit2", display_name="审计", role=Role.AUDITOR, password="Passw0rd!long"
        ),
        SECADMIN,
        refusals=("users.err.keeper_secadmin",),
    ),
    Write(
        "make a0's account a manager's (a change of role)",
        (K.users.update_user,),
        lambda s, i, v: K.users.update_user(s, v, i.owner_user, role=Role.MANAGER),
        SECADMIN,
        refusals=("users.err.role_by_secadmin",),
    ),
    Write(
        "make a0's account an audit administrator's",
        (K.users.update_user,),
        lambda s, i, v: K.users.update_user(s, v, i.owner_user, role=Role.AUDITOR),
        SECADMIN,
        refusals=("users.err.role_by_secadmin",),
    ),
    Write(
        "deactivate the audit administrator's account",
        (K.users.update_user,),
        lambda s, i, v: K.users.update_user(s, v, i.viewers["auditor"].user_id, is_active=False),
        SECADMIN,
        refusals=("users.err.keeper_secadmin",),
    ),
    Write(
        "reset the system administrator's password",
        (K.users.reset_password,),
        lambda s, i, v: K.users.reset_password(s, v, i.viewers["sysadmin"].user_id),
        SECADMIN,
        refusals=("users.err.keeper_secadmin",),
    ),
    Write(
        "unlock a0's account",
        (K.users.unlock_user,),
        lambda s, i, v: K.users.unlock_user(s, v, i.owner_user),
        SECADMIN,
    ),
    Write(
        "reset a0's second factor (a lost phone)",
        (K.users.reset_second_factor,),
        lambda s, i, v: (
            _second_factor(s, i.owner_user),
            K.users.reset_second_factor(s, v, i.owner_user),
        ),
        SECADMIN,
    ),
    Write(
        "set the audit administrator's further duties (none: duties kept apart)",
        (K.users.set_extra_duties,),
        lambda s, i, v: K.users.set_extra_duties(s, v, i.viewers["auditor"].user_id, []),
        SECADMIN,
        refusals=("users.err.role_by_secadmin",),
    ),
    Write(
        "end a0's signed-in session",
        (K.web_sessions.revoke_sessions,),
        lambda s, i, v: K.web_sessions.revoke_sessions(s, v, [i.web_session], now=NOW),
        SECADMIN,
    ),
    Write("edit a0's record", (K.org.save_worker,), _save_worker(lambda i: i.org.grids_a[0]), MANAGERS_OF_A),
    Write(
        "move a0 to B's grid", (K.org.save_worker,), _save_worker(lambda i: i.org.grids_b[0]), ABOVE_A_AND_B
    ),
    Write(
        "add a worker in A's grid",
        (K.org.save_worker,),
        lambda s, i, v: K.org.save_worker(
            s,
            v,
            WorkerCreate(
                employee_no="A99", name="新人", grid_id=i.org.grids_a[1].id, hire_date=date(2020, 1, 1)
            ),
        ),
        MANAGERS_OF_A,
    ),
    Write(
        "mark a0 on leave",
        (K.org.set_worker_status,),
        lambda s, i, v: K.org.set_worker_status(s, v, i.owner, WorkerStatus.ON_LEAVE),
        MANAGERS_OF_A,
    ),
    Write(
        "commit a roster import changing a0",
        (K.worker_import.commit_worker_import,),
        lambda s, i, v: K.worker_import.commit_worker_import(s, v, _worker_preview(s, i)),
        MANAGERS_OF_A,
    ),
    # API clients (core.api_clients): an administrator's business only.
    Write(
        "register an API client",
        (K.api_clients.create_client,),
        lambda s, i, v: K.api_clients.create_client(
            s, v, name="platform-x", scope_unit_id=i.org.comm_a.id, operations=["events.read"]
        ),
        SYSADMIN,
    ),
    Write(
        "rotate A's API client key",
        (K.api_clients.rotate_key,),
        lambda s, i, v: K.api_clients.rotate_key(s, v, "api_a"),
        SYSADMIN,
    ),
    Write(
        "change A's API client operations",
        (K.api_clients.update_operations,),
        lambda s, i, v: K.api_clients.update_operations(s, v, "api_a", ["events.read"]),
        SYSADMIN,
    ),
    Write(
        "revoke A's API client",
        (K.api_clients.revoke,),
        lambda s, i, v: K.api_clients.revoke(s, v, "api_a"),
        SYSADMIN,
    ),
    Write(
        "subscribe A's API client to webhooks",
        (E.webhooks.subscribe,),
        lambda s, i, v: E.webhooks.subscribe(
            s, v, client="api_a", url="https://platform.example/hook", secret="s3cret-for-the-platform"
        ),
        SYSADMIN,
    ),
]


def _committed(report) -> bool:  # noqa: ANN001
    assert report.error_count or report.ok, report.errors
    return bool(report.written)


def _first_question(s: Session, ids: Ids) -> tuple[int, int]:
    from courses.models import AttemptAnswer

    ans = (
        s.exec(
            select(AttemptAnswer)
            .where(AttemptAnswer.attempt_id == ids.attempt)
            .order_by(AttemptAnswer.position)
        )
        .scalars()
        .first()
    )
    return ans.question_id, int(ans.option_order.split(",")[0])


def _full_scores() -> dict[str, float]:
    crit = evaluation.field.rentals.criteria()
    return dict(zip(crit["code"], crit["max"].astype(float), strict=True))


def _edited_scheme(s: Session) -> dict:
    import json

    scheme, _row = evaluation.scoring.store.active_scheme(s)
    data = json.loads(scheme.to_json())
    data["name_en"] = data.get("name_en", "") + " (edited)"
    return data


def _inactive_scheme(s: Session) -> int:
    import json

    from evaluation.scoring.models_scoring import ScoringScheme

    scheme, row = evaluation.scoring.store.active_scheme(s)
    data = json.loads(scheme.to_json())
    data["name_en"] = "older"
    old = ScoringScheme(
        code=row.code,
        version=row.version + 1,
        name_zh=row.name_zh,
        name_en="older",
        definition=json.dumps(data),
        is_active=False,
        created_at=NOW,
    )
    s.add(old)
    s.flush()
    return old.id


def _adjustment_code(s: Session) -> str:
    scheme, _ = evaluation.scoring.store.active_scheme(s)
    return scheme.adjustments[0].code


@pytest.mark.parametrize("row", WRITES, ids=[w.name for w in WRITES])
def test_write_matrix(world: Ids, cell_engine: Engine, row: Write) -> None:
    """Test that each viewer may do exactly what the row allows: allowed cells change the database,
    denied ones raise ScopeError (or the row's own refusal) and change nothing."""
    problems = _write_problems(world, cell_engine, row, {who: who in row.allowed for who in COLUMNS})
    assert not problems, f"{row.name}:\n" + "\n".join(problems)


def _write_problems(world: Ids, cell_engine: Engine, row: Write, allowed: dict[str, bool]) -> list[str]:
    problems = []
    for who, may in allowed.items():
        result, error, changed = run_cell(cell_engine, row.act, world, who)
        if may:
            if error is not None:
                problems.append(f"{who}: expected allowed, got {type(error).__name__}: {error}")
            elif not changed:
                problems.append(f"{who}: allowed but nothing changed (result {result!r})")
            continue
        if error is None:
            refused = row.refused_result is not None and row.refused_result(result)
            if not refused:
                problems.append(f"{who}: expected denied, but it ran (result {result!r}, changed {changed})")
        elif not (isinstance(error, PermissionError) or refusal_key(error) in row.refusals):
            problems.append(f"{who}: denied with {type(error).__name__}: {error} (not a ScopeError)")
        if changed:
            problems.append(f"{who}: denied but changed {changed}")
    return problems


# --- reads that take an id ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    name: str
    covers: tuple[Callable, ...]
    ask: Callable[[Session, Ids, Viewer], Any]
    shows_a: Callable[[Any, Ids], bool]  # does the answer contain A's record?
    allowed: frozenset[str]
    refusals: tuple[str, ...] = ()


def _has(col: str, value: Callable[[Ids], Any]) -> Callable[[Any, Ids], bool]:
    return lambda df, i: bool((df[col] == value(i)).any()) if len(df) else False


WORKERS_OF_A = _has("worker_id", lambda i: i.owner)

READS: list[Read] = [
    Read(
        "attendance register of A's session",
        (C.attendance.register,),
        lambda s, i, v: C.attendance.register(s, v, i.live),
        WORKERS_OF_A,
        MANAGERS_OF_A,
    ),
    Read(
        "A's session by id",
        (C.training_sessions.session_in_scope,),
        lambda s, i, v: C.training_sessions.session_in_scope(s, v, i.future),
        lambda ts, i: ts.id == i.future,
        MANAGERS_OF_A,
    ),
    Read(
        "enrolled in a course",
        (C.enrollment.enrolled_frame,),
        lambda s, i, v: C.enrollment.enrolled_frame(s, v, i.course),
        WORKERS_OF_A,
        MANAGERS_OF_A,
    ),
    Read(
        "enrollment rules",
        (C.enrollment.rules_frame,),
        lambda s, i, v: C.enrollment.rules_frame(s, v),
        _has("id", lambda i: i.rule),
        MANAGERS_OF_A,
    ),
    Read(
        "pending excuses",
        (C.attendance.pending_excuses,),
        lambda s, i, v: C.attendance.pending_excuses(s, v),
        _has("id", lambda i: i.excuse),
        MANAGERS_OF_A,
    ),
    Read(
        "meeting-import preview of A's session",
        (C.attendance_import.preview_platform_import,),
        lambda s, i, v: (
            C.attendance_import.preview_platform_import(
                s,
                v,
                session_id=i.live,
                data=b"\xe5\xb7\xa5\xe5\x8f\xb7,\xe5\x85\xa5\xe4\xbc\x9a\xe6\x97\xb6\xe9\x97\xb4,"
                b"\xe7\xa6\xbb\xe4\xbc\x9a\xe6\x97\xb6\xe9\x97\xb4\nA00,2020-06-01 09:55,2020-06-01 10:55\n",
                filename="m.csv",
            ).matched
        ),
        WORKERS_OF_A,
        MANAGERS_OF_A,
    ),
    Read(
        "a0's quiz attempt",
        (C.quizzes.attempt_questions,),
        lambda s, i, v: C.quizzes.attempt_questions(s, v, i.attempt),
        lambda r, i: r[0].id == i.attempt,
        OWNER,
        refusals=("not_your_attempt",),
    ),
    Read(
        "a0's scorecard",
        (S.service.scorecards, S.service.worker_view),
        lambda s, i, v: S.service.worker_view(S.service.scorecards(s, v, "2020-05"), v, i.owner),
        lambda r, i: int(r[0]["worker_id"]) == i.owner,
        MANAGERS_OF_A | OWNER,
    ),
    Read(
        "candidates for A's task",
        (A.service.recommend,),
        lambda s, i, v: A.service.recommend(s, v, f"event:{i.ev_registered}", "routine", now=NOW)[1],
        lambda df, i: bool(df["worker_id"].isin([i.owner, i.other]).any()),
        MANAGERS_OF_A,
        refusals=("assign.error.no_task",),
    ),
    Read(
        "open tasks",
        (F.tasks.open_tasks,),
        lambda s, i, v: F.tasks.open_tasks(s, v, now=NOW),
        _has("task_id", lambda i: f"event:{i.ev_registered}"),
        MANAGERS_OF_A,
    ),
    Read(
        "dispatch queue",
        (A.service.task_queue,),
        lambda s, i, v: A.service.task_queue(s, v, now=NOW),
        _has("task_id", lambda i: f"verification:{i.verification}"),
        MANAGERS_OF_A,
    ),
    Read(
        "my tasks",
        (F.tasks.my_tasks,),
        lambda s, i, v: F.tasks.my_tasks(s, v, now=NOW),
        lambda df, i: "id" in df and bool((df["id"] == i.ev_dispatched).any()),
        OWNER,
    ),
    Read(
        "event queue",
        (F.events.event_queue,),
        lambda s, i, v: F.events.event_queue(s, v, now=NOW),
        _has("id", lambda i: i.ev_reported),
        MANAGERS_OF_A,
    ),
    Read(
        "history of the event dispatched to a0",
        (F.events.event_history,),
        lambda s, i, v: F.events.event_history(s, v, i.ev_dispatched),
        lambda df, i: len(df) > 0,
        MANAGERS_OF_A | OWNER,
    ),
    Read(
        "detail of the event dispatched to a0",
        (F.events.event_detail,),
        lambda s, i, v: F.events.event_detail(s, v, i.ev_dispatched),
        lambda d, i: d.event.id == i.ev_dispatched and len(d.history) > 0,
        MANAGERS_OF_A | OWNER,
    ),
    Read(
        "grading history of A's building",
        (F.rentals.grading_history,),
        lambda s, i, v: F.rentals.grading_history(s, v, i.building),
        _has("building_id", lambda i: i.building),
        MANAGERS_OF_A,
    ),
    Read(
        "a worker's home",
        (K.org.worker_home,),
        lambda s, i, v: K.org.worker_home(s, v),
        lambda r, i: r["worker"].id == i.owner,
        OWNER,
    ),
    Read(
        "a worker's upcoming sessions",
        (C.training_sessions.upcoming_for_worker,),
        lambda s, i, v: C.training_sessions.upcoming_for_worker(s, v, now=NOW),
        _has("id", lambda i: i.future),
        OWNER,
    ),
    Read(
        "rental buildings",
        (F.rentals.buildings_frame,),
        lambda s, i, v: F.rentals.buildings_frame(s, v, now=NOW),
        _has("id", lambda i: i.building),
        MANAGERS_OF_A,
    ),
    Read(
        "overdue patrols (the task list's rows)",
        (F.rentals.overdue_patrol_rows,),
        lambda s, i, v: F.rentals.overdue_patrol_rows(s, v, NOW),
        lambda rows, i: i.building in {r[0] for r in rows},
        MANAGERS_OF_A,
    ),
    Read(
        "data-quality figures per community",
        (F.findings.served_summary,),
        lambda s, i, v: F.findings.served_summary(s, v),
        lambda df, i: bool((df.loc[df["community_id"] == i.org.comm_a.id, "total"] > 0).any()),
        MANAGERS_OF_A,
    ),
    Read(
        "data-quality findings (drill-down and CSV)",
        (F.findings.finding_rows,),
        lambda s, i, v: F.findings.finding_rows(s, v, "visit_overflow", limit=None),
        WORKERS_OF_A,
        MANAGERS_OF_A,
    ),
    Read(
        "verification tasks",
        (F.quality.verification_tasks,),
        lambda s, i, v: F.quality.verification_tasks(s, v),
        _has("id", lambda i: i.verification),
        MANAGERS_OF_A,
    ),
    Read(
        "worker records",
        (K.org.workers_frame,),
        lambda s, i, v: K.org.workers_frame(s, v),
        _has("id", lambda i: i.owner),
        MANAGERS_OF_A | OWNER,
    ),
    Read(
        "workers to pick from",
        (K.org.worker_names,),
        lambda s, i, v: K.org.worker_names(s, v),
        _has("id", lambda i: i.owner),
        MANAGERS_OF_A | OWNER,
    ),
    Read(
        "a worker by employee number",
        (K.org.worker_by_employee_no,),
        lambda s, i, v: K.org.worker_by_employee_no(s, v, s.get(Worker, i.owner).employee_no),
        lambda w, i: w is not None and w.id == i.owner,
        MANAGERS_OF_A | OWNER,
    ),
    Read(
        "inbox",
        (core_inbox.inbox,),
        lambda s, i, v: core_inbox.inbox(s, v),
        _has("id", lambda i: i.notification),
        OWNER,
    ),
    Read(
        "training plans",
        (T.plans.plans_frame,),
        lambda s, i, v: T.plans.plans_frame(s, v, year=2020),
        _has("unit_id", lambda i: i.org.district.id),
        MANAGERS_OF_A | {"mgr_b"},
    ),
    Read(
        "compulsory courses of the plans",
        (T.plans.plan_courses_frame,),
        lambda s, i, v: T.plans.plan_courses_frame(s, v, year=2020),
        _has("course_code", lambda i: "house_coding"),
        MANAGERS_OF_A | {"mgr_b"},
    ),
    Read(
        "workers a plan covers",
        (T.plans.workers_in_scope,),
        lambda s, i, v: T.plans.workers_in_scope(s, v),
        WORKERS_OF_A,
        MANAGERS_OF_A | OWNER,
    ),
    Read(
        "hours ledger",
        (T.ledger.ledger_frame,),
        lambda s, i, v: T.ledger.ledger_frame(s, v, year=2020),
        WORKERS_OF_A,
        MANAGERS_OF_A | OWNER,
    ),
    Read(
        "evidence of a0's entry",
        (T.ledger.evidence_file,),
        lambda s, i, v: T.ledger.evidence_file(s, v, entry_id=_a0_entry(s, i)),
        lambda r, i: True,
        MANAGERS_OF_A | OWNER,
        refusals=("no_entry",),
    ),
    Read(
        "completion of a course",
        (T.completion.completion_frame,),
        lambda s, i, v: T.completion.completion_frame(s, v, course_id=i.course, now=NOW),
        WORKERS_OF_A,
        MANAGERS_OF_A | OWNER,
    ),
    Read(
        "a worker's missing prerequisite",
        (T.completion.prerequisite_for_worker,),
        lambda s, i, v: T.completion.prerequisite_for_worker(s, v, course_id=i.course, now=NOW),
        lambda r, i: r is None,
        OWNER | {"other"},
    ),
    Read(
        "a course's lessons with my progress",
        (T.lessons.course_lessons,),
        lambda s, i, v: T.lessons.course_lessons(s, v, course_id=i.course),
        lambda df, i: len(df) > 0,
        OWNER | {"other"},
    ),
    Read(
        "a course's lessons to edit",
        (T.lessons.lessons_frame,),
        lambda s, i, v: T.lessons.lessons_frame(s, v, course_id=i.course),
        lambda df, i: len(df) > 0,
        frozenset({"sysadmin", "district", "sub", "mgr_a", "mgr_b"}),
    ),
    Read(
        "my lesson progress",
        (T.lessons.continue_lesson,),
        lambda s, i, v: T.lessons.continue_lesson(s, v),
        lambda r, i: r is not None and r["course_id"] == i.course,
        OWNER,
    ),
    Read(
        "plan status",
        (T.supervision.plan_status,),
        lambda s, i, v: T.supervision.plan_status(s, v, year=2020, as_of=NOW.date()),
        WORKERS_OF_A,
        MANAGERS_OF_A | OWNER,
    ),
    Read(
        "plan status with its overdue courses",
        (T.supervision.status_and_overdue,),
        lambda s, i, v: T.supervision.status_and_overdue(s, v, year=2020, as_of=NOW.date()),
        lambda r, i: WORKERS_OF_A(r[0], i),
        MANAGERS_OF_A | OWNER,
    ),
    Read(
        "overdue compulsory courses",
        (T.supervision.overdue_courses,),
        lambda s, i, v: T.supervision.overdue_courses(s, v, year=2020, as_of=NOW.date()),
        WORKERS_OF_A,
        MANAGERS_OF_A | OWNER,
    ),
    Read(
        "training bulletin",
        (T.supervision.bulletin_workbook,),
        lambda s, i, v: T.supervision.bulletin_workbook(s, v, year=2020, month=5),
        _workbook_names_a0,
        MANAGERS_OF_A,
    ),
    Read(
        "my compulsory courses",
        (T.supervision.my_compulsory,),
        lambda s, i, v: T.supervision.my_compulsory(s, v, year=2020, as_of=NOW.date()),
        _has("course_code", lambda i: "house_coding"),
        OWNER | {"other"},
    ),
    Read(
        "my plan standing and compulsory courses (我的学时)",
        (T.supervision.my_standing,),
        lambda s, i, v: T.supervision.my_standing(s, v, year=2020, as_of=NOW.date()),
        lambda r, i: r[0] is not None and int(r[0]["worker_id"]) == i.owner,
        OWNER,
    ),
    Read(
        "monthly plan figures",
        (T.supervision.monthly_figures,),
        lambda s, i, v: T.supervision.monthly_figures(s, v, start=date(2020, 1, 1), end=date(2020, 5, 31)),
        WORKERS_OF_A,
        MANAGERS_OF_A | OWNER,
    ),
    Read(
        "user accounts",
        (K.users.users_frame,),
        lambda s, i, v: K.users.users_frame(s, v),
        _has("id", lambda i: i.owner_user),
        SYSADMIN | SECADMIN,
    ),
    Read(
        "API service accounts left out of the users list",
        (K.users.api_accounts_count,),
        lambda s, i, v: K.users.api_accounts_count(s, v),
        lambda n, i: n >= 2,
        SYSADMIN | SECADMIN,
    ),
    Read(
        "accounts unused for 90 days, for review (a0's among them a year on)",
        (K.account_lifecycle.unused_accounts,),
        lambda s, i, v: K.account_lifecycle.unused_accounts(s, v, now=datetime.now() + timedelta(days=365)),
        _has("id", lambda i: i.owner_user),
        SYSADMIN | SECADMIN,
    ),
    Read(
        "the audit trail (only the audit administrator reads it: no manager, no other administrator)",
        (K.audit.audit_frame,),
        lambda s, i, v: K.audit.audit_frame(s, v),
        lambda df, i: len(df) > 0,
        AUDITOR,
    ),
    Read(
        "signed-in sessions (a0's among them)",
        (K.web_sessions.active_sessions,),
        lambda s, i, v: K.web_sessions.active_sessions(s, v, now=NOW + timedelta(minutes=1)),
        lambda df, i: len(df) > 0,
        SECADMIN,
    ),
    Read(
        "API clients",
        (K.api_clients.clients_frame,),
        lambda s, i, v: K.api_clients.clients_frame(s, v),
        lambda df, i: "api_a" in set(df["name"]),
        SYSADMIN,
    ),
    Read(
        "a0's training (as in My learning)",
        (C.learner.worker_training,),
        lambda s, i, v: C.learner.worker_training(s, v, worker_id=i.owner, now=NOW),
        lambda df, i: "fire_safety" in set(df["code"]),
        MANAGERS_OF_A | OWNER,
    ),
    Read(
        "events page for sync",
        (E.sync.events_page,),
        lambda s, i, v: E.sync.events_page(s, v),
        lambda rows, i: i.ev_reported in {e.id for e in rows},
        MANAGERS_OF_A,
    ),
    Read(
        "A's event by number",
        (E.sync.event_by_no,),
        lambda s, i, v: E.sync.event_by_no(s, v, "A-REP"),
        lambda e, i: e is not None and e.id == i.ev_reported,
        MANAGERS_OF_A,
    ),
    Read(
        "decisions page for sync",
        (E.sync.decisions_page,),
        lambda s, i, v: E.sync.decisions_page(s, v),
        lambda rows, i: i.decision in {d.id for d in rows},
        MANAGERS_OF_A | OWNER,
    ),  # a worker's own decisions, as with worker_by_no
    Read(
        "a0 by employee number",
        (E.sync.worker_by_no,),
        lambda s, i, v: E.sync.worker_by_no(s, v, "A00"),
        lambda w, i: w is not None and w.id == i.owner,
        MANAGERS_OF_A | OWNER,
    ),
]


@pytest.mark.parametrize("row", READS, ids=[r.name for r in READS])
def test_read_matrix(world: Ids, cell_engine: Engine, row: Read) -> None:
    """Test that A's record reaches exactly the viewers the row allows; the others get a ScopeError
    (or the row's refusal) or an answer without it — and asking changes nothing."""
    problems = _read_problems(world, cell_engine, row, {who: who in row.allowed for who in COLUMNS})
    assert not problems, f"{row.name}:\n" + "\n".join(problems)


def _read_problems(world: Ids, cell_engine: Engine, row: Read, allowed: dict[str, bool]) -> list[str]:
    problems = []
    for who, may in allowed.items():
        result, error, changed = run_cell(cell_engine, row.ask, world, who)
        if changed:
            problems.append(f"{who}: a read changed {changed}")
        if error is not None:
            if may:
                problems.append(f"{who}: expected A's data, got {type(error).__name__}: {error}")
            elif not (isinstance(error, PermissionError) or refusal_key(error) in row.refusals):
                problems.append(f"{who}: refused with {type(error).__name__}: {error} (not a ScopeError)")
            continue
        shown = row.shows_a(result, world)
        if shown != may:
            problems.append(f"{who}: {'sees' if shown else 'does not see'} A's record")
    return problems


# --- API clients as viewers -----------------------------------------------------------------------------

API_AS = {
    "api_a": "mgr_a",
    "api_b": "mgr_b",
}  # a client scoped to a community acts as that community's manager


@pytest.mark.parametrize("row", WRITES, ids=[w.name for w in WRITES])
def test_api_client_writes_as_its_scope_manager(world: Ids, cell_engine: Engine, row: Write) -> None:
    """Test that an API client scoped to community A (B) may write exactly what A's (B's) manager may."""
    problems = _write_problems(
        world, cell_engine, row, {api: mgr in row.allowed for api, mgr in API_AS.items()}
    )
    assert not problems, f"{row.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("row", READS, ids=[r.name for r in READS])
def test_api_client_reads_as_its_scope_manager(world: Ids, cell_engine: Engine, row: Read) -> None:
    """Test that an API client scoped to community A (B) reads exactly what A's (B's) manager reads."""
    problems = _read_problems(
        world, cell_engine, row, {api: mgr in row.allowed for api, mgr in API_AS.items()}
    )
    assert not problems, f"{row.name}:\n" + "\n".join(problems)


# --- the matrix covers every write ----------------------------------------------------------------------

MODULES = [
    courses.catalog,
    courses.training_sessions,
    courses.seating,
    courses.enrollment,
    courses.attendance,
    courses.attendance_import,
    courses.quizzes,
    courses.notifications,
    courses.api,
    core_inbox,
    evaluation.field.imports,
    evaluation.field.events,
    evaluation.field.rentals,
    evaluation.field.quality,
    evaluation.field.findings,
    evaluation.field.tasks,
    evaluation.field.registry,
    evaluation.scoring.store,
    evaluation.scoring.adjustments,
    evaluation.scoring.snapshots,
    evaluation.scoring.service,
    evaluation.assignment.service,
    core.users,
    core.org,
    core.worker_import,
    courses.training.plans,
    courses.training.ledger,
    courses.training.lessons,
    courses.training.completion,
    courses.training.supervision,
    evaluation.scoring.remedial,
    core.api_clients,
    evaluation.sync,
    evaluation.webhooks,
]

# Reviewed: these read, compute or check and write nothing.
NOT_A_WRITE = {
    "courses.catalog": {
        "skill_areas",
        "load_course_file",
        "shipped_courses",
        "course_by_code",
        "catalog_frame",
        "validate_course",
        "check_attachment",
        "get_course",
        "course_form",
        "course_files",
        "parse_links",
        "question_bank",
    },
    "courses.training_sessions": {
        "occurrences",
        "check_plan",
        "sessions_frame",
        "week_start",
    },
    "courses.enrollment": {"rule_matches"},
    "courses.attendance": {
        "checkin_code",
        "code_matches",
        "link_token",
        "checkin_url",
        "window",
        "worker_attendance",
        "attendance_warnings",
    },
    "courses.attendance_import": {"classify", "union_minutes"},
    "courses.quizzes": {"add_months", "grade", "score_answers", "standing", "review_allowed"},
    "core.inbox": {"unread_count", "worker_users"},
    "core.api_clients": {"hash_key", "client_viewer", "authenticate"},  # a key's hash; who a client acts as
    "courses.api": {
        "training_figures",
        "qualifications",
        "busy_workers",
        "courses_for_skill",
        "plan_hours",
        "remedial_plan",
    },
    "evaluation.field.imports": {"normalise_period", "template", "preview_import"},
    "evaluation.field.events": {"allowed_actions", "next_state", "is_overdue", "state_counts"},
    "evaluation.field.rentals": {
        "grading_standard",
        "criteria",
        "patrol_interval_days",
        "grade_for",
        "with_patrol_due",
        "overdue_patrol_holders",  # a few workers' patrol load, for the dispatch ranking (no names, no addresses)
        "overdue_since",  # one building's patrol rule: a time from times given
        "patrol_coverage",
        "next_patrol_due",  # one building's patrol rule: a time from times given
        "patrol_figures",
    },
    "evaluation.field.quality": {
        "address_codes",
        "visit_overflow",
        "duplicate_events",
        "reversed_deregistrations",
        "quality_summary",
        "quality_results",
        "per_community",  # the summary's table of the viewer's communities (names and counts given)
    },
    "evaluation.field.findings": {"checked_at"},  # when the scope's figures were checked: a time, no record
    "evaluation.field.tasks": {"parse_task_id", "category_performance", "category_totals", "worker_load"},
    "evaluation.field.registry": {
        "items_frame",
        "item_lookup",
        "field_reference",  # the SLA limits and as-of setting, read (and kept per process for seconds)
        "forget_field_reference",  # drops that per-process copy; no database write
        "shipped_metrics",
        "shipped_sla",
        "metric_registry",
        "sla_levels",
        "field_now",
    },
    "evaluation.scoring.store": {
        "registry_directions",
        "scheme_of",
        "scheme_versions",
        "scheme_by_id",
        "metric_names",
    },
    "evaluation.scoring.snapshots": {
        "latest_snapshot",
        "snapshot_frames",
        "diff_cards",
        "snapshots_frame",
        "bulletin_bytes",
        "months_to_freeze",
    },
    "evaluation.scoring.service": {
        "district_scorecards",
        "monthly_trend",
        "compare_party",
        "compare_groups",
        "improvement_options",
        "tied_at_best",
        "improvement_and_ties",
        "improvement_rows",
        "course_rows_for_components",
        "period_choices",
        "months_with_figures",  # the newest months of the field summary: labels, no figures
    },
    "evaluation.assignment.service": {
        "response_window_hours",
        "load_context",
        "task_inputs",  # load_context for one task's community, scoped to the viewer in SQL
        "perf_since",
        "busy_for",
        "worker_reason",
        "choosable",
        "propose_batch",
        "decisions_frame",
        "decision_count",
        "override_report",
        "skill_gaps",
    },
    "core.org": {
        "units_frame",
        "grids_in_scope",
        "headcount",
        "ensure_manages_grid",
        # reads of one phone: worker_by_phone is the keyed-hash look-up (no viewer: the importer's), and
        # reveal_phone's scope refusal and audit row are tested in tests/unit/test_privacy_sealed.py
        # (test_showing_a_phone_in_full_is_audited_and_refused_outside_scope)
        "worker_by_phone",
        "reveal_phone",
    },
    "core.worker_import": {"preview_worker_import"},
    "courses.training.plans": {
        "can_edit_plan",
        "plan_detail",
        "requirements",
        "compulsory",
        "bottom_pct",
        "remedial_courses",
    },
    "courses.training.ledger": {"session_minutes", "credited"},
    "courses.training.lessons": {"split_material", "read_seconds"},
    "courses.training.completion": {"rules", "missing_prerequisite", "completion"},
    "evaluation.scoring.remedial": {"bottom_of_scorecard", "previous_quarter"},
    "courses.training.supervision": {"overdue_courses_for", "community_summary", "headline", "month_end"},
}
# Reviewed: these write, but take no viewer — jobs, the demo, the CLI and set-up call them, never a page on
# a user's behalf (or they are the inner step of a covered write that checked the viewer first).
SYSTEM_WRITES = {
    "courses.catalog": {"import_course", "load_shipped_courses"},  # shipped course files (CLI, demo)
    "courses.seating": {"seat_enrolled"},  # inside enroll/add_rule/schedule, which checked the viewer
    "courses.enrollment": {"apply_rules"},  # inside add_rule; the rules job
    "courses.attendance": {
        "close_session",
        "close_ended_sessions",  # the closing job
        "notify_excuse_request",  # inside request_excuse
        "notify_attendance_warnings",
    },  # the warnings job
    "courses.quizzes": {"finalize", "auto_submit_expired"},  # inside submit_attempt; the deadline job
    "core.inbox": {"notify", "send_rows"},  # composers' inner step, jobs
    "courses.notifications": {
        "send_reminders",
        "notify_session_change",
        "notify_quiz_deadlines",
        "notify_expiring_certificates",
    },  # jobs, and inside covered writes
    "evaluation.field.events": {"escalate_overdue"},  # the overdue job
    "evaluation.field.registry": {"ensure_reference_data"},  # shipped reference data, idempotent
    "evaluation.scoring.store": {
        "ensure_default_scheme",
        "active_scheme",
    },  # first use stores the shipped scheme
    "evaluation.scoring.snapshots": {"freeze_closed_months"},  # the monthly job (as SYSTEM)
    "courses.api": {"place_bottom_group"},  # inside evaluation's remedial enrolment (covered below)
    "evaluation.scoring.remedial": {
        "remedial_job",
        "seed_demo",
    },  # the quarterly job and the demo (as SYSTEM)
    "courses.training.plans": {"record_group"},  # the remedial job (evaluation) places the bottom group
    "courses.training.ledger": {"credit_sources"},  # the ledger job; inside complete_lesson
    "courses.training.lessons": {"ensure_lessons"},  # splitting shipped material (demo, CLI)
    "courses.training.completion": {"check_prerequisite"},  # the hook inside enroll / apply_rules
    "courses.training.supervision": {"remind_behind"},  # the reminder job
    "core.org": {"add_unit"},  # the org tree is built by the demo and the CLI; no page edits it
    "evaluation.webhooks": {"enqueue_due", "run"},  # the api.webhooks job (each subscriber's own scope)
}


def _public_functions(module: types.ModuleType) -> set[str]:
    # Functions defined here, including cached ones (functools wrappers are not plain functions).
    return {
        name
        for name, fn in inspect.getmembers(module, callable)
        if not name.startswith("_")
        and not isinstance(fn, type)
        and getattr(fn, "__module__", None) == module.__name__
    }


def test_every_write_function_has_a_row() -> None:
    """Test that each public function of the domain modules is in the matrix or reviewed as not a viewer's
    write — so a new write function without a row fails here — and that the reviewed lists hold no stale
    names."""
    covered: dict[str, set[str]] = {}
    for row in [*WRITES, *READS]:
        for fn in row.covers:
            covered.setdefault(fn.__module__, set()).add(fn.__name__)
    missing, stale, twice = [], [], []
    for module in MODULES:
        public = _public_functions(module)
        mod = module.__name__
        rows, reads, system = (
            covered.get(mod, set()),
            NOT_A_WRITE.get(mod, set()),
            SYSTEM_WRITES.get(mod, set()),
        )
        missing += [f"{mod}.{n}" for n in sorted(public - rows - reads - system)]
        stale += [f"{mod}.{n}" for n in sorted((reads | system) - public)]
        twice += [f"{mod}.{n}" for n in sorted((rows & (reads | system)) | (reads & system))]
    assert not missing, (
        f"public functions with no matrix row and not reviewed as reads/system writes: {missing}"
    )
    assert not stale, f"reviewed names that no longer exist: {stale}"
    assert not twice, f"listed both as covered and as reviewed: {twice}"
    assert {m.__name__ for m in MODULES} >= set(NOT_A_WRITE) | set(SYSTEM_WRITES)


def test_matrix_rows_cover_every_column_kind() -> None:
    """Test that the rows are not all alike: some allow only admins, some only district level, some only the
    owner, some A's managers — so a harness that allowed or denied everything would fail."""
    kinds = {row.allowed for row in [*WRITES, *READS]}
    assert {SYSADMIN, SECADMIN, AUDITOR, DISTRICT, MANAGERS_OF_A, OWNER, ABOVE_A_AND_B} <= kinds
