"""One event written as the events import would write it, without a file.

The events import (evaluation.field.imports) reads a file into a DataFrame and applies its rules to a
chunk of rows at once; that costs a fixed ~70–100 ms of pandas work per call, whatever the row count. A
platform posting events one by one (the API's ``POST /events``) pays it for every event. ``upsert_event``
applies the same rules to one row held in a dict: the cell rules of the import's schema (required,
length, choices by code/zh/en spelling, bounds), the scope lookups of grid, reporter and assignee, the
chronology of the stages, then the derived fields (category, default priority, grid position, sign and
handling deadlines, void, self-handled, state) and the row's ``import_hash`` (the import's own
fingerprint, so an event posted here and then imported in a file is "unchanged" there). The result is
the same row the import would write; ``tests/unit/test_event_upsert.py`` checks that on many rows.

It writes in the caller's transaction (flush, never commit) and raises ``ImportRefused`` (with the row's
errors, ``row`` None) when the import would refuse the row. It writes no audit entry of its own: its
caller records the action (the API's call records one entry per request).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas._libs.hashing import hash_object_array
from pydantic_core import PydanticUndefined
from sqlalchemy import Executable, Select, bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from core.models import OrgLevel, OrgUnit, Worker
from core.scope import ScopeError, Viewer, unit_scope_clause, worker_scope_clause
from core.sql import Statement, pipelined
from core.tabular import Column, RowError
from core.tabular.cells import _BOOLS  # the import's spellings of yes/no
from core.tabular.schema import DTYPES, norm
from evaluation.field.imports import (
    EVENTS_SCHEMA,
    STAGES,
    VOID_RESULT,
    ImportRefused,
    ImportReport,
)
from evaluation.field.models import Event, EventState
from evaluation.field.registry import SlaLimits, field_reference, item_lookup

Status = Literal["added", "changed", "unchanged"]


@dataclass
class Upserted:
    """What ``upsert_event`` did, and the stored row: the ORM event (changed, unchanged) or, for an event
    just added by a Core insert, its column values with its id (``event`` loads the ORM row when asked)."""

    status: Status
    row: Event | dict[str, Any]
    session: Session = field(repr=False)

    @property
    def event(self) -> Event:
        if isinstance(self.row, dict):
            self.row = self.session.get_one(Event, self.row["id"])
        return self.row


@lru_cache(maxsize=1)
def _choices() -> dict[str, dict[str, object]]:
    """Per enum/bool column of the schema: normalised spelling → canonical value (as core.tabular.cells)."""
    out: dict[str, dict[str, object]] = {}
    for c in EVENTS_SCHEMA.columns:
        if c.kind == "enum":
            table: dict[str, object] = {norm(v): v for v in (c.choices or {}).values()}
            table.update({norm(k): v for k, v in (c.choices or {}).items()})
            out[c.key] = table
        elif c.kind == "bool":
            out[c.key] = dict(_BOOLS)
    return out


@lru_cache(maxsize=1)
def _items() -> dict[str, dict[str, Any]]:
    return item_lookup()


def _error(c: Column, value: object, code: str, zh: str, en: str) -> RowError:
    shown = "" if value is None else str(value)
    return RowError(
        None,
        c.key,
        shown or None,
        code,
        f"「{c.label_zh}」列的值“{shown}”{zh}",
        f'Column "{c.label_en}": "{shown}" {en}',
    )


def _cells(raw: dict[str, Any]) -> tuple[dict[str, Any], list[RowError]]:
    """The cell rules of EVENTS_SCHEMA on one row: stripped text ("" = empty), required, length, choices,
    bounds. Values typed by the caller (datetimes, numbers) are taken as they are."""
    row: dict[str, Any] = {}
    errors: list[RowError] = []
    choices = _choices()
    for c in EVENTS_SCHEMA.columns:
        v = raw.get(c.key)
        if isinstance(v, str):
            v = v.strip() or None
        if v is None:
            if c.required:
                errors.append(_error(c, None, "required", "为空（必填）", "is empty (required)"))
            row[c.key] = None
            continue
        if c.kind in ("enum", "bool"):
            mapped = choices[c.key].get(norm(str(v).lower() if isinstance(v, bool) else str(v)))
            if mapped is None:
                errors.append(
                    _error(c, v, "not_a_choice", "不是可选的值", "is not one of the allowed values")
                )
            v = mapped
        elif c.kind == "str":
            if c.max_length is not None and len(v) > c.max_length:
                errors.append(
                    _error(c, v, "too_long", f"超过 {c.max_length} 个字符", f"is longer than {c.max_length}")
                )
        elif c.kind in ("int", "float"):
            if c.min is not None and float(v) < float(c.min):  # type: ignore[arg-type]  # numeric bounds here
                errors.append(_error(c, v, "too_small", f"小于 {c.min}", f"is below {c.min}"))
            if c.max is not None and float(v) > float(c.max):  # type: ignore[arg-type]
                errors.append(_error(c, v, "too_large", f"大于 {c.max}", f"is above {c.max}"))
        row[c.key] = v
    return row, errors


@lru_cache(maxsize=64)
def _grid_by_code(viewer: Viewer) -> Select:
    """The grid lookup in a viewer's scope, built once per viewer so its SQL is compiled once
    (core.sql.pipelined)."""
    return sa_select(col(OrgUnit.id), col(OrgUnit.parent_id), col(OrgUnit.lat), col(OrgUnit.lon)).where(
        col(OrgUnit.code) == bindparam("code"),
        col(OrgUnit.level) == OrgLevel.GRID.value,
        unit_scope_clause(viewer),
    )


@lru_cache(maxsize=64)
def _workers_by_no(viewer: Viewer) -> Select:
    """The reporter's and the assignee's ids by number in a viewer's scope (two numbers, the same one
    twice when only one is given)."""
    return sa_select(col(Worker.employee_no), col(Worker.id)).where(
        col(Worker.employee_no).in_([bindparam("a"), bindparam("b")]), worker_scope_clause(viewer)
    )


def _lookups(session: Session, viewer: Viewer, row: dict[str, Any]) -> tuple[tuple | None, dict[str, int]]:
    """The row's grid and its reporter's and assignee's ids, in the viewer's scope: one round trip."""
    numbers = [n for n in (row["reporter_no"], row["assignee_no"]) if n is not None]
    statements: list[Statement] = [(_grid_by_code(viewer), {"code": row["grid_code"]})]
    if numbers:
        statements.append((_workers_by_no(viewer), {"a": numbers[0], "b": numbers[-1]}))
    found = pipelined(session, statements)
    grid = tuple(found[0][0]) if found[0] else None
    workers = {no: int(wid) for no, wid in (found[1] if numbers else []) if wid is not None}
    return grid, workers


_HASH_DTYPES = {  # the dtypes the import's frame has when it fingerprints a row (imports._row_hash)
    "item_code": DTYPES["str"],
    "grid_id": "int64",
    "location": DTYPES["str"],
    "building_code": DTYPES["str"],
    "lat": "float64",
    "lon": "float64",
    "priority": DTYPES["str"],
    "reporter_id": "Int64",
    "assignee_id": "Int64",
    **dict.fromkeys(STAGES, "datetime64[us]"),
    "result": DTYPES["str"],
    "satisfaction": DTYPES["str"],
    "rework_count": "int64",
    "postponed": "bool",
}


_MASK = (1 << 64) - 1


def _na_hash() -> int:
    h = np.zeros(1, dtype=np.uint64)
    h[:] = hash(pd.NA)  # as pandas writes pd.NA's hash into a masked array's hashes
    return int(h[0])


_NA_HASH = _na_hash()
_MICROSECOND = timedelta(microseconds=1)
_NO_TEXT = _MASK  # how pandas hashes a missing string (the largest uint64)
_EPOCH = datetime(1970, 1, 1)
_NAT = 1 << 63  # NaT: the smallest int64, as uint64
_NAN_BITS = struct.unpack("<Q", struct.pack("<d", float("nan")))[0]
_HASH_KEY = "0123456789123456"  # pandas' default hash key


def _mix(u: int) -> int:
    """pandas' redistribution of a 64-bit value (util.hashing._hash_ndarray), on a Python int."""
    u ^= u >> 30
    u = (u * 0xBF58476D1CE4E5B9) & _MASK
    u ^= u >> 27
    u = (u * 0x94D049BB133111EB) & _MASK
    return u ^ (u >> 31)


