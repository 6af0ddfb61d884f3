"""field: index the event times that pages read over a bounded recent period

智能派单, 能力缺口 and 事件闭环 read events dispatched, fed back or suggested within a recent period
(workload in the last 30 days, past performance over a year, dispatch quality over 90 days, unconfirmed
suggestions). Without an index on that time every such read scanned the whole event table, every year kept
(issue #21: 2.3–4.5× a page's cost at 10× history). The suggestion index is partial: only events that came
with a suggested item are written to it.

Revision ID: 0024_event_period_indexes
Revises: 0023_quality_findings
Create Date: 2026-12-07 03:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_event_period_indexes"
down_revision: str | None = "0023_quality_findings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUGGESTED = sa.text("suggested_item IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("field_event", schema=None) as batch_op:
        batch_op.create_index("ix_field_event_dispatched_at", ["dispatched_at"], unique=False)
        batch_op.create_index("ix_field_event_feedback_at", ["feedback_at"], unique=False)
        batch_op.create_index(
            "ix_field_event_suggested",
            ["reported_at"],
            unique=False,
            sqlite_where=SUGGESTED,
            postgresql_where=SUGGESTED,
        )


def downgrade() -> None:
    with op.batch_alter_table("field_event", schema=None) as batch_op:
        batch_op.drop_index("ix_field_event_suggested")
        batch_op.drop_index("ix_field_event_feedback_at")
        batch_op.drop_index("ix_field_event_dispatched_at")
