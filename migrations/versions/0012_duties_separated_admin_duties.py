"""duties: separated administrator duties (三员分立)

The single ``admin`` role is split into system, security and audit administrator (core.models.Role). Every
existing ``admin`` account becomes a system administrator (the documented default: SECURITY.md); a security
and an audit administrator are then created with ``gridwise create-admin --role secadmin|auditor``.
``app_user.extra_duties`` holds further duties where GRIDWISE_ALLOW_COMBINED_ADMIN_DUTIES allows them.

Revision ID: 0012_duties
Revises: 0011_api_webhooks
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012_duties"
down_revision: str | None = "0011_api_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(
            sa.Column(
                "extra_duties", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False, server_default=""
            )
        )
    op.execute("UPDATE app_user SET role = 'sysadmin' WHERE role = 'admin'")


def downgrade() -> None:
    op.execute("UPDATE app_user SET role = 'admin' WHERE role IN ('sysadmin', 'secadmin', 'auditor')")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("extra_duties")
