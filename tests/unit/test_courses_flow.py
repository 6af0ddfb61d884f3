"""Check-in and quizzes through the data layer: the bad inputs the issue lists each get a clear message and
leave exactly one record."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np
import pytest
from sqlmodel import select

from courses.attendance import CheckInError, check_in, checkin_code, link_token
from courses.enrollment import enroll
from courses.models import AttemptAnswer, Attendance, Certificate, TrainingSession
from courses.quizzes import (
    QuizError,
    attempt_questions,
    auto_submit_expired,
    review_allowed,
    save_answer,
    start_attempt,
    submit_attempt,
)
from courses.training_sessions import ScheduleError, SessionPlan, cancel_session, schedule
from tests.unit._courses_world import make_world

NOW = datetime(2020, 3, 2, 9, 0)
START = datetime(2020, 3, 3, 14, 0)


@pytest.fixture
def setup(session):
    w = make_world(session)
    course = w.courses["fire_safety"]
    enroll(session, w.manager, course_id=course.id, worker_ids=[x.id for x in w.org.workers_a], now=NOW)
    (ts,) = schedule(
        session,
        w.manager,
        SessionPlan(
            course_id=course.id, first_day=START.date(), start=time(14), end=time(16), unit_id=w.org.comm_a.id
        ),
        now=NOW,
    )
    return w, course, ts


def _seats(session, ts, worker):
    return session.exec(
        select(Attendance).where(Attendance.session_id == ts.id, Attendance.worker_id == worker.id)
    ).all()


def test_check_in_twice_records_once(session, setup):
    """Test that a second check-in says 'already' and keeps the first time and status."""
    w, _, ts = setup
    me = w.org.workers_a[0]
    at = START - timedelta(minutes=5)
    first = check_in(session, w.worker(me), session_id=ts.id, code=checkin_code(ts.secret, at), now=at)
    again = check_in(
        session,
        w.worker(me),
        session_id=ts.id,
        code=checkin_code(ts.secret, at + timedelta(minutes=20)),
        now=at + timedelta(minutes=20),
    )
    assert (first.status, first.already) == ("present", False)
    assert again.already and again.checked_in_at == at and again.status == "present"
    seats = _seats(session, ts, me)
    assert len(seats) == 1 and seats[0].checked_in_at == at


def test_check_in_after_the_late_threshold_is_late(session, setup):
    """Test that checking in more than late_after_minutes (10) after the start records 'late' with its points."""
    w, course, ts = setup
    at = START + timedelta(minutes=11)
    res = check_in(
        session, w.worker(w.org.workers_a[1]), session_id=ts.id, code=checkin_code(ts.secret, at), now=at
    )
    assert res.status == "late"
    assert _seats(session, ts, w.org.workers_a[1])[0].points == course.points_late


@pytest.mark.parametrize(
    "when, message",
    [
        (START - timedelta(minutes=16), "opens"),
        (START + timedelta(hours=2, minutes=1), "ended"),
    ],
)
def test_check_in_outside_the_window_is_refused(session, setup, when, message):
    """Test that check-in before the window opens or after the end is refused and records nothing."""
    w, _, ts = setup
    me = w.org.workers_a[0]
    with pytest.raises(CheckInError, match=message):
        check_in(session, w.worker(me), session_id=ts.id, code=checkin_code(ts.secret, when), now=when)
    assert _seats(session, ts, me)[0].checked_in_at is None


def test_check_in_when_not_enrolled_or_with_a_bad_code_or_link(session, setup):
    """Test that a worker without a seat, a wrong code and a forged link token are each refused."""
    w, _, ts = setup
    at = START
    outsider = w.org.workers_b[0]
    with pytest.raises(CheckInError, match="not enrolled"):
        check_in(session, w.worker(outsider), session_id=ts.id, code=checkin_code(ts.secret, at), now=at)
    assert _seats(session, ts, outsider) == []
    me = w.org.workers_a[0]
    wrong = f"{(int(checkin_code(ts.secret, at)) + 1) % 1_000_000:06d}"
    with pytest.raises(CheckInError, match="wrong or has expired"):
        check_in(session, w.worker(me), session_id=ts.id, code=wrong, now=at)
    with pytest.raises(CheckInError, match="not valid"):
        check_in(session, w.worker(me), session_id=ts.id, token="0" * 24, now=at)
    ok = check_in(session, w.worker(me), session_id=ts.id, token=link_token(ts.secret, ts.id), now=at)
    assert ok.status == "present" and _seats(session, ts, me)[0].source == "link"


def _answers(questions, right=True):
    out = {}
    for q in questions:
        ok = [o["id"] for o in q["options"] if o["correct"]]
        wrong = [o["id"] for o in q["options"] if not o["correct"]][:1]
        out[q["question_id"]] = ok if right else wrong
    return out


def test_quiz_draws_from_the_bank_and_shuffles_options(session, setup):
    """Test that an attempt holds quiz_questions distinct questions of the course, options in a shuffled order."""
    w, course, _ = setup
    me = w.worker(w.org.workers_a[0])
    attempt = start_attempt(session, me, course_id=course.id, now=NOW, rng=np.random.default_rng(3))
    _, qs = attempt_questions(session, me, attempt.id)
    assert len(qs) == course.quiz_questions == len({q["question_id"] for q in qs})
    orders = [[o["id"] for o in q["options"]] for q in qs]
    assert any(o != sorted(o) for o in orders)  # at least one question's options are not in bank order
    assert (
        start_attempt(session, me, course_id=course.id, now=NOW + timedelta(minutes=1)).id == attempt.id
    )  # resume


def test_submit_twice_scores_once_and_passing_issues_one_certificate(session, setup):
    """Test that a second submit changes nothing and a pass gives a certificate valid for 12 months."""
    w, course, _ = setup
    me = w.worker(w.org.workers_a[0])
    attempt = start_attempt(session, me, course_id=course.id, now=NOW)
    _, qs = attempt_questions(session, me, attempt.id)
    first = submit_attempt(
        session, me, attempt_id=attempt.id, answers=_answers(qs), now=NOW + timedelta(minutes=5)
    )
    again = submit_attempt(
        session, me, attempt_id=attempt.id, answers=_answers(qs, right=False), now=NOW + timedelta(minutes=6)
    )
    assert first.attempt.score == 100.0 and not first.already and first.passed
    assert again.already and again.attempt.score == 100.0
    certs = session.exec(select(Certificate).where(Certificate.worker_id == me.worker_id)).all()
    assert len(certs) == 1 and certs[0].valid_until == datetime(2021, 3, 2, 9, 5)
    with pytest.raises(QuizError, match="valid certificate"):
        start_attempt(session, me, course_id=course.id, now=NOW + timedelta(days=1))
    # 30 days before expiry the worker may renew
    renewal = start_attempt(session, me, course_id=course.id, now=datetime(2021, 2, 10))
    assert renewal.number == 2


def test_submit_after_the_deadline_is_scored_as_at_the_deadline(session, setup):
    """Test that answers sent late are ignored: only what was saved before the deadline counts."""
    w, course, _ = setup
    me = w.worker(w.org.workers_a[0])
    attempt = start_attempt(session, me, course_id=course.id, now=NOW)
    _, qs = attempt_questions(session, me, attempt.id)
    right = _answers(qs)
    q0, q1 = qs[0]["question_id"], qs[1]["question_id"]
    save_answer(
        session,
        me,
        attempt_id=attempt.id,
        question_id=q0,
        option_ids=right[q0],
        now=NOW + timedelta(minutes=3),
    )
    late = NOW + timedelta(minutes=course.time_limit_minutes, seconds=1)
    with pytest.raises(QuizError, match="Time is up"):
        save_answer(session, me, attempt_id=attempt.id, question_id=q1, option_ids=right[q1], now=late)
    result = submit_attempt(session, me, attempt_id=attempt.id, answers=right, now=late)
    assert result.late and not result.already
    assert result.attempt.correct_count == 1 and result.attempt.score == 10.0
    assert result.attempt.submitted_at == attempt.deadline_at and result.attempt.status == "auto_submitted"


def test_tampered_option_or_question_ids_are_refused_and_nothing_is_saved(session, setup):
    """Test that an option id of another question, or a question not drawn, is refused without side effects."""
    w, course, _ = setup
    me = w.worker(w.org.workers_a[0])
    attempt = start_attempt(session, me, course_id=course.id, now=NOW)
    _, qs = attempt_questions(session, me, attempt.id)
    foreign_option = qs[1]["options"][0]["id"]
    with pytest.raises(QuizError, match="option that does not belong"):
        submit_attempt(
            session,
            me,
            attempt_id=attempt.id,
            answers={qs[0]["question_id"]: [foreign_option]},
            now=NOW + timedelta(minutes=2),
        )
    with pytest.raises(QuizError, match="not part of this attempt"):
        submit_attempt(
            session, me, attempt_id=attempt.id, answers={999_999: [1]}, now=NOW + timedelta(minutes=2)
        )
    session.refresh(attempt)
    assert attempt.status == "in_progress"
    assert (
        session.exec(
            select(AttemptAnswer).where(
                AttemptAnswer.attempt_id == attempt.id, AttemptAnswer.chosen.is_not(None)
            )
        ).first()
        is None
    )


def test_another_worker_cannot_touch_my_attempt(session, setup):
    """Test that submitting someone else's attempt is refused."""
    w, course, _ = setup
    mine = start_attempt(session, w.worker(w.org.workers_a[0]), course_id=course.id, now=NOW)
    with pytest.raises(QuizError, match="not yours"):
        submit_attempt(session, w.worker(w.org.workers_a[1]), attempt_id=mine.id, answers={}, now=NOW)


