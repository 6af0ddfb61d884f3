"""Supervision: who is behind this year's plan and by how much; the monthly 培训通报; reminders.

``plan_status`` is the one computation behind the dashboard, the bulletin, the CLI, the worker's view, the
reminders and the scorecard metric: per worker, required hours (year and to date) against credited hours,
pre-service training for new hires, and compulsory courses past their deadline.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from core import clock
from core.i18n import t
from core.inbox import notify
from core.models import OrgUnit, Role, User
from core.scope import SYSTEM, ScopeError, Viewer
from core.sql import frame
from courses.training import ledger, plans, progress
from courses.training.completion import completion, missing_prerequisite
from courses.training.models import HoursEntry
from courses.training.models_progress import TrainingProgress

STATUS_COLS = [
    "worker_id",
    "employee_no",
    "name",
    "community_id",
    "community_zh",
    "community_en",
    "subdistrict_zh",
    "subdistrict_en",
    "party_member",
    "hire_date",
    "bottom",
    "required_year",
    "required_to_date",
    "credited",
    "completion",
    "behind",
    "preservice_hours",
    "preservice_credited",
    "preservice_deadline",
    "preservice_overdue",
    "compulsory_total",
    "compulsory_overdue",
]


SERVED_COLS = [*(f"credited_{k}" for k in progress.KINDS), "complete"]
OVERDUE_COLS = ["worker_id", "course_id", "course_code", "title_zh", "title_en", "due", "days_over"]


def _names(session: Session) -> pd.DataFrame:
    return frame(session, select(OrgUnit.id, OrgUnit.name_zh, OrgUnit.name_en), columns=["id", "zh", "en"])


def plan_status(
    session: Session,
    viewer: Viewer,
    *,
    year: int,
    as_of: date | None = None,
    community_id: int | None = None,
    worker_ids: list[int] | None = None,
) -> pd.DataFrame:
    """One row per worker in scope: required vs credited hours as of ``as_of`` (default today, or 31
    December for a past year), pre-service training and overdue compulsory courses."""
    status, _ = status_and_overdue(
        session, viewer, year=year, as_of=as_of, community_id=community_id, worker_ids=worker_ids
    )
    return status[STATUS_COLS]


def status_and_overdue(
    session: Session,
    viewer: Viewer,
    *,
    year: int,
    as_of: date | None = None,
    community_id: int | None = None,
    worker_ids: list[int] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``plan_status`` (with ``SERVED_COLS``, the hours by kind and ``complete`` the served rows keep too) and
    the overdue compulsory courses (``overdue_courses_for``) it counts, computed once."""
    as_of = as_of or min(clock.today(), date(year, 12, 31))
    workers = plans.workers_in_scope(session, viewer, worker_ids=worker_ids)
    if community_id is not None:
        workers = workers[workers["community_id"] == community_id]
    if workers.empty:
        return pd.DataFrame(columns=STATUS_COLS + SERVED_COLS), pd.DataFrame(columns=OVERDUE_COLS)
    req = plans.requirements(session, workers, year=year, as_of=as_of)
    df = _hours_standing(session, workers, req, year=year, as_of=as_of)
    comp = plans.compulsory(session, workers, year=year, req=req)
    over = overdue_courses_for(session, workers, year=year, as_of=as_of, comp=comp)
    df["compulsory_total"] = df["worker_id"].map(comp.groupby("worker_id").size()).fillna(0).astype(int)
    df["compulsory_overdue"] = df["worker_id"].map(over.groupby("worker_id").size()).fillna(0).astype(int)
    names = _names(session).set_index("id")
    df["community_zh"] = df["community_id"].map(names["zh"])
    df["community_en"] = df["community_id"].map(names["en"])
    df["subdistrict_zh"] = df["subdistrict_id"].map(names["zh"])
    df["subdistrict_en"] = df["subdistrict_id"].map(names["en"])
    status = df[STATUS_COLS + SERVED_COLS].sort_values(["community_zh", "employee_no"]).reset_index(drop=True)
    return status, over


