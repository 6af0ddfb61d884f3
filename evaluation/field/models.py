"""Field-data tables: the metric registry, the worker × month × metric summary, events and their
history, rental buildings and patrols, and the raw facts the data-quality checks read.

Natural keys decide every repeatable write: (worker, period, metric) for a figure, the event number for
an event, (kind, ref_key) for a verification task, (building, visited_at) for a patrol.
"""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import Column, Index, String, Text, UniqueConstraint, text
from sqlalchemy import true as sa_true
from sqlmodel import Field, SQLModel

from core.clock import LocalDateTime, now
from core.privacy import declare


class Direction(enum.StrEnum):
    HIGHER = "higher"  # 越高越好
    LOWER = "lower"  # 越低越好


class Aggregation(enum.StrEnum):
    RATIO = "ratio"  # Σ numerator ÷ Σ denominator over workers and months (never a mean of ratios)
    SUM = "sum"  # a count: Σ numerator


class FigureSource(enum.StrEnum):
    IMPORT = "import"
    EVENTS = "events"


class MetricDef(SQLModel, table=True):
    """One metric of the registry (指标库), seeded from data/metrics.json and editable by an admin."""

    __tablename__ = "field_metric"
    __data_classes__ = declare(
        business=(
            "code name_zh name_en unit direction kind aggregation from_events numerator_zh "
            "numerator_en denominator_zh denominator_en source_zh source_en note_zh note_en "
            "target is_active"
        ),
        technical="sort_order updated_at",
    )

    code: str = Field(primary_key=True, max_length=48)
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=100)
    unit: str = Field(max_length=16)  # "%" or "count"
    direction: str = Field(max_length=8)  # Direction
    kind: str = Field(max_length=8)  # "ratio" | "count"
    aggregation: str = Field(max_length=8)  # Aggregation
    from_events: bool = False  # computed from events, never imported as a figure
    numerator_zh: str | None = Field(default=None, sa_column=Column(Text))
    numerator_en: str | None = Field(default=None, sa_column=Column(Text))
    denominator_zh: str | None = Field(default=None, sa_column=Column(Text))
    denominator_en: str | None = Field(default=None, sa_column=Column(Text))
    source_zh: str | None = Field(default=None, sa_column=Column(Text))
    source_en: str | None = Field(default=None, sa_column=Column(Text))
    note_zh: str | None = Field(default=None, sa_column=Column(Text))
    note_en: str | None = Field(default=None, sa_column=Column(Text))
    target: float | None = None
    sort_order: int = 0
    is_active: bool = True
    updated_at: LocalDateTime = Field(default_factory=now)


