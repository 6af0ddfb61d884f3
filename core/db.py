"""One engine per process and database URL; a Session per unit of work.

SQLite gets WAL, enforced foreign keys and a busy timeout on every connection; PostgreSQL gets
connection pre-ping so a restarted server does not surface as an error on the next action.
``db_fault`` tells a busy or unreachable database (try again shortly) from a bug; ``retry_when_busy``
runs a self-contained, repeatable unit of work again after such a fault.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Literal, TypeVar

from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from core.settings import get_settings
from core.sql import Statement, pipelined

log = logging.getLogger(__name__)
T = TypeVar("T")

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def make_engine(url: str, *, pre_ping: bool = True) -> Engine:
    """Build an engine with this project's connection policy (use get_engine to share one). ``pre_ping``
    (PostgreSQL): test a pooled connection with a round trip before each use; the API's engine goes
    without and renews the pool when a request finds its connection dropped (api.context)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            file = Path(parsed.database)
            file.parent.mkdir(parents=True, exist_ok=True)
            if (
                not file.exists()
            ):  # personal data: readable by the app's account only (SQLite's -wal/-shm follow)
                os.close(os.open(file, os.O_WRONLY | os.O_CREAT, 0o600))
        busy_ms = get_settings().sqlite_busy_timeout_ms
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_ms / 1000})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001 - DB-API connection
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=pre_ping, pool_size=10, max_overflow=20)


def get_engine(url: str | None = None) -> Engine:
    """The shared engine for ``url`` (default: the configured database)."""
    url = url or get_settings().database_url
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


@contextmanager
def unit_of_work(engine: Engine | None = None, *, session: Session | None = None) -> Iterator[Session]:
    """One user action, one transaction: commit on success, roll back on any exception.

    The caller owns it — a page's form submit or button, one CLI command, one job run. Domain functions
    take the session, flush when they need ids, and never commit (docs/CONVENTIONS.md). With ``session``
    the unit of work continues that session's transaction (an API request authenticates in it first) and
    leaves closing it to its owner.
    """
    opened = (
        Session(engine or get_engine(), expire_on_commit=False) if session is None else nullcontext(session)
    )
    with opened as work:
        try:
            yield work
            work.commit()
        except BaseException:
            work.rollback()
            raise


_COMMIT = text("COMMIT")
# PostgreSQL: the transaction commits without waiting for its WAL to reach the disk, so its locks are released
# at once; then a transaction of one logical-decoding message (it needs a transaction id and writes WAL, so
# its commit waits for the flush, of everything before it too) returns once the first one is on disk.
_NO_FLUSH_WAIT = text("SET LOCAL synchronous_commit TO off")
_WAIT_FOR_FLUSH = text("SELECT pg_logical_emit_message(true, 'gridwise.flush', '')")


def commit_with(session: Session, statements: Sequence[Statement]) -> list[list[Any]]:
    """End the unit of work with ``statements`` (core.sql.pipelined), the rows of each. On PostgreSQL what
    the session holds is flushed, then the statements and COMMIT go in one round trip (a COMMIT statement,
    not the driver's commit, which waits for its own reply in a pipeline); the unit of work's own commit
    then finds nothing left to send. On SQLite the statements run and the unit of work commits right after.
    For a unit-of-work helper's last writes (the API's audit entry), never for a domain function.

    PostgreSQL: the locks the transaction holds (the audit chain's, which audited writes pass one at a
    time) are released when COMMIT runs, not after the disk write that makes it durable (~5–10 ms on a
    disk, for which every other audited write would queue): the COMMIT does not wait for the WAL flush,
    and the same round trip then waits for it (``_WAIT_FOR_FLUSH``), so the call returns, and its caller
    answers, only once the transaction is durable, as with a plain COMMIT; the flushes of concurrent
    writers share one disk write. What a crash can lose in between is a transaction nobody was told had
    committed (other sessions may have read it; a later durable commit includes it)."""
    if session.connection().dialect.name != "postgresql":
        return pipelined(session, statements)
    session.flush()
    tail: list[Statement] = [(_NO_FLUSH_WAIT, {}), (_COMMIT, {}), (_WAIT_FOR_FLUSH, {})]
    return pipelined(session, [*statements, *tail])[: -len(tail)]


