"""field: index the time an event was reported

预警 draws the days behind a warning (evaluation.warning.service.warning_series → hotspots.daily_counts): the
events reported in the nine weeks before it. Without an index on reported_at that read scanned the whole
event table, every year kept: 4 ms at the demo's history, 25 ms at 10× (issue #21, bench/bench_growth.py);
the nightly hotspot job reads the same weeks the same way.

Revision ID: 0028_event_reported_index
Revises: 0027_served_card_ranking_index
Create Date: 2026-12-07 13:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0028_event_reported_index"
down_revision: str | None = "0027_served_card_ranking_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("field_event", schema=None) as batch_op:
        batch_op.create_index("ix_field_event_reported_at", ["reported_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("field_event", schema=None) as batch_op:
        batch_op.drop_index("ix_field_event_reported_at")
