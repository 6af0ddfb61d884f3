"""Hostile and broken input, end to end: every importer that writes to the database, fed random bytes,
truncated files, files in the wrong encoding, 1 MB cells and mutated valid files.

Properties, for the monthly figures and event imports (``run_import`` and the ``gridwise import`` command),
the worker roster and the meeting-attendance import:
- nothing but the documented outcome: a report with errors, or a ``ValueError`` subclass — never a crash;
- a refused file leaves the database unchanged (row count and a hash of the content of every table);
- an accepted file, imported again, changes nothing.
``core.tabular`` on its own is fuzzed in test_tabular.py; here the whole path down to the database is.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import hashlib
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import openpyxl
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import select
from sqlmodel import Session, SQLModel

from core.models import Role
from core.taxonomy import load_taxonomy
from core.worker_import import commit_worker_import, preview_worker_import
from courses.attendance_import import commit_platform_import, preview_platform_import
from courses.enrollment import enroll
from courses.training_sessions import SessionPlan, schedule
from evaluation.field import cli as field_cli
from evaluation.field.imports import preview_import
from tests.factories import viewer
from tests.unit._courses_world import make_world
from tests.unit._field_import import import_and_commit

NOW = datetime(2020, 10, 1, 12, 0)
# No shrinking: a failure names how its file was made, and shrinking 1 MB files through a database is slow.
FUZZ = settings(
    max_examples=30,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
MB = 1 << 20
PG_EXAMPLES = 10

Grid = list[list[str]]  # a file as text cells: header row first


# ------------------------------------------------------------------------------------------ the database


def snapshot(session: Session) -> dict[str, tuple[int, str]]:
    """Row count and a content hash of every table; ends the session's transaction."""
    conn = session.connection()
    out = {}
    for table in SQLModel.metadata.sorted_tables:
        rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
        out[table.name] = (len(rows), hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest())
    session.rollback()
    return out


def changed_tables(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


# ------------------------------------------------------------------------------------------ valid files


def _stamp(t: datetime, style: int) -> str:
    return (
        t.strftime("%Y-%m-%d %H:%M"),
        t.strftime("%Y/%m/%d %H:%M:%S"),
        f"{t.year}年{t.month}月{t.day}日 {t.hour}时{t.minute}分",
    )[style]


@st.composite
def metrics_grid(draw) -> Grid:
    metrics = [
        ("采集率", "collection_rate", "Collection rate"),
        ("准确率", "accuracy_rate", "Accuracy rate"),
        ("未注销率", "retention_rate"),
        ("注销及时率", "Timely deregistration rate"),
        ("录入及时率",),
    ]
    keys = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["A00", "A01", "A02"]), st.integers(1, 9), st.integers(0, len(metrics) - 1)
            ),
            min_size=1,
            max_size=12,
            unique=True,
        )
    )
    rows = [["工号", "统计月份", "指标", "分子", "分母"]]
    for emp, month, m in keys:
        den = draw(st.integers(1, 500))
        period = draw(st.sampled_from([f"2020-{month:02d}", f"2020/{month}", f"2020年{month}月"]))
        rows.append(
            [emp, period, draw(st.sampled_from(metrics[m])), str(draw(st.integers(0, den))), str(den)]
        )
    return rows


_ITEMS = [i["code"] for c in load_taxonomy()["categories"] for i in c["items"]]


