"""The course catalog: shipped courses, editing, attached files and the question bank."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Select, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core import clock
from core.audit import changed_fields, record
from core.models import row_id
from core.scope import Viewer
from core.settings import DATA_DIR
from core.taxonomy import load_taxonomy
from core.uploads import ATTACHMENT_KINDS, check_upload
from courses._sql import frame, must_get, require_district
from courses.errors import CoursesError
from courses.models import Course, CourseBase, CourseFile, Question, QuestionOption

COURSES_DIR = DATA_DIR / "courses"
# Skill areas beyond the taxonomy's six categories (fire, security, work_safety, city, health, dispute).
EXTRA_SKILL_AREAS = {
    "info_collection": ("信息采集", "Information collection"),
    "residence_registration": ("居住登记", "Residence registration"),
    "house_coding": ("房屋编码", "House coding"),
}
MAX_FILE_BYTES = 10 * 1024 * 1024


class CourseError(CoursesError):
    """A course action that cannot be done as asked (the message says why)."""


def skill_areas() -> dict[str, tuple[str, str]]:
    """code → (zh, en) for every skill area a course can belong to."""
    areas = {c["code"]: (c["name_zh"], c["name_en"]) for c in load_taxonomy()["categories"]}
    return {**areas, **EXTRA_SKILL_AREAS}


def load_course_file(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def shipped_courses() -> list[dict]:
    return [load_course_file(p) for p in sorted(COURSES_DIR.glob("*.json"))]


def import_course(session: Session, data: dict) -> Course:
    """Insert (or update by code) a course and its question bank from the shipped JSON format."""
    course = session.exec(select(Course).where(col(Course.code) == data["code"])).first()
    fields = {k: v for k, v in data.items() if k in CourseBase.model_fields}
    if course is None:
        course = Course(**fields)
    else:
        for key, value in fields.items():
            setattr(course, key, value)
        course.updated_at = clock.now()
    session.add(course)
    session.flush()
    existing = {q.code: q for q in session.exec(select(Question).where(col(Question.course_id) == course.id))}
    # answered questions are never rewritten under the attempts that saw them: only new codes are added,
    # all in one flush (the database numbers them), then their options in another.
    added = [
        (
            Question(
                course_id=row_id(course.id),
                code=q["code"],
                kind=q["kind"],
                text_zh=q["text_zh"],
                text_en=q.get("text_en", ""),
                explanation_zh=q.get("explanation_zh", ""),
                explanation_en=q.get("explanation_en", ""),
            ),
            q,
        )
        for q in data.get("questions", [])
        if q["code"] not in existing
    ]
    session.add_all([question for question, _ in added])
    session.flush()
    session.add_all(
        [
            QuestionOption(
                question_id=row_id(question.id),
                code=o["code"],
                text_zh=o["text_zh"],
                text_en=o.get("text_en", ""),
                correct=bool(o["correct"]),
            )
            for question, q in added
            for o in q["options"]
        ]
    )
    session.flush()
    return course


def load_shipped_courses(session: Session) -> list[Course]:
    return [import_course(session, data) for data in shipped_courses()]


def course_by_code(session: Session, code: str) -> Course:
    course = session.exec(select(Course).where(col(Course.code) == code)).first()
    if course is None:
        raise CourseError("no_course_code", code=code)
    return course


def get_course(session: Session, course_id: int) -> Course:
    """The course with this id (the catalog is shared by the whole district)."""
    course = session.get(Course, course_id)
    if course is None:
        raise CourseError("no_course")
    return course


def course_form(session: Session, course_id: int | None) -> CourseBase:
    """What the catalog editor starts from: the course's fields, or a new course's defaults."""
    if course_id is None:
        return CourseBase(code="", title_zh="", skill_area="info_collection")
    return CourseBase.model_validate(get_course(session, course_id), from_attributes=True)


def catalog_frame(session: Session, *, active_only: bool = False) -> pd.DataFrame:
    """One row per course with its question-bank size (the catalog is shared by the whole district)."""
    n_questions = (
        select(col(Question.course_id), func.count().label("questions"))
        .where(col(Question.is_active))
        .group_by(col(Question.course_id))
        .subquery()
    )
    stmt: Select = (
        sa_select(
            col(Course.id),
            col(Course.code),
            col(Course.title_zh),
            col(Course.title_en),
            col(Course.skill_area),
            col(Course.pass_mark),
            col(Course.validity_months),
            col(Course.quiz_questions),
            col(Course.time_limit_minutes),
            col(Course.max_attempts),
            col(Course.grading_method),
            col(Course.is_active),
            func.coalesce(n_questions.c.questions, 0).label("questions"),
        )
        .join(n_questions, n_questions.c.course_id == col(Course.id), isouter=True)
        .order_by(col(Course.code))
    )
    if active_only:
        stmt = stmt.where(col(Course.is_active))
    return frame(session, stmt)


def validate_course(data: CourseBase) -> None:
    if not data.code.strip() or not data.title_zh.strip():
        raise CourseError("course_code_title")
    if not 0 < data.pass_mark <= 100:
        raise CourseError("pass_mark")
    if data.validity_months < 1:
        raise CourseError("validity")
    if data.quiz_questions < 1 or data.max_attempts < 1 or data.time_limit_minutes < 1:
        raise CourseError("quiz_settings")
    if not 0 <= data.late_min_pct <= data.present_min_pct <= 100:
        raise CourseError("thresholds")
    if data.skill_area not in skill_areas():
        raise CourseError("skill_area", area=data.skill_area)


@dataclass(frozen=True)
class Upload:
    """A file to attach to a course: its name, bytes and declared content type."""

    filename: str
    data: bytes
    content_type: str | None = None


def save_course(
    session: Session,
    viewer: Viewer,
    data: CourseBase,
    course_id: int | None = None,
    *,
    files: Sequence[Upload] = (),
) -> Course:
    """Create a course or update one (by id), and attach ``files`` to it — all or nothing (a disguised or
    oversized file refuses the whole save before anything is written); the code stays unique."""
    require_district(viewer)
    validate_course(data)
    for f in files:
        check_attachment(f.filename, f.data)
    clash = session.exec(select(col(Course.id)).where(col(Course.code) == data.code.strip())).first()
    if clash is not None and clash != course_id:
        raise CourseError("code_taken", code=data.code)
    course = (
        session.get(Course, course_id)
        if course_id
        else Course(code=data.code, title_zh=data.title_zh, skill_area=data.skill_area)
    )
    if course is None:
        raise CourseError("no_course")
    was = CourseBase.model_validate(course, from_attributes=True).model_dump() if course_id else {}
    for key, value in data.model_dump().items():
        setattr(
            course, key, value.strip() if isinstance(value, str) and key in ("code", "title_zh") else value
        )
    course.updated_at = clock.now()
    session.add(course)
    before, after = changed_fields(was, CourseBase.model_validate(course, from_attributes=True).model_dump())
    if after:
        record(
            session,
            "course.update" if course_id else "course.create",
            viewer=viewer,
            entity="course",
            entity_id=course.code,
            before=before if course_id else None,
            after=after,
        )
    session.flush()
    session.refresh(course)
    for f in files:
        attach_file(
            session,
            viewer,
            course_id=row_id(course.id),
            filename=f.filename,
            data=f.data,
            content_type=f.content_type,
        )
    return course


def check_attachment(filename: str, data: bytes) -> None:
    """Refuse an attachment that is too large or whose content is not what its name says."""
    if len(data) > MAX_FILE_BYTES:
        raise CourseError("file_too_large", name=filename, mb=MAX_FILE_BYTES // (1024 * 1024))
    check_upload(data, filename, kinds=ATTACHMENT_KINDS)  # UploadError: content is not what the name says


def attach_file(
    session: Session,
    viewer: Viewer,
    *,
    course_id: int,
    filename: str,
    data: bytes,
    content_type: str | None = None,
) -> CourseFile:
    require_district(viewer)
    check_attachment(filename, data)
    if session.get(Course, course_id) is None:
        raise CourseError("no_course")
    row = CourseFile(
        course_id=course_id,
        filename=filename[:200],
        data=data,
        content_type=content_type or "application/octet-stream",
    )
    session.add(row)
    record(
        session,
        "course.file_add",
        viewer=viewer,
        entity="course",
        entity_id=must_get(session, Course, course_id).code,
        after={"filename": row.filename},
        detail={"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()},
    )
    session.flush()
    session.refresh(row)
    return row


def course_files(session: Session, course_id: int) -> list[CourseFile]:
    return list(
        session.exec(
            select(CourseFile)
            .where(col(CourseFile.course_id) == course_id)
            .order_by(col(CourseFile.filename))
        )
    )


def parse_links(text: str) -> list[tuple[str, str]]:
    """ "label | url" lines → [(label, url)]; a bare URL is its own label."""
    out = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        label, _, url = line.partition("|")
        url = url.strip() or label.strip()
        out.append((label.strip() if _ else url, url))
    return out


def question_bank(session: Session, course_id: int) -> pd.DataFrame:
    stmt: Select = (
        sa_select(
            col(Question.id),
            col(Question.code),
            col(Question.kind),
            col(Question.text_zh),
            col(Question.text_en),
            col(Question.is_active),
            func.count(col(QuestionOption.id)).label("options"),
        )
        .join(QuestionOption, col(QuestionOption.question_id) == col(Question.id), isouter=True)
        .where(col(Question.course_id) == course_id)
        .group_by(col(Question.id))
        .order_by(col(Question.code))
    )
    return frame(session, stmt)
