"""Training-plan progress as served figures: what the 培训计划与学时 page reads (issue #21).

The rows (``models_progress``) are written by the ledger job (``courses.training.serving``); a write that
changes the ledger (a lesson credited, external training, a correction) recounts the hours of the rows it
touches here, in the caller's transaction. Every read is one SQL statement over the viewer's scope
(``core.scope.worker_scope_clause``) with the aggregates done by the database: a page's cost follows the size of
its answer (a headline, a community table, the workers behind), not the ledger's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Select, and_, bindparam, case, func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from core.models import OrgUnit, Worker
from core.scope import Viewer, worker_scope_clause
from core.sql import frame, table_of
from courses.models import Course
from courses.training.models import HoursEntry, HoursSource
from courses.training.models_progress import TrainingOverdue, TrainingProgress

BEHIND_SHARE = 0.8  # a proposal: behind when credited < 80 % of the hours required to date
KINDS = tuple(s.value for s in HoursSource)  # credited_<kind> columns
# the plan figures shown of a worker (the CLI) and of a community (summed: the tables below, the bulletin)
FIGURES = ["required_to_date", "credited", "completion", "behind", "preservice_overdue", "compulsory_overdue"]
# the columns of a per-community table (``communities``, ``supervision.community_summary``)
COMMUNITY_COLS = ["community_id", "community_zh", "community_en", "workers", *FIGURES]


@dataclass(frozen=True)
class Figures:
    """Which figures a view shows: the month of a plan year, the day they are as of, when they were computed."""

    year: int
    month: int
    as_of: date
    updated_at: datetime


def _scoped(stmt: Select, viewer: Viewer, year: int, month: int | None = None) -> Select:
    stmt = (
        stmt.select_from(TrainingProgress)
        .join(Worker, col(Worker.id) == col(TrainingProgress.worker_id))
        .where(col(TrainingProgress.year) == year, worker_scope_clause(viewer))
    )
    return stmt if month is None else stmt.where(col(TrainingProgress.month) == month)


def served_months(session: Session, viewer: Viewer, *, year: int) -> list[int]:
    """The months of ``year`` with figures in the viewer's scope, in order."""
    stmt = _scoped(sa_select(col(TrainingProgress.month)).distinct(), viewer, year)
    return sorted(int(m) for m in session.execute(stmt).scalars())


def figures_at(session: Session, viewer: Viewer, *, year: int, month: int | None = None) -> Figures | None:
    """The figures of ``month`` (default: the latest served) of ``year``: as of which day, computed when."""
    if month is None:
        months = served_months(session, viewer, year=year)
        if not months:
            return None
        month = months[-1]
    stmt = _scoped(
        sa_select(func.max(col(TrainingProgress.as_of)), func.max(col(TrainingProgress.updated_at))),
        viewer,
        year,
        month,
    )
    as_of, updated = session.execute(stmt).one()
    if as_of is None:
        return None
    return Figures(
        year=year, month=month, as_of=_day(as_of), updated_at=pd.Timestamp(updated).to_pydatetime()
    )


def _day(v: Any) -> date:  # noqa: ANN401 - SQLite returns an aggregate of dates as text
    return pd.Timestamp(v).date()


def _count(flag: Any) -> ColumnElement[int]:  # noqa: ANN401 - a boolean column or condition
    return func.sum(case((flag, 1), else_=0))


def headline(session: Session, viewer: Viewer, figures: Figures) -> dict:
    """The dashboard's and the bulletin's top figures (as ``supervision.headline``), summed by the database."""
    p = TrainingProgress
    stmt = _scoped(
        sa_select(
            func.count(),
            func.coalesce(func.sum(col(p.required_to_date)), 0.0),
            func.coalesce(func.sum(col(p.credited)), 0.0),
            _count(col(p.behind)),
            _count(col(p.preservice_overdue)),
            _count(col(p.compulsory_overdue) > 0),
        ),
        viewer,
        figures.year,
        figures.month,
    )
    n, req, got, behind, pre, comp = session.execute(stmt).one()
    req, got = float(req or 0), float(got or 0)
    return {
        "workers": int(n or 0),
        "required_to_date": round(req, 1),
        "credited": round(got, 1),
        "completion": round(got / req, 3) if req else None,
        "behind": int(behind or 0),
        "preservice_overdue": int(pre or 0),
        "compulsory_overdue": int(comp or 0),
    }


