"""Training-plan progress served from tables, not recomputed per view (issue #21).

- ``TrainingProgress``: one row per worker, plan year and month: the plan status as of ``as_of`` (the month's
  last day once the month is over, else the day the job last ran): required hours, hours credited by kind,
  pre-service training, compulsory courses, and the flags the dashboard filters on. Written by the ledger job
  (courses.training.serving.serve) and, for the hours, by the writes that change the ledger
  (courses.training.progress.recount_hours).
- ``TrainingOverdue``: the compulsory courses past their deadline and not completed in that row's month.

The natural key is the primary key, so a refresh that deletes and inserts a month's rows leaves the same rows.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from core.clock import LocalDateTime, now
from core.privacy import declare


class TrainingProgress(SQLModel, table=True):
    """A worker's training-plan figures for one month of a plan year, as of ``as_of``."""

    __tablename__ = "training_progress"
    __table_args__ = (Index("ix_training_progress_year_month", "year", "month"),)
    # a worker's hours and standing against the plan: personal, like the ledger's hours
    __data_classes__ = declare(
        personal=(
            "worker_id required_year required_to_date credited credited_session credited_quiz "
            "credited_lesson credited_external credited_correction complete behind bottom preservice_hours "
            "preservice_credited preservice_deadline preservice_overdue compulsory_total compulsory_overdue"
        ),
        business="year month as_of",
        technical="updated_at",
    )

    worker_id: int = Field(foreign_key="worker.id", primary_key=True)
    year: int = Field(primary_key=True)
    month: int = Field(primary_key=True)  # 1..12: the figures of the month (as of its end once it is over)
    as_of: date  # the day the "to date" figures refer to
    required_year: float = 0.0
    required_to_date: float = 0.0
    credited: float = 0.0  # 1 January .. as_of, every kind (corrections included)
    credited_session: float = 0.0
    credited_quiz: float = 0.0
    credited_lesson: float = 0.0
    credited_external: float = 0.0
    credited_correction: float = 0.0
    complete: bool = False  # the year's required hours are credited
    behind: bool = False  # credited < BEHIND_SHARE × required to date
    bottom: bool = False
    preservice_hours: float = 0.0
    preservice_credited: float = 0.0
    preservice_deadline: date | None = None
    preservice_overdue: bool = False
    compulsory_total: int = 0
    compulsory_overdue: int = 0
    updated_at: LocalDateTime = Field(default_factory=now)  # the time of the figures, shown on the page


class TrainingOverdue(SQLModel, table=True):
    """A compulsory course past its deadline and not completed, in one month's figures."""

    __tablename__ = "training_overdue"
    __table_args__ = (Index("ix_training_overdue_year_month", "year", "month"),)
    __data_classes__ = declare(personal="worker_id", business="year month course_id due")

    worker_id: int = Field(foreign_key="worker.id", primary_key=True)
    year: int = Field(primary_key=True)
    month: int = Field(primary_key=True)
    course_id: int = Field(foreign_key="course.id", primary_key=True)
    due: date
