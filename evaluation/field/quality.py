"""Data-quality checks the article describes, each a set operation, and the verification (核查) tasks
raised from them — one per problem, keyed by (kind, ref_key), so a repeated run raises nothing twice.

- address_codes: one standard address carrying several house codes (标准地址 ↔ 房屋编码, ~8000 records)
- visit_overflow: a worker's house visits on one day beyond what a day allows
- duplicate_event: the same item reported twice for the same building within a day
- reversed_dereg: a deregistration later reversed (异常注销)
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import func, insert
from sqlalchemy import select as sa_select  # more columns than sqlmodel's select is typed for
from sqlmodel import Session, col, select

from core.audit import record
from core.models import OrgLevel, OrgUnit, Worker
from core.privacy import mask_reference
from core.scope import ScopeError, Viewer, unit_scope_clause
from evaluation.field.models import Deregistration, Event, HouseRecord, VerificationTask, VisitDay
from evaluation.field.registry import field_now

KINDS = ("address_codes", "visit_overflow", "duplicate_event", "reversed_dereg")
# 8 working hours at ~7 minutes per house at the quickest: more than this in a day is not credible.
MAX_VISITS_PER_DAY = 70
DUPLICATE_WINDOW = timedelta(days=1)
VERIFY_DAYS = 7  # a verification task is due a week after it is raised


def _scoped_units(viewer: Viewer):  # noqa: ANN202
    return select(OrgUnit.id).where(unit_scope_clause(viewer))


def address_codes(session: Session, viewer: Viewer) -> pd.DataFrame:
    """House records whose standard address carries more than one house code."""
    multi = (
        select(col(HouseRecord.standard_address))
        .group_by(col(HouseRecord.standard_address))
        .having(func.count(func.distinct(col(HouseRecord.house_code))) > 1)
        .subquery()
    )
    stmt = (
        sa_select(
            col(HouseRecord.standard_address),
            col(HouseRecord.house_code),
            col(HouseRecord.community_id),
            col(HouseRecord.grid_id),
            col(HouseRecord.worker_id),
            col(Worker.name),
        )
        .join(multi, multi.c.standard_address == col(HouseRecord.standard_address))
        .outerjoin(Worker, col(Worker.id) == col(HouseRecord.worker_id))
        .where(col(HouseRecord.community_id).in_(_scoped_units(viewer)))
        .order_by(col(HouseRecord.standard_address), col(HouseRecord.house_code))
    )
    return pd.DataFrame(
        session.execute(stmt).all(),
        columns=["standard_address", "house_code", "community_id", "grid_id", "worker_id", "worker_name"],
    )


def visit_overflow(session: Session, viewer: Viewer, *, limit: int = MAX_VISITS_PER_DAY) -> pd.DataFrame:
    stmt = (
        sa_select(
            col(VisitDay.worker_id),
            col(Worker.employee_no),
            col(Worker.name),
            col(VisitDay.day),
            col(VisitDay.visits),
            col(Worker.community_id),
            col(Worker.grid_id),
        )
        .join(Worker, col(Worker.id) == col(VisitDay.worker_id))
        .where(col(VisitDay.visits) > limit, col(Worker.community_id).in_(_scoped_units(viewer)))
        .order_by(col(VisitDay.visits).desc())
    )
    return pd.DataFrame(
        session.execute(stmt).all(),
        columns=["worker_id", "employee_no", "name", "day", "visits", "community_id", "grid_id"],
    )


def duplicate_events(session: Session, viewer: Viewer) -> pd.DataFrame:
    """Later reports of the same item for the same building within a day of the previous one."""
    stmt = sa_select(
        col(Event.id),
        col(Event.event_no),
        col(Event.item_code),
        col(Event.building_code),
        col(Event.reported_at),
        col(Event.community_id),
        col(Event.grid_id),
        col(Event.lat),
        col(Event.lon),
        col(Event.reporter_id),
    ).where(
        col(Event.building_code).is_not(None),
        col(Event.reported_at).is_not(None),
        col(Event.community_id).in_(_scoped_units(viewer)),
    )
    ev = pd.DataFrame(
        session.execute(stmt).all(),
        columns=[
            "id",
            "event_no",
            "item_code",
            "building_code",
            "reported_at",
            "community_id",
            "grid_id",
            "lat",
            "lon",
            "reporter_id",
        ],
    )
    if ev.empty:
        return ev.assign(first_event_no=pd.Series(dtype=str))
    ev = ev.sort_values(["item_code", "building_code", "reported_at", "id"], kind="stable")
    grp = ev.groupby(["item_code", "building_code"], sort=False)
    gap = ev["reported_at"] - grp["reported_at"].shift()
    ev["first_event_no"] = grp["event_no"].shift()
    return ev[gap <= DUPLICATE_WINDOW].reset_index(drop=True)


def reversed_deregistrations(session: Session, viewer: Viewer) -> pd.DataFrame:
    stmt = (
        sa_select(
            col(Deregistration.person_ref),
            col(Deregistration.reason),
            col(Deregistration.deregistered_at),
            col(Deregistration.reversed_at),
            col(Deregistration.worker_id),
            col(Deregistration.community_id),
            col(Deregistration.grid_id),
            col(Worker.name),
        )
        .outerjoin(Worker, col(Worker.id) == col(Deregistration.worker_id))
        .where(
            col(Deregistration.reversed_at).is_not(None),
            col(Deregistration.community_id).in_(_scoped_units(viewer)),
        )
        .order_by(col(Deregistration.reversed_at).desc())
    )
    return pd.DataFrame(
        session.execute(stmt).all(),
        columns=[
            "person_ref",
            "reason",
            "deregistered_at",
            "reversed_at",
            "worker_id",
            "community_id",
            "grid_id",
            "worker_name",
        ],
    )


CHECKS = {
    "address_codes": address_codes,
    "visit_overflow": visit_overflow,
    "duplicate_event": duplicate_events,
    "reversed_dereg": reversed_deregistrations,
}


def quality_results(session: Session, viewer: Viewer) -> dict[str, pd.DataFrame]:
    """Every check's flagged rows in the viewer's scope, each check run once (the page's summary and its
    drill-down read these, so no check runs twice per view)."""
    return {kind: check(session, viewer) for kind, check in CHECKS.items()}


def quality_summary(
    session: Session, viewer: Viewer, *, results: dict[str, pd.DataFrame] | None = None
) -> pd.DataFrame:
    """Flagged rows per community and check (address_codes counts addresses, not records), from
    ``results`` (``quality_results``) when given."""
    counts = {kind: pd.Series(dtype=int) for kind in KINDS}
    for kind, rows in (results or quality_results(session, viewer)).items():
        if rows.empty:
            continue
        if kind == "address_codes":
            rows = rows.drop_duplicates("standard_address")
        counts[kind] = rows.groupby("community_id").size()
    return per_community(session, viewer, counts)


def per_community(session: Session, viewer: Viewer, counts: dict[str, pd.Series]) -> pd.DataFrame:
    """The data-quality table of the viewer's communities (community_id, name_zh, name_en; in code order):
    a column per entry of ``counts`` (a figure per community_id; 0 where it has none) and ``total``, the sum
    of the checks' columns (``KINDS``). Shared by the summary computed here and the served one
    (``evaluation.field.findings.served_summary``)."""
    out = pd.DataFrame(
        session.exec(
            select(OrgUnit.id, OrgUnit.name_zh, OrgUnit.name_en)
            .where(OrgUnit.level == OrgLevel.COMMUNITY.value, unit_scope_clause(viewer))
            .order_by(OrgUnit.code)
        ).all(),
        columns=["community_id", "name_zh", "name_en"],
    )
    for name, figures in counts.items():
        out[name] = out["community_id"].map(figures).fillna(0).astype(int)
    out["total"] = out[list(KINDS)].sum(axis=1)
    return out


def _candidates(results: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every flagged problem of ``results`` (``quality_results``) as a prospective task: kind, ref_key,
    community, grid, titles."""
    parts = []
    a = results["address_codes"]
    if len(a):
        g = (
            a.groupby("standard_address")
            .agg(
                community_id=("community_id", "first"),
                grid_id=("grid_id", "first"),
                codes=("house_code", lambda s: ", ".join(sorted(s)[:4])),  # for the English title
                n=("house_code", "nunique"),
            )
            .reset_index()
        )
        parts.append(
            pd.DataFrame(
                {
                    "kind": "address_codes",
                    "ref_key": g["standard_address"],
                    "community_id": g["community_id"],
                    "grid_id": g["grid_id"],
                    "title_zh": "核查房屋编码:"
                    + g["standard_address"]
                    + " 有 "
                    + g["n"].astype(str)
                    + " 个编码",
                    "title_en": "Check house codes: "
                    + g["n"].astype(str)
                    + " codes at one address ("
                    + g["codes"]
                    + ")",
                }
            )
        )
    v = results["visit_overflow"]
    if len(v):
        day = pd.to_datetime(v["day"]).dt.strftime("%Y-%m-%d")
        parts.append(
            pd.DataFrame(
                {
                    "kind": "visit_overflow",
                    "ref_key": v["worker_id"].astype(str) + "@" + day,
                    "community_id": v["community_id"],
                    "grid_id": v["grid_id"],
                    "title_zh": "核查走访记录:"
                    + v["name"]
                    + " "
                    + day
                    + " 走访 "
                    + v["visits"].astype(str)
                    + " 间次",
                    "title_en": "Check visits: "
                    + v["employee_no"]
                    + " logged "
                    + v["visits"].astype(str)
                    + " on "
                    + day,
                }
            )
        )
    d = results["duplicate_event"]
    if len(d):
        parts.append(
            pd.DataFrame(
                {
                    "kind": "duplicate_event",
                    "ref_key": d["event_no"],
                    "community_id": d["community_id"],
                    "grid_id": d["grid_id"],
                    "title_zh": "核查重复上报:"
                    + d["event_no"]
                    + " 与 "
                    + d["first_event_no"]
                    + " 同楼栋同事项",
                    "title_en": "Check duplicate report: "
                    + d["event_no"]
                    + " repeats "
                    + d["first_event_no"],
                }
            )
        )
    r = results["reversed_dereg"]
    if len(r):
        masked_refs = r["person_ref"].map(mask_reference)
        parts.append(
            pd.DataFrame(
                {
                    "kind": "reversed_dereg",
                    "ref_key": r["person_ref"],
                    "community_id": r["community_id"],
                    "grid_id": r["grid_id"],
                    # The title names the resident's record masked (the full one is the task's key only).
                    "title_zh": "核查异常注销:" + masked_refs + " 注销后又恢复",
                    "title_en": "Check abnormal deregistration: " + masked_refs + " was reversed",
                }
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def raise_verification_tasks(
    session: Session,
    viewer: Viewer,
    *,
    now: datetime | None = None,
    results: dict[str, pd.DataFrame] | None = None,
) -> dict[str, int]:
    """Create a verification task for every flagged problem in the viewer's scope that has none yet, with one
    audit entry naming the counts; returns new tasks per kind. Managers only (the data-quality job and the
    CLI act as core.scope.SYSTEM, the whole district). ``results``: the checks' rows when the caller has
    just run them for this viewer (``quality_results``); else they run here."""
    if not viewer.is_manager:
        raise ScopeError("scope.err.manager_verification")
    at = field_now(session, now)
    cand = _candidates(quality_results(session, viewer) if results is None else results)
    out = dict.fromkeys(KINDS, 0)
    if cand.empty:
        return out
    have = pd.DataFrame(
        session.exec(select(VerificationTask.kind, VerificationTask.ref_key)).all(),
        columns=["kind", "ref_key"],
    )
    cand = cand.merge(have.assign(_have=True), on=["kind", "ref_key"], how="left")
    new = cand[cand["_have"].isna()].drop(columns="_have").drop_duplicates(["kind", "ref_key"])
    if new.empty:
        return out
    grids = pd.DataFrame(
        session.exec(
            select(OrgUnit.id, OrgUnit.lat, OrgUnit.lon).where(OrgUnit.level == OrgLevel.GRID.value)
        ).all(),
        columns=["grid_id", "lat", "lon"],
    )
    new = new.merge(grids, on="grid_id", how="left")
    new["ref_key"] = new["ref_key"].str.slice(0, 200)
    new = new.assign(state="open", created_at=at, due_at=at + timedelta(days=VERIFY_DAYS))
    recs = new.astype(object).where(new.notna(), None).to_dict("records")
    session.execute(insert(VerificationTask), recs)
    counts = new["kind"].value_counts()
    made = {k: int(counts.get(k, 0)) for k in KINDS}
    record(
        session,
        "field.verification.raise",
        viewer=viewer,
        entity="scope",
        entity_id=viewer.scope_unit_id or "district",
        after=made,
        detail={"communities": sorted(int(c) for c in new["community_id"].dropna().unique())},
    )
    return made


def verification_tasks(session: Session, viewer: Viewer, *, state: str | None = "open") -> pd.DataFrame:
    stmt = (
        sa_select(
            col(VerificationTask.id),
            col(VerificationTask.kind),
            col(VerificationTask.ref_key),
            col(VerificationTask.community_id),
            col(VerificationTask.title_zh),
            col(VerificationTask.title_en),
            col(VerificationTask.state),
            col(VerificationTask.created_at),
            col(VerificationTask.due_at),
            col(VerificationTask.assignee_id),
        )
        .where(col(VerificationTask.community_id).in_(_scoped_units(viewer)))
        .order_by(col(VerificationTask.id))
    )
    if state:
        stmt = stmt.where(col(VerificationTask.state) == state)
    return pd.DataFrame(
        session.execute(stmt).all(),
        columns=[
            "id",
            "kind",
            "ref_key",
            "community_id",
            "title_zh",
            "title_en",
            "state",
            "created_at",
            "due_at",
            "assignee_id",
        ],
    )
