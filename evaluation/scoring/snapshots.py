"""Frozen monthly scorecards: revision 1 after the month closes, later revisions on recomputation,
each with the scheme version, the input row counts and what changed against the previous revision.

Idempotent by the unique key (period, revision): a repeated or concurrent freeze of the same month
finds the existing revision (or loses the insert race and reads the winner's row).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core.audit import record
from core.clock import now as clock_now
from core.db import get_engine, unit_of_work
from core.errors import GridwiseError
from core.models import Worker, row_id
from core.scope import SYSTEM, ScopeError, Viewer, worker_scope_clause
from core.sql import insert_ignore
from evaluation.scoring.compare import party_comparison
from evaluation.scoring.models_scoring import ScorecardComponentEntry, ScorecardEntry, ScorecardSnapshot
from evaluation.scoring.periods import months_between, parse_period
from evaluation.scoring.reports import bulletin_workbook
from evaluation.scoring.served import write_served
from evaluation.scoring.service import district_scorecards, months_with_figures

log = logging.getLogger(__name__)


def _ensure_district_wide(viewer: Viewer, what: str) -> None:
    """``what`` names the action's catalog key (``score.err.district_<what>``)."""
    if not viewer.is_admin and not (viewer.is_manager and viewer.scope_unit_id is None):
        raise ScopeError(f"score.err.district_{what}")


def latest_snapshot(session: Session, period: str) -> ScorecardSnapshot | None:
    return session.exec(
        select(ScorecardSnapshot)
        .where(ScorecardSnapshot.period == period)
        .order_by(col(ScorecardSnapshot.revision).desc())
    ).first()


def freeze_period(
    session: Session,
    period: str,
    *,
    viewer: Viewer,
    now: datetime | None = None,
    reason: str = "",
    new_revision: bool = False,
) -> tuple[ScorecardSnapshot, bool]:
    """Freeze ``period`` (a month). Without ``new_revision`` an existing snapshot is returned unchanged
    (``created`` False); with it the month is recomputed into the next revision."""
    p = parse_period(period)
    if p.kind != "month":
        raise GridwiseError("score.err.snapshot_monthly")
    _ensure_district_wide(viewer, "freeze")
    prev = latest_snapshot(session, p.label)
    if prev is not None and not new_revision:
        return prev, False
    result, inputs, scheme_id = district_scorecards(session, viewer, p.label)
    cards, comps = result.cards, result.components
    scored = cards[cards["scored"].astype(bool)]
    changes = {}
    if prev is not None:
        old, _ = snapshot_frames(session, viewer, row_id(prev.id))
        diff = diff_cards(old, cards)
        changes = {
            "previous_revision": prev.revision,
            "previous_scheme_version": prev.scheme_version,
            "changed_workers": int(len(diff)),
            "grade_changes": int((diff["old_grade"] != diff["new_grade"]).sum()) if len(diff) else 0,
            "max_abs_delta": float(diff["delta"].abs().max()) if len(diff) else 0.0,
        }
    values = dict(
        period=p.label,
        revision=(prev.revision + 1) if prev else 1,
        scheme_id=scheme_id,
        scheme_code=result.scheme.code,
        scheme_version=result.scheme.version,
        input_rows=json.dumps(inputs.row_counts(p.months)),
        changes=json.dumps(changes),
        workers_scored=int(len(scored)),
        mean_total=float(scored["total"].mean()) if len(scored) else None,
        reason=reason[:200],
        computed_by=viewer.user_id or None,
        computed_at=now or clock_now(),
    )
    # The unique (period, revision) decides a concurrent freeze of the same revision: the loser inserts
    # nothing and returns the winner's row, in its own transaction, with nothing else written.
    if not insert_ignore(session, ScorecardSnapshot, [values], ["period", "revision"]):
        existing = session.exec(
            select(ScorecardSnapshot).where(
                ScorecardSnapshot.period == p.label, ScorecardSnapshot.revision == values["revision"]
            )
        ).one()
        return existing, False
    snap = session.exec(
        select(ScorecardSnapshot).where(
            ScorecardSnapshot.period == p.label, ScorecardSnapshot.revision == values["revision"]
        )
    ).one()
    _write_entries(session, row_id(snap.id), cards, comps)
    # Served as frozen: readers of this month get exactly the frozen figures from now on.
    write_served(session, p.label, source="freeze", now=snap.computed_at, result=(result, inputs, scheme_id))
    figures = ("revision", "scheme_version", "workers_scored", "mean_total")
    record(
        session,
        "score.recompute" if prev else "score.freeze",
        viewer=viewer,
        entity="period",
        entity_id=p.label,
        before={k: getattr(prev, k) for k in figures} if prev else None,
        after={k: getattr(snap, k) for k in figures},
        detail={
            "scheme_code": snap.scheme_code,
            "workers": int(len(cards)),
            "reason": snap.reason,
            **changes,
        },
    )
    comparison = party_comparison(inputs.values, inputs.workers, inputs.registry, months=p.months)
    snap.bulletin = bulletin_workbook(
        session,
        period=p.label,
        cards=cards,
        comparison=comparison,
        scheme=result.scheme,
        revision=snap.revision,
        lang="zh",
        generated=(now or clock_now()).date(),
    )
    session.add(snap)
    session.flush()
    return snap, True


