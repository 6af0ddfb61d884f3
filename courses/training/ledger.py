"""The study-hours ledger: every credited hour traceable to its source, corrections as new rows.

Automatic sources are synchronised by ``credit_sources`` (a job; also called after a lesson is done):
- a seat at an ended session with status present/late: minutes = the meeting import's minutes when there
  are any, else from check-in (or the session start) to the end; capped at the session's length. One seat is
  one source (``session:<sid>:<wid>``), so a seat both checked in and imported is credited once;
- a certificate (a passed quiz): the course rule's ``quiz_credit_hours`` (``quiz:<attempt>``);
- a lesson marked done: the lesson's ``credit_minutes`` (``lesson:<lesson>:<wid>``).
For each source the job compares what the ledger already holds with what the source is worth now and adds
one row for the difference (key ``<ref>#<n>``): running it twice adds nothing; a later meeting import that
changes the minutes adds a correcting row; nothing is ever edited or deleted.

Managers record external training (with a file or a note as evidence) and correct any row; both are new
rows and are never touched by the job. Every write here recounts the served progress of the worker it touches
(courses.training.progress.recount_hours), in the same transaction.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime

import pandas as pd
from sqlalchemy import Select, and_, func, literal
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core import clock
from core.audit import record
from core.models import Worker
from core.scope import ScopeError, Viewer, ensure_can_see_worker, worker_scope_clause
from core.sql import frame, insert_ignore
from courses._sql import must_get
from courses.models import Attendance, Certificate, Course, SessionStatus, TrainingSession
from courses.training.errors import TrainingError
from courses.training.models import CourseRule, Evidence, HoursEntry, HoursSource, Lesson, LessonProgress
from courses.training.progress import recount_hours

AUTO_SOURCES = (HoursSource.SESSION.value, HoursSource.QUIZ.value, HoursSource.LESSON.value)
DEFAULT_QUIZ_HOURS = 1.0
MAX_EXTERNAL_HOURS = 200.0
EPS = 0.005  # hours are kept to 2 decimals
TARGET_COLS = [
    "source",
    "source_ref",
    "worker_id",
    "credited_on",
    "hours",
    "course_id",
    "session_id",
    "attempt_id",
    "lesson_id",
    "minutes",
]


def session_minutes(seats: pd.DataFrame) -> pd.Series:
    """Creditable minutes per seat: imported minutes, else check-in (or start) to end; capped at the length.

    ``seats`` has start_at, end_at, checked_in_at, minutes_attended, status.
    """
    length = (pd.to_datetime(seats["end_at"]) - pd.to_datetime(seats["start_at"])).dt.total_seconds() / 60
    start = pd.to_datetime(seats["start_at"])
    arrived = pd.to_datetime(seats["checked_in_at"])
    from_checkin = pd.to_datetime(seats["end_at"]) - arrived.where(arrived > start, start).fillna(start)
    from_checkin = from_checkin.dt.total_seconds() / 60
    imported = pd.to_numeric(seats["minutes_attended"], errors="coerce")
    minutes = imported.where(imported.notna(), from_checkin)
    attended = seats["status"].isin(["present", "late"])
    return minutes.clip(lower=0).clip(upper=length).where(attended, 0).fillna(0).round().astype(int)


def _session_targets(session: Session, now: datetime, worker_ids: list[int] | None) -> pd.DataFrame:
    stmt = (
        sa_select(
            col(Attendance.session_id),
            col(Attendance.worker_id),
            col(Attendance.status),
            col(Attendance.checked_in_at),
            col(Attendance.minutes_attended),
            col(TrainingSession.start_at),
            col(TrainingSession.end_at),
            col(TrainingSession.course_id),
        )
        .join(TrainingSession, col(TrainingSession.id) == col(Attendance.session_id))
        .where(
            col(TrainingSession.end_at) <= now,
            col(TrainingSession.status) != SessionStatus.CANCELLED.value,
            col(Attendance.status).is_not(None),
        )
    )
    if worker_ids is not None:
        stmt = stmt.where(col(Attendance.worker_id).in_(worker_ids))
    seats = frame(session, stmt)
    if seats.empty:
        return pd.DataFrame(columns=TARGET_COLS)
    minutes = session_minutes(seats)
    return pd.DataFrame(
        {
            "source": HoursSource.SESSION.value,
            "source_ref": "session:" + seats["session_id"].astype(str) + ":" + seats["worker_id"].astype(str),
            "worker_id": seats["worker_id"],
            "credited_on": pd.to_datetime(seats["start_at"]).dt.date,
            "hours": (minutes / 60).round(2),
            "course_id": seats["course_id"],
            "session_id": seats["session_id"],
            "attempt_id": None,
            "lesson_id": None,
            "minutes": minutes,
        }
    )


def _quiz_targets(session: Session, worker_ids: list[int] | None) -> pd.DataFrame:
    stmt = sa_select(
        col(Certificate.attempt_id),
        col(Certificate.worker_id),
        col(Certificate.course_id),
        col(Certificate.issued_at),
        func.coalesce(col(CourseRule.quiz_credit_hours), literal(DEFAULT_QUIZ_HOURS)).label("hours"),
    ).join(CourseRule, col(CourseRule.course_id) == col(Certificate.course_id), isouter=True)
    if worker_ids is not None:
        stmt = stmt.where(col(Certificate.worker_id).in_(worker_ids))
    c = frame(session, stmt)
    if c.empty:
        return pd.DataFrame(columns=TARGET_COLS)
    return pd.DataFrame(
        {
            "source": HoursSource.QUIZ.value,
            "source_ref": "quiz:" + c["attempt_id"].astype(str),
            "worker_id": c["worker_id"],
            "credited_on": pd.to_datetime(c["issued_at"]).dt.date,
            "hours": c["hours"].astype(float).round(2),
            "course_id": c["course_id"],
            "session_id": None,
            "attempt_id": c["attempt_id"],
            "lesson_id": None,
            "minutes": None,
        }
    )


def _lesson_targets(session: Session, worker_ids: list[int] | None) -> pd.DataFrame:
    stmt = (
        sa_select(
            col(LessonProgress.lesson_id),
            col(LessonProgress.worker_id),
            col(LessonProgress.done_at),
            col(Lesson.course_id),
            col(Lesson.credit_minutes),
        )
        .join(Lesson, col(Lesson.id) == col(LessonProgress.lesson_id))
        .where(col(LessonProgress.done_at).is_not(None))
    )
    if worker_ids is not None:
        stmt = stmt.where(col(LessonProgress.worker_id).in_(worker_ids))
    p = frame(session, stmt)
    if p.empty:
        return pd.DataFrame(columns=TARGET_COLS)
    return pd.DataFrame(
        {
            "source": HoursSource.LESSON.value,
            "source_ref": "lesson:" + p["lesson_id"].astype(str) + ":" + p["worker_id"].astype(str),
            "worker_id": p["worker_id"],
            "credited_on": pd.to_datetime(p["done_at"]).dt.date,
            "hours": (p["credit_minutes"] / 60).round(2),
            "course_id": p["course_id"],
            "session_id": None,
            "attempt_id": None,
            "lesson_id": p["lesson_id"],
            "minutes": p["credit_minutes"],
        }
    )


def credit_sources(
    session: Session,
    *,
    now: datetime | None = None,
    worker_ids: list[int] | None = None,
    days: dict[str, date] | None = None,
) -> int:
    """Bring the ledger in line with sessions, passed quizzes and lessons; return the rows added.

    ``days`` gives a source (by its ref) the day its hours count on instead of the source's own date (a lesson
    done in a demo database counts on the demo's pinned today, the year its worker page shows).
    Idempotent: a source already credited at its current worth adds nothing (and the unique key makes two
    concurrent runs add a difference once)."""
    now = now or clock.now()
    parts = [
        p
        for p in (
            _session_targets(session, now, worker_ids),
            _quiz_targets(session, worker_ids),
            _lesson_targets(session, worker_ids),
        )
        if len(p)
    ]
    if not parts:
        return 0
    target = pd.concat(parts, ignore_index=True)
    if days:
        target["credited_on"] = [
            days.get(ref, day) for ref, day in zip(target["source_ref"], target["credited_on"], strict=True)
        ]
    have_stmt = (
        select(HoursEntry.source_ref, func.sum(HoursEntry.hours).label("held"), func.count().label("n"))
        .where(col(HoursEntry.source).in_(AUTO_SOURCES))
        .group_by(HoursEntry.source_ref)
    )
    if worker_ids is not None:
        have_stmt = have_stmt.where(col(HoursEntry.worker_id).in_(worker_ids))
    have = frame(session, have_stmt, columns=["source_ref", "held", "n"])
    # Every automatic row counts towards the numbering (a correcting row of the job too).
    df = target.merge(have, on="source_ref", how="left")
    df["held"] = df["held"].fillna(0.0).astype(float)
    df["n"] = df["n"].fillna(0).astype(int)
    df["delta"] = (df["hours"].astype(float) - df["held"]).round(2)
    df = df[df["delta"].abs() >= EPS]
    if df.empty:
        return 0
    rows = []
    for r in df.itertuples(index=False):
        note = "" if r.n == 0 else f"source changed: {r.held:.2f} → {r.hours:.2f} h"
        rows.append(
            {
                "worker_id": int(r.worker_id),
                "credited_on": r.credited_on,
                "hours": float(r.delta),
                "source": r.source,
                "source_ref": r.source_ref,
                "source_key": f"{r.source_ref}#{r.n + 1}",
                "course_id": _int(r.course_id),
                "session_id": _int(r.session_id),
                "attempt_id": _int(r.attempt_id),
                "lesson_id": _int(r.lesson_id),
                "minutes": _int(r.minutes),
                "note": note,
                "recorded_by": None,
                "recorded_at": now,
                "evidence_id": None,
                "corrects_id": None,
            }
        )
    added = insert_ignore(session, HoursEntry, rows, conflict=["source_key"])
    if (
        worker_ids is not None and added
    ):  # one worker's lesson: their served figures now; the job serves the rest
        recount_hours(session, worker_ids=worker_ids, now=now)
    return added


def _int(v: float | None) -> int | None:
    return None if v is None or pd.isna(v) else int(v)


def _worker_in_scope(session: Session, viewer: Viewer, worker_id: int) -> Worker:
    if not viewer.is_manager:
        raise ScopeError("scope.err.manager_hours")
    return ensure_can_see_worker(viewer, session.get(Worker, worker_id))


def record_external(
    session: Session,
    viewer: Viewer,
    *,
    worker_id: int,
    hours: float,
    on: date,
    note: str,
    evidence: tuple[str, bytes] | None = None,
    course_id: int | None = None,
    now: datetime | None = None,
) -> HoursEntry:
    """Credit external training (a manager, for a worker in scope), backed by a file or a note.

    The same entry submitted twice (worker, day, hours, note and file) is recorded once."""
    now = now or clock.now()
    worker = _worker_in_scope(session, viewer, worker_id)
    note = (note or "").strip()
    if not note and evidence is None:
        raise TrainingError("evidence_needed")
    if not (0 < float(hours) <= MAX_EXTERNAL_HOURS):
        raise TrainingError("bad_hours", row=1, hours=str(hours))
    if on > now.date():
        raise TrainingError("future_day", day=str(on))
    digest = hashlib.sha256(f"{note}|{hours}|{on}".encode() + (evidence[1] if evidence else b"")).hexdigest()[
        :12
    ]
    ref = f"external:{worker_id}:{on.isoformat()}:{digest}"
    existing = session.exec(select(HoursEntry).where(HoursEntry.source_key == f"{ref}#1")).first()
    if existing is not None:
        return existing
    evidence_id = None
    if evidence is not None:
        ev = Evidence(
            filename=evidence[0][:200], data=evidence[1], uploaded_by=viewer.user_id or None, uploaded_at=now
        )
        session.add(ev)
        session.flush()
        evidence_id = ev.id
    entry = HoursEntry(
        worker_id=worker_id,
        credited_on=on,
        hours=round(float(hours), 2),
        source=HoursSource.EXTERNAL.value,
        source_ref=ref,
        source_key=f"{ref}#1",
        course_id=course_id,
        evidence_id=evidence_id,
        note=note[:500],
        recorded_by=viewer.user_id or None,
        recorded_at=now,
    )
    session.add(entry)
    session.flush()
    recount_hours(session, worker_ids=[worker_id], now=now)
    record(
        session,
        "training.hours.external",
        viewer=viewer,
        entity="worker",
        entity_id=worker.employee_no,
        after={
            "hours": entry.hours,
            "on": on,
            "note": note[:120],
            "evidence": evidence[0] if evidence else None,
        },
    )
    return entry


def correct_entry(
    session: Session, viewer: Viewer, *, entry_id: int, hours: float, note: str, now: datetime | None = None
) -> HoursEntry:
    """Correct a ledger row by adding a new row of ``hours`` (negative takes hours back), with a reason.

    The corrected row stays as it was; the correction points to it and carries its day."""
    now = now or clock.now()
    original = session.get(HoursEntry, entry_id)
    if original is None:
        raise TrainingError("no_entry", id=str(entry_id))
    worker = _worker_in_scope(session, viewer, original.worker_id)
    note = (note or "").strip()
    if not note:
        raise TrainingError("reason_needed")
    hours = round(float(hours), 2)
    if abs(hours) < EPS or abs(hours) > MAX_EXTERNAL_HOURS:
        raise TrainingError("bad_hours", row=1, hours=str(hours))
    held = session.exec(
        select(func.coalesce(func.sum(HoursEntry.hours), 0.0)).where(
            HoursEntry.worker_id == original.worker_id,
            (HoursEntry.id == entry_id) | (HoursEntry.corrects_id == entry_id),
        )
    ).one()
    if held + hours < -EPS:
        raise TrainingError("below_zero", held=f"{held:.2f}")
    n = session.exec(select(func.count()).where(HoursEntry.corrects_id == entry_id)).one()
    entry = HoursEntry(
        worker_id=original.worker_id,
        credited_on=original.credited_on,
        hours=hours,
        source=HoursSource.CORRECTION.value,
        source_ref=original.source_ref,
        source_key=f"{original.source_ref}#c{entry_id}.{n + 1}",
        course_id=original.course_id,
        corrects_id=entry_id,
        note=note[:500],
        recorded_by=viewer.user_id or None,
        recorded_at=now,
    )
    session.add(entry)
    session.flush()
    recount_hours(session, worker_ids=[original.worker_id], now=now)
    record(
        session,
        "training.hours.correct",
        viewer=viewer,
        entity="worker",
        entity_id=worker.employee_no,
        before={"entry": entry_id, "hours": held},
        after={"entry": entry.id, "hours": held + hours},
        detail={"note": note[:300]},
    )
    return entry


def ledger_frame(
    session: Session, viewer: Viewer, *, year: int, worker_id: int | None = None
) -> pd.DataFrame:
    """Ledger rows of ``year`` in the viewer's scope, newest first, with course and evidence names."""
    stmt: Select = (
        sa_select(
            col(HoursEntry.id),
            col(HoursEntry.worker_id),
            col(Worker.employee_no),
            col(Worker.name),
            col(HoursEntry.credited_on),
            col(HoursEntry.hours),
            col(HoursEntry.source),
            col(HoursEntry.source_ref),
            col(HoursEntry.minutes),
            col(Course.code).label("course_code"),
            col(Course.title_zh),
            col(Course.title_en),
            col(HoursEntry.note),
            col(Evidence.filename).label("evidence"),
            col(HoursEntry.corrects_id),
            col(HoursEntry.recorded_at),
        )
        .join(Worker, col(Worker.id) == col(HoursEntry.worker_id))
        .join(Course, col(Course.id) == col(HoursEntry.course_id), isouter=True)
        .join(Evidence, col(Evidence.id) == col(HoursEntry.evidence_id), isouter=True)
        .where(
            worker_scope_clause(viewer),
            col(HoursEntry.credited_on) >= date(year, 1, 1),
            col(HoursEntry.credited_on) <= date(year, 12, 31),
        )
        .order_by(col(HoursEntry.credited_on).desc(), col(HoursEntry.id).desc())
    )
    if worker_id is not None:
        stmt = stmt.where(col(HoursEntry.worker_id) == worker_id)
    return frame(session, stmt)


