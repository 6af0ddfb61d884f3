"""The audit trail of the domain writes: each write leaves one entry naming who did it, what was there before
and what is there after, and the entry lives and dies with the write's own transaction.

Domain writes never commit; the test plays the caller's unit of work and commits after each action. "The
transaction is rolled back" is staged by refusing that commit (as a dropped connection or a failed
constraint would): the caller rolls back and neither the change nor its entry may remain.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from core.models import Role
from core.models_audit import AuditEntry
from core.scope import SYSTEM
from courses.attendance import (
    check_in,
    checkin_code,
    close_ended_sessions,
    decide_excuse,
    mark,
    request_excuse,
)
from courses.attendance_import import commit_platform_import, preview_platform_import
from courses.catalog import save_course
from courses.enrollment import add_rule, deactivate_rule, enroll, seat_one, unenroll
from courses.models import Attendance, AttendanceStatus, CourseBase, RuleKind, TrainingSession
from courses.training_sessions import SessionPlan, cancel_session, schedule, update_session
from evaluation.assignment import service as assign_service
from evaluation.field import events as ev
from evaluation.field.api import assign_task
from evaluation.field.models import Event, MetricDef, MetricValue, RentalBuilding, SlaLevel
from evaluation.field.registry import update_metric, update_sla
from evaluation.field.rentals import criteria, grade_building
from evaluation.scoring.adjustments import record_adjustment
from evaluation.scoring.models_scoring import ScoreAdjustment
from evaluation.scoring.snapshots import freeze_period
from evaluation.scoring.store import activate_version, active_scheme, save_scheme_version
from tests.factories import make_user, viewer
from tests.unit import test_assignment_service as dispatch_tests
from tests.unit import test_scoring_db as scoring_tests
from tests.unit._courses_world import World, make_world
from tests.unit._field_import import import_and_commit

NOW = datetime(2020, 3, 2, 9, 0)
ASSIGN_NOW = dispatch_tests.NOW
_task_id = dispatch_tests._task_id
dispatch_world = dispatch_tests.world  # the dispatch tests' fixture: certified workers and three events
START = datetime(2020, 3, 3, 14, 0)


class CommitRefused(RuntimeError):
    pass


@contextmanager
def commit_refused(session) -> Iterator[None]:
    """Every commit inside the block fails before anything is written."""

    def refuse(_session) -> None:
        raise CommitRefused("commit refused")

    event.listen(session, "before_commit", refuse)
    try:
        yield
    finally:
        event.remove(session, "before_commit", refuse)


def entries(session, prefix: str) -> list[AuditEntry]:
    """Committed entries whose action starts with ``prefix``, read on a connection of their own (so an
    entry still pending in the caller's session, or written after its commit, does not count)."""
    with Session(session.get_bind()) as other:
        return list(
            other.exec(
                select(AuditEntry).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.id)
            ).all()
        )


def only(session, action: str) -> tuple[AuditEntry, dict]:
    """The one committed entry with ``action``, and its before/after/detail parsed."""
    found = [e for e in entries(session, action) if e.action == action]
    assert len(found) == 1, [e.action for e in entries(session, "")]
    e = found[0]
    return e, {k: json.loads(getattr(e, k)) if getattr(e, k) else None for k in ("before", "after", "detail")}


# --- attendance ----------------------------------------------------------------------------------------------


@pytest.fixture
def held(session) -> tuple[World, TrainingSession]:
    """Community A's three workers enrolled and seated at a two-hour session on START."""
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


def _status(session, ts, worker) -> str | None:
    return session.exec(
        select(Attendance.status).where(Attendance.session_id == ts.id, Attendance.worker_id == worker.id)
    ).one()


def test_mark_records_each_changed_status_by_employee_number(session, held):
    """Test that a bulk mark names the manager and, per worker whose status moved, the old and new status."""
    w, ts = held
    a0, a1, a2 = w.org.workers_a
    mark(session, w.manager, session_id=ts.id, worker_ids=[a0.id], status=AttendanceStatus.LATE, now=START)
    session.commit()
    mark(
        session,
        w.manager,
        session_id=ts.id,
        worker_ids=[a0.id, a1.id],
        status=AttendanceStatus.PRESENT,
        now=START,
    )
    session.commit()
    marks = entries(session, "attendance.mark")
    assert len(marks) == 2 and {m.user_id for m in marks} == {w.manager.user_id}
    last = marks[-1]
    assert json.loads(last.before) == {a0.employee_no: "late", a1.employee_no: None}
    assert json.loads(last.after) == {a0.employee_no: "present", a1.employee_no: "present"}
    assert last.entity_id == str(ts.id) and a2.employee_no not in last.after
    # The same mark again changes no status: nothing new to audit.
    mark(session, w.manager, session_id=ts.id, worker_ids=[a1.id], status=AttendanceStatus.PRESENT, now=START)
    session.commit()
    assert len(entries(session, "attendance.mark")) == 2