def _none(x: pd.Series) -> list:
    return [None if (v is None or (isinstance(v, float) and np.isnan(v))) else v for v in x.tolist()]


def _write_entries(session: Session, snapshot_id: int, cards: pd.DataFrame, comps: pd.DataFrame) -> None:
    if len(cards):
        c = cards
        session.execute(
            insert(ScorecardEntry),
            [
                {
                    "snapshot_id": snapshot_id,
                    "worker_id": int(w),
                    "total": tot,
                    "base": float(b),
                    "bonus": float(bo),
                    "deduction": float(d),
                    "grade": g,
                    "rank": None if r is None else int(r),
                    "coverage": float(cv),
                    "prorated": bool(pr),
                    "missing_components": str(m)[:500],
                }
                for w, tot, b, bo, d, g, r, cv, pr, m in zip(
                    c["worker_id"],
                    _none(c["total"]),
                    c["base"],
                    c["bonus"],
                    c["deduction"],
                    c["grade"],
                    _none(c["rank"]),
                    c["coverage"],
                    c["prorated"],
                    c["missing_components"],
                    strict=True,
                )
            ],
        )
    if len(comps):
        k = comps
        session.execute(
            insert(ScorecardComponentEntry),
            [
                {
                    "snapshot_id": snapshot_id,
                    "worker_id": int(w),
                    "component": comp,
                    "numerator": n,
                    "denominator": d,
                    "value": v,
                    "score": s,
                    "eff_weight": float(e),
                    "points": float(p),
                    "missing": bool(mi),
                    "formula": str(f)[:300],
                }
                for w, comp, n, d, v, s, e, p, mi, f in zip(
                    k["worker_id"],
                    k["component"],
                    _none(k["numerator"]),
                    _none(k["denominator"]),
                    _none(k["value"]),
                    _none(k["score"]),
                    k["eff_weight"],
                    k["points"],
                    k["missing"],
                    k["formula"],
                    strict=True,
                )
            ],
        )