@st.composite
def events_grid(draw) -> Grid:
    header = [
        "事件编号",
        "事项",
        "网格编码",
        "紧急程度",
        "上报人工号",
        "处置人工号",
        "上报时间",
        "受理时间",
        "派遣时间",
        "签收时间",
        "反馈时间",
        "办结时间",
        "处置结果",
        "满意度",
        "返工次数",
    ]
    numbers = draw(st.lists(st.integers(1, 999), min_size=1, max_size=10, unique=True))
    rows = [header]
    for n in numbers:
        t = datetime(2020, draw(st.integers(1, 9)), draw(st.integers(1, 28)), draw(st.integers(0, 20)))
        stages, style = draw(st.integers(0, 5)), draw(st.integers(0, 2))
        times = [t]
        for _ in range(stages):
            times.append(times[-1] + timedelta(minutes=draw(st.integers(0, 3000))))
        cells = [_stamp(x, style) for x in times] + [""] * (6 - len(times))
        grid_no = draw(st.integers(0, 2))
        rows.append(
            [
                f"E{n:05d}",
                draw(st.sampled_from(_ITEMS)),
                f"D1A{grid_no}",
                draw(st.sampled_from(["紧急", "一般", "复杂", ""])),
                draw(st.sampled_from(["A00", "A02", ""])),
                draw(st.sampled_from(["A01", ""])),
                *cells,
                draw(st.sampled_from(["已处置", "作废", ""])),
                draw(st.sampled_from(["满意", "不满意", ""])),
                str(draw(st.integers(0, 3))),
            ]
        )
    return rows


@st.composite
def workers_grid(draw) -> Grid:
    numbers = draw(
        st.lists(
            st.sampled_from(["A00", "A01", "B00", *(f"N{i:02d}" for i in range(12))]),
            min_size=1,
            max_size=10,
            unique=True,
        )
    )
    rows = [["工号", "姓名", "网格编码", "是否党员", "入职日期", "状态", "手机号", "性别"]]
    for no in numbers:
        hired = datetime(2015 + draw(st.integers(0, 5)), draw(st.integers(1, 12)), draw(st.integers(1, 28)))
        rows.append(
            [
                no,
                draw(st.sampled_from(["欧阳晓明", "张三", "Li Ming", "王伟"])),
                draw(st.sampled_from(["D1A0", "D1A1", "D1B2"])),
                draw(st.sampled_from(["是", "否", ""])),
                draw(st.sampled_from([hired.strftime("%Y-%m-%d"), hired.strftime("%Y/%m/%d"), ""])),
                draw(st.sampled_from(["在岗", "请假", "active", ""])),
                draw(st.sampled_from(["13900001111", ""])),
                draw(st.sampled_from(["男", "女", ""])),
            ]
        )
    return rows


ATT_START = datetime(2020, 3, 3, 14, 0)


@st.composite
def attendance_grid(draw) -> Grid:
    rows = [["用户名", "工号", "入会时间", "离会时间"]]
    for _ in range(draw(st.integers(1, 8))):
        who = draw(
            st.sampled_from(
                [("网格员A00", "A00"), ("网格员A01", ""), ("", "A02"), ("路人甲", ""), ("网格员A03", "A03")]
            )
        )
        join = ATT_START + timedelta(minutes=draw(st.integers(-30, 130)))
        leave = join + timedelta(minutes=draw(st.integers(0, 150)))
        rows.append([*who, join.strftime("%Y-%m-%d %H:%M"), leave.strftime("%Y-%m-%d %H:%M")])
    return rows


VALID: dict[str, Grid] = {  # one known-good file per importer, always tried first
    "metrics": [
        ["工号", "统计月份", "指标", "分子", "分母"],
        ["A00", "2020-06", "采集率", "90", "100"],
        ["A01", "2020/6", "accuracy_rate", "45", "50"],
    ],
    "events": [
        ["事件编号", "事项", "网格编码", "上报时间", "受理时间", "办结时间", "满意度"],
        ["V0001", "F01", "D1A0", "2020-06-01 08:00", "2020-06-01 09:00", "2020-06-02 10:00", "满意"],
    ],
    "workers": [
        ["工号", "姓名", "网格编码", "是否党员", "入职日期"],
        ["V01", "欧阳晓明", "D1A1", "是", "2020/6/1"],
    ],
    "attendance": [
        ["用户名", "工号", "入会时间", "离会时间"],
        ["网格员A00", "A00", "2020-03-03 14:00", "2020-03-03 15:50"],
        ["网格员A01", "", "2020-03-03 14:30", "2020-03-03 15:30"],
    ],
}


# ------------------------------------------------------------------------------------------ writing files


