"""The worker × month × metric summary (numerator, denominator) and how figures aggregate.

Event-derived figures are recomputed from the event table by SQL GROUP BY (never a loop over rows)
and replace the previous event-derived rows for the recomputed months in one statement each.

Who a figure belongs to and which month it falls in:
- reporter, month reported: 隐患上报数, 事件上报及时率, 有效上报率, 按时核实率
- assignee, month of the handling deadline: 按时办结率, 办结率 (应办结 = deadline passed or closed,
  minus 缓办; the denominator is never "events closed", DOMAIN.md §1.2). On time = closed, with the
  worker's handling feedback by the deadline (the 核查 that follows is the checker's time, not theirs).
- assignee, month of the first feedback: 返工率 = reworks ÷ feedbacks submitted (1 + reworks each)
- assignee, month rated: 满意率
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Column as SaColumn
from sqlalchemy import ColumnElement, MetaData, Table, and_, case, delete, func, insert, literal, or_, text
from sqlalchemy import select as sa_select  # more columns than sqlmodel's select is typed for
from sqlmodel import Session, col, select

from core.errors import Misuse
from core.models import Worker
from core.scope import Viewer, worker_scope_clause
from core.sql import table_of
from evaluation.field.import_bulk import copy_frame
from evaluation.field.models import Event, EventState, FigureSource, MetricDef, MetricValue
from evaluation.field.registry import ensure_reference_data, field_now, shipped_sla, sla_levels
from evaluation.field.rentals import patrol_figures
from evaluation.field.visits import visit_figures

VALUE_COLUMNS = ["worker_id", "period", "metric", "numerator", "denominator"]


def _period(col, dialect: str) -> ColumnElement:  # noqa: ANN001
    if dialect == "postgresql":
        return func.to_char(col, "YYYY-MM")
    return func.substr(col, 1, 7)  # SQLite keeps DateTime as "YYYY-MM-DD HH:MM:SS.ffffff" text


def _hours(start, end, dialect: str) -> ColumnElement:  # noqa: ANN001
    if dialect == "postgresql":
        return func.extract("epoch", end - start) / 3600.0
    return (func.julianday(end) - func.julianday(start)) * 24.0


def _sum_if(cond) -> ColumnElement:  # noqa: ANN001
    return func.sum(case((cond, 1), else_=0))


# Each group is one scan of the event table: (owner column, month column, extra filter, {metric: (num, den)}).
def _groups(session: Session, dialect: str, now: datetime, t):  # noqa: ANN001, ANN202
    verify_h = float(shipped_sla()["verify_limit_hours"])
    # Limits inlined as a CASE over the three priorities (a correlated subquery would run once per row).
    limits = {code: lvl.report_limit_hours for code, lvl in sla_levels(session).items()}
    report_limit = case(
        *[(t.c.priority == code, literal(float(h))) for code, h in limits.items()], else_=literal(24.0)
    )
    decided_at = func.coalesce(t.c.accepted_at, t.c.voided_at)
    decided = decided_at.is_not(None)
    closed = t.c.closed_at.is_not(None)
    return [
        (
            t.c.reporter_id,
            t.c.reported_at,
            [],
            {
                "hazards_reported": (func.count(), literal(None)),
                "timely_report_rate": (
                    _sum_if(_hours(t.c.discovered_at, t.c.reported_at, dialect) <= report_limit),
                    func.count(t.c.discovered_at),
                ),
                "valid_report_rate": (
                    _sum_if(and_(t.c.accepted_at.is_not(None), t.c.state != EventState.VOIDED.value)),
                    _sum_if(decided),
                ),
                "ontime_verify_rate": (
                    _sum_if(_hours(t.c.reported_at, decided_at, dialect) <= verify_h),
                    _sum_if(decided),
                ),
            },
        ),
        (
            t.c.assignee_id,
            t.c.due_at,
            [or_(t.c.due_at <= now, closed), t.c.postponed.is_(False)],
            {
                "ontime_closure_rate": (_sum_if(and_(closed, t.c.feedback_at <= t.c.due_at)), func.count()),
                "closure_rate": (_sum_if(closed), func.count()),
            },
        ),
        (
            t.c.assignee_id,
            t.c.feedback_at,
            [],
            {
                "rework_rate": (func.sum(t.c.rework_count), func.sum(t.c.rework_count + 1)),
            },
        ),
        (
            t.c.assignee_id,
            t.c.evaluated_at,
            [t.c.satisfaction.is_not(None)],
            {
                "satisfaction_rate": (_sum_if(t.c.satisfaction.in_(["satisfied", "basic"])), func.count()),
            },
        ),
    ]


def event_figures(session: Session, *, now: datetime, periods: tuple[str, str] | None = None) -> pd.DataFrame:
    """worker_id, period, metric, numerator, denominator for every event-derived metric: one GROUP BY
    scan per owner/month pairing, all metrics of a pairing as columns of that scan."""
    dialect = session.get_bind().dialect.name
    table = table_of(Event)
    narrow = (
        dialect == "sqlite"
        and session.execute(select(func.count()).select_from(table)).scalar_one() > NARROW_ABOVE
    )
    if narrow:
        table = _narrow_copy(session)
    frames = []
    for owner, when, where, metrics in _groups(session, dialect, now, table):
        period = _period(when, dialect)
        cols = [owner.label("worker_id"), period.label("period")]
        for code, (num, den) in metrics.items():
            cols += [num.label(f"{code}__n"), den.label(f"{code}__d")]
        conds = [owner.is_not(None), when.is_not(None), *where]
        if periods:
            conds.append(period.between(*periods))
        wide = pd.DataFrame(
            session.execute(select(*cols).where(*conds).group_by(owner, period)).all(),
            columns=["worker_id", "period", *[f"{c}__{k}" for c in metrics for k in "nd"]],
        )
        for code in metrics:
            frames.append(
                pd.DataFrame(
                    {
                        "worker_id": wide["worker_id"],
                        "period": wide["period"],
                        "metric": code,
                        "numerator": wide[f"{code}__n"],
                        "denominator": wide[f"{code}__d"],
                    }
                )
            )
    if narrow:
        session.execute(text(f"DROP TABLE temp.{table.name}"))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=VALUE_COLUMNS)


# SQLite reads whole rows: four GROUP BY scans of a wide million-row table cost more than one copy of the
# dozen columns they need into a temporary table and four scans of that (measured: 16.7 s → ~10 s at 1M).
NARROW_ABOVE = 200_000
_NARROW_COLUMNS = (
    "reporter_id",
    "assignee_id",
    "priority",
    "state",
    "discovered_at",
    "reported_at",
    "accepted_at",
    "voided_at",
    "due_at",
    "feedback_at",
    "closed_at",
    "evaluated_at",
    "satisfaction",
    "rework_count",
    "postponed",
)


def _narrow_copy(session: Session) -> Table:
    name = "field_event_narrow"
    cols = [table_of(Event).c[c] for c in _NARROW_COLUMNS]
    session.execute(text(f"DROP TABLE IF EXISTS temp.{name}"))
    session.execute(text(f"CREATE TEMP TABLE {name} AS SELECT {', '.join(_NARROW_COLUMNS)} FROM field_event"))
    return Table(name, MetaData(), *[SaColumn(c.name, c.type) for c in cols])


EVENT_METRICS = (
    "hazards_reported",
    "timely_report_rate",
    "valid_report_rate",
    "ontime_verify_rate",
    "ontime_closure_rate",
    "closure_rate",
    "rework_rate",
    "satisfaction_rate",
    "rental_patrol_rate",
    "patrol_coverage_rate",
)


def recompute_event_metrics(
    session: Session, *, now: datetime | None = None, periods: tuple[str, str] | None = None
) -> int:
    """Rebuild the event-derived rows of the summary (for ``periods`` = (first, last) "YYYY-MM", or all).

    Returns the number of summary rows written. Safe to repeat: the result depends only on the events.
    """
    at = field_now(session, now)
    ensure_reference_data(session)

    frame = pd.concat(
        [
            event_figures(session, now=at, periods=periods),
            patrol_figures(session, now=at, periods=periods),
            visit_figures(session, now=at, periods=periods),
        ],
        ignore_index=True,
    )
    # Any source: a derived metric's figures are only ever the computed ones (a database from before
    # 巡查覆盖率 was derived still holds it as imported rows, which would block the insert).
    wipe = delete(MetricValue).where(col(MetricValue.metric).in_(EVENT_METRICS))
    if periods:
        wipe = wipe.where(col(MetricValue.period).between(*periods))
    session.execute(wipe)
    if frame.empty:
        return 0
    frame["numerator"] = frame["numerator"].astype(float)
    frame["denominator"] = frame["denominator"].astype(float)
    if (
        session.get_bind().dialect.name == "postgresql"
    ):  # COPY: a district's months are tens of thousands of rows
        rows = frame.assign(source=FigureSource.EVENTS.value, updated_at=pd.Timestamp(at))
        cols = list(rows.columns)
        copy_frame(session, MetricValue.__tablename__, rows, cols)
        return len(rows)
    records = frame.assign(source=FigureSource.EVENTS.value, updated_at=at)
    records = records.astype(object).where(records.notna(), None).to_dict("records")
    session.execute(insert(MetricValue), records)
    session.flush()
    return len(records)


def metric_values(
    session: Session,
    viewer: Viewer,
    *,
    start_period: str,
    end_period: str,
    metrics: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Summary rows of the workers in scope for ``start_period``..``end_period`` (inclusive)."""
    stmt = (
        sa_select(
            col(MetricValue.worker_id),
            col(MetricValue.period),
            col(MetricValue.metric),
            col(MetricValue.numerator),
            col(MetricValue.denominator),
            col(MetricValue.source),
        )
        .join(Worker, col(Worker.id) == col(MetricValue.worker_id))
        .where(worker_scope_clause(viewer), col(MetricValue.period).between(start_period, end_period))
    )
    if metrics is not None:
        stmt = stmt.where(col(MetricValue.metric).in_(list(metrics)))
    frame = pd.DataFrame(session.execute(stmt).all(), columns=VALUE_COLUMNS + ["source"])
    frame["numerator"] = frame["numerator"].astype(float)
    frame["denominator"] = frame["denominator"].astype(float)
    return frame


