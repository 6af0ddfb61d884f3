"""Shipped reference data (taxonomy, metric registry, SLA) and its editable copies in the database."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import pandas as pd
from sqlmodel import Session, col, select

from core.audit import changed_fields, record
from core.clock import now as clock_now
from core.errors import GridwiseError
from core.i18n import t
from core.models import AppSetting
from core.scope import ScopeError
from core.settings import DATA_DIR
from core.taxonomy import load_taxonomy
from evaluation.field.models import Aggregation, Direction, MetricDef, SlaLevel

PRIORITIES = ("urgent", "normal", "complex")
REGISTRY_COLUMNS = [
    "code",
    "name_zh",
    "name_en",
    "unit",
    "direction",
    "kind",
    "aggregation",
    "from_events",
    "numerator_zh",
    "numerator_en",
    "denominator_zh",
    "denominator_en",
    "source_zh",
    "source_en",
    "note_zh",
    "note_en",
    "target",
    "sort_order",
    "is_active",
]
EDITABLE = (
    "name_zh",
    "name_en",
    "unit",
    "direction",
    "target",
    "is_active",
    "note_zh",
    "note_en",
    "source_zh",
    "source_en",
)


@lru_cache(maxsize=1)
def items_frame() -> pd.DataFrame:
    """One row per taxonomy item: item_code, category_code, names, default priority, handler."""
    rows = []
    for cat in load_taxonomy()["categories"]:
        for item in cat["items"]:
            rows.append(
                {
                    "item_code": item["code"],
                    "category_code": cat["code"],
                    "item_zh": item["name_zh"],
                    "item_en": item["name_en"],
                    "category_zh": cat["name_zh"],
                    "category_en": cat["name_en"],
                    "default_priority": item["default_priority"],
                    "handler": item["handler"],
                    "qualification_course": item.get("qualification_course"),
                }
            )
    return pd.DataFrame(rows)


@lru_cache(maxsize=1)
def item_lookup() -> dict[str, dict[str, Any]]:
    """Item code → its ``items_frame`` row (shared, like the frame: read it, don't change it)."""
    return items_frame().set_index("item_code").to_dict("index")


@lru_cache(maxsize=1)
def shipped_metrics() -> list[dict[str, Any]]:
    return json.loads((DATA_DIR / "metrics.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def shipped_sla() -> dict[str, Any]:
    return json.loads((DATA_DIR / "sla.json").read_text(encoding="utf-8"))


def ensure_reference_data(session: Session) -> None:
    """Seed the registry and SLA tables from data/ when empty (never overwrites an admin's edits)."""
    have = set(session.exec(select(MetricDef.code)).all())
    for order, m in enumerate(shipped_metrics()):
        if m["code"] in have:
            continue
        session.add(
            MetricDef(
                code=m["code"],
                name_zh=m["name_zh"],
                name_en=m["name_en"],
                unit=m["unit"],
                direction=m["direction"],
                kind=m["kind"],
                aggregation=(Aggregation.RATIO if m["kind"] == "ratio" else Aggregation.SUM).value,
                from_events=bool(m.get("from_events")),
                numerator_zh=m.get("numerator_zh"),
                numerator_en=m.get("numerator_en"),
                denominator_zh=m.get("denominator_zh"),
                denominator_en=m.get("denominator_en"),
                source_zh=m.get("source_zh"),
                source_en=m.get("source_en"),
                note_zh=m.get("note_zh"),
                note_en=m.get("note_en"),
                target=m.get("target"),
                sort_order=order,
            )
        )
    have_sla = set(session.exec(select(SlaLevel.code)).all())
    for p in shipped_sla()["priorities"]:
        if p["code"] not in have_sla:
            session.add(
                SlaLevel(
                    code=p["code"],
                    name_zh=p["name_zh"],
                    name_en=p["name_en"],
                    report_limit_hours=p["report_limit_hours"],
                    sign_limit_hours=p["sign_limit_hours"],
                    handle_limit_hours=p["handle_limit_hours"],
                    supervise_after_hours=p.get("supervise_after_hours", 24),
                )
            )
    session.flush()


def metric_registry(session: Session) -> pd.DataFrame:
    """The registry as a frame ordered as shipped (seeded on first use)."""
    ensure_reference_data(session)
    rows = session.exec(select(MetricDef).order_by(col(MetricDef.sort_order), col(MetricDef.code))).all()
    return pd.DataFrame([r.model_dump() for r in rows], columns=REGISTRY_COLUMNS + ["updated_at"])


def update_metric(session: Session, viewer, *, code: str, changes: dict[str, Any]) -> MetricDef:  # noqa: ANN001
    """Edit a registry entry (admin). Formulas (kind, aggregation, from_events) are not editable:
    they decide how stored figures are read."""
    if not viewer.is_admin:
        raise ScopeError("scope.err.admin_metrics")
    metric = session.get(MetricDef, code)
    if metric is None:
        raise GridwiseError("field.err.unknown_metric", code=code)
    bad = set(changes) - set(EDITABLE)
    if bad:
        raise GridwiseError("field.err.not_editable", fields=", ".join(sorted(bad)))
    if "direction" in changes and changes["direction"] not in {d.value for d in Direction}:
        raise GridwiseError("field.err.direction")
    was = {key: getattr(metric, key) for key in changes}
    for key, value in changes.items():
        if key == "target" and value is not None and pd.isna(value):
            value = None
        setattr(metric, key, value)
    before, after = changed_fields(was, {key: getattr(metric, key) for key in changes})
    if after:
        record(
            session,
            "field.metric.update",
            viewer=viewer,
            entity="metric",
            entity_id=code,
            before=before,
            after=after,
        )
    metric.updated_at = clock_now()
    session.add(metric)
    session.flush()
    return metric


def save_registry_table(session: Session, viewer, before: pd.DataFrame, after: pd.DataFrame) -> int:  # noqa: ANN001
    """The registry table as an administrator edited it on the page (``before`` and ``after`` indexed by
    code): every entry with a changed editable field updated (update_metric, one audit entry each), all in
    the caller's transaction. Returns how many entries changed."""
    n = 0
    for code in after.index:
        changes = {}
        for field in (c for c in EDITABLE if c in after.columns):
            old, new = before.at[code, field], after.at[code, field]
            if not ((pd.isna(old) and pd.isna(new)) or old == new):
                changes[field] = None if pd.isna(new) else (new.item() if hasattr(new, "item") else new)
        if changes:
            update_metric(session, viewer, code=str(code), changes=changes)
            n += 1
    return n


def sla_levels(session: Session) -> dict[str, SlaLevel]:
    ensure_reference_data(session)
    return {s.code: s for s in session.exec(select(SlaLevel)).all()}


# A time limit's column → the catalog key of its name on the metrics page.
LIMIT_NAMES = {
    "report_limit_hours": "field.metrics.col.report",
    "sign_limit_hours": "field.metrics.col.sign",
    "handle_limit_hours": "field.metrics.col.handle",
    "supervise_after_hours": "field.metrics.col.supervise",
}


class LimitError(GridwiseError):
    """A time limit refused: the ``limit`` is named as the metrics page names its column, in the reader's
    language, not by its column (``handle_limit_hours``)."""

    def message(self, lang: str) -> str:
        params = dict(self.params)
        if params.get("limit") in LIMIT_NAMES:
            params["limit"] = t(LIMIT_NAMES[str(params["limit"])], lang)
        return t(self.key, lang, **params)

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key, **params)
        self.args = (self.message("en"),)


def update_sla(session: Session, viewer, *, code: str, **limits: float) -> SlaLevel:  # noqa: ANN001
    if not viewer.is_admin:
        raise ScopeError("scope.err.admin_time_limits")
    level = sla_levels(session).get(code)
    if level is None:
        raise GridwiseError("field.err.unknown_priority", code=code)
    cap = float(shipped_sla()["hard_cap_hours"])
    was = {key: getattr(level, key, None) for key in limits}
    for key, value in limits.items():
        if key not in LIMIT_NAMES:
            raise GridwiseError("field.err.unknown_limit", limit=key)
        if value is None or not (0 < float(value) <= cap):
            raise LimitError("field.err.limit_range", limit=key, cap=f"{cap:g}")
        setattr(level, key, float(value))
    before, after = changed_fields(was, {key: getattr(level, key) for key in limits})
    if after:
        record(
            session,
            "field.sla.update",
            viewer=viewer,
            entity="sla",
            entity_id=code,
            before=before,
            after=after,
        )
    session.add(level)
    session.flush()
    forget_field_reference()  # this process's single-event path reads the new limits from now on
    return level


SLA_LIMITS = ("report_limit_hours", "sign_limit_hours", "handle_limit_hours", "supervise_after_hours")


def save_sla_table(session: Session, viewer, table: pd.DataFrame) -> None:  # noqa: ANN001
    """The time-limit table as an administrator edited it (code and the four limits per priority), every
    row through update_sla, all in the caller's transaction: one bad limit saves none."""
    for row in table.to_dict("records"):
        update_sla(session, viewer, code=row["code"], **{k: row[k] for k in SLA_LIMITS})


AS_OF_SETTING = "field_as_of"


def field_now(session: Session, now: datetime | None = None) -> datetime:
    """The time field rules run at: ``now`` if given; the demo's pinned "today" in a demo database (its
    data ends on 2020-09-30, so the wall clock would make every open item years overdue); else the clock."""
    if now is not None:
        return now

    setting = session.get(AppSetting, AS_OF_SETTING)
    if setting is not None and setting.value:
        return datetime.fromisoformat(setting.value)
    return clock_now()


# --- the single-event path's copy of the reference data ----------------------------------------------------
# An API process posting events one by one would read the SLA table and the as-of setting for every event.
# It keeps them per database for REFERENCE_TTL_SECONDS instead: an administrator's change of a time limit
# (in another process: the app, the CLI) reaches that path within that time; a change made in this process
# (update_sla) at once.

REFERENCE_TTL_SECONDS = 10.0


@dataclass(frozen=True)
class SlaLimits:
    sign_limit_hours: float
    handle_limit_hours: float


@dataclass(frozen=True)
class FieldReference:
    sla: dict[str, SlaLimits]
    as_of: datetime | None  # the demo's pinned "today" (field_now), None: the clock
    loaded_at: float  # time.monotonic()

    def now(self, now: datetime | None = None) -> datetime:
        """field_now with this copy of the setting."""
        return now or self.as_of or clock_now()


_references: dict[str, FieldReference] = {}
_references_lock = threading.Lock()


def field_reference(session: Session) -> FieldReference:
    """The SLA limits and the as-of setting, read at most every REFERENCE_TTL_SECONDS per database."""
    key = session.get_bind().engine.url.render_as_string(hide_password=True)
    ref = _references.get(key)
    if ref is not None and time.monotonic() - ref.loaded_at < REFERENCE_TTL_SECONDS:
        return ref
    levels = sla_levels(session)
    setting = session.get(AppSetting, AS_OF_SETTING)
    ref = FieldReference(
        sla={
            code: SlaLimits(float(s.sign_limit_hours), float(s.handle_limit_hours))
            for code, s in levels.items()
        },
        as_of=datetime.fromisoformat(setting.value) if setting is not None and setting.value else None,
        loaded_at=time.monotonic(),
    )
    with _references_lock:
        _references[key] = ref
    return ref


def forget_field_reference() -> None:
    """Drop every copy (the next single event reads the tables again): after a change in this process, and
    for tests that empty a database between cases."""
    with _references_lock:
        _references.clear()
