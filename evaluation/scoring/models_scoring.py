"""Scoring tables: scheme versions (JSON definition), frozen scorecard snapshots, adjustments.

A scheme edit never changes a stored row: it adds version n+1. A snapshot records the scheme row it
was computed with and the input row counts; recomputing a frozen month adds a revision.
"""

from __future__ import annotations

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.clock import LocalDateTime, now
from core.privacy import declare


class ScoringScheme(SQLModel, table=True):
    """One version of a scoring scheme; ``definition`` is the JSON parsed by ``scheme.Scheme``."""

    __tablename__ = "scoring_scheme"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_scoring_scheme_code_version"),)
    __data_classes__ = declare(
        personal="created_by",
        business="code name_zh name_en definition is_active note",
        technical="id version created_at",
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, index=True)
    version: int
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=100)
    definition: str = Field(sa_column=Column(Text, nullable=False))
    is_active: bool = Field(default=False, index=True)
    note: str = Field(default="", max_length=500)
    created_by: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: LocalDateTime = Field(default_factory=now)


class ScorecardSnapshot(SQLModel, table=True):
    """A month's scorecards frozen after it closed (revision 1), or a later recomputation (2, 3, …)."""

    __tablename__ = "scorecard_snapshot"
    __table_args__ = (UniqueConstraint("period", "revision", name="uq_scorecard_snapshot_period_revision"),)
    __data_classes__ = declare(
        personal="reason computed_by",
        business=(
            "period scheme_id scheme_code scheme_version workers_scored mean_total computed_at bulletin"
        ),
        technical="id revision input_rows changes",
    )

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=8, index=True)  # YYYY-MM
    revision: int
    scheme_id: int = Field(foreign_key="scoring_scheme.id")
    scheme_code: str = Field(max_length=32)
    scheme_version: int
    input_rows: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON counts
    changes: str = Field(default="", sa_column=Column(Text, nullable=False))  # JSON summary vs previous
    workers_scored: int = 0
    mean_total: float | None = None
    reason: str = Field(default="", max_length=200)
    computed_by: int | None = Field(default=None, foreign_key="app_user.id")  # None = scheduled job
    computed_at: LocalDateTime = Field(default_factory=now)
    bulletin: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class ScorecardEntry(SQLModel, table=True):
    """One worker's card in a snapshot."""

    __tablename__ = "scorecard_entry"
    __table_args__ = (
        UniqueConstraint("snapshot_id", "worker_id", name="uq_scorecard_entry_snapshot_worker"),
    )
    __data_classes__ = declare(
        personal="worker_id total grade rank",
        business="snapshot_id base bonus deduction coverage prorated missing_components",
        technical="id",
    )

    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="scorecard_snapshot.id", index=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    total: float | None = None
    base: float = 0.0
    bonus: float = 0.0
    deduction: float = 0.0
    grade: str = Field(default="", max_length=16)
    rank: int | None = None
    coverage: float = 0.0
    prorated: bool = False
    missing_components: str = Field(default="", max_length=500)


class ScorecardComponentEntry(SQLModel, table=True):
    """One component of one worker's card in a snapshot, with the raw figures and the formula."""

    __tablename__ = "scorecard_component"
    __table_args__ = (
        UniqueConstraint(
            "snapshot_id", "worker_id", "component", name="uq_scorecard_component_snapshot_worker_component"
        ),
    )
    __data_classes__ = declare(
        personal="worker_id",
        business="snapshot_id component numerator denominator score eff_weight points missing formula",
        technical="id value",
    )

    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="scorecard_snapshot.id", index=True)
    worker_id: int = Field(foreign_key="worker.id")
    component: str = Field(max_length=48)
    numerator: float | None = None
    denominator: float | None = None
    value: float | None = None
    score: float | None = None
    eff_weight: float = 0.0
    points: float = 0.0
    missing: bool = False
    formula: str = Field(default="", max_length=300)


class ScoreAdjustment(SQLModel, table=True):
    """Deduction or bonus cases recorded for a worker and month (弄虚作假, 漏报, 表彰 …).

    Idempotent: one row per worker, month and kind; recording again replaces the count.
    """

    __tablename__ = "score_adjustment"
    __table_args__ = (
        UniqueConstraint("worker_id", "period", "code", name="uq_score_adjustment_worker_period_code"),
    )
    __data_classes__ = declare(
        personal="worker_id note created_by",
        business="period code cases",
        technical="id created_at",
    )

    id: int | None = Field(default=None, primary_key=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    period: str = Field(max_length=8, index=True)
    code: str = Field(max_length=32)
    cases: int = 0
    note: str = Field(default="", max_length=500)
    created_by: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: LocalDateTime = Field(default_factory=now)
