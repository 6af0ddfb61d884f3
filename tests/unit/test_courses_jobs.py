"""Scheduler jobs with a given ``now``: each computes what is due from the database, so running twice or
late sends nothing twice and misses nothing."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlmodel import func, select

from core.models import Worker
from core.models_inbox import Notification
from courses import jobs
from courses.attendance import check_in, checkin_code, decide_excuse, request_excuse
from courses.enrollment import add_rule, enroll
from courses.models import Attendance, Certificate, RuleKind, TrainingSession
from courses.training_sessions import SessionPlan, cancel_session, schedule, update_session
from tests.unit._courses_world import make_world

NOW = datetime(2020, 3, 2, 9, 0)
START = datetime(2020, 3, 3, 14, 0)


@pytest.fixture
def setup(session):
    w = make_world(session)
    course = w.courses["info_collection"]
    enroll(session, w.manager, course_id=course.id, worker_ids=[x.id for x in w.org.workers_a], now=NOW)
    (ts,) = schedule(
        session,
        w.manager,
        SessionPlan(course_id=course.id, first_day=START.date(), start=time(14), end=time(16)),
        now=NOW,
    )
    session.commit()  # the page's unit of work; the jobs run on connections of their own
    return w, course, ts, session.get_bind()


def _notes(session, kind=None):
    stmt = select(func.count()).select_from(Notification)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return session.exec(stmt).one()


def test_reminders_24h_and_1h_once_each_even_when_run_twice_or_late(session, setup):
    """Test that 3 seated workers get one 24-hour and one 1-hour reminder however often the job runs."""
    w, _, ts, eng = setup
    assert jobs.send_reminders(now=START - timedelta(hours=25), engine=eng) == 0
    assert jobs.send_reminders(now=START - timedelta(hours=23), engine=eng) == 3
    assert jobs.send_reminders(now=START - timedelta(hours=20), engine=eng) == 0
    assert (
        jobs.send_reminders(now=START - timedelta(minutes=30), engine=eng) == 3
    )  # late run: still sent once
    assert jobs.send_reminders(now=START - timedelta(minutes=10), engine=eng) == 0
    assert jobs.send_reminders(now=START + timedelta(minutes=1), engine=eng) == 0  # started: nothing new
    assert (_notes(session, "remind24"), _notes(session, "remind1")) == (3, 3)


def test_a_moved_session_is_announced_and_reminded_again(session, setup):
    """Test that editing notifies the seated once per edit and the reminder follows the new time."""
    w, _, ts, eng = setup
    jobs.send_reminders(now=START - timedelta(hours=23), engine=eng)
    new_start = START + timedelta(days=1)
    update_session(
        session,
        w.manager,
        ts.id,
        start_at=new_start,
        end_at=new_start + timedelta(hours=2),
        meeting_url="https://meeting.example/new",
        capacity=None,
        now=START - timedelta(hours=22),
    )
    session.commit()
    assert _notes(session, "session_changed") == 3
    assert jobs.send_reminders(now=new_start - timedelta(hours=23), engine=eng) == 3
    cancel_session(session, w.manager, ts.id, now=new_start - timedelta(hours=2))
    session.commit()
    assert _notes(session, "session_cancelled") == 3
    assert (
        jobs.send_reminders(now=new_start - timedelta(minutes=30), engine=eng) == 0
    )  # cancelled: no reminder


def test_closing_marks_the_unmarked_absent_once(session, setup):
    """Test that at close the unmarked become absent, check-ins and excuses stay, and a rerun changes nothing."""
    w, course, ts, eng = setup
    a, b, c = w.org.workers_a
    check_in(session, w.worker(a), session_id=ts.id, code=checkin_code(ts.secret, START), now=START)
    req = request_excuse(session, w.worker(b), session_id=ts.id, reason="社区值班", now=NOW)
    assert _notes(session, "excuse_request") == 1  # the host is told
    decide_excuse(session, w.manager, excuse_id=req.id, approve=True, now=NOW + timedelta(hours=1))
    session.commit()
    assert jobs.close_sessions(now=START + timedelta(hours=1), engine=eng) == 0  # not ended yet
    assert jobs.close_sessions(now=START + timedelta(hours=2, minutes=5), engine=eng) == 1
    assert jobs.close_sessions(now=START + timedelta(hours=3), engine=eng) == 0
    status = dict(
        session.exec(
            select(Attendance.worker_id, Attendance.status).where(Attendance.session_id == ts.id)
        ).all()
    )
    assert status == {a.id: "present", b.id: "excused", c.id: "absent"}
    session.expire_all()
    assert session.get(TrainingSession, ts.id).status == "closed"


def test_certificate_expiry_notice_once_within_30_days(session, setup):
    """Test that a certificate expiring in 20 days is announced once; one in 40 days is not yet."""
    w, course, _, eng = setup
    a, b, _ = w.org.workers_a
    from courses.models import QuizAttempt

    for worker, days in ((a, 20), (b, 40)):
        att = QuizAttempt(
            course_id=course.id,
            worker_id=worker.id,
            number=1,
            status="submitted",
            started_at=NOW,
            deadline_at=NOW,
            submitted_at=NOW,
            score=90,
            question_count=10,
        )
        session.add(att)
        session.flush()
        session.add(
            Certificate(
                course_id=course.id,
                worker_id=worker.id,
                attempt_id=att.id,
                score=90,
                issued_at=NOW,
                valid_until=NOW + timedelta(days=days),
            )
        )
    session.commit()
    assert jobs.certificate_expiry(now=NOW, engine=eng) == 1
    assert jobs.certificate_expiry(now=NOW + timedelta(hours=5), engine=eng) == 0
    assert jobs.certificate_expiry(now=NOW + timedelta(days=11), engine=eng) == 1  # b's now within 30 days


def test_rules_are_reapplied_for_workers_who_join_later(session, setup):
    """Test that a community rule enrolls and seats a worker added after the rule, at the next job run."""
    w, course, ts, eng = setup
    fire = w.courses["fire_safety"]
    rule, n = add_rule(
        session, w.manager, course_id=fire.id, kind=RuleKind.UNIT, unit_id=w.org.comm_b.id, now=NOW
    )
    assert n == 3
    (fire_ts,) = schedule(
        session,
        w.manager,
        SessionPlan(course_id=fire.id, first_day=date(2020, 3, 5), start=time(9), end=time(10)),
        now=NOW,
    )
    grid = w.org.grids_b[0]
    newcomer = Worker(
        employee_no="B99",
        name="新网格员",
        grid_id=grid.id,
        community_id=w.org.comm_b.id,
        subdistrict_id=w.org.sub.id,
    )
    session.add(newcomer)
    session.commit()
    assert jobs.apply_enrollment_rules(now=NOW + timedelta(hours=1), engine=eng) == 1
    assert jobs.apply_enrollment_rules(now=NOW + timedelta(hours=2), engine=eng) == 0
    seat = session.exec(
        select(Attendance).where(Attendance.session_id == fire_ts.id, Attendance.worker_id == newcomer.id)
    ).all()
    assert len(seat) == 1


def test_attendance_warnings_once_a_month(session, setup):
    """Test that a worker absent from 3 closed sessions is warned once per month."""
    w, course, _, eng = setup
    for d in (10, 11, 12):
        schedule(
            session,
            w.manager,
            SessionPlan(course_id=course.id, first_day=date(2020, 3, d), start=time(9), end=time(10)),
            now=NOW,
        )
    session.commit()
    jobs.close_sessions(now=datetime(2020, 3, 13), engine=eng)
    # all three workers missed four sessions: 0% attendance
    assert jobs.attendance_warnings(now=datetime(2020, 3, 13, 8), engine=eng) == 3
    assert jobs.attendance_warnings(now=datetime(2020, 3, 14, 8), engine=eng) == 0
    assert jobs.attendance_warnings(now=datetime(2020, 4, 1, 8), engine=eng) == 3


def test_run_all_is_idempotent(session, setup):
    """Test that running every job twice at the same moment sends nothing the second time."""
    _, _, _, eng = setup
    first = jobs.run_all(now=START - timedelta(minutes=30), engine=eng)
    second = jobs.run_all(now=START - timedelta(minutes=30), engine=eng)
    assert first["reminders"] == 6 and sum(second.values()) == 0


def test_quiz_deadline_notice_once_for_those_without_a_certificate(session, setup):
    """Test that a quiz due in 2 days is announced once to each enrolled worker, and not 5 days ahead."""
    w, _, _, eng = setup
    fire = w.courses["fire_safety"]
    enroll(
        session,
        w.manager,
        course_id=fire.id,
        worker_ids=[x.id for x in w.org.workers_b],
        quiz_due_at=NOW + timedelta(days=5),
        now=NOW,
    )
    session.commit()
    assert jobs.certificate_expiry(now=NOW, engine=eng) == 0
    assert jobs.certificate_expiry(now=NOW + timedelta(days=3), engine=eng) == 3
    assert jobs.certificate_expiry(now=NOW + timedelta(days=4), engine=eng) == 0
    assert _notes(session, "quiz_due") == 3


def test_a_cancellation_goes_once_and_only_to_those_told_of_the_session(session, setup):
    """Test that cancelling a session nobody was reminded of sends nothing, and that two identical sessions
    (the same course and start) cancelled after their reminders make one notice per worker, not two."""
    w, course, ts, eng = setup
    cancel_session(session, w.manager, ts.id, now=NOW)  # no reminder yet: the workers never heard of it
    session.commit()
    assert _notes(session, "session_cancelled") == 0

    plan = SessionPlan(course_id=course.id, first_day=START.date(), start=time(14), end=time(16))
    (first,) = schedule(session, w.manager, plan, now=NOW)
    twin = TrainingSession(**{**first.model_dump(exclude={"id"}), "secret": "twin"})  # as a double click made
    session.add(twin)
    session.flush()
    session.add_all(
        Attendance(session_id=twin.id, worker_id=a.worker_id)
        for a in session.exec(select(Attendance).where(Attendance.session_id == first.id)).all()
    )
    session.commit()
    assert jobs.send_reminders(now=START - timedelta(hours=23), engine=eng) == 6
    cancel_session(session, w.manager, first.id, now=START - timedelta(hours=2))
    cancel_session(session, w.manager, twin.id, now=START - timedelta(hours=2))
    session.commit()
    assert _notes(session, "session_cancelled") == 3
