"""The audit-trail table (written through core.audit)."""

from __future__ import annotations

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from core import clock
from core.clock import LocalDateTime
from core.privacy import declare


class AuditEntry(SQLModel, table=True):
    """One audited action (or read of personal data), chained to the previous row by a keyed hash.

    ``prev_hash`` is the previous row's ``row_hash`` ("" for the first row, or the anchor left by the last
    archive); ``row_hash`` is HMAC-SHA256 (GRIDWISE_AUDIT_KEY) over this row's content and ``prev_hash``
    (core.audit.row_digest). ``gridwise audit verify`` names the first row that was changed, removed or
    inserted. On PostgreSQL ``gridwise audit lock-down`` makes the table append-only."""

    __tablename__ = "audit_log"
    __data_classes__ = declare(
        personal="user_id username before after detail address",
        business="action entity entity_id",
        technical="id at prev_hash row_hash",
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
    address: str = Field(
        default="", max_length=64
    )  # the client's address (trusted proxy header), "" for jobs
    prev_hash: str = Field(default="", max_length=64)
    row_hash: str = Field(default="", max_length=64)
