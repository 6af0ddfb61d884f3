"""Annual training plans per level and what they ask of each worker.

A worker's duty for a year is the sum of the plans of their district, subdistrict and community (each
level adds to the one above). Per worker group a plan sets hours (and, for new hires, the window after the
hire date; for the bottom group, the share of the scorecard); where two levels set a window or a share, the
lower level's number wins. Required hours "to date" accrue evenly over the year from the later of 1 January
and the hire date; new-hire hours accrue over their window and are due in full at its end.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Select, delete
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core import clock
from core.audit import record
from core.models import OrgLevel, OrgUnit, Worker, WorkerStatus, row_id
from core.scope import ScopeError, Viewer, in_scope, worker_scope_clause
from core.sql import frame, insert_ignore
from courses.catalog import course_by_code
from courses.models import Course
from courses.training.errors import TrainingError
from courses.training.models import GroupMember, PlanCourse, PlanRequirement, TrainingPlan, WorkerGroup

PLAN_LEVELS = (OrgLevel.DISTRICT.value, OrgLevel.SUBDISTRICT.value, OrgLevel.COMMUNITY.value)
LEVEL_ORDER = {lvl: i for i, lvl in enumerate(PLAN_LEVELS)}
GROUPS = tuple(g.value for g in WorkerGroup)

# Proposals for the demo (and the defaults a new district plan starts from); every number is stored in the plan.
PROPOSED_DISTRICT: dict[str, Any] = {
    "requirements": [
        {"worker_group": "all", "hours": 40.0},
        {"worker_group": "new_hire", "hours": 24.0, "window_days": 30},
        {"worker_group": "party", "hours": 8.0},
        {"worker_group": "bottom", "hours": 12.0, "bottom_pct": 5.0},
    ],
    "note_zh": "【建议值】年度 40 学时、新入职 30 天内岗前培训 24 学时、党员加 8 学时、考核末位 5% 加 12 学时,"
    "均为待网格管理中心确认的建议,可逐项修改。",
    "note_en": "[Proposed] 40 hours a year, 24 hours of pre-service training within 30 days of hire, 8 more for "
    "party members, 12 more for the bottom 5 % of the scorecard: proposals for the grid centre to "
    "confirm; every number can be changed.",
}


def _unit(session: Session, unit_id: int) -> OrgUnit:
    unit = session.get(OrgUnit, unit_id)
    if unit is None or unit.level not in PLAN_LEVELS:
        raise TrainingError("plan_unit", unit=str(unit_id))
    return unit


def can_edit_plan(viewer: Viewer, unit: OrgUnit) -> bool:
    """A manager edits the plans of their own unit and the units below it (a community manager: only theirs)."""
    if not viewer.is_manager:
        return False
    if viewer.scope_unit_id is None:
        return True
    return in_scope(viewer, unit.path)


def _validate(requirements: list[dict], courses: list[dict]) -> None:
    seen = set()
    for i, r in enumerate(requirements, start=1):
        group = r.get("worker_group")
        if group not in GROUPS:
            raise TrainingError("bad_group", row=i, group=str(group))
        if group in seen:
            raise TrainingError("group_twice", group=group)
        seen.add(group)
        hours = r.get("hours")
        if hours is None or not (0 <= float(hours) <= 500):
            raise TrainingError("bad_hours", row=i, hours=str(hours))
        if (
            group == WorkerGroup.NEW_HIRE
            and r.get("window_days") is not None
            and not 1 <= int(r["window_days"]) <= 366
        ):
            raise TrainingError("bad_window", row=i, days=str(r["window_days"]))
        if (
            group == WorkerGroup.BOTTOM
            and r.get("bottom_pct") is not None
            and not 0 < float(r["bottom_pct"]) <= 50
        ):
            raise TrainingError("bad_pct", row=i, pct=str(r["bottom_pct"]))
    for i, c in enumerate(courses, start=1):
        if c.get("worker_group", "all") not in GROUPS:
            raise TrainingError("bad_group", row=i, group=str(c.get("worker_group")))


def save_plan(
    session: Session,
    viewer: Viewer,
    *,
    year: int,
    unit_id: int,
    requirements: list[dict],
    courses: list[dict] | None = None,
    title_zh: str = "",
    title_en: str = "",
    note: str = "",
    now: datetime | None = None,
) -> TrainingPlan:
    """Create or replace the plan of ``unit_id`` for ``year``: its requirements (``worker_group``, ``hours``,
    optional ``window_days`` / ``bottom_pct``) and compulsory courses (``course_code``, ``worker_group``,
    ``due_date``). Only a manager of that unit (or above) may; the whole plan is written or nothing."""
    now = now or clock.now()
    unit = _unit(session, unit_id)
    if not can_edit_plan(viewer, unit):
        raise ScopeError("scope.err.plan_out_of_scope")
    courses = courses or []
    _validate(requirements, courses)
    course_rows = []
    for c in courses:
        course = course_by_code(session, c["course_code"])
        course_rows.append(
            {
                "course_id": course.id,
                "worker_group": c.get("worker_group", "all"),
                "due_date": c.get("due_date"),
            }
        )
    plan = session.exec(
        select(TrainingPlan).where(TrainingPlan.year == year, TrainingPlan.unit_id == unit_id)
    ).first()
    before = plan_detail(session, row_id(plan.id)) if plan is not None else None
    if plan is None:
        plan = TrainingPlan(year=year, unit_id=unit_id, created_by=viewer.user_id or None, created_at=now)
    plan.title_zh, plan.title_en, plan.note, plan.updated_at = title_zh, title_en, note, now
    session.add(plan)
    session.flush()
    plan_id = row_id(plan.id)
    session.execute(delete(PlanRequirement).where(col(PlanRequirement.plan_id) == plan_id))
    session.execute(delete(PlanCourse).where(col(PlanCourse.plan_id) == plan_id))
    session.add_all(
        [
            PlanRequirement(
                plan_id=plan_id,
                worker_group=r["worker_group"],
                hours=float(r["hours"]),
                window_days=r.get("window_days"),
                bottom_pct=r.get("bottom_pct"),
            )
            for r in requirements
        ]
    )
    session.add_all([PlanCourse(plan_id=plan_id, **c) for c in course_rows])
    session.flush()
    record(
        session,
        "training.plan.save",
        viewer=viewer,
        entity="training_plan",
        entity_id=f"{year}:{unit.code}",
        before=before,
        after=plan_detail(session, plan_id),
    )
    return plan


def plan_detail(session: Session, plan_id: int) -> dict:
    reqs = session.exec(
        select(PlanRequirement)
        .where(PlanRequirement.plan_id == plan_id)
        .order_by(PlanRequirement.worker_group)
    ).all()
    crs = session.exec(
        select(PlanCourse).where(PlanCourse.plan_id == plan_id).order_by(col(PlanCourse.id))
    ).all()
    return {
        "requirements": [
            {
                "worker_group": r.worker_group,
                "hours": r.hours,
                "window_days": r.window_days,
                "bottom_pct": r.bottom_pct,
            }
            for r in reqs
        ],
        "courses": [
            {"course_id": c.course_id, "worker_group": c.worker_group, "due_date": c.due_date} for c in crs
        ],
    }


def plans_frame(session: Session, viewer: Viewer, *, year: int) -> pd.DataFrame:
    """The plans a manager works with: those of their unit's ancestors (read-only for them) and of their
    subtree, one row per requirement, with ``editable``."""
    if not viewer.is_manager:
        raise ScopeError("scope.err.manager_plans")
    stmt: Select = (
        sa_select(
            col(TrainingPlan.id).label("plan_id"),
            col(TrainingPlan.unit_id),
            col(OrgUnit.level),
            col(OrgUnit.path),
            col(OrgUnit.name_zh).label("unit_zh"),
            col(OrgUnit.name_en).label("unit_en"),
            col(TrainingPlan.note),
            col(PlanRequirement.worker_group),
            col(PlanRequirement.hours),
            col(PlanRequirement.window_days),
            col(PlanRequirement.bottom_pct),
        )
        .join(OrgUnit, col(OrgUnit.id) == col(TrainingPlan.unit_id))
        .join(PlanRequirement, col(PlanRequirement.plan_id) == col(TrainingPlan.id), isouter=True)
        .where(col(TrainingPlan.year) == year)
        .order_by(col(OrgUnit.path), col(PlanRequirement.worker_group))
    )
    df = frame(session, stmt)
    if viewer.scope_unit_id is not None and len(df):
        own = session.get(OrgUnit, viewer.scope_unit_id)
        own_path = own.path if own else ""
        mine = df["path"].map(lambda p: in_scope(viewer, p))  # one row per unit (≈ 30), not per worker
        above = df["path"].map(lambda p: own_path.startswith(p))
        df = df[mine | above].copy()
        df["editable"] = mine
    else:
        df["editable"] = True
    df["level_order"] = df["level"].map(LEVEL_ORDER)
    return (
        df.sort_values(["level_order", "path", "worker_group"])
        .drop(columns=["level_order"])
        .reset_index(drop=True)
    )


def plan_courses_frame(session: Session, viewer: Viewer, *, year: int) -> pd.DataFrame:
    """Compulsory courses of the plans the viewer works with."""
    plans = plans_frame(session, viewer, year=year)
    ids = sorted(set(plans["plan_id"].tolist())) if len(plans) else []
    stmt: Select = (
        sa_select(
            col(PlanCourse.plan_id),
            col(TrainingPlan.unit_id),
            col(OrgUnit.name_zh).label("unit_zh"),
            col(OrgUnit.name_en).label("unit_en"),
            col(Course.code).label("course_code"),
            col(Course.title_zh),
            col(Course.title_en),
            col(PlanCourse.worker_group),
            col(PlanCourse.due_date),
        )
        .join(TrainingPlan, col(TrainingPlan.id) == col(PlanCourse.plan_id))
        .join(OrgUnit, col(OrgUnit.id) == col(TrainingPlan.unit_id))
        .join(Course, col(Course.id) == col(PlanCourse.course_id))
        .where(col(PlanCourse.plan_id).in_(ids))
        .order_by(col(OrgUnit.path), col(PlanCourse.due_date))
    )
    return frame(session, stmt)


# --- what the plans ask of each worker -----------------------------------------------------------------------

WORKER_COLS = [
    "worker_id",
    "employee_no",
    "name",
    "party_member",
    "hire_date",
    "community_id",
    "subdistrict_id",
    "district_id",
]


def workers_in_scope(
    session: Session, viewer: Viewer, *, worker_ids: list[int] | None = None
) -> pd.DataFrame:
    """Active workers the viewer may see, with the district their subdistrict belongs to."""
    stmt: Select = (
        sa_select(
            col(Worker.id),
            col(Worker.employee_no),
            col(Worker.name),
            col(Worker.party_member),
            col(Worker.hire_date),
            col(Worker.community_id),
            col(Worker.subdistrict_id),
            col(OrgUnit.parent_id),
        )
        .join(OrgUnit, col(OrgUnit.id) == col(Worker.subdistrict_id))
        .where(col(Worker.status) != WorkerStatus.LEFT.value, worker_scope_clause(viewer))
        .order_by(col(Worker.id))
    )
    if worker_ids is not None:
        stmt = stmt.where(col(Worker.id).in_(worker_ids))
    df = frame(session, stmt, columns=WORKER_COLS)
    df["party_member"] = df["party_member"].astype(bool)
    return df


def _year_plans(session: Session, year: int) -> pd.DataFrame:
    stmt: Select = (
        sa_select(
            col(TrainingPlan.id).label("plan_id"),
            col(TrainingPlan.unit_id),
            col(OrgUnit.level),
            col(PlanRequirement.worker_group),
            col(PlanRequirement.hours),
            col(PlanRequirement.window_days),
            col(PlanRequirement.bottom_pct),
        )
        .join(OrgUnit, col(OrgUnit.id) == col(TrainingPlan.unit_id))
        .join(PlanRequirement, col(PlanRequirement.plan_id) == col(TrainingPlan.id))
        .where(col(TrainingPlan.year) == year)
    )
    return frame(session, stmt)


def _chain(workers: pd.DataFrame) -> pd.DataFrame:
    """worker_id × the units whose plans apply to them (district, subdistrict, community)."""
    parts = [
        workers[["worker_id", name]].rename(columns={name: "unit_id"}).assign(level=lvl)
        for name, lvl in (
            ("district_id", "district"),
            ("subdistrict_id", "subdistrict"),
            ("community_id", "community"),
        )
    ]
    out = pd.concat(parts, ignore_index=True).dropna(subset=["unit_id"])
    out["unit_id"] = out["unit_id"].astype(int)
    return out


def _members(session: Session, year: int, worker_ids: list[int]) -> pd.DataFrame:
    stmt = select(GroupMember.worker_id, GroupMember.worker_group, GroupMember.added_at).where(
        GroupMember.year == year, col(GroupMember.worker_id).in_(worker_ids)
    )
    return frame(session, stmt, columns=["worker_id", "worker_group", "added_at"])


def _lowest_wins(req: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per worker, the value of ``column`` set by the lowest level that sets it."""
    have = req.dropna(subset=[column]).copy()
    have["order"] = have["level"].map(LEVEL_ORDER)
    return have.sort_values("order").groupby("worker_id")[column].last()


