"""Data-quality results, served: the daily data-quality job (and a manager's 重新检查 or 生成核查任务) runs the
checks of evaluation.field.quality once and keeps what they flag — the rows in field_quality_finding, the
problems and rows per community and check with the time of the check in field_quality_check. The 数据质量
page reads those by the viewer's scope and never runs a check: its cost follows its answer, not the history
behind it.

A run replaces the rows of its scope in the caller's transaction (domain functions flush, never commit): run
it twice, the same rows. Two runs at once cannot both keep their rows: the second one's run record collides
with the first one's on (community, kind) and it rolls back.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import delete, func, insert
from sqlalchemy import select as sa_select  # more columns than sqlmodel's select is typed for
from sqlmodel import Session, col, select

from core.audit import record
from core.models import OrgLevel, OrgUnit, Worker
from core.scope import ScopeError, Viewer, unit_scope_clause
from evaluation.field.models import QualityCheck, QualityFinding
from evaluation.field.quality import KINDS, per_community, quality_results, raise_verification_tasks
from evaluation.field.registry import field_now

DRILL_LIMIT = 500  # drill-down rows read for the screen; the CSV has them all

# Per check: the finding columns its drill-down reads, under the names the check's own rows use (so
# ui.data_quality_view.drill_table labels both alike).
_READ: dict[str, dict[str, str]] = {
    "address_codes": {
        "ref_key": "standard_address",
        "house_code": "house_code",
        "community_id": "community_id",
        "grid_id": "grid_id",
        "worker_id": "worker_id",
        "worker_name": "worker_name",
    },
    "visit_overflow": {
        "worker_id": "worker_id",
        "employee_no": "employee_no",
        "worker_name": "name",
        "day": "day",
        "visits": "visits",
        "community_id": "community_id",
        "grid_id": "grid_id",
    },
    "duplicate_event": {
        "ref_key": "event_no",
        "first_event_no": "first_event_no",
        "item_code": "item_code",
        "building_code": "building_code",
        "reported_at": "reported_at",
        "community_id": "community_id",
        "grid_id": "grid_id",
        "worker_id": "reporter_id",
    },
    "reversed_dereg": {
        "ref_key": "person_ref",
        "reason": "reason",
        "deregistered_at": "deregistered_at",
        "reversed_at": "reversed_at",
        "worker_id": "worker_id",
        "community_id": "community_id",
        "grid_id": "grid_id",
        "worker_name": "worker_name",
    },
}
_ID_COLUMNS = ("community_id", "grid_id", "worker_id", "visits")


def _scoped_units(viewer: Viewer):  # noqa: ANN202
    return select(OrgUnit.id).where(unit_scope_clause(viewer))


def _as_findings(results: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The checks' rows (``quality_results``) as finding rows, numbered in each check's order."""
    a, v = results["address_codes"], results["visit_overflow"]
    d, r = results["duplicate_event"], results["reversed_dereg"]
    day = pd.to_datetime(v["day"]).dt.strftime("%Y-%m-%d")
    parts = [
        pd.DataFrame(
            {
                "kind": "address_codes",
                "ref_key": a["standard_address"],
                "house_code": a["house_code"],
                "worker_id": a["worker_id"],
                "community_id": a["community_id"],
                "grid_id": a["grid_id"],
            }
        ),
        pd.DataFrame(
            {
                "kind": "visit_overflow",
                "ref_key": v["worker_id"].astype(str) + "@" + day,  # the verification task's key
                "worker_id": v["worker_id"],
                "day": v["day"],
                "visits": v["visits"],
                "community_id": v["community_id"],
                "grid_id": v["grid_id"],
            }
        ),
        pd.DataFrame(
            {
                "kind": "duplicate_event",
                "ref_key": d["event_no"],
                "first_event_no": d["first_event_no"],
                "item_code": d["item_code"],
                "building_code": d["building_code"],
                "reported_at": d["reported_at"],
                "worker_id": d["reporter_id"],
                "community_id": d["community_id"],
                "grid_id": d["grid_id"],
            }
        ),
        pd.DataFrame(
            {
                "kind": "reversed_dereg",
                "ref_key": r["person_ref"],
                "reason": r["reason"],
                "deregistered_at": r["deregistered_at"],
                "reversed_at": r["reversed_at"],
                "worker_id": r["worker_id"],
                "community_id": r["community_id"],
                "grid_id": r["grid_id"],
            }
        ),
    ]
    parts = [p.assign(seq=range(len(p))) for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=["kind", "ref_key", "community_id", "seq"])
    out = pd.concat(parts, ignore_index=True)
    out["ref_key"] = out["ref_key"].astype(str).str.slice(0, 200)
    for name in _ID_COLUMNS:
        if name in out:
            out[name] = pd.to_numeric(out[name]).astype("Int64")
    return out


