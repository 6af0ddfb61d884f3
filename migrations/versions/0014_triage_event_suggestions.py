"""triage: the report text, the suggested item with its confidence, and whether the item is confirmed

Revision ID: 0014_triage
Revises: 0013_privacy
Create Date: 2026-12-06 07:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014_triage"
down_revision: str | None = "0013_privacy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("field_event") as batch:
        batch.add_column(sa.Column("report_text", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("suggested_item", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True)
        )
        batch.add_column(sa.Column("suggestion_confidence", sa.Float(), nullable=True))
        batch.add_column(sa.Column("item_confirmed", sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("field_event") as batch:
        batch.drop_column("item_confirmed")
        batch.drop_column("suggestion_confidence")
        batch.drop_column("suggested_item")
        batch.drop_column("report_text")