def to_csv(grid: Grid, encoding: str = "utf-8-sig", delimiter: str = ",") -> bytes:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(grid)
    return text.getvalue().encode(encoding)


def to_xlsx(grid: Grid) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in grid:  # a worksheet cannot hold control characters: Excel would not have written them
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", c) for c in row])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def render(grid: Grid, fmt: str, encoding: str) -> tuple[bytes, str]:
    if fmt == "xlsx":
        return to_xlsx(grid), "file.xlsx"
    return to_csv(grid, encoding), "file.csv"


# ------------------------------------------------------------------------------------------ hostility


def _garble_date(cell: str, rnd: random.Random) -> str:
    return rnd.choice(
        [
            "2020-13-45",
            "2020-02-30 25:61",
            "昨天",
            "0000-00-00",
            "9999-12-31 23:59",
            "45000",
            "1899-12-31",
            "2020-06-01T08:30:00+08:00",
            cell[::-1],
            cell.replace("-", ""),
        ]
    )


def _out_of_range(cell: str, rnd: random.Random) -> str:
    return rnd.choice(
        [
            "-1",
            "1e309",
            "-0",
            "nan",
            "inf",
            "1e15",
            "99999999999999999999",
            "3.5",
            "1,2,3",
            "１２",
            "0x10",
            str(rnd.randint(10**6, 10**9)),
        ]
    )


GRID_MUTATIONS: dict[str, Callable[[Grid, random.Random], None]] = {}


def _mutation(fn: Callable[[Grid, random.Random], None]) -> Callable[[Grid, random.Random], None]:
    GRID_MUTATIONS[fn.__name__] = fn
    return fn


@_mutation
def swap_rows(g: Grid, rnd: random.Random) -> None:  # the header may move below data
    i, j = rnd.randrange(len(g)), rnd.randrange(len(g))
    g[i], g[j] = g[j], g[i]


@_mutation
def delete_column(g: Grid, rnd: random.Random) -> None:
    k = rnd.randrange(len(g[0]))
    for row in g:
        del row[k : k + 1]


def _cell(row: list[str], rnd: random.Random) -> int | None:
    """A random cell's position, or None for a row an earlier mutation emptied."""
    return rnd.randrange(len(row)) if row else None


@_mutation
def garble_date(g: Grid, rnd: random.Random) -> None:
    row = g[rnd.randrange(1, len(g))] if len(g) > 1 else g[0]
    if (k := _cell(row, rnd)) is None:
        return
    row[k] = _garble_date(row[k], rnd)


@_mutation
def number_out_of_range(g: Grid, rnd: random.Random) -> None:
    row = g[rnd.randrange(len(g))]
    if (k := _cell(row, rnd)) is None:
        return
    row[k] = _out_of_range(row[k], rnd)


@_mutation
def duplicate_row(g: Grid, rnd: random.Random) -> None:
    g.insert(rnd.randrange(1, len(g) + 1), list(g[rnd.randrange(len(g))]))


@_mutation
def respell_duplicate(g: Grid, rnd: random.Random) -> None:
    """The same natural key spelt differently: 2020-06 / 2020/6, a trailing space, full-width letters."""
    row = list(g[rnd.randrange(1, len(g))]) if len(g) > 1 else list(g[0])
    if (k := _cell(row, rnd)) is None:
        return
    cell = row[k]
    row[k] = rnd.choice(
        [
            cell.replace("-0", "/").replace("-", "/"),
            cell + " ",
            " " + cell,
            cell.lower(),
            cell.upper(),
            cell.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)}),
        ]
    )
    g.insert(rnd.randrange(1, len(g) + 1), row)


@_mutation
def blank_cells(g: Grid, rnd: random.Random) -> None:
    for _ in range(rnd.randint(1, 4)):
        row = g[rnd.randrange(len(g))]
        if row:
            row[rnd.randrange(len(row))] = rnd.choice(["", " ", "\u3000", "NULL", "-"])


