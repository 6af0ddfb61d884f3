"""The quiz page's time left: drawn by each run of the questions and ticking in the browser (CSS, ui.countdown),
never by an auto-rerunning fragment; and 交卷 with questions unanswered asks before it spends an attempt.

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


CLOCK = re.compile(r'<span class="gw-mm"></span>:<span class="gw-ss"></span>')
FROM = re.compile(r"--gw-from: (\d+)")


def _progress_texts(at) -> list[str]:  # noqa: ANN001
    """The countdowns drawn (ui.countdown): their text with the ticking clock as 'mm:ss', and 'from=<seconds>'."""
    shown = []
    for el in at.markdown:
        body = el.value
        if "gw-countdown" in body:
            text = re.sub(r"<[^>]+>", "", CLOCK.sub("mm:ss", body.split("</style>")[-1]))
            shown.append(f"{text.strip()} from={FROM.search(body).group(1)}")
    return shown


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
    assert re.fullmatch(rf"mm:ss left \(until {attempt.deadline_at:%H:%M}\) from=\d+", shown)
    seconds = int(shown.rsplit("=", 1)[1])  # the browser counts down from here
    assert abs(seconds - (attempt.deadline_at - clock.now()).total_seconds()) < 30
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


def _attempts(app_db: str, worker_id: int) -> list[str]:
    with Session(get_engine(app_db)) as s:
        return list(s.exec(select(QuizAttempt.status).where(QuizAttempt.worker_id == worker_id)).all())


def test_submitting_with_unanswered_questions_asks_first(open_page, viewer_of, app_db):
    """Test that 交卷 with questions unanswered spends nothing until the worker confirms, names how many are
    open and how many attempts will be left, and that 'keep answering' goes back to the first open question."""
    me = viewer_of("dp0001").worker_id
    at = _started_quiz(open_page, viewer_of)
    next(b for b in at.button if b.label == "Submit now").click().run()
    assert not at.exception
    warning = " ".join(w.value for w in at.warning)
    assert re.search(r"\d+ questions are not answered", warning) and "left after this" in warning
    assert _attempts(app_db, me).count("in_progress") == 1  # nothing spent yet
    next(b for b in at.button if b.label == "Keep answering").click().run()
    assert "not answered" not in " ".join(w.value for w in at.warning)
    assert "Question 1 of" in texts(at)
    next(b for b in at.button if b.label == "Submit now").click().run()
    next(b for b in at.button if b.label == "Submit anyway").click().run()
    assert not at.exception
    assert "in_progress" not in _attempts(app_db, me)
    assert any(m.label == "Score" for m in at.metric)
