"""The events import's bulk write path: values handed to the driver, errors it raises, a large file."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import exc, func
from sqlalchemy.dialects import sqlite
from sqlmodel import select

from core.models import Role
from evaluation.field.import_bulk import DeferredIndexes, executemany, sqlite_datetimes
from evaluation.field.imports import _row_hash
from evaluation.field.models import Event
from evaluation.field.registry import ensure_reference_data
from tests.factories import make_org, viewer
from tests.unit._field_import import import_and_commit

NOW = datetime(2020, 10, 1, 12, 0)


def test_sqlite_datetime_text_is_what_sqlalchemy_would_bind():
    """Test that the vectorised DateTime text equals SQLAlchemy's own SQLite bind processing, NaT as None."""
    bind = sqlite.DATETIME().bind_processor(sqlite.dialect())
    stamps = [
        datetime(2020, 6, 1, 8, 30),
        datetime(2020, 6, 1, 8, 30),
        datetime(2020, 12, 31, 23, 59, 59, 999999),
        None,
        datetime(1999, 1, 2, 3, 4, 5, 6),
    ]
    values = pd.Series(stamps, dtype="datetime64[us]").to_numpy()
    assert sqlite_datetimes(values).tolist() == [None if s is None else bind(s) for s in stamps]
    far = np.array(["0999-03-04T05:06:07", "2020-01-01"], dtype="datetime64[us]")  # a year of three digits
    assert sqlite_datetimes(far).tolist()[1] == bind(datetime(2020, 1, 1))
    assert sqlite_datetimes(far).tolist()[0].startswith("0999-03-04 05:06:07")
    assert sqlite_datetimes(np.array(["NaT", "NaT"], dtype="datetime64[us]")).tolist() == [None, None]


def test_row_hash_is_sixteen_hex_digits_of_the_pandas_hash():
    """Test that the fingerprint stays the zero-padded hex of pandas' row hash (stored fingerprints stay valid)."""
    cols = [
        "item_code",
        "grid_id",
        "location",
        "building_code",
        "lat",
        "lon",
        "priority",
        "reporter_id",
        "assignee_id",
        "discovered_at",
        "reported_at",
        "accepted_at",
        "dispatched_at",
        "signed_at",
        "feedback_at",
        "closed_at",
        "result",
        "satisfaction",
        "rework_count",
        "postponed",
    ]
    rows = pd.DataFrame({c: [1.5, None, 3.0, 0.0] for c in cols}, index=[7, 8, 9, 10])
    expected = [f"{v:016x}" for v in pd.util.hash_pandas_object(rows[cols], index=False).to_numpy()]
    got = _row_hash(rows)
    assert got.tolist() == expected and got.index.tolist() == [7, 8, 9, 10]
    assert all(len(h) == 16 for h in got)


def test_a_refused_bulk_write_raises_sqlalchemys_error(session):
    """Test that a constraint violation in the driver-level executemany surfaces as SQLAlchemy's IntegrityError."""
    org = make_org(session)
    grid, community = org.grids_a[0].id, org.comm_a.id
    cols = [
        "event_no",
        "item_code",
        "category_code",
        "grid_id",
        "community_id",
        "priority",
        "state",
        "source",
        "postponed",
        "rework_count",
        "reopen_count",
        "return_count",
        "escalation",
        "updated_at",
    ]
    row = [
        "E1",
        "F02",
        "fire",
        grid,
        community,
        "normal",
        "reported",
        "import",
        False,
        0,
        0,
        0,
        0,
        "2020-06-01 00:00:00.000000" if session.get_bind().dialect.name == "sqlite" else NOW,
    ]
    with pytest.raises(exc.IntegrityError):
        executemany(session, "field_event", cols, [[v, v] for v in row])  # the same event number twice
    session.rollback()


HEADER = "事件编号,事项,网格编码,地点,紧急程度,上报人工号,处置人工号,发现时间,上报时间,受理时间,派遣时间,签收时间,反馈时间,办结时间,处置结果,满意度"


def _events_file(n: int, bad_row: int | None = None) -> bytes:
    lines = [HEADER] + [
        f"N{i},F0{1 + i % 9},D1A{i % 3},x,一般,A0{i % 3},A0{(i + 1) % 3},,2020-06-0{1 + i % 9} 09:00,"
        f"2020-06-0{1 + i % 9} 10:00,,,,,,"
        for i in range(n)
    ]
    if bad_row is not None:
        lines[bad_row] = lines[bad_row].replace(",D1A", ",NOPE", 1)
    return "\n".join(lines).encode("gb18030")


def _indexes(session) -> list[tuple[str, str]]:
    """field_event's secondary indexes as this session's transaction sees them."""
    if session.get_bind().dialect.name == "sqlite":
        sql = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'field_event' AND sql IS NOT NULL"
    else:
        sql = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'field_event'"
    return sorted(session.connection().exec_driver_sql(sql).all())


@pytest.mark.parametrize("bad_row", [None, 250])
def test_a_large_file_builds_the_indexes_after_writing_and_a_refusal_keeps_them(
    session, monkeypatch, bad_row
):
    """Test that a large file into a small table writes without field_event's secondary indexes on SQLite
    (and with them on PostgreSQL), rebuilds them identically before committing, and that a file refused
    in a later chunk leaves the indexes and the table as they were."""
    make_org(session)
    ensure_reference_data(session)
    session.commit()
    before = _indexes(session)
    assert len(before) >= 3
    monkeypatch.setattr(DeferredIndexes, "MIN_ROWS", 100)
    during: list[list[tuple[str, str]]] = []
    report = import_and_commit(
        session,
        viewer(Role.MANAGER),
        "events",
        _events_file(300, bad_row),
        "big.csv",
        now=NOW,
        chunk_rows=100,
        progress=lambda n, f: during.append(_indexes(session)),
    )
    sqlite_db = session.get_bind().dialect.name == "sqlite"
    # Dropped once the first chunk's INSERT has opened the transaction (seen after each chunk), SQLite only.
    assert len(during) == 4 and all(d == ([] if sqlite_db else before) for d in during)  # 301 records
    assert _indexes(session) == before
    count = session.exec(select(func.count()).select_from(Event)).one()
    if bad_row is None:
        assert report.written and report.added == 300 and count == 300
    else:
        assert not report.written and report.error_count == 1 and count == 0


def test_indexes_are_kept_when_the_table_already_holds_more_events_than_the_file(session, monkeypatch):
    """Test that a file smaller than the table is written with the indexes in place (rebuilding would cost more)."""
    make_org(session)
    ensure_reference_data(session)
    session.commit()
    mgr = viewer(Role.MANAGER)
    import_and_commit(session, mgr, "events", _events_file(300), "first.csv", now=NOW)
    before = _indexes(session)
    monkeypatch.setattr(DeferredIndexes, "MIN_ROWS", 100)
    during: list[list[tuple[str, str]]] = []
    more = _events_file(150).replace(b"N", b"M")
    report = import_and_commit(
        session,
        mgr,
        "events",
        more,
        "more.csv",
        now=NOW,
        chunk_rows=50,
        progress=lambda n, f: during.append(_indexes(session)),
    )
    assert report.written and report.added == 150
    assert during and all(d == before for d in during)