@_mutation
def hostile_text(g: Grid, rnd: random.Random) -> None:
    row = g[rnd.randrange(len(g))]
    if row:
        row[rnd.randrange(len(row))] = rnd.choice(
            [
                "=cmd|' /C calc'!A0",
                "a,b",
                'say "hi"',
                "line\nbreak",
                "\x00",
                "\ufeff工号",
                "'; DROP TABLE worker;--",
                "\u202e",
                "💥",
                "\\",
                "%s%s%s",
                "{name}",
            ]
        )


@_mutation
def other_community(g: Grid, rnd: random.Random) -> None:
    """A worker or grid of community B (outside a community-A manager's scope)."""
    cells = [(i, k) for i, row in enumerate(g) for k, c in enumerate(row) if "A0" in c]
    if cells:
        i, k = rnd.choice(cells)
        g[i][k] = g[i][k].replace("A0", "B0")


@_mutation
def extra_columns(g: Grid, rnd: random.Random) -> None:
    for i, row in enumerate(g):
        row.extend(["备注" if i == 0 else "x"] * rnd.randint(1, 3))


@_mutation
def ragged_rows(g: Grid, rnd: random.Random) -> None:
    row = g[rnd.randrange(len(g))]
    if rnd.random() < 0.5:
        del row[rnd.randrange(len(row) + 1) :]
    else:
        row.extend(["extra"] * rnd.randint(1, 5))


@_mutation
def title_and_blank_rows(g: Grid, rnd: random.Random) -> None:
    g.insert(0, ["导出报表 2020年"])
    g.insert(rnd.randrange(len(g) + 1), [])


WRONG_ENCODINGS = [
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "big5",
    "shift_jis",
    "euc-kr",
    "cp1252-mojibake",
    "latin1-of-gb18030",
    "utf-7",
]


def reencode(grid: Grid, encoding: str) -> bytes:
    text = to_csv(grid, "utf-8").decode("utf-8")
    if encoding == "cp1252-mojibake":  # UTF-8 bytes read as cp1252, saved as UTF-8
        return text.encode("utf-8").decode("cp1252", errors="replace").encode("utf-8")
    if encoding == "latin1-of-gb18030":
        return text.encode("gb18030").decode("latin-1").encode("utf-8")
    return text.encode(encoding, errors="replace")


@st.composite
def hostile_file(draw, grids: st.SearchStrategy[Grid]) -> tuple[bytes, str, str]:
    """(bytes, filename, what was done) — the last for the failure report."""
    how = draw(st.sampled_from(["random", "truncate", "reencode", "huge", "mutate", "mutate", "valid"]))
    grid = [list(r) for r in draw(grids)]
    fmt = draw(st.sampled_from(["csv", "csv", "xlsx"]))
    enc = draw(st.sampled_from(["utf-8-sig", "utf-8", "gb18030"]))
    rnd = random.Random(draw(st.integers(0, 2**32)))
    name = draw(st.sampled_from(["file.csv", "file.xlsx", "file.txt", "文件", "../../etc/passwd"]))
    if how == "random":
        data = draw(
            st.one_of(
                st.binary(max_size=3000),
                st.binary(max_size=300).map(lambda b: b"PK\x03\x04" + b),  # a "zip"
                st.binary(max_size=300).map(lambda b: codecs.BOM_UTF16_LE + b),
            )
        )
        return data, name, how
    if how == "reencode":
        encoding = draw(st.sampled_from(WRONG_ENCODINGS))
        return reencode(grid, encoding), "file.csv", f"{how} {encoding}"
    if how == "huge":
        row = grid[rnd.randrange(len(grid))]
        k = rnd.randrange(len(row))
        row[k] = rnd.choice(["x", "网", "1", "\t"]) * MB
        data, name = render(grid, fmt, enc)
        return data, name, f"{how} {fmt} cell {k}"
    if how == "mutate":
        names = draw(st.lists(st.sampled_from(sorted(GRID_MUTATIONS)), min_size=1, max_size=3))
        for m in names:
            if grid and grid[0]:
                GRID_MUTATIONS[m](grid, rnd)
        data, name = render(grid, fmt, enc)
        return data, name, f"{how} {fmt} {names}"
    data, name = render(grid, fmt, enc)
    if how == "truncate":
        cut = draw(st.integers(0, max(0, len(data) - 1)))
        return data[:cut], name, f"{how} {fmt} at {cut}/{len(data)}"
    return data, name, how