def test_attempts_are_limited_and_graded_by_the_course_method(session, setup):
    """Test three failing attempts use up the limit, and 'average' grading passes only on the mean."""
    w, course, _ = setup
    me = w.worker(w.org.workers_a[2])
    for i in range(course.max_attempts):
        a = start_attempt(session, me, course_id=course.id, now=NOW + timedelta(hours=i))
        _, qs = attempt_questions(session, me, a.id)
        submit_attempt(
            session,
            me,
            attempt_id=a.id,
            answers=_answers(qs, right=False),
            now=NOW + timedelta(hours=i, minutes=5),
        )
    with pytest.raises(QuizError, match="attempts have been used"):
        start_attempt(session, me, course_id=course.id, now=NOW + timedelta(days=1))

    course.grading_method = "average"
    session.add(course)
    session.commit()
    other = w.worker(w.org.workers_a[1])
    a = start_attempt(session, other, course_id=course.id, now=NOW)
    _, qs = attempt_questions(session, other, a.id)
    answers = _answers(qs)
    answers[qs[0]["question_id"]] = _answers(qs, right=False)[qs[0]["question_id"]]
    answers[qs[1]["question_id"]] = _answers(qs, right=False)[qs[1]["question_id"]]
    answers[qs[2]["question_id"]] = _answers(qs, right=False)[qs[2]["question_id"]]
    r1 = submit_attempt(
        session, other, attempt_id=a.id, answers=answers, now=NOW + timedelta(minutes=5)
    )  # 70
    a2 = start_attempt(session, other, course_id=course.id, now=NOW + timedelta(hours=1))
    _, qs2 = attempt_questions(session, other, a2.id)
    r2 = submit_attempt(
        session, other, attempt_id=a2.id, answers=_answers(qs2), now=NOW + timedelta(hours=1, minutes=5)
    )
    assert (r1.attempt.score, r1.certificate) == (70.0, None)
    assert r2.attempt.score == 100.0 and r2.grade == 85.0 and r2.certificate is not None  # (70+100)/2 ≥ 80


