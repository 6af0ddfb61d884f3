"""Self-paced material: a course's material split into lessons, read on the phone, marked done.

Opening a lesson stores ``opened_at`` (server time) once; "done" is accepted only when at least the
lesson's ``min_read_seconds`` have passed since then — the phone cannot shorten it. A lesson done is
credited to the hours ledger at once. "Continue where you left off" is the first lesson not done of the
course the worker last read.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Select, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core import clock
from core.audit import record
from core.scope import ScopeError, Viewer
from core.sql import frame, insert_ignore
from courses._sql import must_get, require_district, rowcount
from courses.catalog import parse_links
from courses.models import Course, Enrollment
from courses.training.errors import TrainingError
from courses.training.ledger import credit_sources
from courses.training.models import Lesson, LessonProgress

HEADING = re.compile(r"^##\s+(.+)$", re.MULTILINE)
TITLE_ONLY = re.compile(r"^#\s+.*$", re.MULTILINE)
READ_SECONDS_PER_CHAR = 0.12  # a proposal: about 500 characters a minute, at least one minute
MIN_READ_SECONDS = 60


def split_material(markdown: str) -> list[tuple[str, str]]:
    """Split markdown at its level-2 headings into (title, body); text before the first heading becomes an
    introduction, unless it is only the material's level-1 title (a lesson with nothing to read). No heading:
    one lesson."""
    text = (markdown or "").strip()
    if not text:
        return []
    marks = list(HEADING.finditer(text))
    if not marks:
        return [("", text)]
    out = []
    intro = text[: marks[0].start()].strip()
    if TITLE_ONLY.sub("", intro).strip():
        out.append(("", intro))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        out.append((m.group(1).strip(), text[m.end() : end].strip()))
    return out


def read_seconds(body: str) -> int:
    return max(MIN_READ_SECONDS, int(len(body) * READ_SECONDS_PER_CHAR))


def ensure_lessons(session: Session, *, course_ids: list[int] | None = None) -> int:
    """Split the material of courses that have no lessons yet; return the lessons created (idempotent). The
    course's first web link (its "label | url" links) becomes the first lesson's video link."""
    stmt = select(Course).where(~col(Course.id).in_(select(Lesson.course_id)))
    if course_ids is not None:
        stmt = stmt.where(col(Course.id).in_(course_ids))

    rows = []
    for course in session.exec(stmt).all():
        zh, en = split_material(course.material_md_zh), split_material(course.material_md_en)
        links = [url for _label, url in parse_links(course.links) if url.startswith(("http://", "https://"))]
        for i, (title, body) in enumerate(zh):
            t_en, b_en = en[i] if i < len(en) else ("", "")
            rows.append(
                {
                    "course_id": course.id,
                    "position": i + 1,
                    "title_zh": (title or f"{course.title_zh} · 导读")[:200],
                    "title_en": (t_en or (f"{course.title_en} · introduction" if course.title_en else ""))[
                        :200
                    ],
                    "body_md_zh": body,
                    "body_md_en": b_en,
                    "video_url": links[0][:500] if links and i == 0 else "",
                    "file_id": None,
                    "min_read_seconds": read_seconds(body),
                    "credit_minutes": max(5, read_seconds(body) // 60 * 5),
                }
            )
    return insert_ignore(session, Lesson, rows, conflict=["course_id", "position"])


def _worker(viewer: Viewer) -> int:
    if viewer.worker_id is None:
        raise ScopeError("scope.err.worker_lessons")
    return viewer.worker_id


def _lesson_for(session: Session, viewer: Viewer, lesson_id: int) -> Lesson:
    worker_id = _worker(viewer)
    lesson = session.get(Lesson, lesson_id)
    if lesson is None:
        raise TrainingError("no_lesson", id=str(lesson_id))
    enrolled = session.exec(
        select(Enrollment.id).where(
            Enrollment.course_id == lesson.course_id, Enrollment.worker_id == worker_id
        )
    ).first()
    if enrolled is None:
        raise ScopeError("scope.err.lesson_not_enrolled")
    return lesson


def open_lesson(
    session: Session, viewer: Viewer, *, lesson_id: int, now: datetime | None = None
) -> LessonProgress:
    """Record that the worker opened a lesson (the first opening starts the reading clock)."""
    now = now or clock.now()
    lesson = _lesson_for(session, viewer, lesson_id)
    insert_ignore(
        session,
        LessonProgress,
        [
            {
                "lesson_id": lesson.id,
                "worker_id": viewer.worker_id,
                "opened_at": now,
                "last_seen_at": now,
                "done_at": None,
            }
        ],
        conflict=["lesson_id", "worker_id"],
    )
    session.execute(
        update(LessonProgress)
        .where(col(LessonProgress.lesson_id) == lesson.id, col(LessonProgress.worker_id) == viewer.worker_id)
        .values(last_seen_at=now)
    )
    return session.exec(
        select(LessonProgress)
        .where(LessonProgress.lesson_id == lesson.id, LessonProgress.worker_id == viewer.worker_id)
        .execution_options(populate_existing=True)
    ).one()


def complete_lesson(
    session: Session,
    viewer: Viewer,
    *,
    lesson_id: int,
    now: datetime | None = None,
    credit_on: date | None = None,
) -> bool:
    """Mark a lesson done once its minimum reading time has passed since it was opened (checked here, on the
    server); credit its hours, on ``credit_on`` when given (a demo database's pinned today: the reading time
    runs on the clock, the hours count in the year the worker's page shows), else on the day it is done.
    Returns False when it was already done."""
    now = now or clock.now()
    lesson = _lesson_for(session, viewer, lesson_id)
    worker_id = _worker(viewer)
    progress = session.exec(
        select(LessonProgress).where(
            LessonProgress.lesson_id == lesson.id, LessonProgress.worker_id == viewer.worker_id
        )
    ).first()
    if progress is None:
        raise TrainingError("lesson_not_opened")
    if progress.done_at is not None:
        return False
    waited = (now - progress.opened_at).total_seconds()
    if waited < lesson.min_read_seconds:
        raise TrainingError("lesson_too_soon", seconds=int(lesson.min_read_seconds - waited + 0.999))
    done = rowcount(
        session.execute(
            update(LessonProgress)
            .where(col(LessonProgress.id) == progress.id, col(LessonProgress.done_at).is_(None))
            .values(done_at=now, last_seen_at=now)
        )
    )
    ref = f"lesson:{lesson.id}:{worker_id}"  # the ledger's source ref of a lesson (ledger._lesson_targets)
    credit_sources(session, now=now, worker_ids=[worker_id], days={ref: credit_on} if credit_on else None)
    return bool(done)


def course_lessons(session: Session, viewer: Viewer, *, course_id: int) -> pd.DataFrame:
    """A course's lessons with the worker's progress (opened_at, done_at)."""
    worker_id = _worker(viewer)
    stmt: Select = (
        sa_select(
            col(Lesson.id),
            col(Lesson.position),
            col(Lesson.title_zh),
            col(Lesson.title_en),
            col(Lesson.body_md_zh),
            col(Lesson.body_md_en),
            col(Lesson.video_url),
            col(Lesson.file_id),
            col(Lesson.min_read_seconds),
            col(Lesson.credit_minutes),
            col(LessonProgress.opened_at),
            col(LessonProgress.done_at),
        )
        .join(
            LessonProgress,
            (col(LessonProgress.lesson_id) == col(Lesson.id)) & (col(LessonProgress.worker_id) == worker_id),
            isouter=True,
        )
        .where(col(Lesson.course_id) == course_id)
        .order_by(col(Lesson.position))
    )
    return frame(session, stmt)


def _progress_rows(session: Session, worker_id: int) -> list[dict[str, Any]]:
    """Per enrolled course with lessons, in the order to continue them (the course read last first, then by
    code; courses never opened last): course_id, code, titles, lessons_total, lessons_done, last_seen_at and
    next_lesson_id (the first lesson by position not done; None when all are). Summed in plain Python: a
    worker's few dozen lessons, read on every click of 我的学时 (a pandas groupby cost ~8 ms of it)."""
    stmt: Select = (
        sa_select(
            col(Course.id),
            col(Course.code),
            col(Course.title_zh),
            col(Course.title_en),
            col(Lesson.id),
            col(Lesson.position),
            col(LessonProgress.done_at),
            col(LessonProgress.last_seen_at),
        )
        .join(
            Enrollment,
            (col(Enrollment.course_id) == col(Course.id)) & (col(Enrollment.worker_id) == worker_id),
        )
        .join(Lesson, col(Lesson.course_id) == col(Course.id))
        .join(
            LessonProgress,
            (col(LessonProgress.lesson_id) == col(Lesson.id)) & (col(LessonProgress.worker_id) == worker_id),
            isouter=True,
        )
    )
    courses: dict[int, dict[str, Any]] = {}
    first_open: dict[int, tuple[int, int]] = {}  # course → (position, lesson id) of its first lesson not done
    for course_id, code, title_zh, title_en, lesson_id, position, done_at, seen in session.execute(stmt):
        c = courses.setdefault(
            course_id,
            {
                "course_id": course_id,
                "code": code,
                "title_zh": title_zh,
                "title_en": title_en,
                "lessons_total": 0,
                "lessons_done": 0,
                "last_seen_at": None,
            },
        )
        c["lessons_total"] += 1
        if done_at is not None:
            c["lessons_done"] += 1
        elif course_id not in first_open or position < first_open[course_id][0]:
            first_open[course_id] = (position, lesson_id)
        if seen is not None and (c["last_seen_at"] is None or seen > c["last_seen_at"]):
            c["last_seen_at"] = seen
    for course_id, c in courses.items():
        c["next_lesson_id"] = first_open[course_id][1] if course_id in first_open else None
    by_code = sorted(courses.values(), key=lambda c: c["code"])
    # stable: courses read at the same time (and those never read, last) keep the order by code
    return sorted(by_code, key=lambda c: c["last_seen_at"] or datetime.min, reverse=True)


def continue_lesson(session: Session, viewer: Viewer) -> dict | None:
    """Where to continue: the next lesson of the course last read (else of the first unfinished course)."""
    row = next((c for c in _progress_rows(session, _worker(viewer)) if c["next_lesson_id"] is not None), None)
    if row is None:
        return None
    lesson = must_get(session, Lesson, row["next_lesson_id"])
    return {
        "course_id": row["course_id"],
        "code": row["code"],
        "course_zh": row["title_zh"],
        "course_en": row["title_en"],
        "lesson_id": lesson.id,
        "position": lesson.position,
        "title_zh": lesson.title_zh,
        "title_en": lesson.title_en,
        "lessons_total": row["lessons_total"],
        "lessons_done": row["lessons_done"],
    }


LESSON_COLS = [
    "id",
    "course_id",
    "position",
    "title_zh",
    "title_en",
    "min_read_seconds",
    "credit_minutes",
    "video_url",
]


def lessons_frame(session: Session, viewer: Viewer, *, course_id: int) -> pd.DataFrame:
    """A course's lessons as a manager edits them (the catalog is district-wide: managers at any level read)."""
    if not viewer.is_manager:
        raise ScopeError("scope.err.manager_lessons")
    stmt = (
        select(*[getattr(Lesson, c) for c in LESSON_COLS])
        .where(Lesson.course_id == course_id)
        .order_by(Lesson.position)
    )
    return frame(session, stmt)


def set_lesson(
    session: Session,
    viewer: Viewer,
    *,
    lesson_id: int,
    title_zh: str,
    title_en: str = "",
    min_read_minutes: float,
    credit_minutes: int,
    video_url: str = "",
) -> Lesson:
    """Change a lesson's titles, minimum reading time, credited minutes and video link (district managers:
    the catalog is district-wide); audited."""
    require_district(viewer)
    lesson = session.get(Lesson, lesson_id)
    if lesson is None:
        raise TrainingError("no_lesson", id=str(lesson_id))
    title_zh, title_en, video_url = (
        (title_zh or "").strip(),
        (title_en or "").strip(),
        (video_url or "").strip(),
    )
    if not title_zh or len(title_zh) > 200 or len(title_en) > 200:
        raise TrainingError("bad_lesson_title", position=lesson.position)
    if not 1 <= float(min_read_minutes) <= 240:
        raise TrainingError("bad_read_minutes", position=lesson.position, minutes=str(min_read_minutes))
    if not 0 <= int(credit_minutes) <= 480:
        raise TrainingError("bad_credit_minutes", position=lesson.position, minutes=str(credit_minutes))
    if video_url and (not re.match(r"^https?://\S+$", video_url) or len(video_url) > 500):
        raise TrainingError("bad_video_url", position=lesson.position, url=video_url[:80])
    before = lesson.model_dump(include=set(LESSON_COLS))
    lesson.title_zh, lesson.title_en, lesson.video_url = title_zh, title_en, video_url
    lesson.min_read_seconds, lesson.credit_minutes = (
        int(round(float(min_read_minutes) * 60)),
        int(credit_minutes),
    )
    session.add(lesson)
    session.flush()
    after = lesson.model_dump(include=set(LESSON_COLS))
    if after != before:
        record(
            session,
            "training.lesson.set",
            viewer=viewer,
            entity="lesson",
            entity_id=str(lesson.id),
            before=before,
            after=after,
        )
    return lesson
