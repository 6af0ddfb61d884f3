"""末位培训: the bottom of a scorecard placed in the training plan's bottom group and enrolled in its
remedial courses, by rule and idempotently (the group and the enrolment both have unique keys).

The share comes from the district's training plan for the period's year (``bottom_pct``); the ranking is
the district's (scores do not depend on who looks). Workers without a score are never "bottom".
"""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd
from sqlmodel import Session

from core import clock
from core.audit import record
from core.db import unit_of_work
from core.scheduler import JobSpec
from core.scope import SYSTEM, ScopeError, Viewer
from courses import api as courses_api
from evaluation.scoring import service
from evaluation.scoring.periods import parse_period


def bottom_of_scorecard(cards: pd.DataFrame, pct: float) -> pd.DataFrame:
    """The lowest ``pct`` % of scored cards (at least one when anyone is scored): worker_id, rank_pct."""
    scored = cards[cards["total"].notna()].sort_values(["total", "worker_id"])
    if scored.empty or pct <= 0:
        return pd.DataFrame(columns=["worker_id", "rank_pct"])
    n = max(1, math.floor(len(scored) * pct / 100))
    out = scored.head(n)[["worker_id"]].copy()
    out["rank_pct"] = [round(100.0 * (i + 1) / len(scored), 2) for i in range(n)]
    return out.reset_index(drop=True)


def enroll_bottom_group(
    session: Session, viewer: Viewer, *, period: str, now: datetime | None = None
) -> dict:
    """Place the bottom of ``period``'s scorecard in the plan's bottom group and enrol them in its remedial
    courses (district managers, or the job). Returns counts: placed, enrolled, bottom."""
    if not viewer.is_manager or viewer.scope_unit_id is not None:
        raise ScopeError("scope.err.district_remedial")
    now = now or clock.now()
    p = parse_period(period)
    plan = courses_api.remedial_plan(session, year=p.year)
    if plan["bottom_pct"] is None:
        return {"placed": 0, "enrolled": 0, "bottom": 0}
    result, _inputs, _sid = service.district_scorecards(session, viewer, p.label)
    bottom = bottom_of_scorecard(result.cards, float(plan["bottom_pct"])).assign(period=p.label)
    placed = courses_api.place_bottom_group(session, year=p.year, members=bottom, now=now)
    ids = bottom["worker_id"].astype(int).tolist()
    enrolled = (
        sum(
            courses_api.enroll_workers(
                session, viewer, course_code=code, worker_ids=ids, reason=f"末位培训 {p.label}"
            )
            for code in plan["courses"]
        )
        if ids
        else 0
    )
    if placed or enrolled:
        record(
            session,
            "training.remedial",
            viewer=viewer,
            entity="period",
            entity_id=p.label,
            after={"placed": placed, "enrolled": enrolled, "bottom_pct": plan["bottom_pct"]},
            detail={"worker_ids": ids},
        )
    return {"placed": placed, "enrolled": enrolled, "bottom": len(ids)}


def previous_quarter(now: datetime) -> str:
    q = (now.month - 1) // 3  # 0 = the first quarter is under way
    return f"{now.year - 1}-Q4" if q == 0 else f"{now.year}-Q{q}"


def remedial_job(now: datetime | None = None) -> int:
    """Quarterly: last quarter's bottom group into remedial training (idempotent)."""
    now = now or clock.now()
    period = previous_quarter(now)
    with unit_of_work() as session:
        return int(enroll_bottom_group(session, SYSTEM, period=period, now=now)["placed"])


JOBS: list[JobSpec] = [
    JobSpec(
        "training.remedial",
        "evaluation.scoring.remedial:remedial_job",
        {"trigger": "cron", "month": "1,4,7,10", "day": 5, "hour": 7, "minute": 0},
        "末位培训: last quarter's bottom group",
    ),
]


def seed_demo(ctx) -> None:  # noqa: ANN001 - core.demo.DemoContext
    """Demo: the bottom of the June 2020 scorecard into remedial training (core.demo extension)."""
    result = enroll_bottom_group(ctx.session, SYSTEM, period="2020-06", now=datetime(2020, 7, 5, 7))
    ctx.log(f"training: remedial group from the June scorecard: {result}")
