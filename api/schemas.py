"""Request and response bodies of /api/v1 (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.fields import InTime, Printable, Prose, Stamp
from core.privacy import mask_text


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventIn(Strict):
    """One event as the events import reads it (same fields, same rules; names or codes for item and
    priority, as in a file). Times are Shanghai wall-clock unless they carry an offset."""

    event_no: Printable = Field(min_length=1, max_length=40, examples=["DP2020060100001"])
    item: Printable | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="item code or name, e.g. F02 or 电动车违规充电; leave it out and send text to have it "
        "suggested (marked unconfirmed until a manager confirms it)",
    )
    text: Prose | None = Field(
        default=None, max_length=1000, description="the report as written (required when item is left out)"
    )
    grid_code: Printable = Field(min_length=1, max_length=32, examples=["440307002007001"])
    location: Printable | None = Field(default=None, max_length=200)
    building_code: Printable | None = Field(default=None, max_length=40)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    priority: Printable | None = Field(
        max_length=20, default=None, description="urgent | normal | complex (or 紧急/一般/复杂)"
    )
    reporter_no: Printable | None = Field(default=None, max_length=32)
    assignee_no: Printable | None = Field(default=None, max_length=32)
    discovered_at: InTime | None = None
    reported_at: InTime
    accepted_at: InTime | None = None
    dispatched_at: InTime | None = None
    signed_at: InTime | None = None
    feedback_at: InTime | None = None
    closed_at: InTime | None = None
    result: Prose | None = Field(default=None, max_length=500)
    satisfaction: Printable | None = Field(
        default=None, max_length=20, description="satisfied | basic | unsatisfied (or 满意…)"
    )
    rework_count: int | None = Field(default=None, ge=0, le=99)
    postponed: bool | None = None


class EventBatch(Strict):
    events: list[EventIn] = Field(min_length=1)


class EventAction(Strict):
    """A step of the event's closed loop (evaluation.field.events.TRANSITIONS)."""

    action: Printable = Field(
        max_length=32, examples=["accept", "register", "dispatch", "check_pass", "rate"]
    )
    note: Prose | None = Field(default=None, max_length=1000)
    satisfaction: Literal["satisfied", "basic", "unsatisfied"] | None = None
    assignee_no: Printable | None = Field(
        default=None, max_length=32, description="dispatch: the worker's employee no"
    )
    extend_hours: float | None = Field(default=None, gt=0, le=24 * 30)


class Out(BaseModel):
    """A response body: every field always present (null when empty)."""

    model_config = ConfigDict(from_attributes=True)


class EventOut(Out):
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
    reported_at: Stamp | None
    accepted_at: Stamp | None
    dispatched_at: Stamp | None
    signed_at: Stamp | None
    feedback_at: Stamp | None
    closed_at: Stamp | None
    sign_due_at: Stamp | None
    due_at: Stamp | None
    result: str | None
    satisfaction: str | None
    rework_count: int
    reopen_count: int
    escalation: int
    updated_at: Stamp
    suggested_item: str | None = None  # the item triage suggested from the report text
    suggestion_confidence: float | None = None
    item_confirmed: bool = True  # False: item_code is the suggestion, not yet confirmed by a manager

    @field_validator("location", "result")
    @classmethod
    def _residents_numbers_masked(cls, value: str | None) -> str | None:
        """Typed by hand: a resident's phone or ID number in a location or a result leaves the API masked."""
        return mask_text(value) if value else value


class EventWritten(Out):
    created: bool = Field(description="true (status 201) when the event was new")
    changed: bool = Field(description="an existing event was updated (status 200)")
    event: EventOut


class BatchWritten(Out):
    rows_read: int
    added: int
    changed: int
    unchanged: int


class NextCursor(Out):
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null at the end")


class EventPage(NextCursor):
    items: list[EventOut]


class TaskOut(Out):
    task_id: str = Field(examples=["event:12"])
    kind: str = Field(description="event | verification | patrol")
    item_code: str | None
    category_code: str | None
    priority: str
    community_id: int | None
    due_at: Stamp | None
    assignee_id: int | None
    title_zh: str | None
    title_en: str | None


class TaskPage(NextCursor):
    items: list[TaskOut]


class TaskBrief(Out):
    task_id: str
    kind: str
    item_code: str | None
    priority: str
    community_id: int | None
    due_at: Stamp | None
    assignee_id: int | None
    title_zh: str | None
    title_en: str | None


