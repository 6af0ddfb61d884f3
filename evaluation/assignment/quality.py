"""Dispatch quality as the sources define it (DOMAIN.md §7 step 4, §1.2), by item and by community.

- 首派准确率 (first-dispatch accuracy, 柳州): dispatched events never returned (回退) ÷ dispatched events.
  An event's ``return_count`` counts its returns, so "never returned" is ``return_count = 0``.
- 平均签收时长 (average time to sign): mean of signed_at − dispatched_at over signed events, in hours.
- 超期率 (overdue rate): events whose handling deadline has passed that were (or still are) past it:
  closed after ``due_at``, or still open at ``now`` with ``due_at`` behind them ÷ events whose deadline
  has passed.
- 推荐采纳率 (share of one-task decisions that followed the recommendation) comes from the decision log.

The page reads ``dispatch_quality``: one GROUP BY in SQL over the period in the viewer's scope, so its cost
follows the groups shown, not the events behind them (issue #21). ``quality_figures`` is the same
definition in pandas over ``dispatched_events`` (kept as the reference the SQL is tested against).
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Float, and_, case, cast, func, literal, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core.models import OrgUnit
from core.scope import Viewer, unit_scope_clause
from core.sql import unindexed
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


def _hours_between(session: Session, later, earlier):  # noqa: ANN001, ANN202 - SQL expressions
    """later − earlier in hours, in the dialect's own date arithmetic."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier) / 3600.0
    return (func.julianday(later) - func.julianday(earlier)) * 24.0


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
    (``"item_code"``, ``"community_id"``, …; None for the whole scope): one aggregate query, the figures of
    ``quality_figures``. Deadlines are judged at ``now`` (default: the field clock, as for the tasks)."""
    at = field_now(session, now)
    keys = [by] if isinstance(by, str) else list(by or [])
    e = Event.__table__.c  # type: ignore[attr-defined]
    # done at feedback or closure, whichever came first (either may be missing)
    finished = case(
        (e.feedback_at.is_(None), e.closed_at),
        (e.closed_at.is_(None), e.feedback_at),
        (e.feedback_at < e.closed_at, e.feedback_at),
        else_=e.closed_at,
    )
    due = and_(e.due_at.is_not(None), or_(e.due_at < at, finished.is_not(None)))
    overdue = and_(due, or_(finished > e.due_at, and_(finished.is_(None), e.due_at < at)))
    sign_hours = case(
        (e.signed_at.is_not(None), _hours_between(session, e.signed_at, e.dispatched_at)), else_=None
    )
    group = [e[k] for k in keys] or [literal("all").label("_all")]
    stmt = (
        sa_select(
            *group,
            func.count().label("dispatched"),
            func.sum(case((func.coalesce(e.return_count, 0) > 0, 1), else_=0)).label("returned"),
            func.count(sign_hours).label("signed"),
            func.avg(cast(sign_hours, Float)).label("avg_sign_hours"),
            func.sum(case((due, 1), else_=0)).label("due"),
            func.sum(case((overdue, 1), else_=0)).label("overdue"),
        )
        .where(
            e.dispatched_at.is_not(None),
            e.dispatched_at >= start,
            e.dispatched_at < end,
            # the period's dispatched_at index drives, scope filters (through the grid index: every year)
            unindexed(e.grid_id).in_(select(OrgUnit.id).where(unit_scope_clause(viewer))),
        )
        .group_by(*[e[k] for k in keys])
        .order_by(*[e[k] for k in keys])
    )
    names = [*(keys or ["_all"]), "dispatched", "returned", "signed", "avg_sign_hours", "due", "overdue"]
    out = pd.DataFrame([tuple(r) for r in session.execute(stmt).all()], columns=names)
    if not keys:
        out = out.drop(columns="_all")
        if len(out) and int(out["dispatched"].iloc[0]) == 0:
            out = out.iloc[0:0]
    for c in ("dispatched", "returned", "signed", "due", "overdue"):
        out[c] = out[c].fillna(0).astype(int)
    out["avg_sign_hours"] = out["avg_sign_hours"].astype(float)
    out["first_dispatch_accuracy"] = 1 - out["returned"] / out["dispatched"]
    out["overdue_rate"] = out["overdue"] / out["due"].where(out["due"] > 0)
    return out[[*keys, *QUALITY_COLUMNS]].reset_index(drop=True)
