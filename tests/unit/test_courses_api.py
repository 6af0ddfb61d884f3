"""The contract other areas code against (courses/api.py), exercised through the real flow."""

from __future__ import annotations

from datetime import date, datetime, time

import numpy as np
import pandas as pd
import pytest

from core.models import Role
from core.scope import ScopeError
from courses import api
from courses.attendance import check_in, checkin_code, close_ended_sessions
from courses.catalog import CourseError
from courses.models import Course
from courses.quizzes import attempt_questions, start_attempt, submit_attempt
from courses.training_sessions import SessionPlan, schedule
from tests.factories import viewer
from tests.unit._courses_world import make_world

NOW = datetime(2020, 3, 2, 9, 0)


@pytest.fixture
def world(session):
    w = make_world(session)
    return w.org, w.courses


def test_enroll_workers_is_idempotent_and_scoped(session, world):
    """Test that enroll_workers counts only new enrollments and refuses workers outside the scope."""
    org, _ = world
    mgr_a = viewer(Role.MANAGER, org.comm_a)
    ids = [w.id for w in org.workers_a]
    assert (
        api.enroll_workers(session, mgr_a, course_code="fire_safety", worker_ids=ids, reason="准确率低于90%")
        == 3
    )
    assert (
        api.enroll_workers(session, mgr_a, course_code="fire_safety", worker_ids=ids[:2], reason="again") == 0
    )
    with pytest.raises(ScopeError):
        api.enroll_workers(
            session, mgr_a, course_code="fire_safety", worker_ids=[org.workers_b[0].id], reason="x"
        )
    with pytest.raises(CourseError):
        api.enroll_workers(session, mgr_a, course_code="no_such_course", worker_ids=ids, reason="x")


def test_busy_workers_and_training_figures_follow_the_flow(session, world):
    """Test that a seated worker is busy during the session, and attendance and quiz feed the monthly figures."""
    org, courses = world
    mgr = viewer(Role.MANAGER)
    course = courses["fire_safety"]
    w0, w1, _w2 = org.workers_a
    api.enroll_workers(session, mgr, course_code="fire_safety", worker_ids=[w0.id, w1.id], reason="")
    (ts,) = schedule(
        session,
        mgr,
        SessionPlan(course_id=course.id, first_day=date(2020, 3, 3), start=time(14), end=time(16)),
        now=NOW,
    )
    assert api.busy_workers(session, start=datetime(2020, 3, 3, 15), end=datetime(2020, 3, 3, 17)) == {
        w0.id,
        w1.id,
    }
    assert api.busy_workers(session, start=datetime(2020, 3, 3, 16), end=datetime(2020, 3, 3, 17)) == set()

    at = datetime(2020, 3, 3, 13, 50)
    check_in(
        session, viewer(Role.WORKER, worker=w0), session_id=ts.id, code=checkin_code(ts.secret, at), now=at
    )
    close_ended_sessions(session, now=datetime(2020, 3, 3, 16, 1))

    wv = viewer(Role.WORKER, worker=w0)
    attempt = start_attempt(
        session, wv, course_id=course.id, now=datetime(2020, 3, 4, 10), rng=np.random.default_rng(1)
    )
    _, qs = attempt_questions(session, wv, attempt.id)
    answers = {q["question_id"]: [o["id"] for o in q["options"] if o["correct"]] for q in qs}
    result = submit_attempt(
        session, wv, attempt_id=attempt.id, answers=answers, now=datetime(2020, 3, 4, 10, 5)
    )
    assert result.attempt.score == 100.0 and result.certificate is not None

    fig = api.training_figures(session, mgr, start=date(2020, 2, 1), end=date(2020, 3, 31))
    assert list(fig.columns) == api.FIGURE_COLUMNS
    assert len(fig) == 6 * 2  # every worker in scope × two months
    march = fig[fig["period"] == "2020-03"].set_index("worker_id")
    assert march.loc[
        w0.id,
        [
            "sessions_due",
            "sessions_attended",
            "attendance_points",
            "attendance_points_max",
            "quiz_attempts",
            "certificates_valid",
        ],
    ].tolist() == [1, 1, 2, 2, 1, 1]
    assert march.loc[w0.id, "quiz_score_avg"] == 100.0
    assert march.loc[w1.id, ["sessions_due", "sessions_attended", "attendance_points"]].tolist() == [1, 0, 0]
    assert np.isnan(march.loc[w1.id, "quiz_score_avg"])
    assert fig[fig["period"] == "2020-02"]["sessions_due"].sum() == 0

    scoped = api.training_figures(
        session, viewer(Role.MANAGER, org.comm_b), start=date(2020, 3, 1), end=date(2020, 3, 31)
    )
    assert set(scoped["worker_id"]) == {w.id for w in org.workers_b}

    q = api.qualifications(session, at=datetime(2020, 3, 5))
    row = q[(q["worker_id"] == w0.id) & (q["course_code"] == "fire_safety")].iloc[0]
    assert bool(row["passed"]) and row["best_score"] == 100.0
    assert row["certificate_valid_until"] == pd.Timestamp(2021, 3, 4, 10, 5)
    assert api.qualifications(session, at=datetime(2020, 3, 1)).empty


def test_courses_for_skill_maps_items_to_categories(session, world):
    """Test that a taxonomy category and one of its item codes both find the fire course."""
    assert [c["code"] for c in api.courses_for_skill(session, skill_area="fire")] == ["fire_safety"]
    assert [c["code"] for c in api.courses_for_skill(session, skill_area="F03")] == ["fire_safety"]
    assert api.courses_for_skill(session, skill_area="info_collection")[0]["title_zh"]
    assert api.courses_for_skill(session, skill_area="city") == []
    assert session.get(Course, 1) is not None
