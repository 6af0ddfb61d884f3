"""Rental buildings (出租屋分类分级, DOMAIN.md §5): grading from the quantified standard in
data/rental_grading.json, the patrol interval each grade sets, overdue patrols, and patrol coverage.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func
from sqlalchemy import select as sa_select  # more columns than sqlmodel's select is typed for
from sqlmodel import Session, col, select

from core.audit import record
from core.errors import GridwiseError
from core.models import OrgUnit, Worker, WorkerStatus, row_id
from core.scope import ScopeError, Viewer, ensure_can_see_worker, in_scope, unit_scope_clause
from core.settings import DATA_DIR
from core.sql import frame
from evaluation.field.models import RentalBuilding, RentalGrading, RentalPatrol
from evaluation.field.registry import field_now

GRADES = ("green", "yellow", "orange", "red")


@lru_cache(maxsize=1)
def grading_standard() -> dict[str, Any]:
    return json.loads((DATA_DIR / "rental_grading.json").read_text(encoding="utf-8"))


def criteria() -> pd.DataFrame:
    """One row per criterion: dimension, code, names, max."""
    rows = []
    for dim in grading_standard()["dimensions"]:
        for c in dim["criteria"]:
            rows.append(
                {
                    "dimension": dim["code"],
                    "dimension_zh": dim["name_zh"],
                    "dimension_en": dim["name_en"],
                    "code": c["code"],
                    "name_zh": c["name_zh"],
                    "name_en": c["name_en"],
                    "max": c["max"],
                    "scoring_zh": c["scoring_zh"],
                    "scoring_en": c["scoring_en"],
                }
            )
    return pd.DataFrame(rows)


def patrol_interval_days() -> dict[str, int]:
    return {g["code"]: int(g["patrol_interval_days"]) for g in grading_standard()["grades"]}


def grade_for(scores: dict[str, float], veto: list[str] | tuple[str, ...] = ()) -> tuple[str, float]:
    """(grade, total) for criterion scores; any veto item forces red. Scores outside 0..max are refused."""
    crit = criteria().set_index("code")["max"]
    unknown = set(scores) - set(crit.index)
    if unknown:
        raise GridwiseError("field.err.unknown_criteria", codes=", ".join(sorted(unknown)))
    missing = set(crit.index) - set(scores)
    if missing:
        raise GridwiseError("field.err.scores_missing", codes=", ".join(sorted(missing)))
    for code, value in scores.items():
        if value is None or not (0 <= float(value) <= float(crit[code])):
            raise GridwiseError("field.err.score_range", code=code, top=crit[code])
    vetoes = {v["code"] for v in grading_standard()["veto"]}
    if set(veto) - vetoes:
        raise GridwiseError("field.err.unknown_veto", codes=", ".join(sorted(set(veto) - vetoes)))
    total = float(sum(float(v) for v in scores.values()))
    if veto:
        return "red", total
    for g in grading_standard()["grades"]:
        if total >= g["min_score"] and (g["below"] is None or total < g["below"]):
            return g["code"], total
    return "red", total


def _ensure_manages_building(session: Session, viewer: Viewer, building: RentalBuilding) -> None:
    if not viewer.is_manager:
        raise ScopeError("scope.err.building_out_of_scope")
    unit = session.get(OrgUnit, building.grid_id)
    if not in_scope(viewer, unit.path if unit else None):
        raise ScopeError("scope.err.building_out_of_scope")


def grade_building(
    session: Session,
    viewer: Viewer,
    *,
    building_id: int,
    scores: dict[str, float],
    veto: list[str] | tuple[str, ...] = (),
    now: datetime | None = None,
) -> RentalBuilding:
    """Grade or re-grade a building; the breakdown is kept in the grading history."""
    if not viewer.is_manager:
        raise ScopeError("scope.err.manager_grading")
    at = field_now(session, now)
    building = session.get(RentalBuilding, building_id)
    if building is None:
        raise GridwiseError("field.err.no_building", building_id=building_id)
    _ensure_manages_building(session, viewer, building)
    grade, total = grade_for(scores, veto)
    payload = json.dumps({k: float(v) for k, v in scores.items()})
    veto_json = json.dumps(list(veto)) if veto else None
    record(
        session,
        "field.rental.grade",
        viewer=viewer,
        entity="rental_building",
        entity_id=building.code,
        before={"grade": building.grade, "score": building.score},
        after={"grade": grade, "score": total},
        detail={"veto": list(veto)} if veto else None,
    )
    building.grade, building.score, building.scores_json, building.veto_json = (
        grade,
        total,
        payload,
        veto_json,
    )
    building.graded_at, building.graded_by = at, viewer.user_id
    session.add(building)
    session.add(
        RentalGrading(
            building_id=row_id(building.id),
            graded_at=at,
            grade=grade,
            score=total,
            scores_json=payload,
            veto_json=veto_json,
            graded_by=viewer.user_id,
        )
    )
    session.flush()
    return building


BUILDING_COLUMNS = [  # buildings_frame's, before the patrol figures
    "id",
    "code",
    "address",
    "grid_id",
    "community_id",
    "community_zh",
    "community_en",
    "lat",
    "lon",
    "units",
    "grade",
    "score",
    "graded_at",
    "last_patrol_at",
    "patrol_assignee_id",
]


def _buildings_stmt(viewer: Viewer, columns: list[str]) -> Any:  # noqa: ANN401 - a select of ``columns``
    """``columns`` (RentalBuilding's, or community_zh/_en: its community's names) of the buildings in the viewer's
    scope (by grid); a building without a community is in nobody's list."""
    names = {"community_zh": col(OrgUnit.name_zh), "community_en": col(OrgUnit.name_en)}
    return (
        sa_select(*(names[c] if c in names else getattr(RentalBuilding, c) for c in columns))
        .join(OrgUnit, col(OrgUnit.id) == col(RentalBuilding.community_id))
        .where(col(RentalBuilding.grid_id).in_(select(col(OrgUnit.id)).where(unit_scope_clause(viewer))))
    )