def requirements(session: Session, workers: pd.DataFrame, *, year: int, as_of: date) -> pd.DataFrame:
    """One row per worker: what this year's plans ask of them as of ``as_of``.

    Columns: worker_id, required_year (hours for the whole year), required_to_date, preservice_hours,
    preservice_deadline (hire date + window; NaT for workers not hired this year), bottom (bool).
    """
    start, end = date(year, 1, 1), date(year, 12, 31)
    w = workers.copy()
    out = pd.DataFrame({"worker_id": w["worker_id"]})
    plans = _year_plans(session, year)
    if w.empty or plans.empty:
        return out.assign(
            required_year=0.0,
            required_to_date=0.0,
            preservice_hours=0.0,
            preservice_deadline=pd.NaT,
            bottom=False,
        )
    hire = pd.to_datetime(w["hire_date"])
    w["hired_this_year"] = (hire >= pd.Timestamp(start)) & (hire <= pd.Timestamp(end))
    members = _members(session, year, w["worker_id"].tolist())
    bottom = (
        members[members["worker_group"] == WorkerGroup.BOTTOM.value].groupby("worker_id")["added_at"].min()
    )
    w["bottom_since"] = w["worker_id"].map(bottom)
    w["bottom"] = w["bottom_since"].notna()

    req = _chain(w).merge(plans.drop(columns=["level"]), on="unit_id")
    req = req.merge(
        w[["worker_id", "party_member", "hired_this_year", "bottom", "hire_date", "bottom_since"]],
        on="worker_id",
    )
    applies = (
        (req["worker_group"] == "all")
        | ((req["worker_group"] == "party") & req["party_member"])
        | ((req["worker_group"] == "new_hire") & req["hired_this_year"])
        | ((req["worker_group"] == "bottom") & req["bottom"])
    )
    req = req[applies].copy()
    as_of_ts = pd.Timestamp(min(as_of, end))
    hire_ts = pd.to_datetime(req["hire_date"])
    # Annual groups accrue evenly from the later of 1 January and the hire date (bottom: from the day placed).
    annual_from = hire_ts.where(hire_ts > pd.Timestamp(start), pd.Timestamp(start)).fillna(
        pd.Timestamp(start)
    )
    since = pd.to_datetime(req["bottom_since"]).dt.normalize()
    is_bottom = req["worker_group"] == "bottom"
    annual_from = annual_from.where(~is_bottom, since.where(since > annual_from, annual_from))
    span = (pd.Timestamp(end) + pd.Timedelta(days=1) - annual_from).dt.days.clip(lower=1)
    done = (as_of_ts + pd.Timedelta(days=1) - annual_from).dt.days.clip(lower=0)
    share = (done / span).clip(0, 1)
    if as_of < start:
        share = share * 0
    # New hires: the window of the lowest level that sets one (default 30 days); due in full at its end.
    window = (
        req["worker_id"].map(_lowest_wins(req[req["worker_group"] == "new_hire"], "window_days")).fillna(30)
    )
    new = req["worker_group"] == "new_hire"
    w_done = (as_of_ts + pd.Timedelta(days=1) - hire_ts).dt.days.clip(lower=0)
    share = share.where(~new, (w_done / window.clip(lower=1)).clip(0, 1))
    req["to_date"] = req["hours"] * share
    totals = req.groupby("worker_id").agg(required_year=("hours", "sum"), required_to_date=("to_date", "sum"))
    pre = req[new].groupby("worker_id")["hours"].sum()
    out = out.merge(totals, on="worker_id", how="left")
    out["required_year"] = out["required_year"].fillna(0.0).round(2)
    out["required_to_date"] = out["required_to_date"].fillna(0.0).round(2)
    out["preservice_hours"] = out["worker_id"].map(pre).fillna(0.0)
    win = out["worker_id"].map(_lowest_wins(req[new], "window_days")).fillna(30)
    hired = w.set_index("worker_id")["hire_date"]
    deadline = pd.to_datetime(out["worker_id"].map(hired)) + pd.to_timedelta(win, unit="D")
    out["preservice_deadline"] = deadline.where(out["preservice_hours"] > 0)
    out["bottom"] = out["worker_id"].map(w.set_index("worker_id")["bottom"]).fillna(False).astype(bool)
    return out


