"""Running a job from the jobs page goes the scheduler's way: run_job's per-job lock (one run at a time,
across processes), its retry and the job's own unit of work."""

from __future__ import annotations

import sys
import types

import pytest

from core import scheduler
from core.errors import Misuse


@pytest.fixture
def fake_job(monkeypatch, tmp_path):
    """A job module 'fake_jobs:tick' counting its runs, listed by a provider, on a file SQLite database."""
    calls: list[int] = []
    module = types.ModuleType("fake_jobs")
    module.tick = lambda: calls.append(1) or len(calls)  # type: ignore[attr-defined]
    module.JOBS = [
        scheduler.JobSpec(id="fake.tick", func="fake_jobs:tick", trigger={"trigger": "interval", "hours": 1})
    ]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_jobs", module)
    monkeypatch.setattr(scheduler, "JOB_PROVIDERS", ("fake_jobs:JOBS",))
    monkeypatch.setenv("GRIDWISE_DATABASE_URL", f"sqlite:///{tmp_path / 'jobs.db'}")
    from core.db import get_engine
    from core.settings import get_settings

    get_settings.cache_clear()
    get_engine.cache_clear() if hasattr(get_engine, "cache_clear") else None
    yield calls
    get_settings.cache_clear()
    get_engine.cache_clear() if hasattr(get_engine, "cache_clear") else None


def test_run_now_runs_the_job_once_and_returns_its_result(fake_job):
    """Test that run_now runs the listed job through run_job and hands back what it returned."""
    assert scheduler.run_now("fake.tick") == 1
    assert fake_job == [1]


def test_run_now_does_not_start_a_job_that_is_running_elsewhere(fake_job):
    """Test that while the job's lock is held (the scheduler running it in another process), run_now does not
    run it again and says so."""
    held = scheduler.job_lock("fake_jobs:tick")
    assert held.try_acquire()
    try:
        assert scheduler.run_now("fake.tick") is scheduler.ALREADY_RUNNING
        assert fake_job == []
    finally:
        held.release()
    assert scheduler.run_now("fake.tick") == 1


def test_an_unknown_job_is_a_bug_not_a_refusal(fake_job):
    """Test that run_now refuses an id no provider lists (the page lists only real ones)."""
    with pytest.raises(Misuse):
        scheduler.run_now("no.such.job")