def communities(session: Session, viewer: Viewer, figures: Figures) -> pd.DataFrame:
    """Per community (as ``supervision.community_summary``): grouped by the database."""
    p = TrainingProgress
    stmt = _scoped(
        sa_select(
            col(Worker.community_id),
            func.count().label("workers"),
            func.sum(col(p.required_to_date)).label("required_to_date"),
            func.sum(col(p.credited)).label("credited"),
            _count(col(p.behind)).label("behind"),
            _count(col(p.preservice_overdue)).label("preservice_overdue"),
            _count(col(p.compulsory_overdue) > 0).label("compulsory_overdue"),
        ),
        viewer,
        figures.year,
        figures.month,
    ).group_by(col(Worker.community_id))
    g = frame(session, stmt)
    ids = [int(c) for c in g["community_id"].dropna()]
    names = frame(
        session,
        sa_select(col(OrgUnit.id), col(OrgUnit.name_zh), col(OrgUnit.name_en)).where(
            col(OrgUnit.id).in_(ids)
        ),
    )
    g = g.merge(names.rename(columns={"id": "community_id"}), on="community_id", how="left").rename(
        columns={"name_zh": "community_zh", "name_en": "community_en"}
    )
    for c in ("required_to_date", "credited"):
        g[c] = g[c].astype(float).round(1)
    for c in ("workers", "behind", "preservice_overdue", "compulsory_overdue"):
        g[c] = g[c].astype(int)
    g["completion"] = (g["credited"] / g["required_to_date"]).where(g["required_to_date"] > 0).round(3)
    return g.sort_values(["completion", "community_zh"]).reset_index(drop=True)[COMMUNITY_COLS]


def _community_names() -> tuple:
    unit = OrgUnit.__table__.alias("community")  # type: ignore[attr-defined]
    return unit, unit.c.name_zh.label("community_zh"), unit.c.name_en.label("community_en")


def workers(session: Session, viewer: Viewer, figures: Figures, *, flag: str) -> pd.DataFrame:
    """The workers whose ``flag`` (``behind`` or ``preservice_overdue``) is set, with their figures."""
    p = TrainingProgress
    unit, zh, en = _community_names()
    stmt = _scoped(
        sa_select(
            col(p.worker_id),
            col(Worker.employee_no),
            col(Worker.name),
            zh,
            en,
            col(Worker.hire_date),
            col(p.required_to_date),
            col(p.credited),
            col(p.preservice_hours),
            col(p.preservice_credited),
            col(p.preservice_deadline),
        ),
        viewer,
        figures.year,
        figures.month,
    )
    stmt = stmt.join(unit, unit.c.id == col(Worker.community_id), isouter=True).where(
        getattr(p, flag) == True  # noqa: E712 - SQL
    )
    df = frame(session, stmt.order_by(col(Worker.employee_no)))
    req = df["required_to_date"].astype(float)
    df["completion"] = (df["credited"].astype(float) / req).where(req > 0).clip(upper=9.99)
    return df


def overdue(session: Session, viewer: Viewer, figures: Figures) -> pd.DataFrame:
    """Compulsory courses past their deadline and not completed (as ``supervision.overdue_courses``)."""
    o = TrainingOverdue
    unit, zh, en = _community_names()
    stmt = (
        sa_select(
            col(o.worker_id),
            col(Worker.employee_no),
            col(Worker.name),
            zh,
            en,
            col(Course.code).label("course_code"),
            col(Course.title_zh),
            col(Course.title_en),
            col(o.due),
        )
        .join(Worker, col(Worker.id) == col(o.worker_id))
        .join(Course, col(Course.id) == col(o.course_id))
        .join(unit, unit.c.id == col(Worker.community_id), isouter=True)
        .where(col(o.year) == figures.year, col(o.month) == figures.month, worker_scope_clause(viewer))
    )
    df = frame(session, stmt)
    df["due"] = pd.to_datetime(df["due"])
    df["days_over"] = (pd.Timestamp(figures.as_of) - df["due"]).dt.days.astype(int)
    return df.sort_values(["days_over", "employee_no"], ascending=[False, True]).reset_index(drop=True)