# ------------------------------------------------------------------------------------------ the properties


@dataclass
class Importer:
    """One importer: ``run`` imports the bytes (committing when clean) and says whether it accepted them;
    ``nothing_to_do`` previews them again and says whether importing them once more would change nothing."""

    run: Callable[[bytes, str], bool]
    nothing_to_do: Callable[[bytes, str], bool]


def check(session: Session, importer: Importer, data: bytes, filename: str, how: str) -> str:
    before = snapshot(session)
    try:
        accepted = importer.run(data, filename)
    except ValueError:  # the documented refusal (domain errors are ValueError subclasses)
        session.rollback()
        accepted = False
    after = snapshot(session)
    if not accepted:
        assert not changed_tables(before, after), (
            f"refused file ({how}) changed {changed_tables(before, after)}"
        )
        return "refused"
    assert importer.nothing_to_do(data, filename), f"accepted file ({how}) is not idempotent"
    again = importer.run(data, filename)
    assert again, f"accepted file ({how}) refused the second time"
    # A second commit may leave an audit entry of the attempt; nothing else may change.
    assert not set(changed_tables(after, snapshot(session))) - {"audit_log"}, (
        f"re-importing ({how}) changed data"
    )
    return "accepted"


def fuzz(session: Session, importer: Importer, grids: st.SearchStrategy[Grid], valid: Grid) -> set[str]:
    """Run the properties over hostile files (and one known-good file); returns the outcomes seen."""
    seen: set[str] = set()
    # PostgreSQL runs the same importer code; fewer examples there check its transactions without
    # doubling the suite's time.
    examples = FUZZ.max_examples if session.get_bind().dialect.name == "sqlite" else PG_EXAMPLES

    @settings(FUZZ, max_examples=examples)
    @given(hostile_file(grids))
    @example((to_csv(valid), "valid.csv", "valid"))
    def prop(case):
        seen.add(check(session, importer, *case))

    prop()
    return seen


def field_importer(session: Session, kind: str, who) -> Importer:
    def run(data: bytes, filename: str) -> bool:
        report = import_and_commit(session, who, kind, data, filename, chunk_rows=3, now=NOW)
        assert report.error_count >= len(report.errors)
        assert report.ok == (report.error_count == 0)
        if not report.ok:
            assert report.errors, "a refused report names at least one problem"
            assert not report.written
        return report.ok

    def nothing_to_do(data: bytes, filename: str) -> bool:
        report = preview_import(session, who, kind, data, filename, chunk_rows=3, now=NOW)
        session.rollback()
        return report.ok and report.added == report.changed == 0

    return Importer(run, nothing_to_do)


@pytest.mark.parametrize("kind", ["metrics", "events"])
def test_field_imports_survive_hostile_files(session, field_org, kind):
    """Test that the figures/events import refuses broken files without writing and re-imports clean ones
    as no change, for a district manager and for a community manager (community B out of scope)."""
    importers = {
        scope: field_importer(session, kind, viewer(Role.MANAGER, unit))
        for scope, unit in (("district", None), ("community", field_org.comm_a))
    }
    seen: set[tuple[str, str]] = set()

    @FUZZ
    @given(
        st.sampled_from(sorted(importers)),
        hostile_file(metrics_grid() if kind == "metrics" else events_grid()),
    )
    @example("community", (to_csv(VALID[kind]), "valid.csv", "valid"))
    def prop(scope, case):
        seen.add((scope, check(session, importers[scope], *case)))

    prop()
    assert {outcome for _, outcome in seen} == {"accepted", "refused"}  # both paths were exercised