def _keep_findings(
    session: Session, viewer: Viewer, results: dict[str, pd.DataFrame], *, at: datetime
) -> dict[str, int]:
    """Replace the findings and run records of the viewer's scope with ``results`` (the checks just run for
    this viewer), checked at ``at``; returns the problems found per check."""
    scoped = _scoped_units(viewer)
    # The run records first: a second run at the same time waits here, then collides on their key.
    session.execute(delete(QualityCheck).where(col(QualityCheck.community_id).in_(scoped)))
    session.execute(delete(QualityFinding).where(col(QualityFinding.community_id).in_(scoped)))
    rows = _as_findings(results)
    if len(rows):
        kept = rows.assign(found_at=at)
        session.execute(
            insert(QualityFinding), kept.astype(object).where(kept.notna(), None).to_dict("records")
        )
    communities = session.exec(
        select(OrgUnit.id).where(OrgUnit.level == OrgLevel.COMMUNITY.value, unit_scope_clause(viewer))
    ).all()
    counts = rows.groupby(["community_id", "kind"]).agg(
        problems=("ref_key", "nunique"), rows=("ref_key", "size")
    )
    everyone = sorted({c for c in communities if c is not None} | {int(c) for c, _ in counts.index})
    grid = pd.MultiIndex.from_product([everyone, KINDS], names=["community_id", "kind"])
    counts = counts.reindex(grid, fill_value=0).reset_index()
    by = viewer.user_id or None  # 0: the job's or the CLI's system viewer
    session.execute(
        insert(QualityCheck),
        [
            {
                "community_id": int(c),
                "kind": k,
                "problems": int(p),
                "rows": int(n),
                "checked_at": at,
                "checked_by": by,
            }
            for c, k, p, n in counts[["community_id", "kind", "problems", "rows"]].itertuples(index=False)
        ],
    )
    session.flush()
    found = counts.groupby("kind")["problems"].sum()
    return {k: int(found.get(k, 0)) for k in KINDS}


def run_checks(
    session: Session, viewer: Viewer, *, now: datetime | None = None, raise_tasks: bool = False
) -> dict[str, dict[str, int]]:
    """Run every data-quality check over the viewer's scope once, keep the findings (``_keep_findings``)
    and, with ``raise_tasks``, raise a verification task for each new problem from the same rows. One audit
    entry for the check (and the task raise's own). Managers only; the daily job acts as core.scope.SYSTEM.

    Returns ``{"found": problems per check, "raised": new tasks per check}``."""
    if not viewer.is_manager:
        raise ScopeError("scope.err.manager_verification")
    at = field_now(session, now)
    results = quality_results(session, viewer)
    found = _keep_findings(session, viewer, results, at=at)
    record(
        session,
        "field.quality.check",
        viewer=viewer,
        entity="scope",
        entity_id=viewer.scope_unit_id or "district",
        after=found,
    )
    raised = (
        raise_verification_tasks(session, viewer, now=at, results=results)
        if raise_tasks
        else dict.fromkeys(KINDS, 0)
    )
    return {"found": found, "raised": raised}


def served_summary(session: Session, viewer: Viewer) -> pd.DataFrame:
    """Problems per community in the viewer's scope and check, as the last run found them: one row per
    community (community_id, name_zh, name_en, one column per check, total) plus ``<check>_rows``, the
    findings behind each figure. Reads the run records only (communities × checks rows)."""
    counts = pd.DataFrame(
        session.execute(
            sa_select(
                col(QualityCheck.community_id),
                col(QualityCheck.kind),
                col(QualityCheck.problems),
                col(QualityCheck.rows),
            ).where(col(QualityCheck.community_id).in_(_scoped_units(viewer)))
        ).all(),
        columns=["community_id", "kind", "problems", "rows"],
    )
    wide = counts.pivot_table(
        index="community_id", columns="kind", values=["problems", "rows"], aggfunc="sum", fill_value=0
    )
    figures: dict[str, pd.Series] = {}
    for kind in KINDS:
        for what, name in (("problems", kind), ("rows", f"{kind}_rows")):
            figures[name] = wide[(what, kind)] if (what, kind) in wide.columns else pd.Series(dtype=int)
    return per_community(session, viewer, figures)


def checked_at(session: Session, viewer: Viewer) -> datetime | None:
    """When the figures of the viewer's scope were checked: the oldest check among its communities (a
    community manager's 重新检查 makes only theirs newer); None before the first run."""
    return session.exec(
        select(func.min(QualityCheck.checked_at)).where(
            col(QualityCheck.community_id).in_(_scoped_units(viewer))
        )
    ).one()


def finding_rows(
    session: Session,
    viewer: Viewer,
    kind: str,
    *,
    community_id: int | None = None,
    limit: int | None = DRILL_LIMIT,
) -> pd.DataFrame:
    """The findings of one check in the viewer's scope (one community's when given), in the check's order,
    at most ``limit`` (None: all, for the CSV); columns named as the check's own rows."""
    names = _READ[kind]  # a KeyError for a kind that is no check
    f = QualityFinding
    columns = [
        col(f.ref_key),
        col(f.house_code),
        col(f.community_id),
        col(f.grid_id),
        col(f.worker_id),
        col(Worker.name).label("worker_name"),
        col(Worker.employee_no),
        col(f.day),
        col(f.visits),
        col(f.first_event_no),
        col(f.item_code),
        col(f.building_code),
        col(f.reported_at),
        col(f.reason),
        col(f.deregistered_at),
        col(f.reversed_at),
    ]
    stmt = (
        sa_select(*columns)
        .outerjoin(Worker, col(Worker.id) == col(f.worker_id))
        .where(col(f.kind) == kind)
        .order_by(col(f.seq))
    )
    # Findings belong to communities: the scope's communities, read first (a few dozen ids), let one community
    # be an equality — the (kind, community, seq) index then gives its rows in order, no sort — and a
    # district's many walk the (kind, seq) index until the page is full, whatever the history behind it.
    communities = [
        c
        for c in session.exec(
            select(OrgUnit.id).where(OrgUnit.level == OrgLevel.COMMUNITY.value, unit_scope_clause(viewer))
        ).all()
        if community_id is None or c == community_id
    ]
    if len(communities) == 1:
        stmt = stmt.where(col(f.community_id) == communities[0])
    else:
        stmt = stmt.where(col(f.community_id).in_(communities))
    if limit is not None:
        stmt = stmt.limit(limit)
    res = session.execute(stmt)
    frame = pd.DataFrame(res.all(), columns=list(res.keys()))
    return frame[list(names)].rename(columns=names)
