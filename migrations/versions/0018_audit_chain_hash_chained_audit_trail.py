"""audit: client address and a keyed hash chain on every audit row

Revision ID: 0018_audit_chain
Revises: 0017_auth_throttle
Create Date: 2026-12-06 08:00:00

Rows already in the table are chained here in id order (core.audit_chain.row_digest with
GRIDWISE_AUDIT_KEY), so `gridwise audit verify` covers them from now on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_audit_chain"
down_revision: str | None = "0017_auth_throttle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("id", "at", "user_id", "username", "action", "entity", "entity_id", "before", "after", "detail")


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("address", sa.String(length=64), nullable=False, server_default=""))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=False, server_default=""))
        batch.add_column(sa.Column("row_hash", sa.String(length=64), nullable=False, server_default=""))
    from core.audit_chain import audit_key, row_digest

    conn = op.get_bind()
    key, prev, params = audit_key(), "", []
    table = sa.table(
        "audit_log", *(sa.column(c, sa.DateTime()) if c == "at" else sa.column(c) for c in COLUMNS)
    )
    for row in conn.execute(sa.select(*(table.c[c] for c in COLUMNS)).order_by(table.c.id)).mappings():
        full = {**row, "address": "", "prev_hash": prev}
        digest = row_digest(full, key)
        params.append({"i": row["id"], "p": prev, "h": digest})
        prev = digest
    if params:
        conn.execute(sa.text("UPDATE audit_log SET prev_hash = :p, row_hash = :h WHERE id = :i"), params)
    with op.batch_alter_table("audit_log") as batch:
        for name in ("address", "prev_hash", "row_hash"):
            batch.alter_column(name, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("row_hash")
        batch.drop_column("prev_hash")
        batch.drop_column("address")
