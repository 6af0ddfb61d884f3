"""field: the data-quality drill-down's district read walks its findings in order

Revision ID: 0026_quality_finding_order
Revises: 0025_training_progress
Create Date: 2026-12-07 03:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0026_quality_finding_order"
down_revision: str | None = "0025_training_progress"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("field_quality_finding", schema=None) as batch_op:
        batch_op.create_index("ix_field_quality_finding_kind_seq", ["kind", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("field_quality_finding", schema=None) as batch_op:
        batch_op.drop_index("ix_field_quality_finding_kind_seq")
