"""Scheduled jobs of training plans: credit study hours and serve the plan progress the dashboard reads;
monthly reminders to those behind and their managers.

All are idempotent: ledger rows and notices carry unique keys, served progress rows natural primary keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from core import clock
from core.db import unit_of_work
from core.scheduler import JobSpec
from courses.training import serving, supervision
from courses.training.ledger import credit_sources


def credit_hours(now: datetime | None = None, engine: Engine | None = None) -> int:
    """Bring the hours ledger in line with sessions, passed quizzes and lessons, then serve the plan progress
    (courses.training.serving) from it, in one transaction; returns the ledger rows added."""
    with unit_of_work(engine) as session:
        n = credit_sources(session, now=now or clock.now())
        serving.serve(session, now=now)
        return n


def remind_behind(now: datetime | None = None, engine: Engine | None = None) -> int:
    """Once a month: reminders to workers behind plan and to their community managers."""
    now = now or clock.now()
    with unit_of_work(engine) as session:
        credit_sources(session, now=now)
        return supervision.remind_behind(session, now=now)


JOBS: list[JobSpec] = [
    JobSpec(
        "training.credit_hours",
        "courses.training.jobs:credit_hours",
        {"trigger": "interval", "minutes": 30},
        "Credit study hours (sessions, quizzes, lessons) and serve plan progress",
    ),
    JobSpec(
        "training.remind_behind",
        "courses.training.jobs:remind_behind",
        {"trigger": "cron", "hour": 8, "minute": 30},
        "Training plan reminders (monthly keys)",
    ),
]
