"""Faults (issue #7): a process killed in the middle of an import or a scheduled job, a database busy
with another writer, a PostgreSQL server that drops the app's connections.

Kills are SIGKILL (no cleanup runs) of a real subprocess: the ``gridwise`` command itself, or
``tests/unit/_crash_point.py``, which runs the same command or job and freezes at the COMMIT of a chosen
transaction so that the kill lands after all of that transaction's writes and before its commit.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import func, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlmodel import Session, select

from core import scheduler
from core.db import db_fault, make_engine, unit_of_work
from core.migrate import import_all_models
from core.models import User
from core.settings import get_settings
from courses import jobs as course_jobs
from evaluation.scoring.snapshots import freeze_closed_months
from tests.conftest import BACKENDS, PG_URL, create_pg_database, drop_pg_database

ROOT = Path(__file__).resolve().parents[2]
_cli = Path(sys.executable).with_name("gridwise")
GRIDWISE = [str(_cli)] if _cli.exists() else [sys.executable, "-m", "core.cli"]
CRASH_POINT = [sys.executable, "-m", "tests.unit._crash_point"]
# Rows of the event file (4.3 MB of GB18030 CSV for SQLite; PostgreSQL writes them about half as fast), read
# in four chunks so that the first kill lands with one chunk written and three still to come.
IMPORT_ROWS = {"sqlite": 20_000, "postgresql": 8_000}
CHECK_APP = "gw_fault_check"


# --- subprocess plumbing -----------------------------------------------------------------------------------


class Child:
    """A subprocess whose stdout and stderr lines are collected as they come."""

    def __init__(self, argv: list[str], url: str) -> None:
        env = dict(
            os.environ, GRIDWISE_DATABASE_URL=url, GRIDWISE_SCHEDULER_ENABLED="false", PYTHONUNBUFFERED="1"
        )
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: dict[str, queue.Queue] = {}
        self.seen: list[str] = []
        for name in ("stdout", "stderr"):
            q: queue.Queue = queue.Queue()
            self.lines[name] = q
            threading.Thread(target=self._pump, args=(getattr(self.proc, name), q), daemon=True).start()

    @staticmethod
    def _pump(stream, q: queue.Queue) -> None:  # noqa: ANN001 - text stream
        for line in stream:
            q.put(line.rstrip("\n"))
        q.put(None)

    def expect(self, stream: str, pattern: str, timeout: float = 120) -> re.Match:
        """Wait for a line of ``stream`` matching ``pattern``; fail if the process ends first."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines[stream].get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                pytest.fail(
                    f"the process ended (rc={self.proc.wait()}) before {pattern!r}; saw {self.seen[-5:]}"
                )
            self.seen.append(line)
            if m := re.search(pattern, line):
                return m
        self.kill()
        pytest.fail(f"no {pattern!r} within {timeout} s; saw {self.seen[-5:]}")

    def kill(self) -> None:
        """SIGKILL: no exception handler, no rollback, no atexit in the child."""
        assert self.proc.poll() is None, "the process finished before it could be killed"
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=30) == -signal.SIGKILL


def _gridwise_here(url: str, *argv: str) -> tuple[int, str]:
    """The gridwise command run in this process (a restart after the crash; saves starting Python)."""
    from core.cli import main

    saved = {k: os.environ.get(k) for k in ("GRIDWISE_DATABASE_URL", "GRIDWISE_SCHEDULER_ENABLED")}
    os.environ.update(GRIDWISE_DATABASE_URL=url, GRIDWISE_SCHEDULER_ENABLED="false")
    get_settings.cache_clear()
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            rc = main(list(argv))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()
    return rc, out.getvalue()


