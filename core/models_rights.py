"""The person's rights (PIPL art. 44–47): correction requests, departures and erasures, privacy notice acceptance."""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.clock import LocalDateTime, now
from core.privacy import declare


class CorrectionStatus(enum.StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class CorrectionRequest(SQLModel, table=True):
    """A worker's request to correct what Gridwise holds about them, answered by a manager in scope."""

    __tablename__ = "correction_request"
    __data_classes__ = declare(
        personal="worker_id field message answer_note",
        business="status answered_by",
        technical="id user_id created_at answered_at",
    )

    id: int | None = Field(default=None, primary_key=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    user_id: int = Field(foreign_key="app_user.id")  # the account that asked
    field: str = Field(max_length=32)  # name, phone, grid, hire_date, training, score, other
    message: str = Field(sa_column=Column(String(1000), nullable=False))
    status: str = Field(default=CorrectionStatus.OPEN.value, max_length=16, index=True)
    answer_note: str = Field(default="", sa_column=Column(String(1000), nullable=False, default=""))
    answered_by: int | None = Field(default=None, foreign_key="app_user.id")
    answered_at: LocalDateTime | None = None
    created_at: LocalDateTime = Field(default_factory=now)


class WorkerDeparture(SQLModel, table=True):
    """When a worker was first seen as left (the retention clock) and when their personal data was erased."""

    __tablename__ = "worker_departure"
    __data_classes__ = declare(
        business="worker_id left_seen_on erased_reason",
        technical="erased_at erased_by",
    )

    worker_id: int = Field(foreign_key="worker.id", primary_key=True)
    left_seen_on: date
    erased_at: LocalDateTime | None = None
    erased_by: int | None = Field(default=None, foreign_key="app_user.id")
    erased_reason: str = Field(default="", max_length=16)  # "admin" or "retention"


class PrivacyAcceptance(SQLModel, table=True):
    """A user's acceptance of one version of the privacy notice (shown again when the version changes)."""

    __tablename__ = "privacy_acceptance"
    __table_args__ = (UniqueConstraint("user_id", "version", name="uq_privacy_acceptance_user_version"),)
    __data_classes__ = declare(business="version", technical="id user_id accepted_at")

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    version: str = Field(max_length=32)
    accepted_at: LocalDateTime = Field(default_factory=now)