def test_mark_rolled_back_leaves_neither_status_nor_entry(session, held):
    """Test that when the mark's transaction fails the seat keeps its status and no entry remains."""
    w, ts = held
    a0 = w.org.workers_a[0]
    with commit_refused(session), pytest.raises(CommitRefused):
        mark(
            session,
            w.manager,
            session_id=ts.id,
            worker_ids=[a0.id],
            status=AttendanceStatus.ABSENT,
            now=START,
        )
        session.commit()
    session.rollback()
    assert _status(session, ts, a0) is None
    assert entries(session, "attendance") == []


def test_excuse_decisions_are_audited(session, held):
    """Test that approving and refusing an excuse each record pending → decision for that request."""
    w, ts = held
    a0, a1, _ = w.org.workers_a
    req0 = request_excuse(session, w.worker(a0), session_id=ts.id, reason="值班", now=NOW)
    session.commit()
    req1 = request_excuse(session, w.worker(a1), session_id=ts.id, reason="私事", now=NOW)
    session.commit()
    decide_excuse(session, w.manager_a, excuse_id=req0.id, approve=True, now=NOW)
    session.commit()
    decide_excuse(session, w.manager_a, excuse_id=req1.id, approve=False, now=NOW)
    session.commit()
    ok, ok_v = only(session, "attendance.excuse_approve")
    no, no_v = only(session, "attendance.excuse_reject")
    assert (ok.user_id, ok.entity_id) == (w.manager_a.user_id, str(req0.id))
    assert ok_v["before"] == {"status": "pending"} and ok_v["after"] == {"status": "approved"}
    assert ok_v["detail"]["worker"] == a0.employee_no and ok_v["detail"]["seat_excused"] is True
    assert no_v["after"] == {"status": "rejected"} and no_v["detail"]["seat_excused"] is False
    assert _status(session, ts, a0) == "excused" and _status(session, ts, a1) is None


def test_self_check_in_is_one_entry_by_the_worker(session, held):
    """Test that a check-in records the worker as the actor, once, even when they tap twice."""
    w, ts = held
    me = w.org.workers_a[0]
    at = START + timedelta(minutes=12)
    for _ in range(2):
        check_in(session, w.worker(me), session_id=ts.id, code=checkin_code(ts.secret, at), now=at)
        session.commit()
    e, v = only(session, "attendance.check_in")
    assert e.user_id == w.users[me.id]
    assert v["before"] == {"status": None} and v["after"] == {"status": "late", "source": "code"}


