"""field: index the worker columns 我的数据 counts by

我的数据 shows how many rows each table holds about the worker (core.rights.my_data_counts) and reads a table's
rows when it is opened. field_event.reporter_id and field_house_record.worker_id had no index: each view
scanned every event and house record, years included — 5 → 20 ms and 5 → 25 ms from the demo's history to 10×
(issue #21, bench/bench_growth.py --roles worker --pages my_data). The event index is partial: the platform's
imported events have no reporter and write nothing to it.

Revision ID: 0029_my_data_indexes
Revises: 0028_event_reported_index
Create Date: 2026-12-07 16:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029_my_data_indexes"
down_revision: str | None = "0028_event_reported_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("field_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_field_event_reporter",
            ["reporter_id"],
            unique=False,
            sqlite_where=sa.text("reporter_id IS NOT NULL"),
            postgresql_where=sa.text("reporter_id IS NOT NULL"),
        )
    with op.batch_alter_table("field_house_record", schema=None) as batch_op:
        batch_op.create_index("ix_field_house_record_worker_id", ["worker_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("field_house_record", schema=None) as batch_op:
        batch_op.drop_index("ix_field_house_record_worker_id")
    with op.batch_alter_table("field_event", schema=None) as batch_op:
        batch_op.drop_index("ix_field_event_reporter")
