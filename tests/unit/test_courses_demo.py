"""The demo district's training data: the article's first 云课程, nine months of history, and something a
worker can check in to today."""

from __future__ import annotations

import time as _time
from datetime import datetime

import pandas as pd
from sqlalchemy import create_engine

from core import clock
from courses.demo import FIRST_CLOUD_CLASS


def test_demo_training_history(demo_db_url):
    """Test that the first 云课程 had 300 participants, sessions span Jan–Sep 2020, and a session is open now."""
    eng = create_engine(demo_db_url)
    first = pd.read_sql(
        "SELECT a.status, COUNT(*) AS n FROM course_attendance a JOIN training_session s ON s.id = a.session_id "
        f"WHERE s.start_at = '{FIRST_CLOUD_CLASS:%Y-%m-%d %H:%M:%S}.000000' GROUP BY a.status",
        eng,
    )
    counts = dict(zip(first["status"], first["n"], strict=True))
    assert counts.get("present", 0) + counts.get("late", 0) == 300
    sessions = pd.read_sql("SELECT start_at, status FROM training_session", eng, parse_dates=["start_at"])
    history = sessions[sessions["status"] == "closed"]
    assert history["start_at"].min() >= datetime(2020, 1, 1) and history["start_at"].max() < datetime(
        2020, 10, 1
    )
    assert history["start_at"].dt.month.nunique() == 9
    now = clock.now()
    upcoming = sessions[sessions["status"] == "scheduled"]
    assert (upcoming["start_at"] <= now).any() and (upcoming["start_at"] > now).any()
    attempts = pd.read_sql(
        "SELECT COUNT(*) AS n, COUNT(DISTINCT worker_id) AS w FROM quiz_attempt", eng
    ).iloc[0]
    assert attempts["n"] > 1000 and attempts["w"] > 250
    certs = pd.read_sql("SELECT COUNT(*) AS n FROM course_certificate", eng).iloc[0]["n"]
    assert 0 < certs < attempts["n"]
    eng.dispose()


def test_demo_seeding_is_fast(tmp_path):
    """Test that the org plus the courses demo (full size: training does not scale) seeds in well under 30 s."""
    from core.db import make_engine, unit_of_work
    from core.demo import seed_demo
    from core.migrate import import_all_models

    eng = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    import_all_models().create_all(eng)
    t0 = _time.perf_counter()
    with unit_of_work(eng) as s:
        seed_demo(s, scale=1.0, extensions=("courses.demo:seed",), log=lambda _m: None)
    assert _time.perf_counter() - t0 < 30
    eng.dispose()