def aggregate(values: pd.DataFrame, by: list[str], registry: pd.DataFrame | None = None) -> pd.DataFrame:
    """Aggregate summary rows over ``by`` (which must include "metric").

    Ratio metrics: Σnumerator ÷ Σdenominator (never a mean of ratios), as a percentage; counts: Σnumerator.
    A zero or missing denominator gives NaN (no figure), never 0%.
    """
    if "metric" not in by:
        raise Misuse("aggregate by must include 'metric'")
    if values.empty:
        return pd.DataFrame(columns=[*by, "numerator", "denominator", "value"])
    sums = values.groupby(by, as_index=False, dropna=False).agg(
        numerator=("numerator", "sum"), denominator=("denominator", lambda s: s.sum(min_count=1))
    )
    if registry is None:
        ratio = sums["denominator"].notna()
    else:
        kinds = registry.set_index("code")["aggregation"]
        ratio = sums["metric"].map(kinds).eq("ratio")
    den = sums["denominator"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(den > 0, sums["numerator"].to_numpy(dtype=float) / den * 100.0, np.nan)
    sums["value"] = np.where(ratio, pct, sums["numerator"])
    return sums


def ratio(numerator: float, denominator: float | None) -> float | None:
    """One figure as a percentage; None when the denominator is zero or missing."""
    if denominator is None or pd.isna(denominator) or denominator == 0:
        return None
    return numerator / denominator * 100.0


def worker_figures(session: Session, viewer: Viewer, *, start_period: str, end_period: str) -> pd.DataFrame:
    """Per worker × metric over the periods, with name, party membership and community (for pages)."""
    values = metric_values(session, viewer, start_period=start_period, end_period=end_period)
    reg = pd.DataFrame(
        session.exec(select(MetricDef.code, MetricDef.aggregation)).all(), columns=["code", "aggregation"]
    )
    return aggregate(values, ["worker_id", "metric"], reg)