def _hours_standing(
    session: Session, workers: pd.DataFrame, req: pd.DataFrame, *, year: int, as_of: date
) -> pd.DataFrame:
    """The workers with their ``requirements`` and hours standing (``progress.standing``) as of ``as_of``,
    and ``completion``: credited over required to date."""
    ids = workers["worker_id"].astype(int).tolist()
    df = workers.merge(req, on="worker_id", how="left").assign(year=year, as_of=as_of)
    # the year's hours up to as_of, and every entry of the new hires (their pre-service window)
    new = df.loc[df["preservice_hours"] > 0, "worker_id"].astype(int).tolist()
    on = col(HoursEntry.credited_on)
    df = progress.standing(
        df,
        progress.entries(
            session,
            col(HoursEntry.worker_id).in_(ids),
            or_(
                and_(on >= date(year, 1, 1), on <= min(as_of, date(year, 12, 31))),
                col(HoursEntry.worker_id).in_(new),
            ),
        ),
    )
    df["completion"] = (
        (df["credited"] / df["required_to_date"]).where(df["required_to_date"] > 0).clip(upper=9.99)
    )
    return df


def my_standing(
    session: Session, viewer: Viewer, *, year: int, as_of: date
) -> tuple[pd.Series | None, pd.DataFrame]:
    """A worker's 我的学时: their plan_status row as of ``as_of`` (``None`` when they are out of scope;
    ``required_year`` 0 when no plan asks anything of them) and ``my_compulsory``'s courses — the year's requirements and compulsory courses worked
    out once for both (the page asked plan_status and my_compulsory, which worked each out again)."""
    if viewer.worker_id is None:
        raise ScopeError("scope.err.worker_compulsory")
    workers = plans.workers_in_scope(session, viewer, worker_ids=[viewer.worker_id])
    if workers.empty:
        return None, my_compulsory(session, viewer, year=year, as_of=as_of, comp=_no_courses())
    served = _served_standing(session, viewer.worker_id, year=year, as_of=as_of)
    if served is not None:  # the ledger job's row of this very day: no requirements or hours worked out here
        req = pd.DataFrame([served[["worker_id", "bottom", "preservice_deadline"]]])
        comp = plans.compulsory(session, workers, year=year, req=req)
        return served, my_compulsory(session, viewer, year=year, as_of=as_of, comp=comp)
    req = plans.requirements(session, workers, year=year, as_of=as_of)
    me = _hours_standing(session, workers, req, year=year, as_of=as_of).iloc[0]
    comp = plans.compulsory(session, workers, year=year, req=req)
    due = my_compulsory(session, viewer, year=year, as_of=as_of, comp=comp)
    return me, due


def _served_standing(session: Session, worker_id: int, *, year: int, as_of: date) -> pd.Series | None:
    """The worker's served plan figures (``progress``: written by the ledger job, their hours recounted by every
    write to the ledger) when they are as of ``as_of`` itself — the job has run that day — else None (then the
    caller works them out). One row read by its key."""
    p = TrainingProgress
    month = as_of.month if as_of.year == year else 12
    cols = [
        "worker_id",
        "required_year",
        "required_to_date",
        "credited",
        "behind",
        "bottom",
        "preservice_hours",
        "preservice_credited",
        "preservice_deadline",
        "preservice_overdue",
    ]
    stmt = select(*(getattr(p, c) for c in cols)).where(
        col(p.worker_id) == worker_id, col(p.year) == year, col(p.month) == month, col(p.as_of) == as_of
    )
    df = frame(session, stmt, columns=cols)
    if df.empty:
        return None
    df["preservice_deadline"] = pd.to_datetime(df["preservice_deadline"])
    return df.iloc[0]


def _no_courses() -> pd.DataFrame:
    return pd.DataFrame(columns=["worker_id", "course_id", "course_code", "title_zh", "title_en", "due"])