def test_meeting_import_names_the_file_its_hash_and_the_moves(session, held):
    """Test that the platform import records file name, sha256, rows and each seat's old → new status."""
    import hashlib

    w, ts = held
    a0, a1, a2 = w.org.workers_a
    mark(session, w.manager, session_id=ts.id, worker_ids=[a1.id], status=AttendanceStatus.ABSENT, now=START)
    session.commit()
    data = (
        "工号,入会时间,离会时间\n"
        f"{a0.employee_no},2020-03-03 14:00,2020-03-03 16:00\n"
        f"{a1.employee_no},2020-03-03 14:30,2020-03-03 16:00\n"
    ).encode("utf-8-sig")
    preview = preview_platform_import(
        session, w.manager, session_id=ts.id, data=data, filename="腾讯会议.csv"
    )
    assert commit_platform_import(session, w.manager, preview) == 2
    session.commit()
    e, v = only(session, "import.attendance")
    assert e.user_id == w.manager.user_id and e.entity_id == "腾讯会议.csv"
    assert v["detail"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert (
        v["detail"]["rows_read"] == 2 and v["detail"]["changed"] == 2 and v["detail"]["session_id"] == ts.id
    )
    assert v["before"] == {a0.employee_no: None, a1.employee_no: "absent"}
    assert v["after"] == {a0.employee_no: "present", a1.employee_no: "late"}
    assert a2.employee_no not in v["after"]


def test_auto_absent_job_writes_one_entry_per_run_with_counts(session, held):
    """Test that closing ended sessions records one entry with the counts, by the scheduler, and a run
    that finds nothing to close records nothing."""
    w, ts = held
    mark(
        session,
        w.manager,
        session_id=ts.id,
        worker_ids=[w.org.workers_a[0].id],
        status=AttendanceStatus.PRESENT,
        now=START,
    )
    session.commit()
    after_end = START + timedelta(hours=3)
    assert close_ended_sessions(session, now=after_end) == 2
    assert close_ended_sessions(session, now=after_end + timedelta(minutes=5)) == 0
    session.commit()
    e, v = only(session, "attendance.auto_absent")
    assert e.user_id is None and e.username == "scheduler"
    assert v["detail"] == {"sessions_closed": 1, "set_absent": 2, "session_ids": [ts.id]}


# --- courses, sessions, enrolment ----------------------------------------------------------------------------


def test_course_edit_records_only_the_changed_fields(session, held):
    """Test that editing a course records the fields that changed with their old and new values, and a new
    course records what it was created with."""
    w, _ = held
    course = w.courses["fire_safety"]
    data = CourseBase.model_validate(course, from_attributes=True).model_copy(
        update={"pass_mark": 90, "material_md_zh": "新教材" * 100}
    )
    save_course(session, w.manager, data, course_id=course.id)
    session.commit()
    e, v = only(session, "course.update")
    assert e.user_id == w.manager.user_id and e.entity_id == "fire_safety"
    assert v["before"]["pass_mark"] == 80 and v["after"]["pass_mark"] == 90
    assert set(v["after"]) == {"pass_mark", "material_md_zh"}
    assert v["after"]["material_md_zh"].endswith("(300 chars)") and len(v["after"]["material_md_zh"]) < 160
    new = data.model_copy(update={"code": "new_course", "title_zh": "新课程"})
    save_course(session, w.manager, new)
    session.commit()
    _, v = only(session, "course.create")
    assert v["before"] is None and v["after"]["code"] == "new_course" and v["after"]["pass_mark"] == 90


def test_session_schedule_edit_and_cancel_are_audited(session, held):
    """Test that scheduling, moving and cancelling a session each record before and after."""
    w, ts = held
    created, created_v = only(session, "course.session.create")
    assert created.user_id == w.manager.user_id and created_v["detail"]["session_ids"] == [ts.id]
    assert created_v["after"]["sessions"] == 1 and created_v["detail"]["seated"] == 3
    later = START + timedelta(hours=1)
    update_session(
        session,
        w.manager,
        ts.id,
        start_at=later,
        end_at=later + timedelta(hours=2),
        meeting_url=ts.meeting_url,
        capacity=None,
        now=NOW,
    )
    session.commit()
    _, v = only(session, "course.session.update")
    assert v["before"] == {"start_at": START.isoformat(), "end_at": (START + timedelta(hours=2)).isoformat()}
    assert v["after"] == {"start_at": later.isoformat(), "end_at": (later + timedelta(hours=2)).isoformat()}
    cancel_session(session, w.manager_a, ts.id, now=NOW)
    session.commit()
    e, v = only(session, "course.session.cancel")
    assert e.user_id == w.manager_a.user_id and e.entity_id == str(ts.id)
    assert v["before"] == {"status": "scheduled"} and v["after"] == {"status": "cancelled"}


def test_session_cancel_rolled_back_leaves_no_entry(session, held):
    """Test that a cancellation whose transaction fails leaves the session scheduled and no entry."""
    w, ts = held
    with commit_refused(session), pytest.raises(CommitRefused):
        cancel_session(session, w.manager, ts.id, now=NOW)
        session.commit()
    session.rollback()
    assert session.get(TrainingSession, ts.id).status == "scheduled"
    assert entries(session, "course.session.cancel") == []


def test_enrolment_changes_are_audited(session, held):
    """Test that enrolling, seating by hand, unenrolling and rules each leave an entry; re-enrolling the
    enrolled changes nothing and records nothing."""
    w, ts = held
    course = w.courses["residence_registration"]
    b0 = w.org.workers_b[0]
    assert len(entries(session, "course.enroll")) == 1  # the fixture's enrolment of community A
    enroll(session, w.manager, course_id=course.id, worker_ids=[x.id for x in w.org.workers_a], now=NOW)
    session.commit()
    assert len(entries(session, "course.enroll")) == 1
    seat_one(session, w.manager, session_id=ts.id, worker_id=b0.id)
    session.commit()
    seats = [e for e in entries(session, "course.session.seat")]
    assert len(seats) == 1 and json.loads(seats[0].after) == {"worker": b0.employee_no}
    assert len(entries(session, "course.enroll")) == 2
    unenroll(session, w.manager, course_id=course.id, worker_id=b0.id, now=NOW)
    session.commit()
    e, v = only(session, "course.unenroll")
    assert e.entity_id == course.code and v["before"]["future_seats"] == 1 and v["after"]["enrolled"] is False
    rule, n = add_rule(session, w.manager, course_id=course.id, kind=RuleKind.PARTY, now=NOW)
    session.commit()
    _, v = only(session, "course.rule.add")
    assert v["after"]["kind"] == "party" and v["detail"]["enrolled"] == n
    deactivate_rule(session, w.manager, rule.id)
    session.commit()
    _, v = only(session, "course.rule.deactivate")
    assert v["before"] == {"is_active": True} and v["after"] == {"is_active": False}


def test_rule_job_records_one_entry_when_it_enrolls_someone(session, held):
    """Test that the rules job records how many it enrolled, as the scheduler, and nothing when idle."""
    from courses.jobs import apply_enrollment_rules

    w, _ = held
    add_rule(session, w.manager, course_id=w.courses["fire_safety"].id, kind=RuleKind.PARTY, now=NOW)
    session.commit()
    assert apply_enrollment_rules(now=NOW, engine=session.get_bind()) == 0
    b0 = w.org.workers_b[0]
    b0.party_member = True
    session.add(b0)
    session.commit()
    assert apply_enrollment_rules(now=NOW, engine=session.get_bind()) == 1
    e, v = only(session, "course.rule.apply")
    assert e.user_id is None and e.username == "scheduler" and v["detail"] == {"enrolled": 1}


# --- field data ----------------------------------------------------------------------------------------------

FIELD_NOW = datetime(2020, 9, 30, 12, 0)
METRICS = "工号,统计月份,指标,分子,分母\nA00,2020-06,采集率,90,100\nA01,2020-06,准确率,45,50\n"


def test_metrics_import_records_file_hash_and_counts(session, field_org):
    """Test that an import records the file, its sha256 and rows added/changed; a file that changes nothing
    writes nothing and records nothing."""
    import hashlib

    mgr = viewer(Role.MANAGER, user_id=7)
    assert import_and_commit(session, mgr, "metrics", METRICS.encode(), "六月.csv", now=FIELD_NOW).written
    assert not import_and_commit(session, mgr, "metrics", METRICS.encode(), "六月.csv", now=FIELD_NOW).written
    fixed = METRICS.replace("45,50", "48,50").encode()
    import_and_commit(session, mgr, "metrics", fixed, "六月-更正.csv", now=FIELD_NOW)
    first, second = entries(session, "import.metrics")
    assert first.user_id == 7 and first.entity_id == "六月.csv"
    d1, d2 = json.loads(first.detail), json.loads(second.detail)
    assert d1["sha256"] == hashlib.sha256(METRICS.encode()).hexdigest() and d1["rows_read"] == 2
    assert (d1["added"], d1["changed"]) == (2, 0) and (d2["added"], d2["changed"], d2["unchanged"]) == (
        0,
        1,
        1,
    )
    assert d1["periods"] == ["2020-06", "2020-06"]


def test_metrics_import_rolled_back_leaves_no_figures_and_no_entry(session, field_org):
    """Test that an import whose commit fails leaves neither figures nor its entry."""
    with commit_refused(session), pytest.raises(CommitRefused):
        import_and_commit(session, viewer(Role.MANAGER), "metrics", METRICS.encode(), "m.csv", now=FIELD_NOW)
    session.rollback()
    assert session.exec(select(MetricValue)).all() == []
    assert entries(session, "import") == []


def test_manager_event_decisions_are_audited_and_worker_steps_are_not(session, field_org):
    """Test that a manager's accept and reject record state before → after (and the note), while a
    worker's own sign is left to the event history."""
    org = field_org
    mgr = viewer(Role.MANAGER, user_id=3)
    base = dict(
        item_code="F01",
        category_code="fire",
        grid_id=org.grids_a[0].id,
        community_id=org.comm_a.id,
        priority="normal",
        reporter_id=org.workers_a[0].id,
        reported_at=FIELD_NOW,
    )
    e1, e2 = Event(event_no="E1", state="reported", **base), Event(event_no="E2", state="reported", **base)
    e3 = Event(event_no="E3", state="dispatched", assignee_id=org.workers_a[1].id, **base)
    session.add_all([e1, e2, e3])
    session.commit()
    ev.transition(session, mgr, event_id=e1.id, action="accept", now=FIELD_NOW)
    ev.transition(session, mgr, event_id=e2.id, action="reject", note="重复上报", now=FIELD_NOW)
    ev.transition(
        session, viewer(Role.WORKER, worker=org.workers_a[1]), event_id=e3.id, action="sign", now=FIELD_NOW
    )
    session.commit()
    acc, acc_v = only(session, "field.event.accept")
    assert (acc.user_id, acc.entity_id) == (3, "E1")
    assert acc_v["before"] == {"state": "reported"} and acc_v["after"] == {"state": "accepted"}
    _, rej_v = only(session, "field.event.reject")
    assert rej_v["after"] == {"state": "voided"} and rej_v["detail"] == {"note": "重复上报"}
    assert entries(session, "field.event.sign") == []


def test_rental_grading_records_old_and_new_grade(session, field_org):
    """Test that a re-grade records the previous grade and score and the new ones."""
    g = field_org.grids_a[0]
    b = RentalBuilding(code="B1", address="一巷1号", grid_id=g.id, community_id=g.parent_id)
    session.add(b)
    session.commit()
    mgr = viewer(Role.MANAGER, user_id=4)
    full = {code: float(m) for code, m in zip(criteria()["code"], criteria()["max"], strict=True)}
    grade_building(session, mgr, building_id=b.id, scores=full, now=FIELD_NOW)
    grade_building(session, mgr, building_id=b.id, scores=full, veto=["V1"], now=FIELD_NOW)
    session.commit()
    first, second = entries(session, "field.rental.grade")
    assert json.loads(first.before) == {"grade": None, "score": None}
    assert json.loads(first.after) == {"grade": "green", "score": 100.0}
    assert json.loads(second.before) == {"grade": "green", "score": 100.0}
    assert json.loads(second.after)["grade"] == "red" and json.loads(second.detail) == {"veto": ["V1"]}
    assert second.user_id == 4 and second.entity_id == "B1"


def test_rental_grading_rolled_back_leaves_no_entry(session, field_org):
    """Test that rolling back a grading removes its entry with it."""
    g = field_org.grids_a[0]
    b = RentalBuilding(code="B2", address="一巷2号", grid_id=g.id, community_id=g.parent_id)
    session.add(b)
    session.commit()
    full = {code: float(m) for code, m in zip(criteria()["code"], criteria()["max"], strict=True)}
    grade_building(session, viewer(Role.MANAGER), building_id=b.id, scores=full, now=FIELD_NOW)
    session.rollback()
    assert session.get(RentalBuilding, b.id).grade is None
    assert entries(session, "field") == []


def test_metric_registry_and_time_limit_edits_record_the_changed_fields(session, field_org):
    """Test that registry and SLA edits record only what changed, with the old value."""
    admin = viewer(Role.SYSADMIN, user_id=2)
    old_target = session.get(MetricDef, "collection_rate").target
    update_metric(session, admin, code="collection_rate", changes={"target": 99.0, "name_zh": "采集率"})
    level = session.get(SlaLevel, "normal")
    old_sign = level.sign_limit_hours
    update_sla(
        session,
        admin,
        code="normal",
        sign_limit_hours=old_sign + 2,
        handle_limit_hours=level.handle_limit_hours,
    )
    session.commit()
    m, m_v = only(session, "field.metric.update")
    assert m.user_id == 2 and m.entity_id == "collection_rate"
    assert m_v["before"] == {"target": old_target} and m_v["after"] == {"target": 99.0}
    _, s_v = only(session, "field.sla.update")
    assert s_v["before"] == {"sign_limit_hours": old_sign} and s_v["after"] == {
        "sign_limit_hours": old_sign + 2
    }


# --- assignment ----------------------------------------------------------------------------------------------


def test_override_records_task_recommended_and_chosen_worker_and_reason(session, dispatch_world):
    """Test that an override names the task, the recommended and the chosen worker and the reason, and the
    event's move to dispatched is recorded as the manager's decision too."""
    a0, a1, _ = dispatch_world.org.workers_a
    task_id = _task_id(session, 1)
    assign_service.assign(
        session,
        dispatch_world.manager,
        task_id=task_id,
        worker_id=a1.id,
        preset="routine",
        override_reason="业主只认识他",
        now=ASSIGN_NOW,
    )
    session.commit()  # the caller's unit of work
    e, v = only(session, "assign.override")
    assert (e.user_id, e.entity_id) == (dispatch_world.manager.user_id, task_id)
    assert v["before"] == {"assignee_id": None} and v["after"] == {
        "assignee_id": a1.id,
        "assignee": a1.employee_no,
    }
    assert v["detail"] == {"recommended_worker_id": a0.id, "override_reason": "业主只认识他"}
    _, d = only(session, "field.event.dispatch")
    assert d["before"]["state"] == "registered" and d["after"]["state"] == "dispatched"
    assert entries(session, "assign.task") == []


def test_override_rolled_back_leaves_no_entry(session, dispatch_world):
    """Test that an assignment whose commit fails leaves the task unassigned and no entry."""
    a1 = dispatch_world.org.workers_a[1]
    task_id = _task_id(session, 1)
    assign_service.assign(
        session,
        dispatch_world.manager,
        task_id=task_id,
        worker_id=a1.id,
        preset="routine",
        override_reason="业主只认识他",
        now=ASSIGN_NOW,
    )
    with commit_refused(session), pytest.raises(CommitRefused):
        session.commit()
    session.rollback()
    assert session.get(Event, int(task_id.split(":")[1])).assignee_id is None
    assert entries(session, "assign") == [] and entries(session, "field") == []


def test_batch_and_hand_dispatch_record_every_assignment(session, dispatch_world):
    """Test that a batch records each task it assigns, and a later hand re-assignment (as on the events
    page) records the previous assignee."""
    proposal = assign_service.propose_batch(session, dispatch_world.manager, "routine", now=ASSIGN_NOW)
    assert (
        assign_service.commit_batch(session, dispatch_world.manager, proposal, now=ASSIGN_NOW)["assigned"]
        == 2
    )
    session.commit()
    batch = entries(session, "assign.task")
    assert sorted(e.entity_id for e in batch) == sorted(proposal.assigned["task_id"])
    chosen = dict(zip(proposal.assigned["task_id"], proposal.assigned["worker_id"], strict=True))
    assert all(json.loads(e.detail)["recommended_worker_id"] == chosen[e.entity_id] for e in batch)
    task_id = _task_id(session, 1)
    other = next(w for w in dispatch_world.org.workers_a if w.id != chosen[task_id])
    assign_task(
        session,
        dispatch_world.manager,
        task_id=task_id,
        worker_id=other.id,
        reason_zh="人工",
        reason_en="by hand",
        assigned_by=dispatch_world.manager.user_id,
        now=ASSIGN_NOW,
    )
    session.commit()
    last = entries(session, "assign.task")[-1]
    assert json.loads(last.before) == {"assignee_id": chosen[task_id]}
    assert json.loads(last.detail) == {"recommended_worker_id": None, "override_reason": None}


# --- scoring -------------------------------------------------------------------------------------------------

scored_org = scoring_tests.org  # the scoring tests' fixture: six workers' June 2020 figures and an admin user


def test_scheme_edit_records_the_changed_weights_and_activation(session, scored_org):
    """Test that a new scheme version records only the weights and rules that moved (old and new), and
    re-activating an older version records which one was active before."""
    admin = scoring_tests.ADMIN
    scheme, v1 = active_scheme(session)
    d = scheme.to_dict()
    first, second = d["dimensions"][0]["components"][:2]
    first["weight"], second["weight"] = first["weight"] + 5, second["weight"] - 5
    save_scheme_version(session, admin, d, note="采集更重要")
    session.commit()
    e, v = only(session, "score.scheme.save")
    assert e.user_id == admin.user_id and e.entity_id == f"{scheme.code} v2"
    assert v["before"] == {
        "version": 1,
        f"weight.{first['code']}": first["weight"] - 5,
        f"weight.{second['code']}": second["weight"] + 5,
    }
    assert v["after"] == {
        "version": 2,
        f"weight.{first['code']}": first["weight"],
        f"weight.{second['code']}": second["weight"],
    }
    assert v["detail"] == {"note": "采集更重要", "activated": True}
    activate_version(session, admin, v1.id)
    session.commit()
    _, v = only(session, "score.scheme.activate")
    assert v["before"] == {"active": f"{scheme.code} v2"} and v["after"] == {"active": f"{scheme.code} v1"}


def test_adjustment_records_cases_before_and_after(session, scored_org):
    """Test that recording and then correcting a deduction records 0 → 1 → 2 cases for that worker and month."""
    worker = scored_org.workers_a[1]
    mgr = viewer(Role.MANAGER, user_id=make_user(session, "mgr", "x").id)
    record_adjustment(
        session, mgr, worker_id=worker.id, period="2020-06", code="falsification", cases=1, note="虚报"
    )
    record_adjustment(
        session, mgr, worker_id=worker.id, period="2020-06", code="falsification", cases=2, note="虚报"
    )
    session.commit()
    first, second = entries(session, "score.adjustment")
    assert first.user_id == mgr.user_id and first.entity_id == worker.employee_no
    assert json.loads(first.before) == {"cases": 0, "note": ""} and json.loads(first.after)["cases"] == 1
    assert json.loads(second.before)["cases"] == 1 and json.loads(second.after)["cases"] == 2
    assert json.loads(second.detail) == {"period": "2020-06", "code": "falsification"}


def test_adjustment_rolled_back_leaves_no_entry(session, scored_org):
    """Test that a deduction whose commit fails leaves neither the deduction nor its entry."""
    worker = scored_org.workers_a[1]
    record_adjustment(
        session, viewer(Role.MANAGER), worker_id=worker.id, period="2020-06", code="falsification", cases=1
    )
    with commit_refused(session), pytest.raises(CommitRefused):
        session.commit()
    session.rollback()
    assert session.exec(select(ScoreAdjustment)).all() == []
    assert entries(session, "score") == []


def test_freeze_and_recompute_record_period_scheme_version_and_counts(session, scored_org):
    """Test that the scheduled freeze records the period, scheme version and worker count, and a recompute
    records the previous revision's figures against the new ones."""
    freeze_period(session, "2020-06", viewer=SYSTEM, now=datetime(2020, 7, 2))
    freeze_period(
        session, "2020-06", viewer=SYSTEM, now=datetime(2020, 7, 3)
    )  # already frozen: nothing written
    session.commit()
    e, v = only(session, "score.freeze")
    assert e.user_id is None and e.username == SYSTEM.display_name and e.entity_id == "2020-06"
    assert v["before"] is None
    assert (v["after"]["revision"], v["after"]["scheme_version"], v["after"]["workers_scored"]) == (1, 1, 6)
    assert v["detail"]["workers"] == 6 and v["detail"]["reason"] == ""
    admin = scoring_tests.ADMIN
    freeze_period(
        session, "2020-06", viewer=admin, new_revision=True, reason="更正数据", now=datetime(2020, 7, 5)
    )
    session.commit()
    e, v = only(session, "score.recompute")
    assert e.user_id == admin.user_id
    assert v["before"]["revision"] == 1 and v["after"]["revision"] == 2
    assert v["detail"]["reason"] == "更正数据" and v["detail"]["previous_revision"] == 1


# --- naming --------------------------------------------------------------------------------------------------


def test_every_recorded_action_belongs_to_an_area_the_audit_page_lists():
    """Test that each action name written in the code starts with one of the page's areas, and that every
    area has a label in both languages."""
    import re

    from core.audit import ACTION_AREAS
    from core.settings import ROOT

    calls = []
    for folder in ("core", "courses", "evaluation"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            calls += re.findall(r"\brecord\(\s*session,\s*(.*?),\s*(?:viewer|username)=", text, flags=re.S)
    names = [n for call in calls for n in re.findall(r'f?"([a-z_]+(?:\.[a-z_{}]+)+)"', call)]
    assert len(names) >= 30, names  # the call sites were found
    assert {n.split(".")[0] for n in names} <= set(ACTION_AREAS), sorted(set(names))
    from core.i18n import catalog

    for lang in ("zh", "en"):
        missing = [a for a in ("all", *ACTION_AREAS) if f"audit.area.{a}" not in catalog(lang)]
        assert not missing, f"{lang}: no label for audit areas {missing}"
