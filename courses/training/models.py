"""Training plans, the study-hours ledger, lessons and course rules.

- ``TrainingPlan``: one per year and org unit (district, subdistrict or community). A worker's duty is the
  sum of the plans of their district, subdistrict and community: each level adds to the one above.
- ``PlanRequirement``: hours a worker group must earn under one plan (all workers; new hires within
  ``window_days`` of their hire date; party members; the bottom ``bottom_pct`` % of a scorecard).
- ``PlanCourse``: a compulsory course for a group, with a deadline (new hires: hire date + window).
- ``HoursEntry``: the ledger. Every row names its source (``source_ref``, e.g. ``session:12:34``) and has a
  unique ``source_key`` (``source_ref#n``): a job that runs twice credits once; a correction is a new row
  under the same reference, never an edit.
- ``Lesson`` / ``LessonProgress``: a course's material split into lessons; ``opened_at`` is stored when the
  worker opens a lesson so that the server, not the phone, decides whether the minimum reading time passed.
- ``CourseRule``: how a course completes (attendance ≥ x %, quiz passed, lessons done), the course whose
  valid certificate it requires first, and the hours a passed quiz earns.
- ``GroupMember``: who is in a computed group for a year (the bottom of a scorecard: 末位).
- ``Evidence``: a file backing an external-training ledger row.
"""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.clock import LocalDateTime, now
from core.privacy import declare


class WorkerGroup(enum.StrEnum):
    ALL = "all"  # 全体网格员
    NEW_HIRE = "new_hire"  # 新入职 (岗前培训)
    PARTY = "party"  # 党员网格员
    BOTTOM = "bottom"  # 考核末位 (末位培训)


class HoursSource(enum.StrEnum):
    SESSION = "session"  # minutes attended at a session (check-in or meeting import)
    QUIZ = "quiz"  # a passed quiz
    LESSON = "lesson"  # a self-study lesson marked done
    EXTERNAL = "external"  # training elsewhere, recorded by a manager with evidence
    CORRECTION = "correction"  # a manager's correction of any row


class TrainingPlan(SQLModel, table=True):
    """The training plan of one org unit for one year."""

    __tablename__ = "training_plan"
    __table_args__ = (UniqueConstraint("year", "unit_id", name="uq_training_plan_year_unit"),)
    __data_classes__ = declare(
        personal="created_by",
        business="year unit_id title_zh title_en note",
        technical="id created_at updated_at",
    )

    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    unit_id: int = Field(foreign_key="org_unit.id", index=True)
    title_zh: str = Field(default="", max_length=200)
    title_en: str = Field(default="", max_length=200)
    note: str = Field(
        default="", sa_column=Column(Text, nullable=False, default="")
    )  # e.g. "numbers are proposals"
    created_by: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: LocalDateTime = Field(default_factory=now)
    updated_at: LocalDateTime = Field(default_factory=now)


class PlanRequirement(SQLModel, table=True):
    """Hours one worker group must earn under a plan (every number a setting)."""

    __tablename__ = "training_plan_requirement"
    __table_args__ = (UniqueConstraint("plan_id", "worker_group", name="uq_training_plan_requirement"),)
    __data_classes__ = declare(
        business="plan_id worker_group hours window_days bottom_pct",
        technical="id",
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="training_plan.id", index=True)
    worker_group: str = Field(max_length=16)
    hours: float
    window_days: int | None = None  # new hires: the hours are due within this many days of the hire date
    bottom_pct: float | None = None  # bottom group: the share of the scorecard (e.g. 5 = bottom 5 %)