def buildings_frame(session: Session, viewer: Viewer, *, now: datetime | None = None) -> pd.DataFrame:
    """Buildings in scope with grade, interval, next patrol due and whether it is overdue."""
    at = field_now(session, now)
    stmt = _buildings_stmt(viewer, BUILDING_COLUMNS).order_by(col(RentalBuilding.code))
    return with_patrol_due(frame(session, stmt, BUILDING_COLUMNS), at)


def overdue_patrol_rows(
    session: Session, viewer: Viewer, at: datetime, *, assignee_id: int | None = None
) -> list[tuple[int, str, str, int, int, float | None, float | None, str, datetime, int | None]]:
    """The buildings in scope (of ``assignee_id`` alone when given) whose patrol is overdue at ``at``, as plain
    rows: id, code, address, grid_id, community_id, lat, lon, grade, next patrol due, patrol_assignee_id. The
    task list's read (``buildings_frame`` filtered to the overdue ones, without a frame of every building)."""
    columns = "id code address grid_id community_id lat lon grade graded_at last_patrol_at patrol_assignee_id"
    stmt = _buildings_stmt(viewer, columns.split())
    if assignee_id is not None:
        stmt = stmt.where(col(RentalBuilding.patrol_assignee_id) == assignee_id)
    rows = []
    intervals = patrol_interval_days()
    for i, code, address, grid, community, lat, lon, grade, graded, last, who in session.execute(stmt):
        due = overdue_since(intervals.get(grade), graded, last, at)
        if due is not None:
            rows.append((i, code, address, grid, community, lat, lon, grade, due, who))
    return rows


def overdue_patrol_holders(session: Session, worker_ids: Collection[int], *, at: datetime) -> list[int]:
    """The holder (patrol_assignee_id) of each building ``worker_ids`` hold whose patrol is overdue at ``at``:
    ``buildings_frame``'s overdue patrols, for a few workers' load rather than every building."""
    stmt: Any = sa_select(
        col(RentalBuilding.patrol_assignee_id),
        col(RentalBuilding.grade),
        col(RentalBuilding.graded_at),
        col(RentalBuilding.last_patrol_at),
    ).where(col(RentalBuilding.patrol_assignee_id).in_(list(worker_ids)))
    # buildings_frame's join: a building without a community is in nobody's list, nor in anyone's load
    stmt = stmt.join(OrgUnit, col(OrgUnit.id) == col(RentalBuilding.community_id))
    intervals = patrol_interval_days()
    return [
        who
        for who, grade, graded, last in session.execute(stmt)
        if overdue_since(intervals.get(grade), graded, last, at) is not None
    ]