def evidence_file(session: Session, viewer: Viewer, *, entry_id: int) -> tuple[str, bytes]:
    """The evidence file of a ledger row the viewer may see."""
    entry = session.get(HoursEntry, entry_id)
    if entry is None or entry.evidence_id is None:
        raise TrainingError("no_entry", id=str(entry_id))
    ensure_can_see_worker(viewer, session.get(Worker, entry.worker_id))
    ev = must_get(session, Evidence, entry.evidence_id)
    return ev.filename, ev.data


def credited(
    session: Session, worker_ids: list[int], *, start: date, end: date, by_month: bool = False
) -> pd.DataFrame:
    """Σ hours per worker (and month "YYYY-MM" when ``by_month``) credited on days start..end."""
    if not worker_ids:
        return pd.DataFrame(columns=["worker_id", "period", "hours"] if by_month else ["worker_id", "hours"])
    stmt = select(HoursEntry.worker_id, col(HoursEntry.credited_on), HoursEntry.hours).where(
        and_(
            col(HoursEntry.worker_id).in_(worker_ids),
            col(HoursEntry.credited_on) >= start,
            col(HoursEntry.credited_on) <= end,
        )
    )
    df = frame(session, stmt, columns=["worker_id", "credited_on", "hours"])
    if by_month:
        df["period"] = pd.to_datetime(df["credited_on"]).dt.strftime("%Y-%m")
        return df.groupby(["worker_id", "period"], as_index=False)["hours"].sum()
    return df.groupby("worker_id", as_index=False)["hours"].sum()