def _scalar(engine: Engine, sql: str) -> object:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def _sound(engine: Engine) -> None:
    """The database file (SQLite) or server (PostgreSQL) is consistent and nobody else is still in it."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalars().all() == ["ok"]
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        return
    db = make_url(str(engine.url)).database
    sql = (
        f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND pid <> pg_backend_pid() "
        f"AND application_name <> '{CHECK_APP}'"
    )
    deadline = time.monotonic() + 10
    while _scalar(engine, sql) and time.monotonic() < deadline:  # the server notices the dead client
        time.sleep(0.1)
    assert _scalar(engine, sql) == 0, "a backend of the killed process is still there"


# --- 1. an import killed in the middle ---------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def org_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of its own (file or PostgreSQL database) holding the demo org and workers only."""
    from core.demo import seed_demo

    url = (
        f"sqlite:///{tmp_path / 'faults.db'}"
        if request.param == "sqlite"
        else create_pg_database("gw_faults")
    )
    eng = make_engine(url)
    import_all_models().create_all(eng)
    with unit_of_work(eng) as s:
        seed_demo(s, scale=0.0, extensions=(), log=lambda _m: None)
    eng.dispose()
    yield url
    if request.param == "postgres":
        drop_pg_database(url)


def _event_file(path: Path, engine: Engine, rows: int) -> set[str]:
    """A GB18030 event list as offices export it (bench/bench_import.py's generator); its event numbers."""
    spec = importlib.util.spec_from_file_location("bench_import", ROOT / "bench" / "bench_import.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    from evaluation.field.registry import items_frame

    grids = pd.read_sql("SELECT code FROM org_unit WHERE level = 'grid'", engine)
    workers = pd.read_sql("SELECT employee_no FROM worker", engine)
    bench.make_csv(path, rows, grids, workers, items_frame()["item_code"].tolist())
    numbers = pd.read_csv(path, encoding="gb18030", usecols=[0], dtype=str).iloc[:, 0]
    assert numbers.is_unique and len(numbers) == rows
    return set(numbers)


def _field_state(engine: Engine) -> tuple:
    return (
        _scalar(engine, "SELECT count(*) FROM field_event"),
        _scalar(engine, "SELECT count(DISTINCT event_no) FROM field_event"),
        str(_scalar(engine, "SELECT max(updated_at) FROM field_event")),
        _scalar(engine, "SELECT count(*) FROM field_metric_value"),
        _scalar(engine, "SELECT round(sum(numerator)) FROM field_metric_value"),
    )


def test_an_import_killed_mid_write_or_at_commit_leaves_nothing_and_a_rerun_writes_each_row_once(
    org_db: str, tmp_path: Path
):
    """Test that `gridwise import events` SIGKILLed (a) once its first chunk of rows is written and (b) at its
    COMMIT, after every row and the recomputed figures, leaves no row behind and a sound database; the
    next run writes each row once and the one after changes nothing."""
    url = org_db
    check = make_engine(url if url.startswith("sqlite") else f"{url}?application_name={CHECK_APP}")
    rows = IMPORT_ROWS[check.dialect.name]
    chunk = rows // 4
    path = tmp_path / "events.csv"
    numbers = _event_file(path, check, rows)
    empty = (0, 0, "None", 0, None)
    assert _field_state(check) == empty

    # (a) the real command, killed after its progress line for the first chunk: that chunk is in the
    # open transaction and the rest of the file is still to be read.
    child = Child([*GRIDWISE, "import", "events", str(path), "--chunk-rows", str(chunk)], url)
    first = int(child.expect("stderr", r"^([\d,]+) rows read").group(1).replace(",", ""))
    assert first <= chunk < rows
    child.kill()
    _sound(check)
    assert _field_state(check) == empty

    # (b) killed at the COMMIT: every row of the file inside the transaction, the figures recomputed.
    child = Child(
        [
            *CRASH_POINT,
            "--when",
            "SELECT count(*) FROM field_event",
            "--at-least",
            str(rows),
            "--cli",
            "import",
            "events",
            str(path),
        ],
        url,
    )
    assert int(child.expect("stdout", r"^PAUSED (\d+)").group(1)) == rows
    child.kill()
    _sound(check)
    assert _field_state(check) == empty

    rc, out = _gridwise_here(url, "import", "events", str(path), "--json")
    assert rc == 0, out[-2000:]
    report = json.loads(out)
    assert (report["added"], report["changed"], report["refused"], report["committed"]) == (rows, 0, 0, True)
    after = _field_state(check)
    assert after[:2] == (rows, rows) and after[3] > 0
    stored = set(pd.read_sql("SELECT event_no FROM field_event", check)["event_no"])
    assert stored == numbers

    rc, out = _gridwise_here(url, "import", "events", str(path), "--json")
    assert rc == 0, out[-2000:]
    report = json.loads(out)
    assert (report["added"], report["changed"], report["unchanged"], report["committed"]) == (
        0,
        0,
        rows,
        False,
    )
    assert _field_state(check) == after
    _sound(check)
    check.dispose()


# --- 2. a scheduled job killed in the middle ----------------------------------------------------------------


def _seats(engine: Engine) -> pd.DataFrame:
    return pd.read_sql(
        "SELECT id, session_id, worker_id, status, source, points FROM course_attendance ORDER BY id", engine
    )


def test_closing_sessions_killed_before_its_commit_leaves_nothing_and_the_rerun_closes_each_seat_once(
    demo_db_url: str,
):
    """Test that the close-sessions job (every ended session in one transaction) SIGKILLed at its commit,
    with all absences written, leaves every seat and session as it was; the rerun marks each unmarked seat
    absent once and closes each session, and one more run changes nothing."""
    eng = make_engine(demo_db_url)
    due = pd.read_sql(
        "SELECT ts.id, ts.end_at, sum(CASE WHEN a.status IS NULL THEN 1 ELSE 0 END) AS unmarked "
        "FROM training_session ts JOIN course_attendance a ON a.session_id = ts.id "
        "WHERE ts.status = 'scheduled' GROUP BY ts.id",
        eng,
        parse_dates=["end_at"],
    )
    assert len(due) >= 2 and due["unmarked"].sum() > 0, "the demo should leave sessions to close"
    now = due["end_at"].max().to_pydatetime() + timedelta(minutes=5)
    absent = int(due["unmarked"].sum())
    before = _seats(eng)
    auto = "SELECT count(*) FROM course_attendance WHERE source = 'auto' AND status = 'absent'"
    auto_before = _scalar(eng, auto)

    child = Child(
        [
            *CRASH_POINT,
            "--when",
            auto,
            "--at-least",
            str(auto_before + absent),
            "--job",
            "courses.jobs:close_sessions",
            "--now",
            now.isoformat(),
        ],
        demo_db_url,
    )
    assert int(child.expect("stdout", r"^PAUSED (\d+)").group(1)) == auto_before + absent
    child.kill()
    _sound(eng)
    pd.testing.assert_frame_equal(_seats(eng), before)
    ids = ",".join(str(i) for i in due["id"])
    assert _scalar(
        eng, f"SELECT count(*) FROM training_session WHERE id IN ({ids}) AND status = 'scheduled'"
    ) == len(due)

    assert course_jobs.close_sessions(now=now, engine=eng) == absent
    after = _seats(eng)
    assert after["id"].tolist() == before["id"].tolist()  # no seat added or lost
    marked = before["session_id"].isin(due["id"]) & before["status"].isna()
    assert (after.loc[marked, "status"] == "absent").all() and (after.loc[marked, "source"] == "auto").all()
    pd.testing.assert_frame_equal(after[~marked], before[~marked], check_dtype=False)
    assert _scalar(
        eng, f"SELECT count(*) FROM training_session WHERE id IN ({ids}) AND status = 'closed'"
    ) == len(due)
    assert course_jobs.close_sessions(now=now, engine=eng) == 0
    pd.testing.assert_frame_equal(_seats(eng), after)
    eng.dispose()


def _snapshots(engine: Engine) -> pd.DataFrame:
    return pd.read_sql(
        "SELECT s.period, s.revision, s.workers_scored, round(s.mean_total, 6) AS mean_total, "
        "length(s.bulletin) > 0 AS has_bulletin, "
        "(SELECT count(*) FROM scorecard_entry e WHERE e.snapshot_id = s.id) AS entries, "
        "(SELECT count(DISTINCT e.worker_id) FROM scorecard_entry e WHERE e.snapshot_id = s.id) AS workers, "
        "(SELECT round(sum(e.total), 4) FROM scorecard_entry e WHERE e.snapshot_id = s.id) AS total, "
        "(SELECT count(*) FROM scorecard_component c WHERE c.snapshot_id = s.id) AS components "
        "FROM scorecard_snapshot s ORDER BY s.period, s.revision",
        engine,
    )


def test_freezing_months_killed_in_the_third_month_keeps_two_and_the_rerun_freezes_the_rest_once(
    demo_db_url: str, tmp_path: Path
):
    """Test that the monthly freeze job (one transaction per month) SIGKILLed at the commit of its third month
    keeps the two months it committed whole and nothing of the third; the rerun freezes exactly the other
    months once, and the result equals an uninterrupted run on a copy of the same database."""
    control_path = tmp_path / "control.db"
    src = sqlite3.connect(make_url(demo_db_url).database)
    dst = sqlite3.connect(control_path)
    src.backup(dst)
    src.close()
    dst.close()
    now = datetime(2020, 5, 5, 2, 30)  # January to April are closed and have figures
    control = make_engine(f"sqlite:///{control_path}")
    assert freeze_closed_months(now=now, engine=control) == {"frozen": 4}
    expected = _snapshots(control)
    control.dispose()

    eng = make_engine(demo_db_url)
    child = Child(
        [
            *CRASH_POINT,
            "--when",
            "SELECT count(*) FROM scorecard_snapshot",
            "--at-least",
            "3",
            "--job",
            "evaluation.scoring.snapshots:freeze_closed_months",
            "--now",
            now.isoformat(),
        ],
        demo_db_url,
    )
    assert child.expect("stdout", r"^PAUSED (\d+)").group(1) == "3"
    child.kill()
    _sound(eng)
    kept = _snapshots(eng)
    assert kept["period"].tolist() == ["2020-01", "2020-02"]
    pd.testing.assert_frame_equal(kept, expected.iloc[:2])  # whole: every entry and component row
    orphans = (
        "SELECT count(*) FROM scorecard_entry WHERE snapshot_id NOT IN (SELECT id FROM scorecard_snapshot)"
    )
    assert _scalar(eng, orphans) == 0

    assert freeze_closed_months(now=now, engine=eng) == {"frozen": 2}
    pd.testing.assert_frame_equal(_snapshots(eng), expected)
    assert freeze_closed_months(now=now, engine=eng) == {"frozen": 0}
    assert len(_snapshots(eng)) == 4
    eng.dispose()


# --- 3. SQLite busy: another process holds the write lock ---------------------------------------------------


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setenv("GRIDWISE_SQLITE_BUSY_TIMEOUT_MS", "200")
    get_settings.cache_clear()
    yield 200
    monkeypatch.delenv("GRIDWISE_SQLITE_BUSY_TIMEOUT_MS")
    get_settings.cache_clear()


def test_a_job_meeting_a_held_write_lock_fails_as_busy_alone_and_succeeds_through_the_scheduler_retry(
    demo_db_url: str, short_busy_timeout: int, monkeypatch: pytest.MonkeyPatch
):
    """Test that with another connection holding BEGIN IMMEDIATE a job's write fails after the busy timeout
    with an OperationalError that db_fault calls "busy", and that the scheduler's run_job retries it until
    the lock is released, then does the work once."""
    eng = make_engine(demo_db_url)
    now = pd.to_datetime(_scalar(eng, "SELECT max(end_at) FROM training_session")) + timedelta(minutes=5)
    unmarked = _scalar(
        eng,
        "SELECT count(*) FROM course_attendance a JOIN training_session ts "
        "ON ts.id = a.session_id WHERE ts.status = 'scheduled' AND a.status IS NULL",
    )
    holder = sqlite3.connect(make_url(demo_db_url).database, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    try:
        t = time.monotonic()
        with pytest.raises(OperationalError) as refused:
            course_jobs.close_sessions(now=now.to_pydatetime(), engine=eng)
        assert db_fault(refused.value) == "busy"
        assert time.monotonic() - t < 3  # the busy timeout, not a hang

        monkeypatch.setattr(scheduler, "JOB_RETRY_PAUSE_SECONDS", 0.4)
        release = threading.Timer(1.0, holder.rollback)
        release.start()
        t = time.monotonic()
        assert (
            scheduler.run_job("courses.jobs:close_sessions", now=now.to_pydatetime(), engine=eng) == unmarked
        )
        assert time.monotonic() - t >= 0.9  # it waited for the lock to go
        release.join()
    finally:
        holder.close()
    assert scheduler.run_job("courses.jobs:close_sessions", now=now.to_pydatetime(), engine=eng) == 0
    eng.dispose()


def test_only_a_busy_or_unreachable_database_counts_as_a_fault_worth_a_retry(session: Session):
    """Test that db_fault leaves real errors alone (a constraint, a missing table, a plain bug), and that
    run_job does not retry them."""
    with pytest.raises(DBAPIError) as missing:
        session.exec(text("SELECT * FROM no_such_table")).all()
    session.rollback()
    assert db_fault(missing.value) is None
    session.add(User(username="dup", display_name="a", password_hash="x", role="admin"))
    session.add(User(username="dup", display_name="b", password_hash="x", role="admin"))
    with pytest.raises(IntegrityError) as dup:
        session.commit()
    session.rollback()
    assert db_fault(dup.value) is None
    assert db_fault(ValueError("database is locked")) is None  # only database errors
    calls.clear()
    with pytest.raises(ValueError):
        scheduler.run_job(f"{__name__}:_refuse")
    assert calls == [1]


calls: list[int] = []


def _refuse() -> None:
    calls.append(1)
    raise ValueError("not a database fault")


# --- 4. PostgreSQL drops the app's connections (a restart, a failover) --------------------------------------


@pytest.mark.skipif(not PG_URL, reason="needs GRIDWISE_TEST_POSTGRES_URL")
def test_the_next_action_after_postgresql_dropped_every_connection_succeeds():
    """Test that after pg_terminate_backend of every connection of the app's engine (what a server restart
    does to them) the next unit of work through unit_of_work succeeds; the same without pre-ping fails with
    an error db_fault calls "unavailable" (which a page shows as a message)."""
    url = create_pg_database("gw_restart")
    name = f"gw_fault_{uuid.uuid4().hex[:8]}"
    admin = sa_create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        app = make_engine(f"{url}?application_name={name}")
        bare = sa_create_engine(f"{url}?application_name={name}")  # the same engine without pool_pre_ping
        import_all_models().create_all(app)
        for eng in (app, bare):
            with unit_of_work(eng) as s:
                assert s.exec(select(func.count()).select_from(User)).one() >= 0
        with admin.connect() as conn:
            killed = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :db "
                    "AND application_name = :app AND pid <> pg_backend_pid()"
                ),
                {"db": make_url(url).database, "app": name},
            ).scalar()
        assert killed == 2  # one pooled connection each, nobody else's

        with unit_of_work(app) as s:
            s.add(User(username="after_restart", display_name="x", password_hash="x", role="admin"))
        with unit_of_work(app) as s:
            assert s.exec(select(User.username)).all() == ["after_restart"]
        with pytest.raises(OperationalError) as dropped, unit_of_work(bare) as s:
            s.exec(select(func.count()).select_from(User)).one()
        assert db_fault(dropped.value) == "unavailable"
        app.dispose()
        bare.dispose()
    finally:
        admin.dispose()
        drop_pg_database(url)
