"""scoring: a covering index over the served cards' ranking columns

A served card row carries the worker's card and components as JSON (~7.5 KB), so reading its few ranking
columns (total, grade, scored, units) for every worker of a period read every fat row: 20,000 workers × nine
months for a trend (issue #21, the ranking pages of a 20,000-worker district). This index holds those
columns, so the ranking and the trend summed per month read the index alone.

Revision ID: 0027_served_card_ranking_index
Revises: 0026_quality_finding_order
Create Date: 2026-12-07 04:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0027_served_card_ranking_index"
down_revision: str | None = "0026_quality_finding_order"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["served_id", "scored", "total", "worker_id", "community_id", "subdistrict_id", "grade"]


def upgrade() -> None:
    with op.batch_alter_table("served_card", schema=None) as batch_op:
        batch_op.create_index("ix_served_card_ranking", COLUMNS, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("served_card", schema=None) as batch_op:
        batch_op.drop_index("ix_served_card_ranking")
