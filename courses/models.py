"""Online courses (云课程): catalog, question bank, sessions, enrollment, attendance, quizzes,
certificates and the in-app inbox.

Every repeatable write is decided by a unique constraint: one seat per worker and session (check-in is a
conditional UPDATE of that seat), one attempt per worker, course and attempt number, one answer per
attempt and question, one certificate per attempt, one notification per key.
"""

from __future__ import annotations

import enum

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.clock import LocalDateTime, now
from core.privacy import declare


class GradingMethod(enum.StrEnum):
    HIGHEST = "highest"
    LAST = "last"
    AVERAGE = "average"


class ReviewPolicy(enum.StrEnum):
    AFTER_SUBMIT = "after_submit"  # mistakes and explanations right after each submit
    AFTER_PASS = "after_pass"  # only once the worker has passed (keeps the bank from leaking)
    NEVER = "never"


class QuestionKind(enum.StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    TRUEFALSE = "truefalse"


class SessionStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    CLOSED = "closed"  # attendance final: the unmarked were set absent


class AttendanceStatus(enum.StrEnum):
    PRESENT = "present"  # 出勤
    LATE = "late"  # 迟到
    EXCUSED = "excused"  # 请假
    ABSENT = "absent"  # 缺勤


class AttemptStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    AUTO_SUBMITTED = "auto_submitted"  # the scheduler closed it at the deadline


class ExcuseStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class RuleKind(enum.StrEnum):
    UNIT = "unit"  # everyone in a community or subdistrict (unit_id)
    PARTY = "party"  # party-member workers (within unit_id when set)
    LACKING_CERT = (
        "lacking_cert"  # workers without a valid certificate of cert_course_id (default: this course)
    )


class CourseBase(SQLModel):
    code: str = Field(max_length=48, unique=True, index=True)
    title_zh: str = Field(max_length=200)
    title_en: str = Field(default="", max_length=200)
    description_zh: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    description_en: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # A taxonomy category code (fire, security, …) or info_collection / residence_registration / house_coding.
    skill_area: str = Field(max_length=32, index=True)
    material_md_zh: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    material_md_en: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    links: str = Field(
        default="", sa_column=Column(Text, nullable=False, default="")
    )  # one "label | url" a line
    pass_mark: int = 80  # percent
    validity_months: int = 12  # certificate validity
    quiz_questions: int = 10  # drawn at random per attempt
    time_limit_minutes: int = 20
    max_attempts: int = 3
    grading_method: str = Field(default=GradingMethod.HIGHEST.value, max_length=16)
    review_policy: str = Field(default=ReviewPolicy.AFTER_SUBMIT.value, max_length=16)
    # Attendance points per status, and the import thresholds (share of the session's minutes).
    points_present: int = 2
    points_late: int = 1
    points_excused: int = 0
    points_absent: int = 0
    late_after_minutes: int = 10  # a self check-in later than start + this is "late"
    present_min_pct: int = 80
    late_min_pct: int = 50
    is_active: bool = True


class Course(CourseBase, table=True):
    """A course of the catalog, with its quiz and attendance rules."""

    __tablename__ = "course"
    __data_classes__ = declare(
        business=(
            "code title_zh title_en description_zh description_en skill_area material_md_zh "
            "material_md_en links pass_mark validity_months quiz_questions time_limit_minutes "
            "max_attempts grading_method review_policy points_present points_late points_excused "
            "points_absent late_after_minutes present_min_pct late_min_pct is_active"
        ),
        technical="id created_at updated_at",
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: LocalDateTime = Field(default_factory=now)
    updated_at: LocalDateTime = Field(default_factory=now)


class CourseFile(SQLModel, table=True):
    """A file attached to a course's material (handouts, forms); small office files only."""

    __tablename__ = "course_file"
    __data_classes__ = declare(
        business="course_id filename content_type data uploaded_at",
        technical="id",
    )

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    filename: str = Field(max_length=200)
    content_type: str = Field(default="application/octet-stream", max_length=100)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploaded_at: LocalDateTime = Field(default_factory=now)


class Question(SQLModel, table=True):
    """A question of a course's bank."""

    __tablename__ = "course_question"
    __table_args__ = (UniqueConstraint("course_id", "code", name="uq_course_question_code"),)
    __data_classes__ = declare(
        business="course_id code kind text_zh text_en explanation_zh explanation_en is_active",
        technical="id",
    )

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    code: str = Field(max_length=32)
    kind: str = Field(max_length=16)
    text_zh: str = Field(sa_column=Column(Text, nullable=False))
    text_en: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    explanation_zh: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    explanation_en: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    is_active: bool = True


class QuestionOption(SQLModel, table=True):
    """One option of a question; ``correct`` marks the right ones (several for multiple choice)."""

    __tablename__ = "course_question_option"
    __data_classes__ = declare(
        business="question_id code text_zh text_en correct",
        technical="id",
    )

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="course_question.id", index=True)
    code: str = Field(max_length=8)
    text_zh: str = Field(sa_column=Column(Text, nullable=False))
    text_en: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    correct: bool = False


class TrainingSession(SQLModel, table=True):
    """One scheduled meeting of a course (an occurrence of a series when recurring)."""

    __tablename__ = "training_session"
    __data_classes__ = declare(
        personal="host_user_id created_by",
        sensitive="secret",
        business=(
            "course_id series title_zh title_en start_at end_at meeting_url capacity unit_id status closed_at"
        ),
        technical="id version created_at updated_at",
    )

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    series: str | None = Field(default=None, max_length=32, index=True)  # shared by a recurrence's sessions
    title_zh: str = Field(default="", max_length=200)
    title_en: str = Field(default="", max_length=200)
    start_at: LocalDateTime = Field(index=True)
    end_at: LocalDateTime = Field(index=True)
    meeting_url: str = Field(default="", max_length=500)
    capacity: int | None = None
    # Audience: workers enrolled in the course within this org unit (None = everyone enrolled).
    unit_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)
    status: str = Field(default=SessionStatus.SCHEDULED.value, max_length=16, index=True)
    # Per-session secret for the rotating check-in code and link token (HMAC; no code table needed).
    secret: str = Field(max_length=64)
    version: int = 1  # bumped on each edit, so change notices are keyed per edit
    host_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_by: int | None = Field(default=None, foreign_key="app_user.id")
    closed_at: LocalDateTime | None = None
    created_at: LocalDateTime = Field(default_factory=now)
    updated_at: LocalDateTime = Field(default_factory=now)


