"""One event without a file (evaluation.field.event_upsert) is the row the events import writes: the same
stored fields and fingerprint for a spread of events (states, voids, self-handled, defaults, spellings),
the same refusals for bad ones, and "unchanged" across the two paths."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from api.tables import to_csv
from core.models import Role
from evaluation.field.event_upsert import upsert_event
from evaluation.field.imports import EVENT_FIELDS, EVENTS_SCHEMA, ImportRefused, import_file
from evaluation.field.models import Event
from evaluation.field.registry import ensure_reference_data
from tests.factories import make_org, viewer

NOW = datetime(2020, 10, 1, 12, 0)
COLUMNS = [c.key for c in EVENTS_SCHEMA.columns]
STAGES = [
    "discovered_at",
    "reported_at",
    "accepted_at",
    "dispatched_at",
    "signed_at",
    "feedback_at",
    "closed_at",
]


def _rows(org: Any, n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        t = datetime(2020, 6, 1, 8, 0) + timedelta(hours=rng.randint(0, 2000), minutes=rng.randint(0, 59))
        row: dict[str, Any] = {
            "event_no": f"N{i:03d}",
            "item": rng.choice(["F02", "C03", "乱堆物堆料", "Piled goods or materials", "c03"]),
            "grid_code": rng.choice(org.grids_a).code,
            "location": rng.choice([None, "甲社区路口", "  二巷 "]),
            "lat": rng.choice([None, 22.61]),
            "lon": rng.choice([None, 114.41]),
            "priority": rng.choice([None, "紧急", "urgent", "complex", "一般"]),
            "reporter_no": rng.choice([None, org.workers_a[0].employee_no]),
            "assignee_no": rng.choice([None, org.workers_a[1].employee_no]),
            "result": rng.choice([None, "已清理", "作废", "VOID duplicate"]),
            "satisfaction": rng.choice([None, "满意", "basic", "不满意"]),
            "rework_count": rng.choice([None, 0, 2]),
            "postponed": rng.choice([None, True, False]),
        }
        last = rng.randint(1, len(STAGES) - 1)
        for stage in STAGES[: last + 1]:
            if stage == "reported_at" or rng.random() < 0.7:
                row[stage] = t
                t += timedelta(minutes=rng.randint(0, 600))
        out.append(row)
    return out


def _stored(session: Session, prefix: str) -> dict[str, dict[str, Any]]:
    session.expire_all()
    events = session.exec(select(Event).where(Event.event_no.startswith(prefix))).all()
    return {
        e.event_no[len(prefix) :]: {f: getattr(e, f) for f in [*EVENT_FIELDS, "import_hash"]} for e in events
    }


def _import(session: Session, *args: Any, **kw: Any) -> Any:
    try:
        return import_file(session, *args, **kw)
    except ImportRefused as exc:
        raise AssertionError([e.message_en for e in exc.report.errors]) from exc


def test_one_event_is_stored_exactly_as_the_import_stores_it(session: Session) -> None:
    """Test that 60 varied events written one by one equal, field by field and fingerprint, the same events
    imported as a file, and that importing them again after the single path finds them unchanged."""
    org = make_org(session)
    ensure_reference_data(session)
    mgr = viewer(Role.MANAGER)
    rows = _rows(org, 60)
    _import(
        session,
        mgr,
        "events",
        to_csv([{**r, "event_no": "I" + r["event_no"]} for r in rows], COLUMNS),
        "f.csv",
        now=NOW,
    )
    statuses = [
        upsert_event(session, mgr, {**r, "event_no": "S" + r["event_no"]}, now=NOW).status for r in rows
    ]
    assert statuses == ["added"] * len(rows)
    filed, single = _stored(session, "I"), _stored(session, "S")
    assert len(filed) == len(single) == len(rows)
    for no in filed:
        assert single[no] == filed[no], no
    assert {f["state"] for f in filed.values()} >= {"reported", "voided", "closed", "evaluated"}
    again = import_file(
        session,
        mgr,
        "events",
        to_csv([{**r, "event_no": "S" + r["event_no"]} for r in rows], COLUMNS),
        "g.csv",
        now=NOW,
    )
    assert (again.added, again.changed, again.unchanged) == (0, 0, len(rows))
    assert (
        upsert_event(session, mgr, {**rows[0], "event_no": "I" + rows[0]["event_no"]}, now=NOW).status
        == "unchanged"
    )
    changed = upsert_event(
        session, mgr, {**rows[0], "event_no": "S" + rows[0]["event_no"], "location": "新址"}, now=NOW
    )
    assert changed.status == "changed" and changed.event.location == "新址"


BAD = [
    ({"grid_code": "NOPE"}, {("grid_code", "unknown_grid")}),
    ({"reporter_no": "ZZ9"}, {("reporter_no", "unknown_worker")}),
    ({"accepted_at": datetime(2020, 6, 1, 8, 0)}, {("accepted_at", "out_of_order")}),
    ({"item": "X99"}, {("item", "not_a_choice")}),
    ({"priority": "very"}, {("priority", "not_a_choice")}),
    ({"grid_code": "NOPE", "accepted_at": datetime(2020, 6, 1, 8, 0)}, {("grid_code", "unknown_grid")}),
    ({"event_no": "   "}, {("event_no", "required")}),
]


@pytest.mark.parametrize(("change", "expected"), BAD)
def test_one_event_is_refused_as_the_import_refuses_it(session: Session, change: dict, expected: set) -> None:
    """Test that a bad event is refused by the single path with the column and code the import gives."""
    org = make_org(session)
    ensure_reference_data(session)
    mgr = viewer(Role.MANAGER)
    row = {
        "event_no": "B1",
        "item": "C03",
        "grid_code": org.grids_a[0].code,
        "reported_at": datetime(2020, 6, 1, 9, 0),
        **change,
    }
    with pytest.raises(ImportRefused) as filed:
        import_file(session, mgr, "events", to_csv([row], COLUMNS), "f.csv", now=NOW)
    with pytest.raises(ImportRefused) as single:
        upsert_event(session, mgr, row, now=NOW)
    assert {(e.column, e.code) for e in filed.value.report.errors} == expected
    assert {(e.column, e.code) for e in single.value.report.errors} == expected
    assert all(e.row is None and e.message_zh and e.message_en for e in single.value.report.errors)
