"""The daily backup job: an encrypted copy in ``backup_dir`` and only the newest ``backup_keep`` kept."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.engine import Engine

from core.backup import BackupError, backup_dir, daily_name, prune, record_backup_action, write_backup
from core.clock import now as clock_now
from core.db import get_engine
from core.scheduler import JobSpec
from core.settings import get_settings

log = logging.getLogger(__name__)


def daily(now: datetime | None = None, engine: Engine | None = None) -> dict[str, int]:
    """Write today's backup unless it exists (a repeated run does nothing), then prune old copies."""
    engine = engine or get_engine()
    at = now or clock_now()
    directory = backup_dir()
    target = directory / daily_name(at)
    written = 0
    if not target.exists():
        try:
            result = write_backup(engine, target)
        except BackupError as exc:  # no key configured: say so in the log and the jobs page, every day
            log.error("daily backup not written: %s", exc)
            raise
        record_backup_action(
            engine, "backup.create", file=target.name, bytes=result.bytes, rows=result.rows, job=True
        )
        written = 1
    removed = prune(directory, get_settings().backup_keep)
    return {"written": written, "removed": len(removed)}


JOBS: list[JobSpec] = [
    JobSpec(
        "backup.daily",
        "core.backup_jobs:daily",
        {"trigger": "cron", "hour": 2, "minute": 10},
        "Encrypted backup of the whole database to backup_dir; keeps the newest backup_keep copies",
        run_at_start=True,
    ),
]