class Enrollment(SQLModel, table=True):
    """A worker's place in a course (by hand, by rule, or by another area through the API)."""

    __tablename__ = "course_enrollment"
    __table_args__ = (UniqueConstraint("course_id", "worker_id", name="uq_course_enrollment"),)
    __data_classes__ = declare(
        personal="worker_id reason",
        business="course_id source rule_id quiz_due_at enrolled_at",
        technical="id",
    )

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    source: str = Field(default="manual", max_length=16)  # manual | rule | api | demo
    reason: str = Field(default="", max_length=300)
    rule_id: int | None = Field(default=None, foreign_key="course_enrollment_rule.id")
    quiz_due_at: LocalDateTime | None = None
    enrolled_at: LocalDateTime = Field(default_factory=now, index=True)


class EnrollmentRule(SQLModel, table=True):
    """A standing rule; re-applied by the scheduler so that workers who join later are enrolled too."""

    __tablename__ = "course_enrollment_rule"
    __data_classes__ = declare(
        personal="created_by",
        business="course_id kind unit_id cert_course_id is_active",
        technical="id created_at",
    )

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    kind: str = Field(max_length=16)
    unit_id: int | None = Field(default=None, foreign_key="org_unit.id")
    cert_course_id: int | None = Field(default=None, foreign_key="course.id")
    is_active: bool = True
    created_by: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: LocalDateTime = Field(default_factory=now)


