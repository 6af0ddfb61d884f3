"""APScheduler 3.x with its job store in the app's database, one scheduler per database.

Areas list their jobs in ``JOB_PROVIDERS`` (``module:ATTRIBUTE`` naming a sequence of ``JobSpec``).
Job functions are module-level, take an optional ``now`` and work out what is due from the database,
so a late, missed or repeated run does the right thing.

Exactly one scheduler runs per database: whoever holds the lock (a file lock beside an SQLite file,
a session-level advisory lock on PostgreSQL) runs it; another process stands by and retries, so a
second app server on the same database never runs a job twice, and takes over if the first stops.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from filelock import FileLock, Timeout
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine, make_url

from core.clock import TZ
from core.db import get_engine, is_sqlite, retry_when_busy
from core.errors import Misuse
from core.instance import InstanceRefused, check_instance
from core.plugins import provided

log = logging.getLogger(__name__)

JOB_PROVIDERS: tuple[str, ...] = (
    "courses.jobs:JOBS",
    "courses.training.jobs:JOBS",
    "evaluation.jobs:JOBS",
    "evaluation.scoring.remedial:JOBS",
    "core.notify.jobs:JOBS",
    "core.backup_jobs:JOBS",
    "core.account_jobs:JOBS",
    "core.rights_jobs:JOBS",
    "core.audit_jobs:JOBS",
)
ADVISORY_LOCK_KEY = 0x6772_6964  # "grid"
MISFIRE_GRACE_SECONDS = 15 * 60
START_DELAY_SECONDS = 60  # let the app finish starting before the catch-up runs
JOB_ATTEMPTS = 3  # a job that meets a busy/unreachable database tries again after 5 s, then 10 s
JOB_RETRY_PAUSE_SECONDS = 5.0


@dataclass(frozen=True)
class JobSpec:
    """A recurring job: ``func`` is "package.module:function"; ``trigger`` is APScheduler kwargs."""

    id: str
    func: str
    trigger: dict[str, Any] = field(default_factory=lambda: {"trigger": "interval", "minutes": 5})
    description: str = ""
    # Also run once shortly after the scheduler starts: for daily jobs, so that a run cut short by a crash
    # or a restart is finished the same day, not at the next trigger (the job is idempotent).
    run_at_start: bool = False


def job_specs() -> list[JobSpec]:
    specs: list[JobSpec] = []
    for provider in JOB_PROVIDERS:
        specs.extend(provided(provider))
    return specs


class SchedulerLock:
    """Held for the life of the process that runs the scheduler (``name``/``key`` default); also, named per
    job, held while one run of that job lasts (``run_job``), so two processes never run the same job at once."""

    def __init__(self, engine: Engine, name: str = "scheduler", key: int = ADVISORY_LOCK_KEY) -> None:
        self.engine = engine
        self.name, self.key = name, key
        self._file: FileLock | None = None
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        if is_sqlite(self.engine):
            db = make_url(str(self.engine.url)).database or "memory"
            self._file = FileLock(f"{db}.{self.name}.lock")
            try:
                self._file.acquire(timeout=0)
                return True
            except Timeout:
                return False
        conn = self._conn = self.engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
        conn.commit()  # named exception (docs/CONVENTIONS.md): ends the implicit transaction, keeps the lock
        if not got:
            conn.close()
            self._conn = None
        return bool(got)

    def release(self) -> None:
        if self._file is not None and self._file.is_locked:
            self._file.release()
        if self._conn is not None:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            self._conn.close()
            self._conn = None


class AlreadyRunning:
    """``run_job``'s answer when another process (the scheduler, or someone's "run now") runs that job now."""

    def __repr__(self) -> str:
        return "already running"


ALREADY_RUNNING = AlreadyRunning()


def job_lock(func: str, engine: Engine | None = None) -> SchedulerLock:
    """The lock one run of job ``func`` holds (a file beside SQLite, an advisory lock on PostgreSQL)."""
    digest = zlib.crc32(func.encode())
    return SchedulerLock(engine or get_engine(), name=f"job-{digest:08x}", key=ADVISORY_LOCK_KEY + 1 + digest)


def run_job(func: str, **kwargs: Any) -> Any:
    """What the scheduler calls: the job ``func`` ("module:function") under its own lock (a run already
    going elsewhere: ``ALREADY_RUNNING``), run again after a short pause if the database was busy or out of
    reach (jobs work out what is due and open their own unit of work, so a repeat is safe)."""
    module_name, _, name = func.partition(":")
    fn = getattr(importlib.import_module(module_name), name)
    lock = job_lock(func)
    if not lock.try_acquire():
        log.info("%s is running elsewhere; not starting it again", func)
        return ALREADY_RUNNING
    try:
        return retry_when_busy(lambda: fn(**kwargs), attempts=JOB_ATTEMPTS, pause_s=JOB_RETRY_PAUSE_SECONDS)
    finally:
        lock.release()


def run_now(job_id: str) -> Any:
    """Run one job now the way the scheduler does (``run_job``: its lock, its retry, its own unit of work),
    for the jobs page and operators. Unknown ids are a ``Misuse`` (the page lists only real ones)."""
    spec = next((s for s in job_specs() if s.id == job_id), None)
    if spec is None:
        raise Misuse(f"no job {job_id!r}")
    return run_job(spec.func)


def build_scheduler(engine: Engine, scheduler_cls: type = BackgroundScheduler):
    scheduler = scheduler_cls(
        jobstores={"default": SQLAlchemyJobStore(engine=engine)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS},
        timezone=TZ,
    )
    for spec in job_specs():
        scheduler.add_job(
            run_job,
            args=[spec.func],
            id=spec.id,
            name=spec.description or spec.id,
            replace_existing=True,
            **spec.trigger,
        )
        if spec.run_at_start:
            scheduler.add_job(
                run_job,
                args=[spec.func],
                id=f"{spec.id}@start",
                name=f"{spec.description} (start)",
                replace_existing=True,
                trigger="date",
                run_date=datetime.now(TZ) + timedelta(seconds=START_DELAY_SECONDS),
            )
    return scheduler


class SchedulerService:
    """Runs the scheduler if this process wins the lock; otherwise retries in the background."""

    def __init__(self, engine: Engine | None = None, retry_seconds: float = 60.0) -> None:
        self.engine = engine or get_engine()
        self.lock = SchedulerLock(self.engine)
        self.scheduler: Any = None  # an apscheduler scheduler once this process holds the lock
        self.retry_seconds = retry_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.scheduler is not None and self.scheduler.running

    def start(self) -> SchedulerService:
        if not self._try_start():
            self._thread = threading.Thread(
                target=self._standby, name="gridwise-scheduler-standby", daemon=True
            )
            self._thread.start()
        return self

    def _try_start(self) -> bool:
        if not self.lock.try_acquire():
            return False
        self.scheduler = build_scheduler(self.engine)
        self.scheduler.start()
        log.info("scheduler started with %d jobs", len(self.scheduler.get_jobs()))
        return True

    def _standby(self) -> None:
        while not self._stop.wait(self.retry_seconds):
            if self._try_start():
                return

    def stop(self) -> None:
        self._stop.set()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.lock.release()


def run_forever() -> int:
    """``gridwise scheduler``: run the jobs in this process until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        check_instance(get_engine())
    except InstanceRefused as exc:
        log.error("%s", exc)
        return 2
    service = SchedulerService(retry_seconds=30).start()
    if not service.running:
        log.info("another process holds the scheduler lock for this database; standing by")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        service.stop()
    return 0
