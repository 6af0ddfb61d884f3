"""The events import on PostgreSQL writes by COPY into a staging table and one INSERT … ON CONFLICT (issue #21):
the same rows as the SQLite path, nothing written when any chunk holds a bad row, no duplicate on re-import,
and a file on disk read in chunks as a file in memory is."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, text
from sqlmodel import Session, select

from core.cli import build_parser
from core.db import make_engine
from core.migrate import import_all_models
from core.models import Role
from evaluation.field import imports
from evaluation.field.import_bulk import copy_frame, csv_blocks
from evaluation.field.imports import ImportRefused, import_file
from evaluation.field.models import Event, MetricValue
from evaluation.field.registry import ensure_reference_data
from tests.factories import make_org, viewer
from tests.unit._field_import import import_and_commit

NOW = datetime(2020, 10, 1, 12, 0)
HEADER = "事件编号,事项,网格编码,地点,紧急程度,上报人工号,处置人工号,发现时间,上报时间,受理时间,派遣时间,签收时间,反馈时间,办结时间,处置结果,满意度,返工次数,是否缓办"


def _events(n: int, *, satisfied: str = "满意") -> str:
    """n events over three grids, three workers and every lifecycle stage (tabs, quotes, blanks included)."""
    lines = [HEADER]
    for i in range(n):
        stage = i % 5  # how far the event got: reported … evaluated
        times = [f"2020-06-{1 + i % 9:02d} {8 + k}:{i % 60:02d}" for k in range(7)]
        kept = times[: 2 + stage] + [""] * (5 - stage)
        where = f'"{i}号, 一巷\t(东)"' if i % 7 == 0 else f"一巷{i}号"
        result = "作废:重复上报" if i % 11 == 0 else ("已整改" if stage >= 3 else "")
        sat = satisfied if stage == 4 else ""
        lines.append(
            f"N{i:04d},F0{1 + i % 9},D1A{i % 3},{where},{['紧急', '一般', '复杂', ''][i % 4]},A0{i % 3},"
            f"{'A0' + str((i + 1) % 3) if i % 2 else ''},{','.join(kept)},{result},{sat},{i % 3},{'是' if i % 6 == 0 else ''}"
        )
    return "\n".join(lines) + "\n"


def _stored(session: Session) -> pd.DataFrame:
    """Every stored event as the file and the rules made it: ids replaced by codes, bookkeeping left out."""
    rows = session.execute(
        text(
            "SELECT e.*, g.code AS grid, c.code AS community, r.employee_no AS reporter, "
            "a.employee_no AS assignee FROM field_event e JOIN org_unit g ON g.id = e.grid_id "
            "JOIN org_unit c ON c.id = e.community_id LEFT JOIN worker r ON r.id = e.reporter_id "
            "LEFT JOIN worker a ON a.id = e.assignee_id ORDER BY e.event_no"
        )
    ).mappings()
    frame = pd.DataFrame([dict(r) for r in rows])
    drop = ["id", "grid_id", "community_id", "reporter_id", "assignee_id", "updated_at"]
    frame = frame.drop(columns=[c for c in drop if c in frame])
    for c in frame.columns:
        if c.endswith("_at"):
            frame[c] = pd.to_datetime(frame[c])
    return frame.reset_index(drop=True)


def _backend(session: Session) -> str:
    return session.get_bind().dialect.name


def test_copy_path_stores_what_the_sqlite_path_stores(session, tmp_path):
    """Test that an events file imported into PostgreSQL (COPY, in chunks) stores the same events, states,
    deadlines and figures as the same file imported into SQLite (its executemany path)."""
    if _backend(session) != "postgresql":
        pytest.skip("compares the PostgreSQL COPY path with the SQLite path")
    data = _events(40).encode("gb18030")
    make_org(session)
    ensure_reference_data(session)
    session.commit()
    assert import_and_commit(
        session, viewer(Role.MANAGER), "events", data, "ev.csv", now=NOW, chunk_rows=7
    ).ok

    lite = make_engine(f"sqlite:///{tmp_path / 'lite.db'}")
    import_all_models().create_all(lite)
    with Session(lite, expire_on_commit=False) as other:
        make_org(other)
        ensure_reference_data(other)
        other.commit()
        assert import_and_commit(
            other, viewer(Role.MANAGER), "events", data, "ev.csv", now=NOW, chunk_rows=7
        ).ok
        expected = _stored(other)
        expected_figures = other.exec(select(func.count(), func.sum(MetricValue.numerator))).one()
    lite.dispose()
    got = _stored(session)
    assert len(got) == 40
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False)
    assert session.exec(select(func.count(), func.sum(MetricValue.numerator))).one() == expected_figures


def test_a_bad_row_in_a_later_chunk_writes_nothing(session, field_org):
    """Test that a refused row after chunks already written (copied, on PostgreSQL) leaves no event, no
    figure and no staging table, and names the file's row and column."""
    lines = _events(30).splitlines()
    lines[26] = lines[26].replace(",F0", ",Z9", 1)  # an unknown item in row 27 (the header is row 1)
    with pytest.raises(ImportRefused) as refused:
        import_file(
            session,
            viewer(Role.MANAGER),
            "events",
            "\n".join(lines).encode(),
            "ev.csv",
            now=NOW,
            chunk_rows=5,
        )
    session.rollback()
    errors = refused.value.report.errors
    assert [(e.row, e.column) for e in errors] == [(27, "item")]
    assert session.exec(select(func.count()).select_from(Event)).one() == 0
    assert session.exec(select(func.count()).select_from(MetricValue)).one() == 0
    if _backend(session) == "postgresql":
        left = session.execute(text("SELECT to_regclass('pg_temp.import_stage_field_event')")).scalar()
        assert left is None


