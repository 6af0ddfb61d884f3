"""The quiz page's time left: drawn by each run of the questions, never by an auto-rerunning fragment.

Found by bench/load_test.py: with 50 workers at once, a countdown fragment's 15-second reruns raced the page's
own runs in Streamlit's frontend, which dropped the question counter or the score metrics of the full run and left
the stale timer in their place (the worker saw "question 3" without its counter, or a result without its score).
The questions are a fragment now, but one that runs only when the worker clicks.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from core import clock
from core.db import get_engine
from courses.models import QuizAttempt
from tests.app.util import texts


def _started_quiz(open_page, viewer_of):  # noqa: ANN001, ANN202
    at = open_page(None, viewer_of("dp0001"), lang="en")
    at.query_params["course"] = "1"
    at.switch_page("pages/quiz.py").run()
    next(b for b in at.button if b.label == "Start").click().run()
    assert not at.exception
    return at


def _progress_texts(at) -> list[str]:  # noqa: ANN001
    return [el.proto.text for el in at.get("progress")]


def test_quiz_shows_the_time_left_and_the_deadline(open_page, viewer_of, app_db):
    """Test that a quiz in progress shows the minutes left and the server's deadline, and again after a move."""
    at = _started_quiz(open_page, viewer_of)
    with Session(get_engine(app_db)) as s:
        attempt = s.exec(
            select(QuizAttempt).where(
                QuizAttempt.worker_id == viewer_of("dp0001").worker_id, QuizAttempt.status == "in_progress"
            )
        ).one()
    (shown,) = _progress_texts(at)
    assert re.fullmatch(rf"\d+ min \d+ s left \(until {attempt.deadline_at:%H:%M}\)", shown)
    assert int(shown.split()[0]) >= (attempt.deadline_at - clock.now()).total_seconds() // 60 - 1
    next(b for b in at.button if b.label == "Next").click().run()
    assert "Question 2 of" in texts(at)
    assert len(_progress_texts(at)) == 1


def test_quiz_past_its_deadline_says_time_is_up(open_page, viewer_of, app_db):
    """Test that once the deadline has passed the page says so instead of showing time left."""
    at = _started_quiz(open_page, viewer_of)
    with Session(get_engine(app_db)) as s:
        s.execute(
            update(QuizAttempt)
            .where(
                QuizAttempt.worker_id == viewer_of("dp0001").worker_id, QuizAttempt.status == "in_progress"
            )
            .values(deadline_at=clock.now() - timedelta(minutes=1))
        )
        s.commit()
    at.run()
    assert not at.exception
    assert "Time is up" in texts(at)
    assert _progress_texts(at) == []


def test_quiz_page_schedules_no_server_reruns(open_page, viewer_of, app_db, monkeypatch):
    """Test that a quiz in progress, its time left on screen, sets up no fragment that reruns on a timer
    (the countdown fragment this module's docstring tells of)."""
    import streamlit as st

    timed, real = [], st.fragment

    def spy(func=None, *, run_every=None, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if run_every is not None:
            timed.append(run_every)
        return real(func, run_every=run_every, **kwargs)

    monkeypatch.setattr(st, "fragment", spy)
    at = _started_quiz(open_page, viewer_of)
    next(b for b in at.button if b.label == "Next").click().run()
    assert not at.exception
    assert len(_progress_texts(at)) == 1  # the time left is shown ...
    assert timed == []  # ... by the worker's own runs, not by a timed rerun