def entries(session: Session, *where: ColumnElement[bool]) -> pd.DataFrame:
    """Ledger rows (worker_id, credited_on, hours, source) matching ``where``: what ``standing`` counts."""
    h = HoursEntry
    stmt = sa_select(col(h.worker_id), col(h.credited_on), col(h.hours), col(h.source)).where(*where)
    return frame(session, stmt)


def standing(rows: pd.DataFrame, ledger_rows: pd.DataFrame) -> pd.DataFrame:
    """Each row's plan status from the ledger: the one computation behind ``supervision.plan_status``, the
    served rows (``courses.training.serving``) and their recount (``recount_hours``).

    ``rows``: worker_id, year, as_of, hire_date, required_year, required_to_date, preservice_hours and
    preservice_deadline (NaT when none); ``ledger_rows``: ``entries`` of those workers. Returns a copy
    of ``rows`` (index 0..n-1) with the hours credited 1 January .. as_of in all (``credited``) and by kind
    (``credited_<kind>``), the pre-service hours (credited from the hire date up to the deadline) and the flags
    ``complete``, ``behind`` and ``preservice_overdue``."""
    out = rows.reset_index(drop=True)
    keys = out[["worker_id", "year", "as_of", "hire_date", "preservice_deadline"]].reset_index(names="row")
    e = ledger_rows.merge(keys, on="worker_id")
    day = pd.to_datetime(e["credited_on"])
    in_year = e[(day.dt.year == e["year"]) & (day <= pd.to_datetime(e["as_of"]))]
    pre = e[(day >= pd.to_datetime(e["hire_date"])) & (day <= pd.to_datetime(e["preservice_deadline"]))]

    def hours(part: pd.DataFrame) -> pd.Series:
        total = part.groupby("row")["hours"].sum()
        return total.reindex(out.index, fill_value=0.0).astype(float).round(2)

    out["credited"] = hours(in_year)
    for kind in KINDS:
        out[f"credited_{kind}"] = hours(in_year[in_year["source"] == kind])
    out["preservice_credited"] = hours(pre)
    out["complete"] = (out["required_year"] > 0) & (out["credited"] >= out["required_year"] - 0.005)
    out["behind"] = (out["required_to_date"] > 0) & (out["credited"] < BEHIND_SHARE * out["required_to_date"])
    out["preservice_overdue"] = (
        (out["preservice_hours"] > 0)
        & (pd.to_datetime(out["preservice_deadline"]) < pd.to_datetime(out["as_of"]))
        & (out["preservice_credited"] < out["preservice_hours"])
    )
    return out


def recount_hours(session: Session, *, worker_ids: list[int], now: datetime) -> int:
    """Recount the hours (and the flags that follow from them) of every served row of these workers from the
    ledger, in the caller's transaction; returns the rows updated. Called by the writes that change a
    worker's ledger; requirements and compulsory courses stay as the job last computed them."""
    if not worker_ids:
        return 0
    p = TrainingProgress
    rows = frame(
        session,
        sa_select(
            col(p.worker_id),
            col(p.year),
            col(p.month),
            col(p.as_of),
            col(p.required_year),
            col(p.required_to_date),
            col(p.preservice_hours),
            col(p.preservice_deadline),
            col(Worker.hire_date),
        )
        .join(Worker, col(Worker.id) == col(p.worker_id))
        .where(col(p.worker_id).in_(worker_ids)),
    )
    if rows.empty:
        return 0
    df = standing(rows, entries(session, col(HoursEntry.worker_id).in_(worker_ids)))
    hours = ["credited", *(f"credited_{k}" for k in KINDS), "preservice_credited"]
    flag_cols = ["complete", "behind", "preservice_overdue"]
    t = table_of(TrainingProgress)
    key = and_(t.c.worker_id == bindparam("w"), t.c.year == bindparam("y"), t.c.month == bindparam("m"))
    stmt = update(t).where(key).values({c: bindparam(f"v_{c}") for c in [*hours, *flag_cols, "updated_at"]})
    params = [
        {
            "w": int(r["worker_id"]),
            "y": int(r["year"]),
            "m": int(r["month"]),
            **{f"v_{c}": float(r[c]) for c in hours},
            **{f"v_{c}": bool(r[c]) for c in flag_cols},
            "v_updated_at": now,
        }
        for r in df.to_dict("records")
    ]
    session.execute(stmt, params)
    return len(params)