def with_patrol_due(frame: pd.DataFrame, at: datetime) -> pd.DataFrame:
    """``frame`` (buildings: grade, graded_at, last_patrol_at) with interval_days, next_due and patrol_overdue
    at ``at``, by ``next_patrol_due``."""
    intervals = patrol_interval_days()
    frame["interval_days"] = frame["grade"].map(intervals)
    frame["next_due"] = pd.to_datetime(
        [
            next_patrol_due(intervals.get(grade), _time(graded), _time(last), at)
            for grade, graded, last in zip(
                frame["grade"], frame["graded_at"], frame["last_patrol_at"], strict=True
            )
        ]
    )
    frame["patrol_overdue"] = frame["interval_days"].notna() & (frame["next_due"] <= pd.Timestamp(at))
    return frame


def _time(value: Any) -> datetime | None:  # noqa: ANN401 - a frame's cell: a datetime, NaT, None or text
    return None if value is None or pd.isna(value) else pd.Timestamp(value).to_pydatetime()


def next_patrol_due(
    interval_days: int | None, graded_at: datetime | None, last_patrol_at: datetime | None, at: datetime
) -> datetime:
    """When a building's next patrol is due: ``interval_days`` (its grade's, ``patrol_interval_days``) after the
    last patrol — never patrolled: after grading, or after ``at`` if not graded either. A grade without an
    interval is never overdue (its due is that base)."""
    return (last_patrol_at or graded_at or at) + timedelta(days=interval_days or 0)


def overdue_since(
    interval_days: int | None, graded_at: datetime | None, last_patrol_at: datetime | None, at: datetime
) -> datetime | None:
    """When the patrol fell due (``next_patrol_due``) if it is overdue at ``at``; else None."""
    if interval_days is None:
        return None
    due = next_patrol_due(interval_days, graded_at, last_patrol_at, at)
    return due if due <= at else None


def record_patrol(
    session: Session,
    viewer: Viewer,
    *,
    building_id: int,
    worker_id: int | None = None,
    visited_at: datetime | None = None,
) -> RentalPatrol:
    """Log a patrol visit (idempotent on building + time)."""
    at = visited_at or field_now(session)
    building = session.get(RentalBuilding, building_id)
    if building is None:
        raise GridwiseError("field.err.no_building", building_id=building_id)
    wid = worker_id if worker_id is not None else viewer.worker_id
    if viewer.role.value == "worker":
        if wid != viewer.worker_id:
            raise ScopeError("scope.err.own_patrols")
        worker = session.get(Worker, wid)
        if worker is None or (
            building.community_id != worker.community_id and building.patrol_assignee_id != worker.id
        ):
            raise ScopeError("scope.err.patrol_building")
    if viewer.role.value != "worker":  # a manager logs patrols of their own buildings by their own workers
        _ensure_manages_building(session, viewer, building)
        if wid is not None:
            ensure_can_see_worker(viewer, session.get(Worker, wid))
    existing = session.exec(
        select(RentalPatrol).where(RentalPatrol.building_id == building_id, RentalPatrol.visited_at == at)
    ).first()
    if existing:
        return existing
    patrol = RentalPatrol(building_id=building_id, worker_id=wid, visited_at=at)
    session.add(patrol)
    if building.last_patrol_at is None or at > building.last_patrol_at:
        building.last_patrol_at = at
        session.add(building)
    session.flush()
    return patrol


def patrol_coverage(
    session: Session, viewer: Viewer, *, start: datetime, end: datetime, buildings: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per community: patrols due in [start, end) from each building's grade, patrols made (each building
    capped at what it was due, so repeat visits cannot hide missed ones) and the coverage rate.
    ``buildings``: the viewer's ``buildings_frame`` at ``end`` when the caller has it already."""
    b = (buildings_frame(session, viewer, now=end) if buildings is None else buildings).copy()
    if b.empty:
        return pd.DataFrame(columns=["community_id", "community_zh", "community_en", "due", "made", "rate"])
    days = (end - start).total_seconds() / 86400
    b["due"] = np.ceil(days / b["interval_days"]).fillna(0)
    made = pd.DataFrame(
        session.exec(
            select(col(RentalPatrol.building_id), func.count())
            .where(col(RentalPatrol.visited_at) >= start, col(RentalPatrol.visited_at) < end)
            .group_by(col(RentalPatrol.building_id))
        ).all(),
        columns=["id", "made"],
    )
    b = b.merge(made, on="id", how="left").fillna({"made": 0})
    b["made"] = np.minimum(b["made"], b["due"])
    out = b.groupby(["community_id", "community_zh", "community_en"], as_index=False)[["due", "made"]].sum()
    out["rate"] = np.where(out["due"] > 0, out["made"] / out["due"] * 100, np.nan)
    return out


