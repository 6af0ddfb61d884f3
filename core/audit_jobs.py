"""The daily audit archive job: rows older than ``audit_keep_days`` (180) move to a verifiable file in
``audit_archive_dir`` and leave the table (core.audit_chain.archive); `gridwise audit archive` runs the same."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.audit import record
from core.audit_chain import archive
from core.db import get_engine, unit_of_work
from core.scheduler import JobSpec
from core.settings import get_settings


def archive_old_rows(
    session: Session,
    *,
    out_dir: Path | None = None,
    keep_days: int | None = None,
    now: datetime | None = None,
    by: str = "audit.archive job",
) -> Path | None:
    """Archive what is due and record it (the record is the first row of the table's continued chain);
    None when nothing is older than the retention period, so a repeated run does nothing."""
    path = archive(session, out_dir or Path(get_settings().audit_archive_dir), keep_days=keep_days, now=now)
    if path is not None:
        record(session, "audit.archive", username=by, entity="file", detail={"file": str(path)})
    return path


def daily(now: datetime | None = None, engine: Engine | None = None) -> dict[str, int]:
    with unit_of_work(engine or get_engine()) as session:
        path = archive_old_rows(session, now=now)
    return {"archived": int(path is not None)}


JOBS: list[JobSpec] = [
    JobSpec(
        "audit.archive",
        "core.audit_jobs:daily",
        {"trigger": "cron", "hour": 3, "minute": 20},
        "Move audit rows older than audit_keep_days (default 180) to a verifiable file in audit_archive_dir",
        run_at_start=True,
    ),
]
