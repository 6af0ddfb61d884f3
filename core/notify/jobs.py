"""The delivery job: fan out new inbox notices and send what is due (run by core.scheduler every minute)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from core.notify.outbox import deliver_due
from core.scheduler import JobSpec


def deliver(now: datetime | None = None, engine: Engine | None = None) -> dict[str, int]:
    """Send due deliveries to WeCom, DingTalk, Feishu, email and the HTTP gateway."""
    return deliver_due(engine, now=now)


JOBS: list[JobSpec] = [
    JobSpec("notify.deliver", "core.notify.jobs:deliver", {"trigger": "interval", "minutes": 1},
            "Deliver notices to WeCom / DingTalk / Feishu / email / SMS"),
]
