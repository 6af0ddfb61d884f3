"""What other areas may call (docs/CONVENTIONS.md, "Contracts between areas"). Evaluation codes against
these signatures; keep them stable."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

import pandas as pd
from sqlalchemy import and_, case, extract, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core.inbox import notify  # noqa: F401  (the inbox, for other areas)
from core.models import Worker, row_id
from core.scope import Viewer, worker_scope_clause
from core.taxonomy import load_taxonomy
from courses._sql import frame
from courses.enrollment import enroll_by_code
from courses.models import (
    AttemptStatus,
    Attendance,
    Certificate,
    Course,
    QuizAttempt,
    SessionStatus,
    TrainingSession,
)
from courses.training.models import WorkerGroup
from courses.training.plans import bottom_pct, record_group, remedial_courses
from courses.training.supervision import monthly_figures

__all__ = [
    "enroll_workers",
    "training_figures",
    "qualifications",
    "busy_workers",
    "courses_for_skill",
    "notify",
]

FIGURE_COLUMNS = [
    "worker_id",
    "period",
    "sessions_due",
    "sessions_attended",
    "attendance_points",
    "attendance_points_max",
    "quiz_attempts",
    "quiz_score_avg",
    "certificates_valid",
]


def enroll_workers(
    session: Session, viewer: Viewer, *, course_code: str, worker_ids: list[int], reason: str
) -> int:
    """Enroll these workers in the course (idempotent); return how many were newly enrolled.

    Raises ``courses.catalog.CourseError`` (a ValueError) for an unknown course and ``ScopeError`` when a
    worker is outside the viewer's scope (then nobody is enrolled). Does not commit: the caller's unit of
    work does.
    """
    return enroll_by_code(session, viewer, course_code=course_code, worker_ids=worker_ids, reason=reason)


def _months(start: date, end: date) -> list[str]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _period(df: pd.DataFrame) -> pd.Series:
    return df["y"].astype(int).astype(str).str.zfill(4) + "-" + df["m"].astype(int).astype(str).str.zfill(2)


def training_figures(session: Session, viewer: Viewer, *, start: date, end: date) -> pd.DataFrame:
    """One row per worker in scope × month from ``start`` to ``end`` (inclusive months).

    sessions_due: seats at held (closed) sessions that month, excused ones not counted;
    sessions_attended: present or late; attendance_points / _max: points earned / the present points of
    the sessions due; quiz_attempts, quiz_score_avg (0–100, NaN without attempts) of attempts submitted that
    month; certificates_valid: certificates valid at the month's end.
    """
    periods = _months(start, end)
    lo = datetime.combine(date.fromisoformat(periods[0] + "-01"), time())
    hi = datetime.combine(end, time()) + timedelta(days=1)
    workers = session.exec(select(col(Worker.id)).where(worker_scope_clause(viewer))).all()
    grid = pd.MultiIndex.from_product(
        [sorted(row_id(w) for w in workers), periods], names=["worker_id", "period"]
    )
    base = pd.DataFrame(index=grid).reset_index()
    if base.empty:
        return pd.DataFrame(columns=FIGURE_COLUMNS)

    held = and_(
        col(TrainingSession.status) == SessionStatus.CLOSED.value, col(Attendance.status) != "excused"
    )
    y, m = extract("year", col(TrainingSession.start_at)), extract("month", col(TrainingSession.start_at))
    att = frame(
        session,
        sa_select(
            col(Attendance.worker_id),
            y.label("y"),
            m.label("m"),
            func.sum(case((held, 1), else_=0)).label("sessions_due"),
            func.sum(case((and_(held, col(Attendance.status).in_(["present", "late"])), 1), else_=0)).label(
                "sessions_attended"
            ),
            func.sum(case((held, func.coalesce(col(Attendance.points), 0)), else_=0)).label(
                "attendance_points"
            ),
            func.sum(case((held, col(Course.points_present)), else_=0)).label("attendance_points_max"),
        )
        .select_from(Attendance)
        .join(TrainingSession, col(TrainingSession.id) == col(Attendance.session_id))
        .join(Course, col(Course.id) == col(TrainingSession.course_id))
        .join(Worker, col(Worker.id) == col(Attendance.worker_id))
        .where(
            worker_scope_clause(viewer),
            col(TrainingSession.start_at) >= lo,
            col(TrainingSession.start_at) < hi,
        )
        .group_by(col(Attendance.worker_id), y, m),
    )
    qy, qm = extract("year", col(QuizAttempt.submitted_at)), extract("month", col(QuizAttempt.submitted_at))
    quiz = frame(
        session,
        sa_select(
            col(QuizAttempt.worker_id),
            qy.label("y"),
            qm.label("m"),
            func.count().label("quiz_attempts"),
            func.avg(col(QuizAttempt.score)).label("quiz_score_avg"),
        )
        .join(Worker, col(Worker.id) == col(QuizAttempt.worker_id))
        .where(
            worker_scope_clause(viewer),
            col(QuizAttempt.status) != AttemptStatus.IN_PROGRESS.value,
            col(QuizAttempt.submitted_at) >= lo,
            col(QuizAttempt.submitted_at) < hi,
        )
        .group_by(col(QuizAttempt.worker_id), qy, qm),
    )
    certs = frame(
        session,
        sa_select(col(Certificate.worker_id), col(Certificate.issued_at), col(Certificate.valid_until))
        .join(Worker, col(Worker.id) == col(Certificate.worker_id))
        .where(worker_scope_clause(viewer), col(Certificate.issued_at) < hi),
    )

    out = base
    for part in (att, quiz):
        if not part.empty:
            part = part.assign(period=_period(part)).drop(columns=["y", "m"])
            out = out.merge(part, on=["worker_id", "period"], how="left")
    for name in FIGURE_COLUMNS[2:]:
        if name not in out:
            out[name] = float("nan") if name == "quiz_score_avg" else 0
    if not certs.empty:
        month_end = {p: pd.Timestamp(p + "-01") + pd.offsets.MonthBegin(1) for p in periods}
        ends = pd.DataFrame({"period": periods, "month_end": [month_end[p] for p in periods]})
        pairs = certs.merge(ends, how="cross")
        pairs = pairs[
            (pairs["issued_at"] < pairs["month_end"]) & (pairs["valid_until"] >= pairs["month_end"])
        ]
        counts = pairs.groupby(["worker_id", "period"]).size().rename("certificates_valid").reset_index()
        out = out.drop(columns="certificates_valid").merge(counts, on=["worker_id", "period"], how="left")
    for name in (
        "sessions_due",
        "sessions_attended",
        "attendance_points",
        "attendance_points_max",
        "quiz_attempts",
        "certificates_valid",
    ):
        out[name] = out[name].fillna(0).astype(int)
    out["quiz_score_avg"] = out["quiz_score_avg"].astype(float)
    return out[FIGURE_COLUMNS].sort_values(["worker_id", "period"]).reset_index(drop=True)


def qualifications(
    session: Session, *, at: datetime, worker_ids: Collection[int] | None = None
) -> pd.DataFrame:
    """One row per worker × course the worker has attempted or been certified in (the whole district, or the
    workers ``worker_ids``).

    passed: a certificate issued at or before ``at`` (even if since expired); certificate_valid_until: the
    latest such certificate's expiry (NaT without one; compare with ``at`` for validity); best_score: the
    best submitted attempt score up to ``at`` (NaN without attempts).
    """
    best_stmt: Any = (
        sa_select(
            col(QuizAttempt.worker_id),
            col(Course.code).label("course_code"),
            func.max(col(QuizAttempt.score)).label("best_score"),
        )
        .join(Course, col(Course.id) == col(QuizAttempt.course_id))
        .where(
            col(QuizAttempt.status) != AttemptStatus.IN_PROGRESS.value, col(QuizAttempt.submitted_at) <= at
        )
        .group_by(col(QuizAttempt.worker_id), col(Course.code))
    )
    cert_stmt: Any = (
        sa_select(
            col(Certificate.worker_id),
            col(Course.code).label("course_code"),
            func.max(col(Certificate.valid_until)).label("certificate_valid_until"),
        )
        .join(Course, col(Course.id) == col(Certificate.course_id))
        .where(col(Certificate.issued_at) <= at)
        .group_by(col(Certificate.worker_id), col(Course.code))
    )
    if worker_ids is not None:
        best_stmt = best_stmt.where(col(QuizAttempt.worker_id).in_(list(worker_ids)))
        cert_stmt = cert_stmt.where(col(Certificate.worker_id).in_(list(worker_ids)))
    # Joined by key in plain Python: a community's few dozen rows cost ~10 ms as a pandas outer merge (issue #21)
    best = {(w, c): score for w, c, score in session.execute(best_stmt)}
    cert = {(w, c): until for w, c, until in session.execute(cert_stmt)}
    keys = sorted(best.keys() | cert.keys())
    out = pd.DataFrame(keys, columns=["worker_id", "course_code"])
    valid_until = pd.to_datetime(pd.Series([cert.get(k) for k in keys], dtype=object))
    out["passed"] = valid_until.notna()
    out["certificate_valid_until"] = valid_until
    out["best_score"] = pd.Series([best.get(k) for k in keys], dtype=float)
    return out


def busy_workers(session: Session, *, start: datetime, end: datetime) -> set[int]:
    """Workers seated at a non-cancelled training session overlapping [start, end)."""
    rows = session.exec(
        select(col(Attendance.worker_id))
        .join(TrainingSession, col(TrainingSession.id) == col(Attendance.session_id))
        .where(
            col(TrainingSession.status) != SessionStatus.CANCELLED.value,
            col(TrainingSession.start_at) < end,
            col(TrainingSession.end_at) > start,
            col(Attendance.status).is_distinct_from("excused"),
        )
        .distinct()
    ).all()
    return set(rows)


@lru_cache(maxsize=1)
def _item_categories() -> dict[str, str]:
    return {i["code"]: c["code"] for c in load_taxonomy()["categories"] for i in c["items"]}


def courses_for_skill(session: Session, *, skill_area: str) -> list[dict]:
    """Active courses for a skill area or taxonomy category (an item code such as "F03" maps to its
    category): ``[{"code", "title_zh", "title_en", "skill_area"}]``."""
    area = _item_categories().get(skill_area, skill_area)
    rows = session.exec(
        select(col(Course.code), col(Course.title_zh), col(Course.title_en), col(Course.skill_area))
        .where(col(Course.skill_area) == area, col(Course.is_active))
        .order_by(col(Course.code))
    ).all()
    return [{"code": c, "title_zh": z, "title_en": e, "skill_area": s} for c, z, e, s in rows]


def plan_hours(session: Session, viewer: Viewer, *, start: date, end: date) -> pd.DataFrame:
    """Training-plan figures per worker in scope × month (``period`` "YYYY-MM"): ``credited_hours`` (credited
    in the month) and ``required_hours`` (what the year's plans accrue in it), so that Σ credited ÷ Σ required
    over a range is plan completion to date (courses.training.supervision.monthly_figures)."""
    return monthly_figures(session, viewer, start=start, end=end)


def remedial_plan(session: Session, *, year: int) -> dict:
    """The bottom group of ``year``'s district plan: ``bottom_pct`` (None: no bottom group) and ``courses``
    (codes compulsory for it: 末位培训)."""
    return {"bottom_pct": bottom_pct(session, year=year), "courses": remedial_courses(session, year=year)}


def place_bottom_group(
    session: Session, *, year: int, members: pd.DataFrame, now: datetime | None = None
) -> int:
    """Place workers (``members``: worker_id, period, rank_pct) in ``year``'s bottom group; idempotent."""
    return record_group(session, year=year, group=WorkerGroup.BOTTOM, members=members, now=now)