def overdue_courses_for(
    session: Session, workers: pd.DataFrame, *, year: int, as_of: date, comp: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Compulsory courses past their deadline and not completed (by the course's rule). ``comp``: the
    workers' ``plans.compulsory`` of the year when the caller has it."""
    comp = plans.compulsory(session, workers, year=year) if comp is None else comp
    comp = comp[comp["due"] < pd.Timestamp(as_of)]
    if comp.empty:
        return comp.assign(days_over=pd.Series(dtype=int))
    done = completion(
        session,
        worker_ids=sorted(set(comp["worker_id"].astype(int))),
        course_ids=sorted(set(comp["course_id"].astype(int))),
        now=datetime.combine(as_of, datetime.min.time()),
    )
    comp = comp.merge(
        done[["worker_id", "course_id", "completed"]], on=["worker_id", "course_id"], how="left"
    )
    comp = comp[~comp["completed"].fillna(False).astype(bool)].drop(columns=["completed"])
    comp["days_over"] = (pd.Timestamp(as_of) - comp["due"]).dt.days
    return comp.reset_index(drop=True)


def overdue_courses(
    session: Session, viewer: Viewer, *, year: int, as_of: date | None = None
) -> pd.DataFrame:
    """The dashboard's list of overdue compulsory courses, with the worker's name and community."""
    as_of = as_of or min(clock.today(), date(year, 12, 31))
    workers = plans.workers_in_scope(session, viewer)
    over = overdue_courses_for(session, workers, year=year, as_of=as_of)
    names = _names(session).set_index("id")
    out = over.merge(workers[["worker_id", "employee_no", "name", "community_id"]], on="worker_id")
    out["community_zh"] = out["community_id"].map(names["zh"])
    out["community_en"] = out["community_id"].map(names["en"])
    return out.sort_values(["days_over", "employee_no"], ascending=[False, True]).reset_index(drop=True)


def community_summary(status: pd.DataFrame) -> pd.DataFrame:
    """Per community: workers, required to date, credited, completion, behind, overdue pre-service / courses."""
    cols = progress.COMMUNITY_COLS
    if status.empty:
        return pd.DataFrame(columns=cols)
    g = status.groupby(["community_id", "community_zh", "community_en"], as_index=False).agg(
        workers=("worker_id", "count"),
        required_to_date=("required_to_date", "sum"),
        credited=("credited", "sum"),
        behind=("behind", "sum"),
        preservice_overdue=("preservice_overdue", "sum"),
        compulsory_overdue=("compulsory_overdue", lambda s: int((s > 0).sum())),
    )
    g["required_to_date"] = g["required_to_date"].round(1)
    g["credited"] = g["credited"].round(1)
    g["completion"] = (g["credited"] / g["required_to_date"]).where(g["required_to_date"] > 0).round(3)
    return g.sort_values(["completion", "community_zh"]).reset_index(drop=True)[cols]


def headline(status: pd.DataFrame) -> dict:
    """The bulletin's and the dashboard's top figures."""
    req = float(status["required_to_date"].sum()) if len(status) else 0.0
    got = float(status["credited"].sum()) if len(status) else 0.0
    return {
        "workers": int(len(status)),
        "required_to_date": round(req, 1),
        "credited": round(got, 1),
        "completion": round(got / req, 3) if req else None,
        "behind": int(status["behind"].sum()) if len(status) else 0,
        "preservice_overdue": int(status["preservice_overdue"].sum()) if len(status) else 0,
        "compulsory_overdue": int((status["compulsory_overdue"] > 0).sum()) if len(status) else 0,
    }


def month_end(year: int, month: int) -> date:
    return (pd.Timestamp(year, month, 1) + pd.offsets.MonthEnd(0)).date()


def bulletin_workbook(session: Session, viewer: Viewer, *, year: int, month: int, lang: str = "zh") -> bytes:
    """The monthly 培训通报 (as of the month's last day) as an Excel workbook: the headline, communities, the
    workers behind plan, overdue compulsory courses and new hires past their pre-service deadline."""
    # openpyxl (~0.1 s to import) loads only when a workbook is written, not with the page that offers it
    from openpyxl import Workbook
    from openpyxl.styles import Font

    if not viewer.is_manager:
        raise ScopeError("scope.err.manager_bulletin")
    as_of = month_end(year, month)
    status = plan_status(session, viewer, year=year, as_of=as_of)
    summary = community_summary(status)
    over = overdue_courses(session, viewer, year=year, as_of=as_of)
    head = headline(status)
    c = "zh" if lang != "en" else "en"
    wb = Workbook()
    ws = wb.active
    ws.title = t("training.bulletin.sheet.summary", lang)
    ws.append([t("training.bulletin.title", lang, year=year, month=month)])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([t("training.bulletin.as_of", lang, day=as_of.isoformat())])
    for key, value in head.items():
        ws.append([t(f"training.col.{key}", lang), value])

    def sheet(title_key: str, df: pd.DataFrame, columns: list[str]) -> None:
        s = wb.create_sheet(t(title_key, lang))
        s.append([t(f"training.col.{name.removesuffix('_' + c)}", lang) for name in columns])
        for cell in s[1]:
            cell.font = Font(bold=True)
        for row in df[columns].itertuples(index=False):
            s.append([None if pd.isna(v) else (v.date() if isinstance(v, pd.Timestamp) else v) for v in row])

    sheet(
        "training.bulletin.sheet.communities",
        summary,
        [f"community_{c}", "workers", *progress.FIGURES],
    )
    behind = status[status["behind"]].sort_values("completion")
    sheet(
        "training.bulletin.sheet.behind",
        behind,
        ["employee_no", "name", f"community_{c}", "required_to_date", "credited", "completion"],
    )
    sheet(
        "training.bulletin.sheet.overdue",
        over,
        ["employee_no", "name", f"community_{c}", "course_code", f"title_{c}", "due", "days_over"],
    )
    pre = status[status["preservice_overdue"]]
    sheet(
        "training.bulletin.sheet.preservice",
        pre,
        [
            "employee_no",
            "name",
            f"community_{c}",
            "hire_date",
            "preservice_deadline",
            "preservice_hours",
            "preservice_credited",
        ],
    )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def remind_behind(session: Session, *, now: datetime | None = None) -> int:
    """Monthly reminders (keys per month, so a job that runs daily sends each once): each worker behind plan
    or past a deadline, and the managers of their community and subdistrict with the count. Returns the
    notices sent."""
    now = now or clock.now()
    year, month = now.year, f"{now:%Y-%m}"
    status = plan_status(session, SYSTEM, year=year, as_of=now.date())
    late = status[status["behind"] | status["preservice_overdue"] | (status["compulsory_overdue"] > 0)]
    if late.empty:
        return 0
    notices = []
    for r in late.itertuples(index=False):
        notices.append(
            {
                "key": f"training.behind:{month}:{r.worker_id}",
                "kind": "training_behind",
                "worker_id": int(r.worker_id),
                "title_zh": t("training.remind.title", "zh"),
                "title_en": t("training.remind.title", "en"),
                "body_zh": t(
                    "training.remind.body",
                    "zh",
                    credited=r.credited,
                    required=r.required_to_date,
                    overdue=r.compulsory_overdue,
                ),
                "body_en": t(
                    "training.remind.body",
                    "en",
                    credited=r.credited,
                    required=r.required_to_date,
                    overdue=r.compulsory_overdue,
                ),
                "link": "pages/my_training.py",
                "created_at": now,
            }
        )
    # Their managers: the community's and the subdistrict's (one notice each, with the count in their unit).
    subs = plans.workers_in_scope(session, SYSTEM, worker_ids=late["worker_id"].astype(int).tolist())
    per_unit = pd.concat([late.groupby("community_id").size(), subs.groupby("subdistrict_id").size()])
    managers = frame(
        session,
        select(User.id, User.scope_unit_id).where(
            User.role == Role.MANAGER.value,
            User.is_active,
            col(User.scope_unit_id).in_([int(c) for c in per_unit.index]),
        ),
        columns=["user_id", "unit_id"],
    )
    for m in managers.itertuples(index=False):
        n = int(per_unit.get(m.unit_id, 0))
        notices.append(
            {
                "key": f"training.behind.mgr:{month}:{m.unit_id}:{m.user_id}",
                "kind": "training_behind",
                "user_id": int(m.user_id),
                "title_zh": t("training.remind.mgr_title", "zh", count=n),
                "title_en": t("training.remind.mgr_title", "en", count=n),
                "link": "pages/training_plan.py",
                "created_at": now,
            }
        )
    return notify(session, notices, now=now)


def monthly_figures(session: Session, viewer: Viewer, *, start: date, end: date) -> pd.DataFrame:
    """worker_id, period, credited_hours, required_hours: per month, hours credited in the month and hours the
    plans required to accrue in it (so Σ credited ÷ Σ required over months = completion to date)."""
    cols = ["worker_id", "period", "credited_hours", "required_hours"]
    workers = plans.workers_in_scope(session, viewer)
    if workers.empty:
        return pd.DataFrame(columns=cols)
    ids = workers["worker_id"].astype(int).tolist()
    parts = []
    for m in pd.period_range(start, end, freq="M"):
        last = m.end_time.date()
        first = m.start_time.date()
        now_req = plans.requirements(session, workers, year=m.year, as_of=last)
        prev_req = (
            plans.requirements(session, workers, year=m.year, as_of=first - timedelta(days=1))
            if m.month > 1
            else now_req.assign(required_to_date=0.0)
        )
        req = now_req[["worker_id", "required_to_date"]].merge(
            prev_req[["worker_id", "required_to_date"]], on="worker_id", suffixes=("", "_prev")
        )
        req["required_hours"] = (req["required_to_date"] - req["required_to_date_prev"]).round(3)
        req["period"] = str(m)
        parts.append(req[["worker_id", "period", "required_hours"]])
    req = pd.concat(parts, ignore_index=True)
    got = ledger.credited(session, ids, start=start, end=end, by_month=True).rename(
        columns={"hours": "credited_hours"}
    )
    out = req.merge(got, on=["worker_id", "period"], how="left")
    out["credited_hours"] = out["credited_hours"].fillna(0.0)
    return out[cols]


def my_compulsory(
    session: Session, viewer: Viewer, *, year: int, as_of: date, comp: pd.DataFrame | None = None
) -> pd.DataFrame:
    """A worker's compulsory courses this year: course, due, completed (by the course's rule), overdue, and
    the course whose certificate it requires first (``needs_zh``/``needs_en``, empty when none is missing).
    ``comp``: the worker's ``plans.compulsory`` of the year when the caller has it."""
    if viewer.worker_id is None:
        raise ScopeError("scope.err.worker_compulsory")
    if comp is None:
        workers = plans.workers_in_scope(session, viewer, worker_ids=[viewer.worker_id])
        comp = plans.compulsory(session, workers, year=year)
    cols = [
        "course_id",
        "course_code",
        "title_zh",
        "title_en",
        "due",
        "completed",
        "overdue",
        "needs_zh",
        "needs_en",
    ]
    if comp.empty:
        return pd.DataFrame(columns=cols)
    at = datetime.combine(as_of, datetime.max.time())
    done = completion(
        session, worker_ids=[viewer.worker_id], course_ids=comp["course_id"].astype(int).tolist(), now=at
    )
    comp = comp.merge(done[["course_id", "completed"]], on="course_id", how="left")
    comp["completed"] = comp["completed"].astype("boolean").fillna(False).astype(bool)
    comp["overdue"] = ~comp["completed"] & (comp["due"] < pd.Timestamp(as_of))
    needs = {}
    for cid in comp["course_id"].astype(int):
        pre, lacking = missing_prerequisite(session, course_id=cid, worker_ids=[viewer.worker_id], at=at)
        if pre is not None and lacking:
            needs[cid] = (pre.title_zh, pre.title_en)
    comp["needs_zh"] = comp["course_id"].map(lambda c: needs.get(int(c), ("", ""))[0])
    comp["needs_en"] = comp["course_id"].map(lambda c: needs.get(int(c), ("", ""))[1])
    return comp.sort_values(["completed", "due"])[cols].reset_index(drop=True)