def test_the_scheduler_submits_abandoned_attempts_at_their_deadline(session, setup):
    """Test that auto-submit closes an abandoned attempt with its saved answers, once."""
    w, course, _ = setup
    me = w.worker(w.org.workers_a[0])
    attempt = start_attempt(session, me, course_id=course.id, now=NOW)
    assert auto_submit_expired(session, now=NOW + timedelta(minutes=5)) == 0
    assert auto_submit_expired(session, now=NOW + timedelta(hours=1)) == 1
    assert auto_submit_expired(session, now=NOW + timedelta(hours=2)) == 0
    session.refresh(attempt)
    assert (
        attempt.status == "auto_submitted"
        and attempt.score == 0.0
        and attempt.submitted_at == attempt.deadline_at
    )
    assert review_allowed(session, attempt)


def test_schedule_seats_only_the_audience_and_respects_capacity(session, setup):
    """Test that a capacity-2 session for community A seats the first two enrolled of A only."""
    w, course, _ = setup
    enroll(session, w.manager, course_id=course.id, worker_ids=[x.id for x in w.org.workers_b], now=NOW)
    (ts,) = schedule(
        session,
        w.manager,
        SessionPlan(
            course_id=course.id,
            first_day=date(2020, 3, 10),
            start=time(9),
            end=time(10),
            unit_id=w.org.comm_a.id,
            capacity=2,
        ),
        now=NOW,
    )
    seated = session.exec(select(Attendance.worker_id).where(Attendance.session_id == ts.id)).all()
    assert len(seated) == 2 and set(seated) <= {x.id for x in w.org.workers_a}


def test_schedule_pressed_twice_makes_one_session(session, setup):
    """Test that scheduling the same course for the same audience at the same time again (排课 pressed twice)
    is refused with a catalog message and creates nothing, while another audience, another time or a slot
    whose session was cancelled may still be scheduled."""
    w, course, ts = setup
    plan = SessionPlan(
        course_id=course.id, first_day=START.date(), start=time(14), end=time(16), unit_id=w.org.comm_a.id
    )
    before = len(session.exec(select(TrainingSession)).all())
    with pytest.raises(ScheduleError) as refused:
        schedule(session, w.manager, plan, now=NOW)
    assert refused.value.key == "duplicate"
    assert "2020-03-03 14:00" in refused.value.message("zh")
    weekly = SessionPlan(**{**plan.__dict__, "weekdays": (1,), "until": date(2020, 3, 24)})
    with pytest.raises(ScheduleError):  # a series that would repeat the existing session
        schedule(session, w.manager, weekly, now=NOW)
    assert len(session.exec(select(TrainingSession)).all()) == before

    schedule(session, w.manager, SessionPlan(**{**plan.__dict__, "unit_id": w.org.comm_b.id}), now=NOW)
    schedule(session, w.manager, SessionPlan(**{**plan.__dict__, "start": time(9), "end": time(10)}), now=NOW)
    cancel_session(session, w.manager, ts.id, now=NOW)
    schedule(session, w.manager, plan, now=NOW)
    assert len(session.exec(select(TrainingSession)).all()) == before + 3
