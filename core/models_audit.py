"""The audit-trail table (written through core.audit)."""

from __future__ import annotations

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from core import clock
from core.clock import LocalDateTime
from core.privacy import declare


class AuditEntry(SQLModel, table=True):
    """One audited action."""

    __tablename__ = "audit_log"
    __data_classes__ = declare(
        personal="user_id username before after detail",
        business="action entity entity_id",
        technical="id at",
    )

    id: int | None = Field(default=None, primary_key=True)
    at: LocalDateTime = Field(default_factory=clock.now, index=True)
    user_id: int | None = Field(default=None, index=True)  # None: the system (a job) or an anonymous sign-in
    username: str = Field(default="", max_length=64)
    action: str = Field(max_length=64, index=True)  # e.g. "signin.failed", "user.update", "import.workers"
    entity: str = Field(default="", max_length=64)
    entity_id: str = Field(default="", max_length=64)
    before: str | None = Field(default=None, sa_column=Column(Text))
    after: str | None = Field(default=None, sa_column=Column(Text))
    detail: str | None = Field(default=None, sa_column=Column(Text))