class PlanCourse(SQLModel, table=True):
    """A compulsory course for a worker group under a plan, with its deadline."""

    __tablename__ = "training_plan_course"
    __table_args__ = (
        UniqueConstraint("plan_id", "course_id", "worker_group", name="uq_training_plan_course"),
    )
    __data_classes__ = declare(
        business="plan_id course_id worker_group due_date",
        technical="id",
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="training_plan.id", index=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    worker_group: str = Field(default=WorkerGroup.ALL.value, max_length=16)
    due_date: date | None = None  # None for new hires: hire date + the requirement's window


class Evidence(SQLModel, table=True):
    """A file backing an external-training entry (a certificate scan, an attendance sheet)."""

    __tablename__ = "training_evidence"
    __data_classes__ = declare(
        personal="uploaded_by",
        sensitive="data",
        business="filename content_type uploaded_at",
        technical="id",
    )

    id: int | None = Field(default=None, primary_key=True)
    filename: str = Field(max_length=200)
    content_type: str = Field(default="application/octet-stream", max_length=100)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploaded_by: int | None = Field(default=None, foreign_key="app_user.id")
    uploaded_at: LocalDateTime = Field(default_factory=now)


class HoursEntry(SQLModel, table=True):
    """One ledger row: hours credited (or, negative, taken back) to a worker, with its source."""

    __tablename__ = "training_hours"
    __table_args__ = (UniqueConstraint("source_key", name="uq_training_hours_source_key"),)
    __data_classes__ = declare(
        personal="worker_id hours minutes note recorded_by",
        business=(
            "credited_on source source_ref course_id session_id attempt_id lesson_id evidence_id "
            "corrects_id recorded_at"
        ),
        technical="id source_key",
    )

    id: int | None = Field(default=None, primary_key=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    credited_on: date = Field(index=True)  # the day of the training (a correction keeps its source's day)
    hours: float
    source: str = Field(max_length=16, index=True)
    source_ref: str = Field(max_length=120, index=True)  # what it is about: "session:<sid>:<wid>", …
    source_key: str = Field(max_length=140)  # source_ref + "#n": unique
    course_id: int | None = Field(default=None, foreign_key="course.id", index=True)
    session_id: int | None = Field(default=None, foreign_key="training_session.id")
    attempt_id: int | None = Field(default=None, foreign_key="quiz_attempt.id")
    lesson_id: int | None = Field(default=None, foreign_key="course_lesson.id")
    evidence_id: int | None = Field(default=None, foreign_key="training_evidence.id")
    corrects_id: int | None = Field(default=None, foreign_key="training_hours.id")
    minutes: int | None = None  # sessions: the minutes this row's hours stand for (after the cap)
    note: str = Field(default="", max_length=500)
    recorded_by: int | None = Field(default=None, foreign_key="app_user.id")
    recorded_at: LocalDateTime = Field(default_factory=now)


class Lesson(SQLModel, table=True):
    """One lesson of a course's self-paced material."""

    __tablename__ = "course_lesson"
    __table_args__ = (UniqueConstraint("course_id", "position", name="uq_course_lesson_position"),)
    __data_classes__ = declare(
        business=(
            "course_id title_zh title_en body_md_zh body_md_en video_url file_id "
            "min_read_seconds credit_minutes"
        ),
        technical="id position",
    )

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    position: int
    title_zh: str = Field(max_length=200)
    title_en: str = Field(default="", max_length=200)
    body_md_zh: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    body_md_en: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    video_url: str = Field(default="", max_length=500)
    file_id: int | None = Field(default=None, foreign_key="course_file.id")
    min_read_seconds: int = 120  # the server checks this between opening and "done"
    credit_minutes: int = 15  # study hours credited when done


class LessonProgress(SQLModel, table=True):
    """A worker's progress through one lesson: opened (server time), last seen, done."""

    __tablename__ = "course_lesson_progress"
    __table_args__ = (UniqueConstraint("lesson_id", "worker_id", name="uq_course_lesson_progress"),)
    __data_classes__ = declare(
        personal="worker_id",
        business="lesson_id opened_at done_at",
        technical="id last_seen_at",
    )

    id: int | None = Field(default=None, primary_key=True)
    lesson_id: int = Field(foreign_key="course_lesson.id", index=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    opened_at: LocalDateTime
    last_seen_at: LocalDateTime = Field(index=True)
    done_at: LocalDateTime | None = None


class CourseRule(SQLModel, table=True):
    """How a course completes, what it requires first, and what a passed quiz earns."""

    __tablename__ = "course_rule"
    __table_args__ = (UniqueConstraint("course_id", name="uq_course_rule_course"),)
    __data_classes__ = declare(
        personal="updated_by",
        business=(
            "course_id min_attendance_pct require_quiz require_lessons prerequisite_course_id "
            "quiz_credit_hours"
        ),
        technical="id updated_at",
    )

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id")
    min_attendance_pct: int | None = None  # None: attendance does not count for completion
    require_quiz: bool = True
    require_lessons: bool = False
    prerequisite_course_id: int | None = Field(default=None, foreign_key="course.id")
    quiz_credit_hours: float = 1.0
    updated_by: int | None = Field(default=None, foreign_key="app_user.id")
    updated_at: LocalDateTime = Field(default_factory=now)


class GroupMember(SQLModel, table=True):
    """A worker placed in a computed group for a year (the bottom of a scorecard: 末位)."""

    __tablename__ = "training_group_member"
    __table_args__ = (UniqueConstraint("year", "worker_group", "worker_id", name="uq_training_group_member"),)
    __data_classes__ = declare(
        personal="worker_id rank_pct",
        business="year worker_group period added_at",
        technical="id",
    )

    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    worker_group: str = Field(max_length=16)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    period: str = Field(default="", max_length=16)  # the scorecard period that placed them
    rank_pct: float | None = None
    added_at: LocalDateTime = Field(default_factory=now)
