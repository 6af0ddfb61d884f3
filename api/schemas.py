"""Request and response bodies of /api/v1 (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventIn(Strict):
    """One event as the events import reads it (same fields, same rules; names or codes for item and
    priority, as in a file). Times are Shanghai wall-clock unless they carry an offset."""

    event_no: str = Field(min_length=1, max_length=40, examples=["DP2020060100001"])
    item: str = Field(
        min_length=1, max_length=100, description="item code or name, e.g. F02 or 电动车违规充电"
    )
    grid_code: str = Field(min_length=1, max_length=32, examples=["440307002007001"])
    location: str | None = Field(default=None, max_length=200)
    building_code: str | None = Field(default=None, max_length=40)
    lat: float | None = None
    lon: float | None = None
    priority: str | None = Field(default=None, description="urgent | normal | complex (or 紧急/一般/复杂)")
    reporter_no: str | None = Field(default=None, max_length=32)
    assignee_no: str | None = Field(default=None, max_length=32)
    discovered_at: datetime | None = None
    reported_at: datetime
    accepted_at: datetime | None = None
    dispatched_at: datetime | None = None
    signed_at: datetime | None = None
    feedback_at: datetime | None = None
    closed_at: datetime | None = None
    result: str | None = Field(default=None, max_length=500)
    satisfaction: str | None = Field(default=None, description="satisfied | basic | unsatisfied (or 满意…)")
    rework_count: int | None = Field(default=None, ge=0, le=99)
    postponed: bool | None = None


class EventBatch(Strict):
    events: list[EventIn] = Field(min_length=1)


class EventAction(Strict):
    """A step of the event's closed loop (evaluation.field.events.TRANSITIONS)."""

    action: str = Field(examples=["accept", "register", "dispatch", "check_pass", "rate"])
    note: str | None = Field(default=None, max_length=1000)
    satisfaction: Literal["satisfied", "basic", "unsatisfied"] | None = None
    assignee_no: str | None = Field(
        default=None, max_length=32, description="dispatch: the worker's employee no"
    )
    extend_hours: float | None = Field(default=None, gt=0, le=24 * 30)


class EventOut(BaseModel):
    id: int
    event_no: str
    item_code: str
    category_code: str
    grid_id: int
    community_id: int
    location: str | None
    lat: float | None
    lon: float | None
    priority: str
    state: str
    reporter_id: int | None
    assignee_id: int | None
    reported_at: datetime | None
    accepted_at: datetime | None
    dispatched_at: datetime | None
    signed_at: datetime | None
    feedback_at: datetime | None
    closed_at: datetime | None
    sign_due_at: datetime | None
    due_at: datetime | None
    result: str | None
    satisfaction: str | None
    rework_count: int
    reopen_count: int
    escalation: int
    updated_at: datetime


class EventWritten(BaseModel):
    created: bool
    changed: bool
    event: EventOut


class BatchWritten(BaseModel):
    rows_read: int
    added: int
    changed: int
    unchanged: int


class Page(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null at the end")


class Participant(Strict):
    employee_no: str | None = Field(default=None, max_length=32)
    name: str | None = Field(default=None, max_length=64)
    join_at: datetime
    leave_at: datetime


class AttendanceIn(Strict):
    """A meeting platform's join/leave records for one training session (one row per join)."""

    session_id: int
    participants: list[Participant] = Field(min_length=1)


class AttendanceWritten(BaseModel):
    changed: int
    matched: list[dict[str, Any]]
    unmatched: list[str]
    ambiguous: list[str]


class WorkerIn(Strict):
    employee_no: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=64)
    grid_code: str = Field(min_length=1, max_length=32)
    party_member: bool | None = None
    hire_date: date | None = None
    status: str | None = Field(default=None, description="active | on_leave | left (or 在岗/请假/离职)")
    phone: str | None = Field(default=None, max_length=20)
    gender: str | None = None


class WorkersIn(Strict):
    workers: list[WorkerIn] = Field(min_length=1)


class WorkersWritten(BaseModel):
    rows_read: int
    added: int
    updated: int
    unchanged: int


class ErrorOut(BaseModel):
    code: str
    message_zh: str
    message_en: str
    field: str | None = None
    row: int | None = None
    errors: list[dict[str, Any]] | None = None
