"""The daily retention job: erase departed workers' personal data after ``erase_after_days``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from core.db import get_engine, unit_of_work
from core.rights import retention_sweep
from core.scheduler import JobSpec


def retention(now: datetime | None = None, engine: Engine | None = None) -> dict[str, int]:
    """Start the retention clock of newly departed workers and erase those past erase_after_days."""
    with unit_of_work(engine or get_engine()) as session:
        return retention_sweep(session, now=now)


JOBS: list[JobSpec] = [
    JobSpec(
        "rights.retention",
        "core.rights_jobs:retention",
        {"trigger": "cron", "hour": 3, "minute": 40},
        "Erase departed workers' personal data erase_after_days (default 730) after they left",
    ),
]
