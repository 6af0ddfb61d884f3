"""The in-app inbox's table: every area's notices land here (see core.inbox)."""

from __future__ import annotations

from sqlalchemy import Column, String, Text
from sqlmodel import Field, SQLModel

from core.clock import LocalDateTime, now
from core.privacy import declare


class Notification(SQLModel, table=True):
    """An inbox message. ``key`` is unique: a job that runs twice or late sends nothing twice."""

    __tablename__ = "notification"
    __data_classes__ = declare(
        personal="user_id title_zh title_en body_zh body_en",
        business="kind link read_at",
        technical="id key created_at",
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    key: str = Field(sa_column=Column(String(160), nullable=False, unique=True))
    kind: str = Field(max_length=32)
    title_zh: str = Field(max_length=200)
    title_en: str = Field(default="", max_length=200)
    body_zh: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    body_en: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    link: str = Field(default="", max_length=300)
    created_at: LocalDateTime = Field(default_factory=now, index=True)
    read_at: LocalDateTime | None = None
