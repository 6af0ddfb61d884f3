"""privacy: contact data sealed at rest, with a keyed hash of the worker's phone

Revision ID: 0013_privacy
Revises: 0012_duties
Create Date: 2026-12-06 07:45:00

The contact columns (worker.phone, notify_preference.email / mobile, notify_delivery.recipient / payload)
become TEXT holding ``s1:<Fernet token>`` (core.sealed, key GRIDWISE_DATA_KEY), and every value already
stored in clear is sealed here, in the same transaction; worker.phone_hash gets the keyed hash.
Downgrade opens them again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_privacy"
down_revision: str | None = "0012_duties"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table → (primary key, contact columns, their previous type)
SEALED = {
    "worker": ("id", {"phone": sa.String(20)}),
    "notify_preference": ("user_id", {"email": sa.String(200), "mobile": sa.String(20)}),
    "notify_delivery": ("id", {"recipient": sa.String(200), "payload": sa.Text()}),
}


def _rewrite(upgrade: bool) -> None:
    from core.sealed import lookup_hash, seal, unseal

    conn = op.get_bind()
    for table, (pk, columns) in SEALED.items():
        names = list(columns)
        rows = conn.execute(sa.text(f"SELECT {pk}, {', '.join(names)} FROM {table}")).all()
        sets = ", ".join(f"{c} = :{c}" for c in names)
        if table == "worker" and upgrade:
            sets += ", phone_hash = :phone_hash"
        params = []
        for row in rows:
            values = dict(zip(names, row[1:], strict=True))
            new = {c: (seal(v) if upgrade else unseal(v)) for c, v in values.items()}
            if new == values:
                continue
            if table == "worker" and upgrade:
                new["phone_hash"] = lookup_hash(unseal(values["phone"]))
            params.append({**new, "pk": row[0]})
        if params:
            conn.execute(sa.text(f"UPDATE {table} SET {sets} WHERE {pk} = :pk"), params)


def upgrade() -> None:
    for table, (_pk, columns) in SEALED.items():
        with op.batch_alter_table(table) as batch:
            for column, old in columns.items():
                if not isinstance(old, sa.Text):
                    batch.alter_column(column, type_=sa.Text(), existing_type=old)
            if table == "worker":
                batch.add_column(sa.Column("phone_hash", sa.String(length=64), nullable=True))
                batch.create_index("ix_worker_phone_hash", ["phone_hash"], unique=False)
    _rewrite(upgrade=True)


def downgrade() -> None:
    _rewrite(upgrade=False)
    for table, (_pk, columns) in SEALED.items():
        with op.batch_alter_table(table) as batch:
            if table == "worker":
                batch.drop_index("ix_worker_phone_hash")
                batch.drop_column("phone_hash")
            for column, old in columns.items():
                if not isinstance(old, sa.Text):
                    batch.alter_column(column, type_=old, existing_type=sa.Text())
