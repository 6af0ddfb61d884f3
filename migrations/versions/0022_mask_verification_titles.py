"""privacy: verification tasks made before residents' references were masked name them masked too

Tasks of kind ``reversed_dereg`` created before 9db5b82 carry the resident's full record reference in their
titles ("核查异常注销:P0000123 注销后又恢复"). The titles are rewritten from the task's key the way new tasks
are made (core.privacy.mask_reference); the key keeps the full reference, as it does for new tasks. Nothing
to undo: the full reference is still the key.

Revision ID: 0022_mask_verification_titles
Revises: 0021_warning_flareups
Create Date: 2026-12-07 01:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.privacy import mask_reference

revision: str = "0022_mask_verification_titles"
down_revision: str | None = "0021_warning_flareups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TASKS = sa.table(
    "field_verification_task",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("ref_key", sa.String),
    sa.column("title_zh", sa.String),
    sa.column("title_en", sa.String),
)


def titles(ref_key: str) -> tuple[str, str]:
    """The titles a reversed-deregistration task is given today (evaluation.field.quality)."""
    masked = mask_reference(ref_key)
    return f"核查异常注销:{masked} 注销后又恢复", f"Check abnormal deregistration: {masked} was reversed"


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(TASKS.c.id, TASKS.c.ref_key, TASKS.c.title_zh, TASKS.c.title_en).where(
            TASKS.c.kind == "reversed_dereg"
        )
    ).all()
    for row in rows:
        zh, en = titles(row.ref_key)
        if (row.title_zh, row.title_en) != (zh, en):
            conn.execute(sa.update(TASKS).where(TASKS.c.id == row.id).values(title_zh=zh, title_en=en))


def downgrade() -> None:
    """Nothing to restore: the full reference stays the task's key."""
