"""Stored hotspot warnings: one per flare-up — (community, grid or 0, item or category, the window end on
which it was first raised), kept up to date while it goes on."""

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
    ``window_end`` is the last day of the 7-day window in which the flare-up was first warned (part of the
    natural key); ``last_window_end`` the last day of the latest window in which it was still improbably high.
    ``observed``/``expected``/``score`` are that latest window's; ``peak`` the highest 7-day count seen.
    A flare-up warned again within 7 days of ``last_window_end`` updates this row (no new warning, no new
    notice): see evaluation.warning.jobs.
    Personal data: the acknowledging user and their note.
    """

    __tablename__ = "hotspot_warning"
    __data_classes__ = declare(
        personal="acknowledged_by ack_note",
        business="community_id grid_id kind code window_end last_window_end observed peak expected score acknowledged_at",
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
    last_window_end: date = Field(index=True)
    observed: int
    peak: int = 0
    expected: float
    score: float
    created_at: LocalDateTime = Field(default_factory=now)
    acknowledged_at: LocalDateTime | None = None
    acknowledged_by: int | None = None  # user id
    ack_note: str | None = Field(default=None, max_length=500)
