"""The audit trail of the domain writes: each write leaves one entry naming who did it, what was there before
and what is there after, and the entry lives and dies with the write's own transaction.

For a write that commits by itself, "the transaction is rolled back" is staged by refusing its commit
(as a dropped connection or a failed constraint would): the caller rolls back and neither the change nor
its entry may remain.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from core.models_audit import AuditEntry
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
from courses.sessions import SessionPlan, cancel_session, schedule, update_session
from tests.unit._courses_world import World, make_world

NOW = datetime(2020, 3, 2, 9, 0)
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
        return list(other.exec(select(AuditEntry).where(AuditEntry.action.startswith(prefix))
                               .order_by(AuditEntry.id)).all())


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
    ts, = schedule(session, w.manager, SessionPlan(course_id=course.id, first_day=START.date(), start=time(14),
                                                   end=time(16), unit_id=w.org.comm_a.id), now=NOW)
    return w, ts


def _status(session, ts, worker) -> str | None:
    return session.exec(select(Attendance.status).where(Attendance.session_id == ts.id,
                                                        Attendance.worker_id == worker.id)).one()


def test_mark_records_each_changed_status_by_employee_number(session, held):
    """Test that a bulk mark names the manager and, per worker whose status moved, the old and new status."""
    w, ts = held
    a0, a1, a2 = w.org.workers_a
    mark(session, w.manager, session_id=ts.id, worker_ids=[a0.id], status=AttendanceStatus.LATE, now=START)
    mark(session, w.manager, session_id=ts.id, worker_ids=[a0.id, a1.id], status=AttendanceStatus.PRESENT,
         now=START)
    marks = entries(session, "attendance.mark")
    assert len(marks) == 2 and {m.user_id for m in marks} == {w.manager.user_id}
    last = marks[-1]
    assert json.loads(last.before) == {a0.employee_no: "late", a1.employee_no: None}
    assert json.loads(last.after) == {a0.employee_no: "present", a1.employee_no: "present"}
    assert last.entity_id == str(ts.id) and a2.employee_no not in last.after
    # The same mark again changes no status: nothing new to audit.
    mark(session, w.manager, session_id=ts.id, worker_ids=[a1.id], status=AttendanceStatus.PRESENT, now=START)
    assert len(entries(session, "attendance.mark")) == 2


def test_mark_rolled_back_leaves_neither_status_nor_entry(session, held):
    """Test that when the mark's transaction fails the seat keeps its status and no entry remains."""
    w, ts = held
    a0 = w.org.workers_a[0]
    with commit_refused(session), pytest.raises(CommitRefused):
        mark(session, w.manager, session_id=ts.id, worker_ids=[a0.id], status=AttendanceStatus.ABSENT, now=START)
    session.rollback()
    assert _status(session, ts, a0) is None
    assert entries(session, "attendance") == []


def test_excuse_decisions_are_audited(session, held):
    """Test that approving and refusing an excuse each record pending → decision for that request."""
    w, ts = held
    a0, a1, _ = w.org.workers_a
    req0 = request_excuse(session, w.worker(a0), session_id=ts.id, reason="值班", now=NOW)
    req1 = request_excuse(session, w.worker(a1), session_id=ts.id, reason="私事", now=NOW)
    decide_excuse(session, w.manager_a, excuse_id=req0.id, approve=True, now=NOW)
    decide_excuse(session, w.manager_a, excuse_id=req1.id, approve=False, now=NOW)
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
    e, v = only(session, "attendance.check_in")
    assert e.user_id == w.users[me.id]
    assert v["before"] == {"status": None} and v["after"] == {"status": "late", "source": "code"}


