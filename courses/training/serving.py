"""The ledger job's second half: serve each plan year's progress per worker and month (issue #21).

``serve`` computes ``supervision.plan_status`` once per month that needs it and replaces that month's rows of
``training_progress`` / ``training_overdue`` in the caller's transaction: the current month on every run (as
of today), a past month when it is missing or was computed before the month ended (then as of its last day:
a closed month keeps the figures it closed with, as a monthly bulletin does). Years served: those with a plan,
this one and the last. The natural keys are the primary keys, so running it twice leaves the same rows.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from sqlalchemy import delete, insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from core import clock
from core.models import AppSetting
from core.scope import SYSTEM
from core.sql import table_of
from courses.training.models import TrainingPlan
from courses.training.models_progress import TrainingOverdue, TrainingProgress
from courses.training.supervision import month_end, status_and_overdue

# A demo database is pinned to its own "today" (its data ends on 2020-09-30): the setting
# evaluation.field.registry.field_now reads (courses may not import evaluation; a test keeps the two equal).
AS_OF_SETTING = "field_as_of"


def served_today(session: Session, now: datetime | None = None) -> date:
    """The day the figures are computed for: ``now``'s if given; a demo database's pinned day; else today."""
    if now is not None:
        return now.date()
    setting = session.get(AppSetting, AS_OF_SETTING)
    if setting is not None and setting.value:
        return datetime.fromisoformat(setting.value).date()
    return clock.today()


def months_due(session: Session, *, year: int, today: date) -> list[int]:
    """The months of ``year`` to (re)compute: the current one, and past ones missing or not closed."""
    if year > today.year:
        return []
    last = 12 if year < today.year else today.month
    stored = dict(
        session.execute(
            sa_select(col(TrainingProgress.month), col(TrainingProgress.as_of))
            .where(col(TrainingProgress.year) == year)
            .distinct()
        ).all()
    )
    due = []
    for m in range(1, last + 1):
        current = year == today.year and m == today.month
        have = stored.get(m)
        if current or have is None or pd.Timestamp(have).date() < month_end(year, m):
            due.append(m)
    return due


def serve_month(session: Session, *, year: int, month: int, today: date, now: datetime) -> int:
    """Replace one month's served rows with figures as of min(today, the month's last day)."""
    as_of = min(today, month_end(year, month))
    status, over = status_and_overdue(session, SYSTEM, year=year, as_of=as_of)
    for model in (TrainingProgress, TrainingOverdue):
        session.execute(
            delete(table_of(model)).where(table_of(model).c.year == year, table_of(model).c.month == month)
        )
    if status.empty:
        return 0
    df = status.assign(year=year, month=month, as_of=as_of, updated_at=now)
    df["preservice_deadline"] = pd.to_datetime(df["preservice_deadline"]).dt.date
    cols = [c.name for c in table_of(TrainingProgress).columns]
    records = df[cols].astype(object).where(df[cols].notna(), None).to_dict("records")
    session.execute(insert(table_of(TrainingProgress)), records)
    if len(over):
        o = over[["worker_id", "course_id", "due"]].assign(year=year, month=month)
        o["due"] = pd.to_datetime(o["due"]).dt.date
        o = o.drop_duplicates(["worker_id", "course_id"])
        session.execute(insert(table_of(TrainingOverdue)), o.astype(object).to_dict("records"))
    session.flush()
    return len(records)


def serve(session: Session, *, now: datetime | None = None, years: list[int] | None = None) -> int:
    """Bring the served progress up to date (see the module); returns the rows written."""
    today = served_today(session, now)
    stamp = now or clock.now()
    if years is None:
        years = sorted(
            session.execute(
                sa_select(col(TrainingPlan.year))
                .where(col(TrainingPlan.year).in_([today.year - 1, today.year]))
                .distinct()
            ).scalars()
        )
    n = 0
    for year in years:
        for month in months_due(session, year=year, today=today):
            n += serve_month(session, year=year, month=month, today=today, now=stamp)
    return n
