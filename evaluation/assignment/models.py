"""Assignment decisions: every accepted recommendation and every override, with who and why.

One row per (task, chosen worker): assigning the same task to the same worker again is a no-op (the
natural key decides), while a re-assignment after a 回退 is a new row. The override report and the
skill-gap page read this table.
"""

from __future__ import annotations

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.clock import LocalDateTime, now
from core.privacy import declare


class DecisionSource:
    SINGLE = "single"  # a manager on the dispatch page, one task
    BATCH = "batch"  # "assign all open" on the page
    CLI = "cli"  # gridwise assign batch


class AssignmentDecision(SQLModel, table=True):
    """A dispatch decision (派单记录): the recommendation, the choice, and the reason when they differ."""

    __tablename__ = "assignment_decision"
    __table_args__ = (
        UniqueConstraint("task_id", "chosen_worker_id", name="uq_assignment_decision_task_worker"),
        Index("ix_assignment_decision_decided_at", "decided_at"),
    )
    __data_classes__ = declare(
        personal="recommended_worker_id chosen_worker_id override_reason decided_by",
        business=(
            "task_id kind item_code category_code community_id recommended_score chosen_score "
            "chosen_rank overridden preset source decided_at"
        ),
        technical="id",
    )

    id: int | None = Field(default=None, primary_key=True)
    task_id: str = Field(max_length=40, index=True)  # "event:12" | "verification:3" | "patrol:45"
    kind: str = Field(max_length=16)
    item_code: str | None = Field(default=None, max_length=8, index=True)
    category_code: str | None = Field(default=None, max_length=16)
    community_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)
    recommended_worker_id: int | None = Field(default=None, foreign_key="worker.id")  # None: nobody qualified
    chosen_worker_id: int = Field(foreign_key="worker.id", index=True)
    recommended_score: float | None = None
    chosen_score: float | None = None  # None when the chosen worker was not among the ranked candidates
    chosen_rank: int | None = None
    overridden: bool = False
    override_reason: str | None = Field(default=None, max_length=500)
    preset: str = Field(max_length=16)
    source: str = Field(default=DecisionSource.SINGLE, max_length=8)
    decided_by: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: LocalDateTime = Field(default_factory=now)