def compulsory(
    session: Session, workers: pd.DataFrame, *, year: int, req: pd.DataFrame | None = None
) -> pd.DataFrame:
    """worker_id × compulsory course with its deadline (``due``), from every plan that applies to them.
    ``req``: the workers' ``requirements`` of this year when the caller has them (as of any day: the group
    and the pre-service deadline read from them do not depend on it)."""
    cols = ["worker_id", "course_id", "course_code", "title_zh", "title_en", "due"]
    if workers.empty:
        return pd.DataFrame(columns=cols)
    stmt: Select = (
        sa_select(
            col(TrainingPlan.unit_id),
            col(PlanCourse.course_id),
            col(Course.code),
            col(Course.title_zh),
            col(Course.title_en),
            col(PlanCourse.worker_group),
            col(PlanCourse.due_date),
        )
        .join(TrainingPlan, col(TrainingPlan.id) == col(PlanCourse.plan_id))
        .join(Course, col(Course.id) == col(PlanCourse.course_id))
        .where(col(TrainingPlan.year) == year)
    )
    # unit → its plans' compulsory courses; deadlines as nanoseconds since the epoch (integers compare cheaply)
    by_unit: dict[int, list[tuple[Any, ...]]] = {}
    for unit_id, course_id, code, title_zh, title_en, group, due_date in session.execute(stmt):
        due = None if due_date is None else pd.Timestamp(due_date).value
        by_unit.setdefault(unit_id, []).append((course_id, code, title_zh, title_en, group, due))
    if not by_unit:
        return pd.DataFrame(columns=cols)
    if req is None:
        req = requirements(session, workers, year=year, as_of=date(year, 12, 31))
    year_end = pd.Timestamp(year, 12, 31).value
    flags = {  # worker → (in the bottom group, the pre-service deadline or else the year's end)
        w: (bool(bottom), year_end if pd.isna(deadline) else pd.Timestamp(deadline).value)
        for w, bottom, deadline in zip(
            req["worker_id"].tolist(),
            req["bottom"].tolist(),
            req["preservice_deadline"].tolist(),
            strict=True,
        )
    }
    new_hire = (pd.to_datetime(workers["hire_date"]).dt.year == year).fillna(False).astype(bool).tolist()
    # Worker by worker in plain Python: a worker's own 我的学时 asks on every click (pandas' merges over their
    # few courses cost ~13 ms); a city's 20,000 workers are ~60,000 rows (about what the merges cost).
    earliest: dict[tuple[int, int], tuple[Any, ...]] = {}
    for w, party, hire_new, *units in zip(
        workers["worker_id"].tolist(),
        workers["party_member"].tolist(),
        new_hire,
        workers["district_id"].tolist(),
        workers["subdistrict_id"].tolist(),
        workers["community_id"].tolist(),
        strict=True,
    ):
        if w not in flags:
            continue
        bottom, fallback = flags[w]
        member = {"all": True, "party": bool(party), "new_hire": hire_new, "bottom": bottom}
        for unit in units:
            if unit is None or unit != unit:  # no such level (None or NaN)
                continue
            for course_id, code, title_zh, title_en, group, due_date in by_unit.get(int(unit), ()):
                if not member.get(group, False):
                    continue
                due = fallback if due_date is None else due_date
                key = (w, course_id)
                if key not in earliest or due < earliest[key][-1]:  # the earliest deadline wins
                    earliest[key] = (w, course_id, code, title_zh, title_en, due)
    out = pd.DataFrame(sorted(earliest.values(), key=lambda r: (r[-1], r[0], r[1])), columns=cols)
    out["due"] = out["due"].astype("int64").astype("datetime64[ns]") if len(out) else out["due"]
    return out