def test_reimport_in_chunks_never_duplicates(session, field_org):
    """Test that importing the same file again adds nothing, and a corrected file updates in place."""
    mgr = viewer(Role.MANAGER)
    first = import_and_commit(session, mgr, "events", _events(30).encode(), "ev.csv", now=NOW, chunk_rows=4)
    again = import_and_commit(session, mgr, "events", _events(30).encode(), "ev.csv", now=NOW, chunk_rows=4)
    fixed = import_and_commit(
        session, mgr, "events", _events(30, satisfied="不满意").encode(), "ev.csv", now=NOW, chunk_rows=4
    )
    assert (first.added, again.added, again.unchanged) == (30, 0, 30)
    assert (fixed.added, fixed.changed) == (0, 6)  # stage 4 (evaluated) every fifth row
    assert session.exec(select(func.count()).select_from(Event)).one() == 30
    assert session.exec(select(func.count(func.distinct(Event.event_no)))).one() == 30
    unhappy = session.exec(select(func.count()).where(Event.satisfaction == "unsatisfied")).one()
    assert unhappy == 6


def test_an_event_added_by_another_writer_meanwhile_is_updated_not_doubled(session, field_org, monkeypatch):
    """Test that on PostgreSQL, when the table gained one of a chunk's event numbers after the chunk was
    diffed (the API's event stream, between the lookup and the write), the chunk's COPY gives way to the
    upsert: the import succeeds, no event is doubled, the file's values win, the other chunks stay COPYed."""
    if _backend(session) != "postgresql":
        pytest.skip("the COPY path's fallback")
    mgr = viewer(Role.MANAGER)
    staging = text("SELECT to_regclass('pg_temp.import_stage_field_event')")
    assert import_file(session, mgr, "events", _events(12).encode(), "ev.csv", now=NOW).added == 12
    assert session.execute(staging).scalar() is None  # new events: COPYed straight in
    session.commit()
    session.execute(text("DELETE FROM field_event WHERE event_no NOT IN ('N0003', 'N0009')"))
    session.commit()
    real = imports._existing_events
    # The diff does not see N0003 and N0009: as if another writer added them just after the lookup.
    monkeypatch.setattr(
        imports,
        "_existing_events",
        lambda s, numbers: real(s, [n for n in numbers if n not in ("N0003", "N0009")]),
    )
    report = import_file(
        session, mgr, "events", _events(12, satisfied="不满意").encode(), "ev.csv", now=NOW, chunk_rows=5
    )
    assert report.ok and report.added == 12
    assert session.execute(staging).scalar() is not None  # the chunks holding N0003 and N0009 were upserted
    session.commit()
    numbers = session.execute(text("SELECT event_no FROM field_event ORDER BY event_no")).scalars().all()
    assert numbers == [f"N{i:04d}" for i in range(12)]
    assert session.execute(
        text("SELECT satisfaction FROM field_event WHERE event_no = 'N0009'")
    ).scalar() == ("unsatisfied")


