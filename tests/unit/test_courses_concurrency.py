"""300 workers checking in to one session and submitting one quiz at the same time, each tapping twice:
every check-in and every attempt is recorded exactly once (SQLite and PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time, timedelta
from threading import Barrier

import numpy as np
from sqlmodel import Session, func, select

from core.db import retry_unit_of_work
from core.models import OrgLevel, Role, User, Worker
from core.org import add_unit
from courses.attendance import check_in, checkin_code
from courses.catalog import load_shipped_courses
from courses.enrollment import enroll
from courses.models import Attendance, Certificate, QuizAttempt
from courses.quizzes import attempt_questions, start_attempt, submit_attempt
from courses.training_sessions import SessionPlan, schedule
from tests.factories import viewer

N = 300
NOW = datetime(2020, 2, 19, 9, 0)
START = datetime(2020, 2, 20, 14, 30)  # 首期云课程


def _district(session: Session) -> tuple[list[Worker], dict[int, int]]:
    d = add_unit(session, code="D", name_zh="新区", name_en="D", level=OrgLevel.DISTRICT)
    s = add_unit(session, code="S", name_zh="办事处", name_en="S", level=OrgLevel.SUBDISTRICT, parent=d)
    c = add_unit(session, code="C", name_zh="社区", name_en="C", level=OrgLevel.COMMUNITY, parent=s)
    g = add_unit(session, code="G", name_zh="网格", name_en="G", level=OrgLevel.GRID, parent=c)
    workers = [
        Worker(
            employee_no=f"W{i:03d}", name=f"网格员{i}", grid_id=g.id, community_id=c.id, subdistrict_id=s.id
        )
        for i in range(N)
    ]
    session.add_all(workers)
    session.flush()
    users = [
        User(username=w.employee_no, display_name=w.name, password_hash="x", role="worker", worker_id=w.id)
        for w in workers
    ]
    session.add_all(users)
    session.commit()
    return workers, {u.worker_id: u.id for u in users}


def test_300_workers_check_in_and_submit_concurrently_exactly_once(session):
    """Test that 600 concurrent check-ins and 600 concurrent submits (two taps each) record 300 of each."""
    workers, users = _district(session)
    course = next(c for c in load_shipped_courses(session) if c.code == "info_collection")
    session.commit()
    manager = viewer(Role.MANAGER, user_id=users[workers[0].id])
    enroll(session, manager, course_id=course.id, worker_ids=[w.id for w in workers], now=NOW)
    (ts,) = schedule(
        session,
        manager,
        SessionPlan(course_id=course.id, first_day=START.date(), start=time(14, 30), end=time(16, 30)),
        now=NOW,
    )
    session.commit()
    engine = session.get_bind()
    at = START - timedelta(minutes=3)
    code = checkin_code(ts.secret, at)
    viewers = [viewer(Role.WORKER, worker=w, user_id=users[w.id]) for w in workers]
    barrier = Barrier(16)

    def tap_check_in(i: int):
        v = viewers[i % N]
        if i < 16:
            barrier.wait()  # the first taps really start together
        # As the check-in page does: one unit of work per tap, run again whole while the database is busy.
        return retry_unit_of_work(lambda s: check_in(s, v, session_id=ts.id, code=code, now=at), engine)

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(tap_check_in, range(2 * N)))
    assert sum(not r.already for r in results) == N
    assert (
        session.exec(
            select(func.count())
            .select_from(Attendance)
            .where(Attendance.session_id == ts.id, Attendance.checked_in_at.is_not(None))
        ).one()
        == N
    )

    def tap_start(i: int):
        return retry_unit_of_work(
            lambda s: (
                start_attempt(
                    s,
                    viewers[i % N],
                    course_id=course.id,
                    now=at + timedelta(minutes=30),
                    rng=np.random.default_rng(i),
                ).id
            ),
            engine,
        )

    with ThreadPoolExecutor(max_workers=16) as pool:
        attempt_ids = list(pool.map(tap_start, range(2 * N)))
    assert len(set(attempt_ids)) == N  # the double tap resumed the same attempt
    assert session.exec(select(func.count()).select_from(QuizAttempt)).one() == N

    answers = {}
    for i in range(N):
        _, qs = attempt_questions(session, viewers[i], attempt_ids[i])
        answers[i] = {q["question_id"]: [o["id"] for o in q["options"] if o["correct"]] for q in qs}

    def tap_submit(i: int):
        return retry_unit_of_work(
            lambda s: submit_attempt(
                s,
                viewers[i % N],
                attempt_id=attempt_ids[i % N],
                answers=answers[i % N],
                now=at + timedelta(minutes=40),
            ),
            engine,
        )

    with ThreadPoolExecutor(max_workers=16) as pool:
        submits = list(pool.map(tap_submit, range(2 * N)))
    assert sum(not r.already for r in submits) == N
    session.expire_all()
    rows = session.exec(select(QuizAttempt.status, QuizAttempt.score)).all()
    assert len(rows) == N and all(st == "submitted" and sc == 100.0 for st, sc in rows)
    assert session.exec(select(func.count()).select_from(Certificate)).one() == N
    assert session.exec(select(func.count(func.distinct(Certificate.worker_id)))).one() == N