def record_group(
    session: Session, *, year: int, group: WorkerGroup, members: pd.DataFrame, now: datetime | None = None
) -> int:
    """Place workers in a computed group for a year (``members``: worker_id, period, rank_pct); idempotent."""
    now = now or clock.now()
    rows = [
        {
            "year": year,
            "worker_group": group.value,
            "worker_id": int(r.worker_id),
            "period": str(r.period),
            "rank_pct": None if pd.isna(r.rank_pct) else float(r.rank_pct),
            "added_at": now,
        }
        for r in members.itertuples()
    ]
    return insert_ignore(session, GroupMember, rows, conflict=["year", "worker_group", "worker_id"])


def bottom_pct(session: Session, *, year: int) -> float | None:
    """The bottom group's share set by the district plan (None when no plan names a bottom group)."""
    stmt = (
        select(PlanRequirement.bottom_pct)
        .join(TrainingPlan, col(TrainingPlan.id) == col(PlanRequirement.plan_id))
        .join(OrgUnit, col(OrgUnit.id) == col(TrainingPlan.unit_id))
        .where(
            TrainingPlan.year == year,
            PlanRequirement.worker_group == WorkerGroup.BOTTOM.value,
            OrgUnit.level == OrgLevel.DISTRICT.value,
        )
    )
    return session.exec(stmt).first()


def remedial_courses(session: Session, *, year: int) -> list[str]:
    """Course codes the plans make compulsory for the bottom group (末位培训)."""
    stmt = (
        select(Course.code)
        .join(PlanCourse, col(PlanCourse.course_id) == col(Course.id))
        .join(TrainingPlan, col(TrainingPlan.id) == col(PlanCourse.plan_id))
        .where(TrainingPlan.year == year, PlanCourse.worker_group == WorkerGroup.BOTTOM.value)
        .distinct()
    )
    return sorted(session.exec(stmt).all())