def grading_history(session: Session, viewer: Viewer, building_id: int) -> pd.DataFrame:
    """A building's gradings, newest first (managers of the building's grid)."""
    if not viewer.is_manager:
        raise ScopeError("scope.err.manager_grading_history")
    building = session.get(RentalBuilding, building_id)
    if building is not None:
        _ensure_manages_building(session, viewer, building)
    rows = session.exec(
        select(RentalGrading)
        .where(col(RentalGrading.building_id) == building_id)
        .order_by(col(RentalGrading.graded_at).desc())
    ).all()
    return pd.DataFrame(
        [r.model_dump() for r in rows],
        columns=["id", "building_id", "graded_at", "grade", "score", "scores_json", "veto_json", "graded_by"],
    )


def patrol_figures(
    session: Session, *, now: datetime, periods: tuple[str, str] | None = None
) -> pd.DataFrame:
    """出租屋巡查覆盖率 per worker × month: patrols due from each building's grade interval over the days it
    was graded in that month, patrols made capped at what was due. Credited to the building's patrol
    worker, else the worker of its grid."""
    cols = ["worker_id", "period", "metric", "numerator", "denominator"]
    b = pd.DataFrame(
        session.execute(
            sa_select(
                col(RentalBuilding.id),
                col(RentalBuilding.grid_id),
                col(RentalBuilding.grade),
                col(RentalBuilding.graded_at),
                col(RentalBuilding.patrol_assignee_id),
            ).where(col(RentalBuilding.grade).is_not(None))
        ).all(),
        columns=["id", "grid_id", "grade", "graded_at", "assignee"],
    )
    if b.empty:
        return pd.DataFrame(columns=cols)
    grid_worker = pd.DataFrame(
        session.exec(
            select(col(Worker.grid_id), func.min(col(Worker.id)))
            .where(col(Worker.status) == WorkerStatus.ACTIVE.value)
            .group_by(col(Worker.grid_id))
        ).all(),
        columns=["grid_id", "gw"],
    )
    b = b.merge(grid_worker, on="grid_id", how="left")
    b["worker_id"] = b["assignee"].fillna(b["gw"])
    b = b[b["worker_id"].notna()]
    first = pd.to_datetime(b["graded_at"]).min().to_period("M")
    months = pd.period_range(first, pd.Timestamp(now).to_period("M"), freq="M")
    if periods:
        months = months[(months.strftime("%Y-%m") >= periods[0]) & (months.strftime("%Y-%m") <= periods[1])]
    if b.empty or not len(months):
        return pd.DataFrame(columns=cols)
    grid = b.merge(pd.DataFrame({"month": months}), how="cross")
    start = np.maximum(grid["month"].dt.start_time, pd.to_datetime(grid["graded_at"]))
    end = np.minimum(grid["month"].dt.end_time, pd.Timestamp(now))
    days = ((end - start).dt.total_seconds() / 86400).clip(lower=0)
    grid["due"] = np.ceil(days / grid["grade"].map(patrol_interval_days()))
    made = pd.DataFrame(
        session.exec(select(RentalPatrol.building_id, RentalPatrol.visited_at)).all(),
        columns=["id", "visited_at"],
    )
    made["month"] = pd.to_datetime(made["visited_at"]).dt.to_period("M")
    counts = made.groupby(["id", "month"]).size().rename("made").reset_index()
    grid = grid.merge(counts, on=["id", "month"], how="left").fillna({"made": 0})
    grid["made"] = np.minimum(grid["made"], grid["due"])
    grid = grid[grid["due"] > 0]
    out = grid.groupby(["worker_id", "month"], as_index=False)[["made", "due"]].sum()
    return pd.DataFrame(
        {
            "worker_id": out["worker_id"].astype(int),
            "period": out["month"].dt.strftime("%Y-%m"),
            "metric": "rental_patrol_rate",
            "numerator": out["made"].astype(float),
            "denominator": out["due"].astype(float),
        }
    )
