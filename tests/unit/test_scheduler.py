"""One scheduler per database, even with two app processes: whoever holds the lock runs the jobs, the other
stands by and takes over when the first stops (SQLite file lock, PostgreSQL advisory lock)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.engine import Engine

from core.db import make_engine
from core.scheduler import SchedulerService, job_specs


def _wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def two_processes(engine: Engine):
    """Two engines on the same database, as two app servers would have."""
    url = engine.url.render_as_string(hide_password=False)
    first, second = make_engine(url), make_engine(url)
    services: list[SchedulerService] = []
    yield first, second, services
    for s in services:
        s.stop()
    first.dispose()
    second.dispose()


def test_only_one_scheduler_runs_and_the_standby_takes_over(two_processes):
    """Test that of two services on one database only one runs, and the other starts when it stops."""
    first, second, services = two_processes
    a = SchedulerService(first, retry_seconds=0.1).start()
    services.append(a)
    b = SchedulerService(second, retry_seconds=0.1).start()
    services.append(b)
    assert a.running and not b.running
    time.sleep(0.5)  # several standby retries: the lock still holds
    assert not b.running
    ids = {j.id for j in a.scheduler.get_jobs()}
    assert {
        "courses.reminders",
        "courses.close_sessions",
        "courses.auto_submit",
        "courses.certificate_expiry",
        "courses.attendance_warnings",
        "courses.enrollment_rules",
    } <= ids
    a.stop()
    assert _wait_for(lambda: b.running), "the standby did not take over"
    assert {j.id for j in b.scheduler.get_jobs()} == ids  # same persistent jobs, not duplicated
    c = SchedulerService(first, retry_seconds=0.1).start()
    services.append(c)
    assert not c.running  # and now the first process is the standby


def test_courses_jobs_are_registered_with_module_level_functions():
    """Test that every courses job names an importable module-level function taking ``now``."""
    import importlib
    import inspect

    specs = [s for s in job_specs() if s.id.startswith("courses.")]
    assert len(specs) == 6
    for spec in specs:
        module, name = spec.func.split(":")
        fn = getattr(importlib.import_module(module), name)
        assert "now" in inspect.signature(fn).parameters


def test_daily_jobs_that_ask_for_it_also_run_once_after_a_start(engine: Engine):
    """Test that a (re)started scheduler queues one catch-up run of the daily freeze, data-quality and
    delivery-cleanup jobs a minute ahead — so a run cut short by a crash finishes the same day — and none for
    the other jobs."""
    from datetime import datetime, timedelta

    from apscheduler.triggers.date import DateTrigger

    from core.clock import TZ
    from core.scheduler import START_DELAY_SECONDS, build_scheduler

    scheduler = build_scheduler(engine)
    jobs = {j.id: j for j in scheduler.get_jobs()}
    catch_up = {i for i in jobs if i.endswith("@start")}
    assert catch_up == {
        "scoring.freeze_closed_months@start",
        "field.data_quality@start",
        "notify.cleanup@start",
        "backup.daily@start",
        "accounts.disable_unused@start",
        "audit.archive@start",
    }
    for job_id in catch_up:
        trigger = jobs[job_id].trigger
        assert isinstance(trigger, DateTrigger)
        ahead = trigger.run_date - datetime.now(TZ)
        assert timedelta(0) < ahead <= timedelta(seconds=START_DELAY_SECONDS)
        assert jobs[job_id].args == jobs[job_id.removesuffix("@start")].args
