"""巡查覆盖率 (patrol_coverage_rate): house visits made (走访房屋间次) against the visit plan, per worker × month.

The plan (data/rental_grading.json, DOMAIN.md §1.2 and §5):
- every house of a grid (the grid's households) is due a visit every ``house_visit_interval_days``;
- from the day a rental building is graded, its rooms (``units``) are due at the grade's patrol interval
  instead (green 21, yellow 14, orange 7, red 3 days) — the rental grade is what raises the requirement.
Visits due over a stretch of days are the expected count, houses × days ÷ interval (not rounded up per
house: a 56-day plan does not make every house due in every month). A grid's due visits are shared by its
active workers.

Numerator: the house visits the worker logged (field_visit_day) in the month, capped at what was due, so
surplus visits do not raise the rate above the plan. A worker with a plan and no visits gets 0 %, a
worker (or month) without a plan gets no figure.

出租屋巡查覆盖率 (rental_patrol_rate, evaluation.field.rentals.patrol_figures) is the pilot's own view of
the same requirement: patrols of graded buildings counted per building rather than per room.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from core.models import OrgLevel, OrgUnit, Worker, WorkerStatus
from evaluation.field.models import RentalBuilding, VisitDay
from evaluation.field.rentals import grading_standard, patrol_interval_days

METRIC = "patrol_coverage_rate"
COLUMNS = ["worker_id", "period", "metric", "numerator", "denominator"]


def house_visit_interval_days() -> float:
    return float(grading_standard()["house_visit_interval_days"])


def _overlap_days(lo, hi, start: pd.Series, end: pd.Series) -> pd.Series:  # noqa: ANN001
    """Days of [lo, hi) inside [start, end) row by row (lo/hi a column or one time), never negative."""

    def ns(x):  # noqa: ANN001, ANN202
        return np.asarray(pd.to_datetime(x), dtype="datetime64[ns]")

    a = np.maximum(ns(start), ns(lo))
    b = np.minimum(ns(end), ns(hi))
    return pd.Series((b - a) / np.timedelta64(1, "s") / 86400, index=start.index).clip(lower=0)


def visits_due(session: Session, *, months: pd.PeriodIndex, now: datetime) -> pd.DataFrame:
    """``grid_id, month, due``: house visits due per grid and month (up to ``now``) under the visit plan."""
    cols = ["grid_id", "month", "due"]
    grids = pd.DataFrame(
        session.exec(
            select(OrgUnit.id, OrgUnit.households).where(
                OrgUnit.level == OrgLevel.GRID.value, OrgUnit.is_active, col(OrgUnit.households) > 0
            )
        ).all(),
        columns=["grid_id", "households"],
    )
    if grids.empty or not len(months):
        return pd.DataFrame(columns=cols)
    base = house_visit_interval_days()
    span = pd.DataFrame({"month": months, "start": months.start_time, "end": (months + 1).start_time})
    at = pd.Timestamp(now)
    span["days"] = _overlap_days(span["start"], at, span["start"], span["end"])
    plan = grids.merge(span, how="cross")
    plan["due"] = plan["households"] * plan["days"] / base
    # Graded rental buildings: their rooms move from the base plan to the grade's interval.
    b = pd.DataFrame(
        session.exec(
            select(
                RentalBuilding.grid_id, RentalBuilding.units, RentalBuilding.grade, RentalBuilding.graded_at
            ).where(col(RentalBuilding.grade).is_not(None), col(RentalBuilding.graded_at).is_not(None))
        ).all(),
        columns=["grid_id", "units", "grade", "graded_at"],
    )
    if not b.empty:
        b = b.merge(span, how="cross")
        graded_days = _overlap_days(pd.to_datetime(b["graded_at"]), at, b["start"], b["end"])
        rate = 1 / b["grade"].map(patrol_interval_days()).astype(float) - 1 / base
        b["extra"] = b["units"] * graded_days * rate.fillna(0)
        extra = b.groupby(["grid_id", "month"], as_index=False)["extra"].sum()
        plan = plan.merge(extra, on=["grid_id", "month"], how="left").fillna({"extra": 0.0})
        plan["due"] = plan["due"] + plan["extra"]
    plan = plan[plan["days"] > 0]
    return plan[cols].reset_index(drop=True)


def _month_of(session: Session):  # noqa: ANN202
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(VisitDay.day, "YYYY-MM")
    return func.substr(VisitDay.day, 1, 7)


def visit_figures(session: Session, *, now: datetime, periods: tuple[str, str] | None = None) -> pd.DataFrame:
    """巡查覆盖率 per worker × month from the visit records and the visit plan, for every month from the
    first logged visit to ``now`` (or within ``periods``, "YYYY-MM" first and last)."""
    first = session.exec(select(func.min(VisitDay.day))).one()
    if first is None:
        return pd.DataFrame(columns=COLUMNS)
    months = pd.period_range(pd.Timestamp(first).to_period("M"), pd.Timestamp(now).to_period("M"), freq="M")
    if periods:
        labels = months.strftime("%Y-%m")
        months = months[(labels >= periods[0]) & (labels <= periods[1])]
    due = visits_due(session, months=months, now=now)
    workers = pd.DataFrame(
        session.exec(
            select(Worker.id, Worker.grid_id).where(Worker.status == WorkerStatus.ACTIVE.value)
        ).all(),
        columns=["worker_id", "grid_id"],
    )
    if due.empty or workers.empty:
        return pd.DataFrame(columns=COLUMNS)
    workers["share"] = 1 / workers.groupby("grid_id")["worker_id"].transform("count")
    plan = workers.merge(due, on="grid_id")
    plan["due"] = np.round(plan["due"] * plan["share"])
    plan["period"] = plan["month"].dt.strftime("%Y-%m")
    month = _month_of(session)
    stmt = select(VisitDay.worker_id, month.label("period"), func.sum(VisitDay.visits)).group_by(
        col(VisitDay.worker_id), month
    )
    if periods:
        stmt = stmt.where(month.between(*periods))
    made = pd.DataFrame(session.exec(stmt).all(), columns=["worker_id", "period", "visits"])
    plan = plan.merge(made, on=["worker_id", "period"], how="left").fillna({"visits": 0})
    plan = plan[plan["due"] > 0]
    return pd.DataFrame(
        {
            "worker_id": plan["worker_id"].astype(int),
            "period": plan["period"],
            "metric": METRIC,
            "numerator": np.minimum(plan["visits"].astype(float), plan["due"]),
            "denominator": plan["due"].astype(float),
        }
    ).reset_index(drop=True)