# SQLite: SQLITE_BUSY / SQLITE_LOCKED. PostgreSQL: lock_not_available (lock_timeout), deadlock,
# serialization failure. PostgreSQL "unavailable": class 08 (connection) and 57P01-03 (shutdown, starting up).
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")
_PG_BUSY = {"55P03", "40P01", "40001"}
_PG_GONE = {"57P01", "57P02", "57P03"}


def db_fault(exc: BaseException) -> Literal["busy", "unavailable"] | None:
    """ "busy" when another writer held a lock too long (or the pool is exhausted), "unavailable" when the
    database server cannot be reached; None for anything else (a bug or a constraint: not worth a retry)."""
    if isinstance(exc, sa_exc.TimeoutError):  # QueuePool: no connection free within pool_timeout
        return "busy"
    if isinstance(exc, sa_exc.DisconnectionError):
        return "unavailable"
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    orig = exc.orig
    if isinstance(exc, sa_exc.OperationalError) and any(m in str(orig).lower() for m in _SQLITE_BUSY):
        return "busy"
    if not type(orig).__module__.startswith("psycopg"):
        return None
    state = getattr(orig, "sqlstate", None) or ""
    if state in _PG_BUSY:
        return "busy"
    if (
        exc.connection_invalidated
        or state.startswith("08")
        or state in _PG_GONE
        or (isinstance(exc, sa_exc.OperationalError) and not state)
    ):  # refused / reset before any reply
        return "unavailable"
    return None


def retry_busy_in_session(session: Session, fn: Callable[[], T], *, attempts: int = 8) -> T:
    """Run ``fn`` (work on ``session``, safe to repeat from scratch); while the database is busy, roll the
    session back and run it again after a short, growing, jittered pause.

    SQLite has one writer at a time and its busy handler is not fair: in a burst (a session's workers all
    checking in or signing in within a minute) one writer can wait past the busy timeout. Other errors, and
    the last busy one, are raised as they are (the caller decides about its session).
    """
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:
            if db_fault(exc) != "busy" or attempt == attempts:
                raise
            session.rollback()
            time.sleep(random.uniform(0.02, 0.1) * attempt)
    raise AssertionError("unreachable")


def retry_unit_of_work(fn: Callable[[Session], T], engine: Engine | None = None, *, attempts: int = 8) -> T:
    """Run ``fn(session)`` as one unit of work (``unit_of_work``); while the database is busy, run it again
    in a fresh one after a short, growing, jittered pause.

    For actions that race each other by design (a session's workers all checking in, a double-tapped quiz
    submit): ``fn`` must be safe to repeat from scratch (conditional UPDATEs, unique keys). The retry wraps
    the whole transaction, commit included: SQLite may refuse the write or the COMMIT itself.
    """
    for attempt in range(1, attempts + 1):
        try:
            with unit_of_work(engine) as session:
                return fn(session)
        except Exception as exc:
            if db_fault(exc) != "busy" or attempt == attempts:
                raise
            time.sleep(random.uniform(0.02, 0.1) * attempt)
    raise AssertionError("unreachable")


def retry_when_busy(fn: Callable[[], T], *, attempts: int = 3, pause_s: float = 1.0) -> T:
    """Call ``fn`` (a unit of work that opens and commits its own session and is safe to repeat) and
    call it again, after a growing pause, while it fails with a busy or unreachable database."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:
            fault = db_fault(exc)
            if fault is None or attempt == attempts:
                raise
            log.warning(
                "database %s (attempt %d of %d); retrying: %s",
                fault,
                attempt,
                attempts,
                exc.__class__.__name__,
            )
            time.sleep(pause_s * attempt)
    raise AssertionError("unreachable")