def test_field_import_cli_survives_hostile_files(session, field_org, monkeypatch, tmp_path, capsys):
    """Test ``gridwise import`` on hostile files: exit 0 or 1 with a JSON report, never a traceback; exit 1
    leaves the database unchanged."""
    engine = session.get_bind()
    monkeypatch.setattr("core.db.get_engine", lambda *a, **k: engine)
    parser = argparse.ArgumentParser()
    field_cli.register(parser.add_subparsers())

    def cli(argv: list[str]) -> int:
        args = parser.parse_args(argv)
        return args.func(args)

    @settings(FUZZ, max_examples=20)
    @given(
        st.sampled_from(["metrics", "events"]).flatmap(
            lambda kind: st.tuples(
                st.just(kind), hostile_file(metrics_grid() if kind == "metrics" else events_grid())
            )
        )
    )
    def prop(case):
        kind, (data, name, how) = case
        path = tmp_path / (
            "upload" + name[name.rfind(".") :] if name.endswith((".csv", ".xlsx", ".txt")) else "upload"
        )
        path.write_bytes(data)
        before = snapshot(session)
        code = cli(["import", kind, str(path), "--json", "--lang", "en"])
        out = json.loads(capsys.readouterr().out)
        assert code in (0, 1), how
        assert (code == 1) == (out["refused"] > 0), how
        if code == 1:
            assert out["errors"] and not out["committed"], how
            assert not changed_tables(before, snapshot(session)), how

    prop()


def test_worker_import_survives_hostile_files(session, field_org):
    """Test the roster import: broken files are refused with nothing written; clean ones re-import as no change."""
    admin = viewer(Role.SYSADMIN)

    def run(data: bytes, filename: str) -> bool:
        preview = preview_worker_import(session, admin, data, filename)
        if not preview.ok:
            with pytest.raises(ValueError):
                commit_worker_import(session, admin, preview)
            session.rollback()
            return False
        if len(preview.new) or len(preview.changed):  # the page offers the commit button only then
            commit_worker_import(session, admin, preview)
            session.commit()
        return True

    def nothing_to_do(data: bytes, filename: str) -> bool:
        preview = preview_worker_import(session, admin, data, filename)
        session.rollback()
        return preview.ok and len(preview.new) == len(preview.changed) == 0

    assert fuzz(session, Importer(run, nothing_to_do), workers_grid(), VALID["workers"]) == {
        "accepted",
        "refused",
    }


def test_attendance_import_survives_hostile_files(session):
    """Test the meeting-attendance import: broken files refused with nothing written (CoursesError is a
    ValueError); a clean file, imported again, changes no seat."""
    w = make_world(session, workers_per_community=4)
    course = w.courses["residence_registration"]
    enroll(
        session,
        w.manager,
        course_id=course.id,
        worker_ids=[x.id for x in w.org.workers_a],
        now=ATT_START - timedelta(days=1),
    )
    (ts,) = schedule(
        session,
        w.manager,
        SessionPlan(course_id=course.id, first_day=ATT_START.date(), start=time(14), end=time(16)),
        now=ATT_START - timedelta(days=1),
    )
    session.commit()  # the world is set up; each import below is its own unit of work

    def run(data: bytes, filename: str) -> bool:
        preview = preview_platform_import(session, w.manager, session_id=ts.id, data=data, filename=filename)
        if not preview.ok:
            assert preview.errors
            with pytest.raises(ValueError):
                commit_platform_import(session, w.manager, preview, now=NOW)
            session.rollback()
            return False
        commit_platform_import(session, w.manager, preview, now=NOW)
        session.commit()  # the caller owns the transaction
        return True

    def nothing_to_do(data: bytes, filename: str) -> bool:
        preview = preview_platform_import(session, w.manager, session_id=ts.id, data=data, filename=filename)
        session.rollback()
        return preview.ok and not preview.matched["will_change"].any()

    assert fuzz(session, Importer(run, nothing_to_do), attendance_grid(), VALID["attendance"]) == {
        "accepted",
        "refused",
    }
