"""Dispatch quality as the sources define it (DOMAIN.md §7 step 4, §1.2), by item and by community.

- 首派准确率 (first-dispatch accuracy, 柳州): dispatched events never returned (回退) ÷ dispatched events.
  An event's ``return_count`` counts its returns, so "never returned" is ``return_count = 0``.
- 平均签收时长 (average time to sign): mean of signed_at − dispatched_at over signed events, in hours.
- 超期率 (overdue rate): events whose handling deadline has passed that were (or still are) past it:
  closed after ``due_at``, or still open at ``now`` with ``due_at`` behind them ÷ events whose deadline
  has passed.
- 推荐采纳率 (share of one-task decisions that followed the recommendation) comes from the decision log.

Rows are read once in the viewer's scope and aggregated with vectorised pandas.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core.models import OrgUnit
from core.scope import Viewer, unit_scope_clause
from evaluation.field.models import Event
from evaluation.field.registry import field_now

QUALITY_COLUMNS = [
    "dispatched",
    "returned",
    "first_dispatch_accuracy",
    "signed",
    "avg_sign_hours",
    "due",
    "overdue",
    "overdue_rate",
]


def dispatched_events(session: Session, viewer: Viewer, *, start: datetime, end: datetime) -> pd.DataFrame:
    """Events first dispatched in [start, end) in the viewer's scope, with the timestamps the figures need."""
    dispatched_at = col(Event.dispatched_at)
    stmt = sa_select(
        col(Event.id),
        col(Event.item_code),
        col(Event.category_code),
        col(Event.community_id),
        dispatched_at,
        col(Event.signed_at),
        col(Event.due_at),
        col(Event.closed_at),
        col(Event.feedback_at),
        col(Event.return_count),
        col(Event.state),
    ).where(
        dispatched_at.is_not(None),
        dispatched_at >= start,
        dispatched_at < end,
        col(Event.grid_id).in_(select(OrgUnit.id).where(unit_scope_clause(viewer))),
    )
    return pd.DataFrame(
        session.execute(stmt).all(),
        columns=[
            "id",
            "item_code",
            "category_code",
            "community_id",
            "dispatched_at",
            "signed_at",
            "due_at",
            "closed_at",
            "feedback_at",
            "return_count",
            "state",
        ],
    )


def quality_figures(events: pd.DataFrame, by: str | list[str] | None, *, now: datetime) -> pd.DataFrame:
    """The three figures per group (``by`` None: one overall row). Pure: takes dispatched_events' frame."""
    e = events.copy()
    for c in ("dispatched_at", "signed_at", "due_at", "closed_at", "feedback_at"):
        e[c] = pd.to_datetime(e[c])
    ts_now = pd.Timestamp(now)
    # The handling is done at feedback (or closure, whichever came first); until then it runs against due_at.
    finished = e[["feedback_at", "closed_at"]].min(axis=1)
    e["returned"] = e["return_count"].fillna(0) > 0
    e["sign_hours"] = (e["signed_at"] - e["dispatched_at"]).dt.total_seconds() / 3600
    e["due"] = e["due_at"].notna() & ((e["due_at"] < ts_now) | finished.notna())
    e["overdue"] = e["due"] & ((finished > e["due_at"]) | (finished.isna() & (e["due_at"] < ts_now)))
    keys = [by] if isinstance(by, str) else list(by or [])
    grouped = e.assign(_all="all").groupby(keys or ["_all"], dropna=False)
    out = grouped.agg(
        dispatched=("id", "size"),
        returned=("returned", "sum"),
        signed=("sign_hours", "count"),
        avg_sign_hours=("sign_hours", "mean"),
        due=("due", "sum"),
        overdue=("overdue", "sum"),
    )
    out["first_dispatch_accuracy"] = 1 - out["returned"] / out["dispatched"]
    out["overdue_rate"] = out["overdue"] / out["due"].where(out["due"] > 0)
    out = out.reset_index()
    if not keys:
        out = out.drop(columns="_all")
    return out[[*keys, *QUALITY_COLUMNS]]


def dispatch_quality(
    session: Session,
    viewer: Viewer,
    *,
    start: datetime,
    end: datetime,
    by: str | list[str] | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """首派准确率, 平均签收时长 and 超期率 for events dispatched in [start, end), grouped ``by``
    (``"item_code"``, ``"community_id"``, …; None for the whole scope). Deadlines are judged at
    ``now`` (default: the field clock, as for the tasks themselves)."""
    events = dispatched_events(session, viewer, start=start, end=end)
    return quality_figures(events, by, now=field_now(session, now))
