"""The delivery job: fan out new inbox notices and send what is due (run by core.scheduler every minute)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from core.db import get_engine, unit_of_work
from core.notify.outbox import deliver_due, purge_old
from core.scheduler import JobSpec


def deliver(now: datetime | None = None, engine: Engine | None = None) -> dict[str, int]:
    """Send due deliveries to WeCom, DingTalk, Feishu, email and the HTTP gateway."""
    return deliver_due(engine, now=now)


def cleanup(now: datetime | None = None, engine: Engine | None = None) -> dict[str, int]:
    """Remove sent and given-up deliveries older than the ``notify_keep_days`` setting (default 90 days)."""
    with unit_of_work(engine or get_engine()) as session:
        return {"removed": purge_old(session, now=now)}


JOBS: list[JobSpec] = [
    JobSpec(
        "notify.deliver",
        "core.notify.jobs:deliver",
        {"trigger": "interval", "minutes": 1},
        "Deliver notices to WeCom / DingTalk / Feishu / email / SMS",
    ),
    JobSpec(
        "notify.cleanup",
        "core.notify.jobs:cleanup",
        {"trigger": "cron", "hour": 3, "minute": 20},
        "Remove sent / given-up deliveries older than notify_keep_days (default 90)",
        run_at_start=True,
    ),
]
