"""Served scorecards: each period's computed results kept in tables, read by key and scope (issue #21).

One ``served_scorecard`` row per period (month, quarter, half or year label) and scheme version, with the
time the figures were computed; one ``served_card`` row per worker (the card and its components as JSON,
plus the columns a ranking or a trend filters and sorts on); one ``served_comparison`` row per scope unit
(the article's party comparison for the district, each subdistrict and each community). A refresh
replaces a period's rows in one transaction, so a reader sees the old figures or the new, never a mix.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.clock import LocalDateTime, now
from core.privacy import declare


class ServedScorecard(SQLModel, table=True):
    """A period's served results for one scheme version: when they were computed and from what."""

    __tablename__ = "served_scorecard"
    __table_args__ = (UniqueConstraint("period", "scheme_id", name="uq_served_scorecard_period_scheme"),)
    __data_classes__ = declare(
        business="period scheme_id computed_at source workers",
        technical="id card_dtypes component_dtypes",
    )

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=8, index=True)  # YYYY-MM, YYYY-Qn, YYYY-Hn or YYYY
    scheme_id: int = Field(foreign_key="scoring_scheme.id")
    computed_at: LocalDateTime = Field(default_factory=now)  # the time of the figures, shown on the pages
    source: str = Field(default="", max_length=16)  # "job", "read", "write", "freeze"
    workers: int = 0
    # pandas dtypes of the card and component columns, so a read restores them (JSON has no dates)
    card_dtypes: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    component_dtypes: str = Field(default="{}", sa_column=Column(Text, nullable=False))


class ServedCard(SQLModel, table=True):
    """One worker's card and components in a served period."""

    __tablename__ = "served_card"
    __table_args__ = (
        UniqueConstraint("served_id", "worker_id", name="uq_served_card_served_worker"),
        # Covering the ranking columns: a ranking or a trend over 20,000 workers reads the index, not every
        # row with its ~7.5 KB of JSON (migration 0027).
        Index(
            "ix_served_card_ranking",
            "served_id",
            "scored",
            "total",
            "worker_id",
            "community_id",
            "subdistrict_id",
            "grade",
        ),
    )
    # a worker's scorecard (as scorecard_entry): personal; the card JSON holds their name and employee number
    __data_classes__ = declare(
        personal="worker_id total grade scored card components",
        business="served_id community_id subdistrict_id",
        technical="id",
    )

    id: int | None = Field(default=None, primary_key=True)
    served_id: int = Field(foreign_key="served_scorecard.id", index=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    community_id: int | None = None
    subdistrict_id: int | None = None
    total: float | None = None
    grade: str = Field(default="", max_length=16)
    scored: bool = False
    card: str = Field(sa_column=Column(Text, nullable=False))  # JSON object: the card row
    components: str = Field(sa_column=Column(Text, nullable=False))  # JSON array: the component rows


class ServedComparison(SQLModel, table=True):
    """The party comparison of a served period over one scope unit (0 = the whole district)."""

    __tablename__ = "served_comparison"
    __table_args__ = (UniqueConstraint("served_id", "unit_id", name="uq_served_comparison_served_unit"),)
    __data_classes__ = declare(business="served_id unit_id frame", technical="id")

    id: int | None = Field(default=None, primary_key=True)
    served_id: int = Field(foreign_key="served_scorecard.id", index=True)
    unit_id: int = 0
    frame: str = Field(sa_column=Column(Text, nullable=False))  # JSON records of compare.party_comparison