def snapshot_frames(session: Session, viewer: Viewer, snapshot_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A frozen revision's cards and components for the workers in the viewer's scope."""
    in_scope = select(Worker.id).where(worker_scope_clause(viewer))
    cards = pd.DataFrame(
        session.execute(
            sa_select(
                col(ScorecardEntry.worker_id),
                col(ScorecardEntry.total),
                col(ScorecardEntry.grade),
                col(ScorecardEntry.rank),
                col(ScorecardEntry.base),
                col(ScorecardEntry.bonus),
                col(ScorecardEntry.deduction),
                col(ScorecardEntry.coverage),
                col(ScorecardEntry.prorated),
                col(ScorecardEntry.missing_components),
            ).where(
                col(ScorecardEntry.snapshot_id) == snapshot_id, col(ScorecardEntry.worker_id).in_(in_scope)
            )
        ).all(),
        columns=[
            "worker_id",
            "total",
            "grade",
            "rank",
            "base",
            "bonus",
            "deduction",
            "coverage",
            "prorated",
            "missing_components",
        ],
    )
    comps = pd.DataFrame(
        session.execute(
            sa_select(
                col(ScorecardComponentEntry.worker_id),
                col(ScorecardComponentEntry.component),
                col(ScorecardComponentEntry.numerator),
                col(ScorecardComponentEntry.denominator),
                col(ScorecardComponentEntry.value),
                col(ScorecardComponentEntry.score),
                col(ScorecardComponentEntry.eff_weight),
                col(ScorecardComponentEntry.points),
                col(ScorecardComponentEntry.missing),
                col(ScorecardComponentEntry.formula),
            ).where(
                col(ScorecardComponentEntry.snapshot_id) == snapshot_id,
                col(ScorecardComponentEntry.worker_id).in_(in_scope),
            )
        ).all(),
        columns=[
            "worker_id",
            "component",
            "numerator",
            "denominator",
            "value",
            "score",
            "eff_weight",
            "points",
            "missing",
            "formula",
        ],
    )
    return cards, comps


def diff_cards(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Workers whose total (beyond 0.005) or grade differs between two revisions."""
    m = old[["worker_id", "total", "grade"]].merge(
        new[["worker_id", "total", "grade"]], on="worker_id", how="outer", suffixes=("_old", "_new")
    )
    m = m.rename(
        columns={
            "total_old": "old_total",
            "total_new": "new_total",
            "grade_old": "old_grade",
            "grade_new": "new_grade",
        }
    )
    m["delta"] = m["new_total"] - m["old_total"]
    changed = (
        (m["delta"].abs() > 0.005)
        | (m["old_grade"].fillna("") != m["new_grade"].fillna(""))
        | (m["old_total"].isna() != m["new_total"].isna())
    )
    return m[changed].sort_values("delta", key=lambda s: -s.abs()).reset_index(drop=True)


def snapshots_frame(session: Session) -> pd.DataFrame:
    rows = session.execute(
        sa_select(
            col(ScorecardSnapshot.id),
            col(ScorecardSnapshot.period),
            col(ScorecardSnapshot.revision),
            col(ScorecardSnapshot.scheme_code),
            col(ScorecardSnapshot.scheme_version),
            col(ScorecardSnapshot.workers_scored),
            col(ScorecardSnapshot.mean_total),
            col(ScorecardSnapshot.input_rows),
            col(ScorecardSnapshot.changes),
            col(ScorecardSnapshot.reason),
            col(ScorecardSnapshot.computed_at),
        ).order_by(col(ScorecardSnapshot.period).desc(), col(ScorecardSnapshot.revision).desc())
    ).all()
    return pd.DataFrame(
        rows,
        columns=[
            "id",
            "period",
            "revision",
            "scheme_code",
            "scheme_version",
            "workers_scored",
            "mean_total",
            "input_rows",
            "changes",
            "reason",
            "computed_at",
        ],
    )


def bulletin_bytes(session: Session, viewer: Viewer, snapshot_id: int) -> bytes | None:
    """The district bulletin (every worker's result) of a frozen revision: district-wide viewers only."""
    _ensure_district_wide(viewer, "bulletin")
    snap = session.get(ScorecardSnapshot, snapshot_id)
    return snap.bulletin if snap else None


def months_to_freeze(session: Session, now: datetime, lookback: int = 12) -> list[str]:
    """Closed months (before ``now``'s month) within ``lookback`` that have field figures and no snapshot."""
    this_month = f"{now.year}-{now.month:02d}"
    y, m = now.year, now.month - lookback
    while m < 1:
        y, m = y - 1, m + 12
    first = f"{y}-{m:02d}"
    with_data = {m for m in months_with_figures(session, below=this_month, last=lookback) if m >= first}
    frozen = set(session.exec(select(ScorecardSnapshot.period).group_by(ScorecardSnapshot.period)).all())
    return [p for p in months_between(first, this_month) if p in with_data and p not in frozen]


def freeze_closed_months(now: datetime | None = None, engine=None) -> dict[str, int]:  # noqa: ANN001
    """Scheduler job: freeze every closed month not yet frozen (and write its bulletin), each month in a unit
    of work of its own (a month frozen stays frozen if a later one fails; a rerun freezes the rest)."""
    at = now or clock_now()
    frozen = 0
    with Session(engine or get_engine()) as session:
        periods = months_to_freeze(session, at)
    for period in periods:
        with unit_of_work(engine) as session:
            _, created = freeze_period(session, period, viewer=SYSTEM, now=at, reason="scheduled freeze")
        frozen += int(created)
        log.info("froze scorecards for %s", period)
    return {"frozen": frozen}
