"""Online backup and restore of the embedded SQLite database.

SQLite's backup API copies a consistent snapshot while the app keeps running (WAL readers and
writers are not blocked for long). PostgreSQL deployments use pg_dump / pg_restore instead
(README, "Backup").
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from core.db import is_sqlite


def _sqlite_path(url: str) -> Path:
    if not is_sqlite(url):
        raise ValueError("backup/restore here is for SQLite; for PostgreSQL use pg_dump and pg_restore")
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError("an in-memory database cannot be backed up")
    return Path(database)


def backup(url: str, target: Path) -> Path:
    """Write a consistent copy of the database at ``url`` to ``target`` (which must not exist)."""
    source_path = _sqlite_path(url)
    if target.exists():
        raise ValueError(f"{target} exists; choose a new file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source_path) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


def restore(url: str, source: Path) -> None:
    """Replace the database at ``url`` with the backup ``source`` (stop the app first)."""
    target_path = _sqlite_path(url)
    if not source.exists():
        raise ValueError(f"{source} does not exist")
    with sqlite3.connect(source) as check:
        if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise ValueError(f"{source} is not a healthy SQLite database")
    with sqlite3.connect(source) as src, sqlite3.connect(target_path) as dst:
        src.backup(dst)