class Candidate(Out):
    rank: int
    worker_id: int
    employee_no: str | None
    name: str | None
    score: float
    reasons_zh: str
    reasons_en: str


class Excluded(Out):
    worker_id: int
    employee_no: str | None
    name: str | None
    rule: str | None
    reason_zh: str
    reason_en: str


class Recommendations(Out):
    task: TaskBrief
    preset: str
    candidates: list[Candidate]
    excluded: list[Excluded]


class DecisionOut(Out):
    id: int
    task_id: str
    kind: str
    item_code: str | None
    category_code: str | None
    community_id: int | None
    recommended_worker_id: int | None
    chosen_worker_id: int
    recommended_score: float | None
    chosen_score: float | None
    chosen_rank: int | None
    overridden: bool
    override_reason: str | None
    preset: str
    source: str
    decided_by: int | None
    decided_at: Stamp
    chosen_employee_no: str | None
    recommended_employee_no: str | None


class DecisionPage(NextCursor):
    items: list[DecisionOut]


class ComponentOut(Out):
    component: str
    numerator: float | None
    denominator: float | None
    value: float | None
    score: float | None
    eff_weight: float
    points: float
    missing: bool
    formula: str | None


class ScorecardOut(Out):
    worker_id: int
    employee_no: str | None
    total: float | None
    grade: str
    rank: int | None
    base: float
    bonus: float
    deduction: float
    coverage: float
    prorated: bool
    missing_components: str
    components: list[ComponentOut]


class ScorecardPage(NextCursor):
    period: str
    revision: int
    scheme_code: str
    scheme_version: int
    frozen_at: Stamp
    items: list[ScorecardOut]


class CourseStatus(Out):
    code: str
    title_zh: str
    title_en: str
    skill_area: str | None
    grade: str | None
    attempts_used: int
    attempts_left: int | None
    certificate_valid: bool
    certificate_valid_until: Stamp | None
    quiz_due_at: Stamp | None


class Training(Out):
    employee_no: str
    name: str
    status: str
    courses: list[CourseStatus]


class Health(Out):
    status: Literal["ok"]


class Participant(Strict):
    employee_no: Printable | None = Field(default=None, max_length=32)
    name: Printable | None = Field(default=None, max_length=64)
    join_at: InTime
    leave_at: InTime


class AttendanceIn(Strict):
    """A meeting platform's join/leave records for one training session (one row per join)."""

    session_id: int = Field(ge=1, le=2**31 - 1)
    participants: list[Participant] = Field(min_length=1)


class SeatMatched(Out):
    worker_id: int
    employee_no: str | None
    name: str | None
    minutes: float
    new_status: str
    current_status: str | None
    will_change: bool


class AttendanceWritten(Out):
    changed: int
    matched: list[SeatMatched]
    unmatched: list[str]
    ambiguous: list[str]


class WorkerIn(Strict):
    employee_no: Printable = Field(min_length=1, max_length=32)
    name: Printable = Field(min_length=1, max_length=64)
    grid_code: Printable = Field(min_length=1, max_length=32)
    party_member: bool | None = None
    hire_date: date | None = None
    status: Printable | None = Field(
        default=None, max_length=20, description="active | on_leave | left (or 在岗/请假/离职)"
    )
    phone: Printable | None = Field(default=None, max_length=20)
    gender: Printable | None = Field(default=None, max_length=10)


class WorkersIn(Strict):
    workers: list[WorkerIn] = Field(min_length=1)


class WorkersWritten(Out):
    rows_read: int
    added: int
    updated: int
    unchanged: int


class RowErrorOut(Out):
    code: str
    message_zh: str
    message_en: str
    field: str | None = Field(description="the field (or column) to fix")
    row: int | None = Field(description="the item as a file row: header = row 1, so index 0 is row 2")
    index: int | None = Field(description="the item's position in the request's array, from 0")
    value: str | None = None


class ErrorOut(Out):
    """Every refusal (4xx) and failure (5xx)."""

    code: str = Field(description="stable identifier of the refusal, e.g. rows_refused, not_found")
    message_zh: str
    message_en: str
    field: str | None = None
    row: int | None = None
    errors: list[RowErrorOut] | None = Field(default=None, description="one per refused item or row")