class Attendance(SQLModel, table=True):
    """A worker's seat at a session and how they attended (status None until marked)."""

    __tablename__ = "course_attendance"
    __table_args__ = (UniqueConstraint("session_id", "worker_id", name="uq_course_attendance"),)
    __data_classes__ = declare(
        personal="worker_id status points marked_by",
        business="session_id source checked_in_at minutes_attended marked_at",
        technical="id",
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="training_session.id", index=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    status: str | None = Field(default=None, max_length=16)
    points: int | None = None
    source: str | None = Field(default=None, max_length=16)  # code | link | manual | import | auto | excuse
    checked_in_at: LocalDateTime | None = None
    minutes_attended: int | None = None
    marked_by: int | None = Field(default=None, foreign_key="app_user.id")
    marked_at: LocalDateTime | None = None


class ExcuseRequest(SQLModel, table=True):
    """A worker asks in advance to be excused from a session; a manager decides."""

    __tablename__ = "course_excuse"
    __table_args__ = (UniqueConstraint("session_id", "worker_id", name="uq_course_excuse"),)
    __data_classes__ = declare(
        personal="worker_id decided_by",
        sensitive="reason",
        business="session_id status requested_at decided_at",
        technical="id",
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="training_session.id", index=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    reason: str = Field(max_length=300)
    status: str = Field(default=ExcuseStatus.PENDING.value, max_length=16, index=True)
    requested_at: LocalDateTime = Field(default_factory=now)
    decided_by: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: LocalDateTime | None = None


class QuizAttempt(SQLModel, table=True):
    """One attempt at a course's quiz. ``deadline_at`` is fixed at start; the server enforces it."""

    __tablename__ = "quiz_attempt"
    __table_args__ = (UniqueConstraint("course_id", "worker_id", "number", name="uq_quiz_attempt_number"),)
    __data_classes__ = declare(
        personal="worker_id score",
        business="course_id number status started_at deadline_at submitted_at correct_count question_count",
        technical="id",
    )

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    number: int  # 1, 2, … within the worker's certification cycle for this course
    status: str = Field(default=AttemptStatus.IN_PROGRESS.value, max_length=16, index=True)
    started_at: LocalDateTime
    deadline_at: LocalDateTime = Field(index=True)
    submitted_at: LocalDateTime | None = None
    score: float | None = None  # 0–100
    correct_count: int | None = None
    question_count: int


class AttemptAnswer(SQLModel, table=True):
    """A drawn question of an attempt: its position, the shuffled option order and what was chosen."""

    __tablename__ = "quiz_answer"
    __table_args__ = (UniqueConstraint("attempt_id", "question_id", name="uq_quiz_answer"),)
    __data_classes__ = declare(
        business="attempt_id question_id chosen answered_at correct",
        technical="id position option_order",
    )

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: int = Field(foreign_key="quiz_attempt.id", index=True)
    question_id: int = Field(foreign_key="course_question.id", index=True)
    position: int
    option_order: str = Field(max_length=200)  # option ids, comma-separated, as shown
    chosen: str | None = Field(default=None, max_length=200)  # option ids, comma-separated, sorted
    answered_at: LocalDateTime | None = None
    correct: bool | None = None


class Certificate(SQLModel, table=True):
    """Issued when a worker's grade reaches the pass mark; valid for the course's validity months."""

    __tablename__ = "course_certificate"
    __table_args__ = (UniqueConstraint("attempt_id", name="uq_course_certificate_attempt"),)
    __data_classes__ = declare(
        personal="worker_id score",
        business="course_id attempt_id issued_at valid_until",
        technical="id",
    )

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    attempt_id: int = Field(foreign_key="quiz_attempt.id")
    score: float
    issued_at: LocalDateTime
    valid_until: LocalDateTime = Field(index=True)