def _hash(fields: dict[str, Any]) -> str:
    """The import's fingerprint (imports._row_hash: pandas' hash_pandas_object of the row, index left
    out) of this one row: pandas' arithmetic on Python ints, value by value as pandas hashes the import's
    dtypes (numpy on one-element arrays costs more than the rest of the request; a DataFrame more still).
    Texts go through pandas' own string hash, all in one call. The parity test
    (tests/unit/test_event_upsert.py) compares it with the import's on many rows."""
    hashes: list[int] = []
    texts: list[tuple[int, str]] = []
    for key, dtype in _HASH_DTYPES.items():
        value = fields[key]
        if dtype == "Int64":  # masked integers: the data's hash, pd.NA's where missing
            h = _NA_HASH if value is None else _mix(int(value) & _MASK)
        elif dtype in ("int64", "bool"):
            h = _mix(int(value) & _MASK)
        elif dtype == "float64":
            v = float("nan") if value is None else float(value)
            bits = _NAN_BITS if v != v else struct.unpack("<Q", struct.pack("<d", v))[0]
            h = _mix(0 if bits == 1 << 63 else bits)  # -0.0 hashes as 0.0
        elif dtype == "datetime64[us]":
            h = _mix(_NAT if value is None else ((value - _EPOCH) // _MICROSECOND) & _MASK)
        else:  # text: pandas' string hash (below), a missing value as the largest uint64
            h = _NO_TEXT
            if value is not None:
                texts.append((len(hashes), value))
        hashes.append(h)
    if texts:
        hashed = hash_object_array(np.array([t for _, t in texts], dtype=object), _HASH_KEY, "utf8")
        for (i, _), h in zip(texts, hashed, strict=True):
            hashes[i] = _mix(int(h))
    out, mult, n = 0x345678, 1000003, len(hashes)  # combine_hash_arrays, as CPython's tuple hash
    for i, h in enumerate(hashes):
        out = ((out ^ h) * mult) & _MASK
        mult = (mult + 82520 + 2 * (n - i)) & _MASK
    return f"{(out + 97531) & _MASK:016x}"


def derive(
    row: dict[str, Any], grid: tuple | None, workers: dict[str, int], sla: dict[str, SlaLimits]
) -> tuple[dict[str, Any], list[RowError]]:
    """The import's per-row rules (imports._events_chunk) on one checked row: lookups, chronology, then
    the derived fields of the stored event."""
    errors: list[RowError] = []
    sch = EVENTS_SCHEMA
    if grid is None:
        errors.append(
            _error(
                sch.column("grid_code"),
                row["grid_code"],
                "unknown_grid",
                "不是您管理范围内的网格编码",
                "is not a grid in your scope",
            )
        )
    ids: dict[str, int | None] = {}
    for cname, out in (("reporter_no", "reporter_id"), ("assignee_no", "assignee_id")):
        ids[out] = workers.get(row[cname]) if row[cname] is not None else None
        if row[cname] is not None and ids[out] is None:
            errors.append(
                _error(
                    sch.column(cname),
                    row[cname],
                    "unknown_worker",
                    "不是您管理范围内的网格员工号",
                    "is not a worker in your scope",
                )
            )
    bad = bool(errors)
    latest: datetime | None = None
    for cname in STAGES:
        at = row[cname]
        if at is not None and latest is not None and at < latest:
            if not bad:
                errors.append(
                    _error(
                        sch.column(cname),
                        pd.Timestamp(at),
                        "out_of_order",
                        "早于前一环节的时间",
                        "is earlier than the previous stage",
                    )
                )
            bad = True
        if at is not None and (latest is None or at > latest):
            latest = at
    if errors or grid is None:
        return {}, errors
    grid_id, community_id, grid_lat, grid_lon = grid
    meta = _items()[row["item"]]
    priority = row["priority"] or meta["default_priority"]
    level = sla[priority]
    voided = row["result"] is not None and VOID_RESULT.search(row["result"]) is not None
    self_handled = row["dispatched_at"] is None and row["feedback_at"] is not None
    assignee = ids["assignee_id"]
    if assignee is None and self_handled:
        assignee = ids["reporter_id"]
    sign_due = (
        row["dispatched_at"] + timedelta(hours=float(level.sign_limit_hours))
        if row["dispatched_at"] is not None
        else None
    )
    start = row["signed_at"] or sign_due or row["accepted_at"] or row["reported_at"]
    closed, satisfaction = row["closed_at"], row["satisfaction"]
    S = EventState
    if voided:
        state = S.VOIDED
    elif closed is not None and satisfaction is not None:
        state = S.EVALUATED
    elif closed is not None:
        state = S.CLOSED
    elif row["feedback_at"] is not None:
        state = S.SELF_RESOLVED if self_handled else S.FEEDBACK
    elif row["signed_at"] is not None:
        state = S.HANDLING
    elif row["dispatched_at"] is not None:
        state = S.DISPATCHED
    elif row["accepted_at"] is not None:
        state = S.REGISTERED
    else:
        state = S.REPORTED
    fields = {
        "item_code": row["item"],
        "category_code": meta["category_code"],
        "grid_id": int(grid_id),
        "community_id": int(community_id),
        "location": row["location"],
        "building_code": row["building_code"],
        "lat": row["lat"] if row["lat"] is not None else grid_lat,
        "lon": row["lon"] if row["lon"] is not None else grid_lon,
        "priority": priority,
        "reporter_id": ids["reporter_id"],
        "assignee_id": assignee,
        **{s: row[s] for s in STAGES},
        "voided_at": (row["accepted_at"] or row["reported_at"]) if voided else None,
        "started_at": row["signed_at"],
        "evaluated_at": closed if satisfaction is not None else None,
        "sign_due_at": sign_due,
        "due_at": None if voided else start + timedelta(hours=float(level.handle_limit_hours)),
        "result": row["result"],
        "satisfaction": satisfaction,
        "rework_count": int(row["rework_count"] or 0),
        "postponed": bool(row["postponed"]) if row["postponed"] is not None else False,
        "state": state.value,
    }
    if voided:
        fields["accepted_at"] = None
    fields["import_hash"] = _hash({**fields, "accepted_at": fields["accepted_at"]})
    return fields, []


def _refuse(errors: list[RowError], filename: str) -> ImportRefused:
    return ImportRefused(
        ImportReport(kind="events", filename=filename, rows_read=1, errors=errors, error_count=len(errors))
    )


_TABLE = Event.__table__  # type: ignore[attr-defined]  # SQLModel sets __table__
# The values Event(...) gives the columns a new event's fields leave out (as the ORM insert wrote them).
_DEFAULTS = {
    name: f.default
    for name, f in Event.model_fields.items()
    if name != "id" and f.default is not PydanticUndefined and f.default_factory is None
}


@lru_cache(maxsize=8)
def _insert(dialect: str, columns: tuple[str, ...]) -> Executable:
    """A new event, or nothing when its number is taken (then it is an update): every column bound, built
    once per column set (core.sql.pipelined)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(_TABLE)
        .values({c: bindparam(c) for c in columns})
        .on_conflict_do_nothing(index_elements=["event_no"])
        .returning(_TABLE.c.id)
    )


def upsert_event(
    session: Session, viewer: Viewer, raw: dict[str, Any], *, now: datetime | None = None, source: str = "api"
) -> Upserted:
    """Add or update the event ``raw`` describes (the events import's columns: event_no, item, grid_code,
    times as naive Shanghai datetimes …), upsert by event number, exactly as importing it in a one-row
    file would; ``ImportRefused`` when the import would refuse it. A new event is one Core insert (which
    does nothing when the number is taken: then the stored event is read and updated); the SLA limits
    and the as-of setting come from this process's copy (registry.field_reference, ≤ 10 s old)."""
    if not viewer.is_manager:
        raise ScopeError("scope.err.manager_field_import")
    row, errors = _cells(raw)
    if errors:
        raise _refuse(errors, source)
    grid, workers = _lookups(session, viewer, row)
    reference = field_reference(session)
    fields, errors = derive(row, grid, workers, reference.sla)
    if errors:
        raise _refuse(errors, source)
    at = reference.now(now)
    conn = session.connection()
    values = {
        **_DEFAULTS,
        "event_no": row["event_no"],
        **fields,
        "updated_at": at,
        "source": "import",
        "reopen_count": 0,
        "return_count": 0,
        "escalation": 0,
    }
    inserted = pipelined(session, [(_insert(conn.dialect.name, tuple(values)), values)])[0]
    if inserted:
        return Upserted("added", {**values, "id": inserted[0][0]}, session)
    event = session.exec(select(Event).where(Event.event_no == row["event_no"])).one()
    in_scope = session.exec(
        select(OrgUnit.id).where(OrgUnit.id == event.grid_id, unit_scope_clause(viewer))
    ).first()
    if in_scope is None:  # the number of an event outside the viewer's scope: not theirs to change
        raise _refuse(
            [
                _error(
                    EVENTS_SCHEMA.column("event_no"),
                    row["event_no"],
                    "event_out_of_scope",
                    "是您管理范围以外的事件编号",
                    "is the number of an event outside your scope",
                )
            ],
            source,
        )
    if event.import_hash == fields["import_hash"]:
        return Upserted("unchanged", event, session)
    for name, value in fields.items():
        setattr(event, name, value)
    event.updated_at = at
    session.add(event)
    session.flush()
    return Upserted("changed", event, session)