def test_two_imports_racing_for_the_same_new_numbers_keep_each_event_once(session, field_org):
    """Test that on PostgreSQL, when two imports add the same new event numbers at once (two API batches, a
    file and a batch), the later one's COPY waits on the first's uncommitted rows and, once they commit, gives
    way to the upsert: both succeed, every event is stored once, and the later file's values win."""
    if _backend(session) != "postgresql":
        pytest.skip("the COPY path under a concurrent writer")
    mgr = viewer(Role.MANAGER)
    assert (
        import_file(session, mgr, "events", _events(6).encode(), "a.csv", now=NOW).added == 6
    )  # N0000–N0005
    lines = _events(9, satisfied="不满意").splitlines()
    later = "\n".join([lines[0], *lines[4:]]).encode()  # N0003–N0008, three of them the first file's
    outcome: dict[str, object] = {}

    def other_import() -> None:
        with Session(session.get_bind(), expire_on_commit=False) as other:
            try:
                outcome["report"] = import_file(other, mgr, "events", later, "b.csv", now=NOW)
                outcome["staged"] = other.execute(
                    text("SELECT to_regclass('pg_temp.import_stage_field_event')")
                ).scalar()
                other.commit()
            except Exception as exc:  # noqa: BLE001  # reported by the assertion below
                outcome["error"] = exc

    racer = threading.Thread(target=other_import)
    racer.start()
    with session.get_bind().connect() as watcher:  # the other import waits on our uncommitted N0003
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        deadline = time.monotonic() + 20
        while not watcher.execute(waiting).scalar() and time.monotonic() < deadline:
            watcher.rollback()
            time.sleep(0.02)
        assert watcher.execute(waiting).scalar() == 1
    session.commit()
    racer.join(30)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["staged"] is not None  # its COPY gave way to the upsert
    numbers = session.execute(text("SELECT event_no FROM field_event ORDER BY event_no")).scalars().all()
    assert numbers == [f"N{i:04d}" for i in range(9)]
    satisfaction = text("SELECT satisfaction FROM field_event WHERE event_no = 'N0004'")
    assert session.execute(satisfaction).scalar() == "unsatisfied"  # evaluated in both files; the later won


def test_a_file_on_disk_imports_as_the_same_bytes(session, field_org, tmp_path):
    """Test that a path (what `gridwise import` passes: read in blocks, never whole) gives the report the
    same file's bytes give, and writes the events."""
    data = _events(20).encode("gb18030")
    path = tmp_path / "ev.csv"
    path.write_bytes(data)
    report = import_and_commit(session, viewer(Role.MANAGER), "events", path, "ev.csv", now=NOW, chunk_rows=6)
    assert report.ok and report.added == 20 and report.encoding == "gb18030"
    assert session.exec(select(func.count()).select_from(Event)).one() == 20