class MetricValue(SQLModel, table=True):
    """Worker × month × metric summary (numerator, denominator): what scorecards read.

    Imported figures and event-derived figures live side by side; ``source`` says which. A metric is
    either imported or derived from events (MetricDef.from_events), so the natural key is
    (worker, period, metric).
    """

    __tablename__ = "field_metric_value"
    __table_args__ = (
        UniqueConstraint("worker_id", "period", "metric", name="uq_field_metric_value"),
        Index("ix_field_metric_value_period_metric", "period", "metric"),
    )
    __data_classes__ = declare(
        personal="worker_id",
        business="period metric numerator denominator source",
        technical="id updated_at",
    )

    id: int | None = Field(default=None, primary_key=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    period: str = Field(max_length=7)  # "YYYY-MM"
    metric: str = Field(max_length=48, foreign_key="field_metric.code")
    numerator: float
    denominator: float | None = None  # None for counts
    source: str = Field(max_length=8)  # FigureSource
    updated_at: LocalDateTime = Field(default_factory=now)


class EventState(enum.StrEnum):
    """DOMAIN.md §4.2."""

    DRAFT = "draft"
    REPORTED = "reported"  # 已上报
    ACCEPTED = "accepted"  # 已受理
    VOIDED = "voided"  # 作废/不予立案
    SELF_RESOLVED = "self_resolved"  # 首接即办, awaiting 核查
    REGISTERED = "registered"  # 已立案
    DISPATCHED = "dispatched"  # 已分拨/待签收
    SIGNED = "signed"  # 已签收
    HANDLING = "handling"  # 处置中
    POSTPONE_PENDING = "postpone_pending"  # 延期/缓办申请
    FEEDBACK = "feedback"  # 已反馈, awaiting 核查
    CLOSED = "closed"  # 已结案
    EVALUATED = "evaluated"  # 已评价
    REOPENED = "reopened"  # 不满意重办


class Event(SQLModel, table=True):
    """A field event / hazard (实有事件) over the 6-category / 43-item taxonomy."""

    __tablename__ = "field_event"
    # The queue (state, deadline) and scope (grid, assignee) are indexed; month figures scan the table
    # once per group anyway, and every extra index costs on a million-row import. The figures pages read
    # over a bounded recent period are indexed by that period's time (issue #21: a page's cost must not
    # grow with the years kept): dispatched_at (workload, dispatch quality), feedback_at (past
    # performance in dispatch), reported_at (the days behind a hotspot warning on 预警, the nightly
    # hotspot job's weeks), and the few events that came with a suggested item by reported_at (a partial
    # index: nothing to write for the rest; it walks them newest first for the unconfirmed ones).
    __table_args__ = (
        Index("ix_field_event_state_due", "state", "due_at"),
        Index("ix_field_event_dispatched_at", "dispatched_at"),
        Index("ix_field_event_feedback_at", "feedback_at"),
        Index("ix_field_event_reported_at", "reported_at"),
        # 我的数据 counts the events a worker reported: partial, so the platform's imported events (no
        # reporter) write nothing to it
        Index(
            "ix_field_event_reporter",
            "reporter_id",
            sqlite_where=text("reporter_id IS NOT NULL"),
            postgresql_where=text("reporter_id IS NOT NULL"),
        ),
        Index(
            "ix_field_event_suggested",
            "reported_at",
            sqlite_where=text("suggested_item IS NOT NULL"),
            postgresql_where=text("suggested_item IS NOT NULL"),
        ),
    )
    # Residents' data: the place and the free text (a report, a note, the result) may name a resident or carry
    # a phone or ID number: personal, and shown through core.privacy.mask_text.
    __data_classes__ = declare(
        personal="location reporter_id assignee_id assigned_by override_reason note report_text result",
        business=(
            "event_no item_code category_code grid_id community_id building_code lat lon "
            "priority state discovered_at reported_at accepted_at voided_at dispatched_at "
            "signed_at started_at feedback_at closed_at evaluated_at sign_due_at due_at "
            "satisfaction postponed rework_count reopen_count return_count escalation urged_at "
            "supervised_at assign_reason_zh assign_reason_en source suggested_item "
            "suggestion_confidence item_confirmed"
        ),
        technical="id import_hash updated_at",
    )

    id: int | None = Field(default=None, primary_key=True)
    event_no: str = Field(max_length=40, unique=True)
    item_code: str = Field(max_length=8)
    category_code: str = Field(max_length=16)
    # Indexes are kept to what scope filters and queues need: each one costs on a 1M-row import.
    grid_id: int = Field(foreign_key="org_unit.id", index=True)
    community_id: int = Field(foreign_key="org_unit.id")
    building_code: str | None = Field(default=None, max_length=40)
    location: str | None = Field(default=None, max_length=200)
    lat: float | None = None
    lon: float | None = None
    priority: str = Field(max_length=8)  # urgent | normal | complex
    state: str = Field(max_length=16)
    reporter_id: int | None = Field(default=None, foreign_key="worker.id")
    assignee_id: int | None = Field(default=None, foreign_key="worker.id", index=True)
    discovered_at: LocalDateTime | None = None
    reported_at: LocalDateTime | None = None
    accepted_at: LocalDateTime | None = None
    voided_at: LocalDateTime | None = None
    dispatched_at: LocalDateTime | None = None
    signed_at: LocalDateTime | None = None
    started_at: LocalDateTime | None = None
    feedback_at: LocalDateTime | None = None
    closed_at: LocalDateTime | None = None
    evaluated_at: LocalDateTime | None = None
    sign_due_at: LocalDateTime | None = None
    due_at: LocalDateTime | None = None  # handling deadline (办结时限)
    result: str | None = Field(default=None, max_length=500)
    satisfaction: str | None = Field(default=None, max_length=12)  # satisfied | basic | unsatisfied
    postponed: bool = False  # 缓办: left out of 应办结 (DOMAIN.md §1.2, 金华)
    rework_count: int = 0  # 返工: failed 核查
    reopen_count: int = 0  # 不满意重办
    return_count: int = 0  # 回退 after dispatch
    escalation: int = 0  # 0 none, 1 催办, 2 督办
    urged_at: LocalDateTime | None = None
    supervised_at: LocalDateTime | None = None
    assign_reason_zh: str | None = Field(default=None, max_length=500)
    assign_reason_en: str | None = Field(default=None, max_length=500)
    assigned_by: int | None = None  # user id
    override_reason: str | None = Field(default=None, max_length=500)
    note: str | None = Field(default=None, max_length=1000)
    source: str = Field(default="app", max_length=8)  # app | import | demo
    import_hash: str | None = Field(default=None, max_length=16)  # fingerprint of the imported row
    updated_at: LocalDateTime = Field(default_factory=now)
    # Triage (evaluation.triage): the report as written, the item the classifier suggested with its
    # confidence, and whether a person has confirmed item_code (False: item_code is the unconfirmed
    # suggestion, e.g. an API event that came with text and no item, until a manager confirms it).
    report_text: str | None = Field(default=None, sa_column=Column(Text))
    suggested_item: str | None = Field(default=None, max_length=8)
    suggestion_confidence: float | None = None
    item_confirmed: bool = Field(default=True, sa_column_kwargs={"server_default": sa_true()})


class EventTransition(SQLModel, table=True):
    """One step of an event's history, with its time (and escalations, which keep the state)."""

    __tablename__ = "field_event_transition"
    __data_classes__ = declare(
        personal="actor_user_id note",
        business="event_id action from_state to_state",
        technical="id at",
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="field_event.id", index=True)
    action: str = Field(max_length=24)
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str = Field(max_length=16)
    at: LocalDateTime
    actor_user_id: int | None = None
    note: str | None = Field(default=None, max_length=1000)


class SlaLevel(SQLModel, table=True):
    """Time limits per priority (seeded from data/sla.json, editable)."""

    __tablename__ = "field_sla"
    __data_classes__ = declare(
        business=(
            "code name_zh name_en report_limit_hours sign_limit_hours handle_limit_hours "
            "supervise_after_hours"
        ),
    )

    code: str = Field(primary_key=True, max_length=8)
    name_zh: str = Field(max_length=40)
    name_en: str = Field(max_length=40)
    report_limit_hours: float
    sign_limit_hours: float
    handle_limit_hours: float
    supervise_after_hours: float = 24  # 催办 → 督办 when still overdue this long after the reminder


class RentalBuilding(SQLModel, table=True):
    """A rental building (出租屋楼栋) with its grade; the grade sets the patrol interval."""

    __tablename__ = "field_rental_building"
    __data_classes__ = declare(
        personal="address graded_by patrol_assignee_id",
        business=(
            "code grid_id community_id lat lon units grade score scores_json veto_json graded_at "
            "last_patrol_at patrol_reason_zh patrol_reason_en"
        ),
        technical="id",
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)  # 标准建筑物编码
    address: str = Field(max_length=200)
    grid_id: int = Field(foreign_key="org_unit.id", index=True)
    community_id: int = Field(foreign_key="org_unit.id", index=True)
    lat: float | None = None
    lon: float | None = None
    units: int = 1  # rooms let
    grade: str | None = Field(default=None, max_length=8)  # green | yellow | orange | red
    score: float | None = None
    scores_json: str | None = Field(default=None, sa_column=Column(Text))  # {"HW1": 6, ...}
    veto_json: str | None = Field(default=None, sa_column=Column(String(200)))  # ["V1"]
    graded_at: LocalDateTime | None = None
    graded_by: int | None = None
    last_patrol_at: LocalDateTime | None = None
    patrol_assignee_id: int | None = Field(default=None, foreign_key="worker.id")
    patrol_reason_zh: str | None = Field(default=None, max_length=500)
    patrol_reason_en: str | None = Field(default=None, max_length=500)


class RentalGrading(SQLModel, table=True):
    """Every grading of a building, with the breakdown (history for the re-grade view)."""

    __tablename__ = "field_rental_grading"
    __data_classes__ = declare(
        personal="graded_by",
        business="building_id graded_at grade score scores_json veto_json",
        technical="id",
    )

    id: int | None = Field(default=None, primary_key=True)
    building_id: int = Field(foreign_key="field_rental_building.id", index=True)
    graded_at: LocalDateTime
    grade: str = Field(max_length=8)
    score: float
    scores_json: str = Field(sa_column=Column(Text, nullable=False))
    veto_json: str | None = Field(default=None, sa_column=Column(String(200)))
    graded_by: int | None = None


class RentalPatrol(SQLModel, table=True):
    """One patrol visit to a rental building."""

    __tablename__ = "field_rental_patrol"
    __table_args__ = (UniqueConstraint("building_id", "visited_at", name="uq_field_rental_patrol"),)
    __data_classes__ = declare(
        personal="worker_id",
        business="building_id visited_at",
        technical="id",
    )

    id: int | None = Field(default=None, primary_key=True)
    building_id: int = Field(foreign_key="field_rental_building.id", index=True)
    worker_id: int | None = Field(default=None, foreign_key="worker.id", index=True)
    visited_at: LocalDateTime


class HouseRecord(SQLModel, table=True):
    """A house (房屋) record: standard address and house code (标准地址 ↔ 房屋编码)."""

    __tablename__ = "field_house_record"
    __data_classes__ = declare(
        personal="standard_address worker_id",
        business="house_code grid_id community_id",
        technical="id",
    )

    id: int | None = Field(default=None, primary_key=True)
    house_code: str = Field(max_length=40, unique=True)
    standard_address: str = Field(max_length=200, index=True)
    grid_id: int = Field(foreign_key="org_unit.id", index=True)
    community_id: int = Field(foreign_key="org_unit.id", index=True)
    # indexed for 我的数据's count of a worker's rows (issue #21: it scanned every house record, years included)
    worker_id: int | None = Field(default=None, foreign_key="worker.id", index=True)


class VisitDay(SQLModel, table=True):
    """House visits (走访房屋间次) one worker logged on one day."""

    __tablename__ = "field_visit_day"
    __table_args__ = (UniqueConstraint("worker_id", "day", name="uq_field_visit_day"),)
    __data_classes__ = declare(
        personal="worker_id visits",
        business="day",
        technical="id",
    )

    id: int | None = Field(default=None, primary_key=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    day: date
    visits: int


class Deregistration(SQLModel, table=True):
    """A population record deregistered (注销), and when it was reversed (恢复) if it was."""

    __tablename__ = "field_deregistration"
    __data_classes__ = declare(
        personal="person_ref worker_id",
        sensitive="reason",
        business="community_id grid_id deregistered_at reversed_at",
        technical="id",
    )

    id: int | None = Field(default=None, primary_key=True)
    person_ref: str = Field(max_length=40, unique=True)
    worker_id: int | None = Field(default=None, foreign_key="worker.id", index=True)
    community_id: int = Field(foreign_key="org_unit.id", index=True)
    grid_id: int = Field(foreign_key="org_unit.id")
    reason: str = Field(max_length=40)  # moved_out | died | moved_away | duplicate
    deregistered_at: LocalDateTime
    reversed_at: LocalDateTime | None = None


class VerificationTask(SQLModel, table=True):
    """A 核查 task raised from a data-quality flag; one per (kind, ref_key)."""

    __tablename__ = "field_verification_task"
    __table_args__ = (UniqueConstraint("kind", "ref_key", name="uq_field_verification_task"),)
    # ref_key is a house's standard address or a resident's record reference; the titles name it (a record
    # reference masked, core.privacy.mask_reference).
    __data_classes__ = declare(
        personal="assignee_id assigned_by override_reason note ref_key title_zh title_en",
        business=("kind community_id grid_id lat lon state due_at assign_reason_zh assign_reason_en done_at"),
        technical="id created_at",
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=24)  # address_codes | visit_overflow | duplicate_event | reversed_dereg
    ref_key: str = Field(max_length=200)
    community_id: int = Field(foreign_key="org_unit.id", index=True)
    grid_id: int | None = Field(default=None, foreign_key="org_unit.id")
    lat: float | None = None
    lon: float | None = None
    title_zh: str = Field(max_length=300)
    title_en: str = Field(max_length=300)
    state: str = Field(default="open", max_length=8)  # open | done
    created_at: LocalDateTime = Field(default_factory=now)
    due_at: LocalDateTime | None = None
    assignee_id: int | None = Field(default=None, foreign_key="worker.id", index=True)
    assign_reason_zh: str | None = Field(default=None, max_length=500)
    assign_reason_en: str | None = Field(default=None, max_length=500)
    assigned_by: int | None = None
    override_reason: str | None = Field(default=None, max_length=500)
    done_at: LocalDateTime | None = None
    note: str | None = Field(default=None, max_length=1000)


class QualityFinding(SQLModel, table=True):
    """A row a data-quality check flagged, as the last check of its community found it.

    Kept by the daily data-quality job (evaluation.field.findings) so the 数据质量 page reads results
    instead of running the checks. A run replaces the rows of its scope.

    ``ref_key`` names the problem as its verification task does: the standard address (address_codes),
    ``worker@day`` (visit_overflow), the later event number (duplicate_event), the resident's record
    reference (reversed_dereg). The other columns are what the drill-down shows for the check's kind."""

    __tablename__ = "field_quality_finding"
    # The drill-down's two reads: one community's rows in order, and a district's first rows in order.
    __table_args__ = (
        Index("ix_field_quality_finding_kind_community_seq", "kind", "community_id", "seq"),
        Index("ix_field_quality_finding_kind_seq", "kind", "seq"),
    )
    __data_classes__ = declare(
        personal="ref_key worker_id visits",
        sensitive="reason",
        business=(
            "kind community_id grid_id house_code day first_event_no item_code building_code reported_at "
            "deregistered_at reversed_at"
        ),
        technical="id seq found_at",
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=24)  # quality.KINDS
    community_id: int = Field(foreign_key="org_unit.id")
    grid_id: int | None = Field(default=None, foreign_key="org_unit.id")
    seq: int  # the row's place in its check's order (what the drill-down lists first)
    ref_key: str = Field(max_length=200)
    worker_id: int | None = Field(default=None, foreign_key="worker.id", index=True)
    house_code: str | None = Field(default=None, max_length=40)
    day: date | None = None
    visits: int | None = None
    first_event_no: str | None = Field(default=None, max_length=40)
    item_code: str | None = Field(default=None, max_length=8)
    building_code: str | None = Field(default=None, max_length=40)
    reported_at: LocalDateTime | None = None
    reason: str | None = Field(default=None, max_length=40)
    deregistered_at: LocalDateTime | None = None
    reversed_at: LocalDateTime | None = None
    found_at: LocalDateTime


class QualityCheck(SQLModel, table=True):
    """When a community's data was last checked, and the problems each check found there.

    The figures the 数据质量 page shows (problems per community and check) and the number of findings behind
    them, written with the findings in one transaction."""

    __tablename__ = "field_quality_check"
    __data_classes__ = declare(
        personal="checked_by",
        business="community_id kind problems rows checked_at",
    )

    community_id: int = Field(foreign_key="org_unit.id", primary_key=True)
    kind: str = Field(max_length=24, primary_key=True)
    problems: int = 0  # distinct ref_key: an address with three codes is one problem
    rows: int = 0  # the findings behind them (three house records)
    checked_at: LocalDateTime
    checked_by: int | None = None  # the user who asked for the check; None for the daily job