def test_meeting_import_names_the_file_its_hash_and_the_moves(session, held):
    """Test that the platform import records file name, sha256, rows and each seat's old → new status."""
    import hashlib

    w, ts = held
    a0, a1, a2 = w.org.workers_a
    mark(session, w.manager, session_id=ts.id, worker_ids=[a1.id], status=AttendanceStatus.ABSENT, now=START)
    data = ("工号,入会时间,离会时间\n"
            f"{a0.employee_no},2020-03-03 14:00,2020-03-03 16:00\n"
            f"{a1.employee_no},2020-03-03 14:30,2020-03-03 16:00\n").encode("utf-8-sig")
    preview = preview_platform_import(session, w.manager, session_id=ts.id, data=data, filename="腾讯会议.csv")
    assert commit_platform_import(session, w.manager, preview) == 2
    e, v = only(session, "import.attendance")
    assert e.user_id == w.manager.user_id and e.entity_id == "腾讯会议.csv"
    assert v["detail"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert v["detail"]["rows_read"] == 2 and v["detail"]["changed"] == 2 and v["detail"]["session_id"] == ts.id
    assert v["before"] == {a0.employee_no: None, a1.employee_no: "absent"}
    assert v["after"] == {a0.employee_no: "present", a1.employee_no: "late"}
    assert a2.employee_no not in v["after"]


def test_auto_absent_job_writes_one_entry_per_run_with_counts(session, held):
    """Test that closing ended sessions records one entry with the counts, by the scheduler, and a run
    that finds nothing to close records nothing."""
    w, ts = held
    mark(session, w.manager, session_id=ts.id, worker_ids=[w.org.workers_a[0].id],
         status=AttendanceStatus.PRESENT, now=START)
    after_end = START + timedelta(hours=3)
    assert close_ended_sessions(session, now=after_end) == 2
    assert close_ended_sessions(session, now=after_end + timedelta(minutes=5)) == 0
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
        update={"pass_mark": 90, "material_md_zh": "新教材" * 100})
    save_course(session, w.manager, data, course_id=course.id)
    e, v = only(session, "course.update")
    assert e.user_id == w.manager.user_id and e.entity_id == "fire_safety"
    assert v["before"]["pass_mark"] == 80 and v["after"]["pass_mark"] == 90
    assert set(v["after"]) == {"pass_mark", "material_md_zh"}
    assert v["after"]["material_md_zh"].endswith("(300 chars)") and len(v["after"]["material_md_zh"]) < 160
    new = data.model_copy(update={"code": "new_course", "title_zh": "新课程"})
    save_course(session, w.manager, new)
    _, v = only(session, "course.create")
    assert v["before"] is None and v["after"]["code"] == "new_course" and v["after"]["pass_mark"] == 90


def test_session_schedule_edit_and_cancel_are_audited(session, held):
    """Test that scheduling, moving and cancelling a session each record before and after."""
    w, ts = held
    created, created_v = only(session, "course.session.create")
    assert created.user_id == w.manager.user_id and created_v["detail"]["session_ids"] == [ts.id]
    assert created_v["after"]["sessions"] == 1 and created_v["detail"]["seated"] == 3
    later = START + timedelta(hours=1)
    update_session(session, w.manager, ts.id, start_at=later, end_at=later + timedelta(hours=2),
                   meeting_url=ts.meeting_url, capacity=None, now=NOW)
    _, v = only(session, "course.session.update")
    assert v["before"] == {"start_at": START.isoformat(), "end_at": (START + timedelta(hours=2)).isoformat()}
    assert v["after"] == {"start_at": later.isoformat(), "end_at": (later + timedelta(hours=2)).isoformat()}
    cancel_session(session, w.manager_a, ts.id, now=NOW)
    e, v = only(session, "course.session.cancel")
    assert e.user_id == w.manager_a.user_id and e.entity_id == str(ts.id)
    assert v["before"] == {"status": "scheduled"} and v["after"] == {"status": "cancelled"}


def test_session_cancel_rolled_back_leaves_no_entry(session, held):
    """Test that a cancellation whose transaction fails leaves the session scheduled and no entry."""
    w, ts = held
    with commit_refused(session), pytest.raises(CommitRefused):
        cancel_session(session, w.manager, ts.id, now=NOW)
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
    assert len(entries(session, "course.enroll")) == 1
    seat_one(session, w.manager, session_id=ts.id, worker_id=b0.id)
    seats = [e for e in entries(session, "course.session.seat")]
    assert len(seats) == 1 and json.loads(seats[0].after) == {"worker": b0.employee_no}
    assert len(entries(session, "course.enroll")) == 2
    unenroll(session, w.manager, course_id=course.id, worker_id=b0.id, now=NOW)
    e, v = only(session, "course.unenroll")
    assert e.entity_id == course.code and v["before"]["future_seats"] == 1 and v["after"]["enrolled"] is False
    rule, n = add_rule(session, w.manager, course_id=course.id, kind=RuleKind.PARTY, now=NOW)
    _, v = only(session, "course.rule.add")
    assert v["after"]["kind"] == "party" and v["detail"]["enrolled"] == n
    deactivate_rule(session, w.manager, rule.id)
    _, v = only(session, "course.rule.deactivate")
    assert v["before"] == {"is_active": True} and v["after"] == {"is_active": False}


def test_rule_job_records_one_entry_when_it_enrolls_someone(session, held):
    """Test that the rules job records how many it enrolled, as the scheduler, and nothing when idle."""
    from courses.jobs import apply_enrollment_rules

    w, _ = held
    add_rule(session, w.manager, course_id=w.courses["fire_safety"].id, kind=RuleKind.PARTY, now=NOW)
    assert apply_enrollment_rules(now=NOW, engine=session.get_bind()) == 0
    b0 = w.org.workers_b[0]
    b0.party_member = True
    session.add(b0)
    session.commit()
    assert apply_enrollment_rules(now=NOW, engine=session.get_bind()) == 1
    e, v = only(session, "course.rule.apply")
    assert e.user_id is None and e.username == "scheduler" and v["detail"] == {"enrolled": 1}