def test_copy_text_keeps_every_value(session):
    """Test that the COPY text written by Arrow (csv_blocks) reads back as the frame held it: NULL and the empty
    string kept apart, quotes, commas, tabs, newlines, a literal \\N and Chinese text as they are, whole
    and fractional numbers, missing ones as NULL, flags, microseconds, a categorical's values, a constant
    column; and that blocks of a few rows make the same text as one."""
    if _backend(session) != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    frame = pd.DataFrame(
        {
            "n": range(6),
            "s": pd.Series(["a", "", None, 'x"y,z\n\tw', "\\N", "下沙村 一巷"], dtype="str"),
            "i": pd.array([1, None, 3, -4, 5, 0], dtype="Int64"),
            "f": [0.1, np.nan, 1 / 3, 44.123456789012345, -2.5, 1e-300],
            "b": [True, False, True, False, True, False],
            "t": pd.Series(
                [
                    datetime(2020, 1, 1, 10, 0),
                    None,
                    datetime(2020, 1, 1, 10, 0, 0, 123456),
                    datetime(1999, 12, 31),
                    datetime(2020, 6, 1, 8, 30, 59, 999999),
                    datetime(999, 3, 4, 5, 6, 7),
                ],
                dtype="datetime64[us]",
            ),
            "c": pd.Categorical(["x", "y", None, "x", "y", "x"]),
        }
    )
    cols = ["n", "s", "i", "f", "b", "t", "c"]
    assert b"".join(bytes(b) for b in csv_blocks(frame, cols, rows=4)) == bytes(next(csv_blocks(frame, cols)))
    assert len(list(csv_blocks(frame, cols, rows=4))) == 2
    backwards = b"".join(bytes(b) for b in csv_blocks(frame, cols, rows=4, order=np.arange(6)[::-1]))
    one_by_one = [bytes(next(csv_blocks(frame, cols, order=np.array([i])))) for i in range(6)]
    assert backwards.startswith(b'"5",') and backwards == b"".join(one_by_one[::-1])
    assert b"".join(one_by_one) == bytes(next(csv_blocks(frame, cols)))
    session.execute(
        text(
            "CREATE TEMP TABLE copy_probe (n int, s text, i bigint, f double precision, b boolean, t timestamp,"
            " c text, k int)"
        )
    )
    copy_frame(session, "copy_probe", frame, cols, {"k": 7})
    back = session.execute(text("SELECT s, i, f, b, t, c, k FROM copy_probe ORDER BY n")).all()
    session.rollback()
    assert [r[0] for r in back] == ["a", "", None, 'x"y,z\n\tw', "\\N", "下沙村 一巷"]
    assert [r[1] for r in back] == [1, None, 3, -4, 5, 0]
    assert [r[2] for r in back] == [0.1, None, 1 / 3, 44.123456789012345, -2.5, 1e-300]
    assert [r[3] for r in back] == [True, False, True, False, True, False]
    assert [r[4] for r in back] == [None if pd.isna(t) else t for t in frame["t"].dt.to_pydatetime()]
    assert [r[5] for r in back] == ["x", "y", None, "x", "y", "x"]
    assert {r[6] for r in back} == {7}


def test_the_report_sample_does_not_hold_its_chunk(session, field_org):
    """Test that the report's sample of rows to add holds the text of its own rows, not a view of the whole
    chunk's Arrow buffers (which kept the first chunk's frame alive to the end of a million-row import)."""
    report = import_and_commit(
        session, viewer(Role.MANAGER), "events", _events(600).encode(), "ev.csv", now=NOW, sample_rows=5
    )
    assert report.added == 600 and len(report.sample) == 5
    held = report.sample["event_no"].array.__arrow_array__()
    assert sum(c.get_total_buffer_size() for c in held.chunks) < 500


def test_each_chunk_is_written_in_report_time_order(session, field_org):
    """Test that on PostgreSQL each chunk's events reach field_event in order of their report time (its
    indexes on times then take a chunk as one sweep: a sixth less backend CPU at a million events), and that
    events reported at the same time keep the file's order."""
    if _backend(session) != "postgresql":
        pytest.skip("the COPY path's order")
    import_and_commit(session, viewer(Role.MANAGER), "events", _events(40).encode(), "ev.csv", now=NOW)
    by_id = session.execute(text("SELECT event_no FROM field_event ORDER BY id")).scalars().all()
    by_time = session.execute(
        text("SELECT event_no FROM field_event ORDER BY reported_at, event_no")
    ).scalars()
    assert len(by_id) == 40 and by_id == by_time.all()


def test_the_command_reads_25000_rows_at_a_time():
    """Test that `gridwise import events FILE` checks and writes 25,000 rows at a time unless told otherwise:
    a million events in chunks of 50,000 peaked at 323 MB, over issue #21's 300 MB (289 MB in 25,000s)."""
    args = build_parser().parse_args(["import", "events", "ev.csv"])
    assert args.chunk_rows == 25_000
