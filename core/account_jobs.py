"""The daily job that disables accounts nobody uses (core.account_lifecycle; off unless configured)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from core.account_lifecycle import disable_unused_accounts
from core.db import get_engine, unit_of_work
from core.scheduler import JobSpec


def daily_disable_unused(now: datetime | None = None, engine: Engine | None = None) -> int:
    """One unit of work; a repeated run finds nothing more to do (only active accounts are judged)."""
    with unit_of_work(engine or get_engine()) as session:
        return disable_unused_accounts(session, now=now)


JOBS: list[JobSpec] = [
    JobSpec(
        "accounts.disable_unused",
        "core.account_jobs:daily_disable_unused",
        {"trigger": "cron", "hour": 3, "minute": 20},
        "Deactivate workers' and managers' accounts unused for account_unused_days (when "
        "account_disable_unused is on)",
        run_at_start=True,
    ),
]
