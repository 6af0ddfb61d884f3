"""warning: one warning per flare-up (last_window_end, peak)

A flare-up warned on consecutive days updates one row instead of adding one per day: the row keeps the
window it was first raised in (``window_end``, still its natural key) and the latest one
(``last_window_end``), with the highest 7-day count seen (``peak``).

Revision ID: 0021_warning_flareups
Revises: 0020_warning
Create Date: 2026-12-06 18:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_warning_flareups"
down_revision: str | None = "0020_warning"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hotspot_warning", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_window_end", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("peak", sa.Integer(), nullable=True))
    op.execute("UPDATE hotspot_warning SET last_window_end = window_end, peak = observed")
    with op.batch_alter_table("hotspot_warning", schema=None) as batch_op:
        batch_op.alter_column("last_window_end", existing_type=sa.Date(), nullable=False)
        batch_op.alter_column("peak", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(
            batch_op.f("ix_hotspot_warning_last_window_end"), ["last_window_end"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("hotspot_warning", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hotspot_warning_last_window_end"))
        batch_op.drop_column("peak")
        batch_op.drop_column("last_window_end")
