"""Deduction and bonus cases (弄虚作假, 漏报, 表彰 …) a manager records for a worker and month."""

from __future__ import annotations

from sqlmodel import Session, select

from core.audit import record
from core.clock import now as clock_now
from core.errors import GridwiseError
from core.models import Worker
from core.scope import ScopeError, Viewer, ensure_can_see_worker
from evaluation.scoring.models_scoring import ScoreAdjustment
from evaluation.scoring.periods import parse_period
from evaluation.scoring.served import refresh_after_write
from evaluation.scoring.store import active_scheme


def record_adjustment(
    session: Session, viewer: Viewer, *, worker_id: int, period: str, code: str, cases: int, note: str = ""
) -> ScoreAdjustment:
    """Set the number of cases of ``code`` for a worker and month (idempotent: replaces the count)."""
    if not viewer.is_manager:
        raise ScopeError("score.err.adjust_managers_only")
    worker = ensure_can_see_worker(viewer, session.get(Worker, worker_id))
    p = parse_period(period)
    if p.kind != "month":
        raise GridwiseError("score.err.adjust_month_only", period=period)
    scheme, _ = active_scheme(session)
    if code not in {a.code for a in scheme.adjustments}:
        raise GridwiseError("score.err.adjust_unknown_code", code=code)
    if cases < 0:
        raise GridwiseError("score.err.adjust_negative")
    row = session.exec(
        select(ScoreAdjustment).where(
            ScoreAdjustment.worker_id == worker_id,
            ScoreAdjustment.period == p.label,
            ScoreAdjustment.code == code,
        )
    ).first()
    record(
        session,
        "score.adjustment",
        viewer=viewer,
        entity="worker",
        entity_id=worker.employee_no,
        before={"cases": row.cases if row else 0, "note": row.note if row else ""},
        after={"cases": cases, "note": note[:500]},
        detail={"period": p.label, "code": code},
    )
    if row is None:
        row = ScoreAdjustment(worker_id=worker_id, period=p.label, code=code)
    row.cases, row.note = cases, note[:500]
    row.created_by, row.created_at = viewer.user_id or None, clock_now()
    session.add(row)
    session.flush()
    refresh_after_write(session, p.label)  # the served scorecards of that month follow the write
    return row
