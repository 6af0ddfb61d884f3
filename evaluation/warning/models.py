"""Stored hotspot warnings: one per (community, grid or 0, item or category, window end date)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from core.clock import LocalDateTime, now
from core.privacy import declare


class HotspotWarning(SQLModel, table=True):
    """A 7-day count improbably high for its unit (evaluation.warning.hotspots), as the daily job found it.

    ``grid_id`` is 0 for a community-level warning (so the unique key holds: NULLs never collide);
    ``kind`` is "item" (``code`` a taxonomy item, e.g. D01) or "category" (e.g. dispute).
    Personal data: none (counts per place and item).
    """

    __tablename__ = "hotspot_warning"
    __data_classes__ = declare(
        personal="acknowledged_by ack_note",
        business="community_id grid_id kind code window_end observed expected score acknowledged_at",
        technical="id created_at",
    )
    __table_args__ = (
        UniqueConstraint("community_id", "grid_id", "kind", "code", "window_end", name="uq_hotspot_warning"),
    )

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="org_unit.id", index=True)
    grid_id: int = 0
    kind: str = Field(max_length=8)
    code: str = Field(max_length=16)
    window_end: date = Field(index=True)
    observed: int
    expected: float
    score: float
    created_at: LocalDateTime = Field(default_factory=now)
    acknowledged_at: LocalDateTime | None = None
    acknowledged_by: int | None = None  # user id
    ack_note: str | None = Field(default=None, max_length=500)
