"""Sign-in on a busy SQLite database: a burst of sign-ins must not turn into "database is locked" errors.

Found by bench/load_test.py: with 50 workers signing in at once on SQLite, 5 sign-ins waited past the busy
timeout for the one writer's lock and the page showed "the database is busy". sign_in now rolls its write
back and makes it again while the database is busy.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.auth import SignInError, hash_password, sign_in
from core.db import make_engine
from core.migrate import import_all_models
from core.models import User
from core.models_audit import AuditEntry
from core.settings import get_settings
from tests.factories import make_user

NOW = datetime(2020, 6, 1, 9, 0)


@pytest.fixture
def busy_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Engine, Path]]:
    """A SQLite file whose connections give up on a lock after 100 ms (the app's default is 5 s)."""
    monkeypatch.setenv("GRIDWISE_SQLITE_BUSY_TIMEOUT_MS", "100")
    get_settings.cache_clear()
    path = tmp_path / "busy.db"
    engine = make_engine(f"sqlite:///{path}")
    import_all_models().create_all(engine)
    yield engine, path
    engine.dispose()
    get_settings.cache_clear()


def _hold_write_lock(path: Path, seconds: float) -> threading.Thread:
    """Another writer takes SQLite's one write lock and keeps it for ``seconds``."""
    taken = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        taken.set()
        threading.Event().wait(seconds)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    taken.wait(5)
    return thread


def _audit(session: Session, action: str) -> int:
    return session.exec(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)).one()


def _sign_in_while_locked(busy_db, password: str, failed_logins: int):  # noqa: ANN001, ANN202
    """Sign in as "lee" while another writer holds the lock for 0.6 s (6× the busy timeout)."""
    engine, path = busy_db
    with Session(engine) as s:
        make_user(s, "lee", hash_password("right-password"), failed_logins=failed_logins)
    holder = _hold_write_lock(path, 0.6)
    with Session(engine) as s:
        result = sign_in(s, "lee", password, now=NOW)
    holder.join()
    return result


def test_sign_in_waits_out_a_writer_that_holds_the_lock_past_the_busy_timeout(busy_db):
    """Test that a right password signs in (once) although another writer held the lock past the timeout."""
    assert _sign_in_while_locked(busy_db, "right-password", failed_logins=2).ok
    with Session(busy_db[0]) as s:
        user = s.exec(select(User).where(User.username == "lee")).one()
        assert user.last_login_at == NOW and user.failed_logins == 0
        assert _audit(s, "signin.ok") == 1


def test_a_wrong_password_on_a_busy_database_counts_one_failure(busy_db):
    """Test that the failure counter goes up by exactly one when its write had to be made again."""
    result = _sign_in_while_locked(busy_db, "wrong", failed_logins=1)
    assert result.error == SignInError.BAD_CREDENTIALS
    with Session(busy_db[0]) as s:
        assert s.exec(select(User.failed_logins).where(User.username == "lee")).one() == 2
        assert _audit(s, "signin.failed") == 1
