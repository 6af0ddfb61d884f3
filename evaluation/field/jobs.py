"""Field-data scheduler jobs. Each works out what is due from the database, so repeats are harmless."""

from __future__ import annotations

from datetime import datetime

from core.db import unit_of_work
from core.scheduler import JobSpec
from core.scope import SYSTEM
from evaluation.field.escalation import escalate_and_notify
from evaluation.field.findings import run_checks
from evaluation.field.summary import recompute_event_metrics


def escalate_overdue(now: datetime | None = None) -> dict[str, int]:
    """催办 then 督办 overdue events, with inbox notices to the assignee (and the community manager at 督办)."""
    with unit_of_work() as session:
        return escalate_and_notify(session, now=now)


def recompute_metrics(now: datetime | None = None) -> int:
    """Rebuild event-derived monthly figures (events move through the app all day)."""
    with unit_of_work() as session:
        return recompute_event_metrics(session, now=now)


def data_quality(now: datetime | None = None) -> dict[str, dict[str, int]]:
    """Run the data-quality checks once: keep their findings for the 数据质量 page (replacing the last run's)
    and raise verification tasks (one per problem, never twice)."""
    with unit_of_work() as session:
        return run_checks(session, SYSTEM, now=now, raise_tasks=True)


JOBS = [
    JobSpec(
        "field.escalate_overdue",
        "evaluation.field.jobs:escalate_overdue",
        {"trigger": "interval", "minutes": 15},
        "催办/督办 overdue events",
    ),
    JobSpec(
        "field.recompute_metrics",
        "evaluation.field.jobs:recompute_metrics",
        {"trigger": "cron", "hour": "*", "minute": 7},
        "Recompute event-derived monthly figures",
    ),
    JobSpec(
        "field.data_quality",
        "evaluation.field.jobs:data_quality",
        {"trigger": "cron", "hour": 2, "minute": 30},
        "Data-quality checks → findings and verification tasks",
        run_at_start=True,
    ),
]
