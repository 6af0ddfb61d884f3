"""The shared table reader: encodings, headers, Excel cells, every refusal with its row, chunks, templates."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.tabular import (
    Column,
    Schema,
    errors_frame,
    iter_table,
    read_table,
    safe_cell,
    safe_frame,
    sources,
    template_bytes,
    to_records,
    write_template,
)

WORKERS = Schema(
    "workers",
    [
        Column("worker_id", ["工号", "worker id"], required=True, max_length=8, example="W0001"),
        Column("name", ["姓名", "name"], required=True, example="张三"),
        Column(
            "hire_date", ["入职日期", "hire date"], kind="date", required=True, example=dt.date(2020, 6, 1)
        ),
        Column("records", ["采集数(条)", "records"], kind="int", min=0, example=1234),
        Column("score", ["得分", "score"], kind="float", min=0, max=100, example=98.5),
        Column(
            "status",
            ["状态", "status"],
            kind="enum",
            example="在岗",
            choices={"在岗": "active", "离岗": "left", "active": "active", "left": "left"},
        ),
        Column("trained", ["已培训", "trained"], kind="bool", example=True),
        Column(
            "checked_at", ["打卡时间", "checked at"], kind="datetime", example=dt.datetime(2020, 6, 1, 8, 30)
        ),
    ],
    key=("worker_id",),
)
ZH_HEADER = [" * 工号 ", "姓名", "入职日期", "采集数（条）", "得分", "状态", "已培训", "打卡时间"]
EN_HEADER = ["Worker ID*", "NAME", "Hire Date", "records", "score", "Status", "trained", "checked at"]
VALID = ["W0001", "张三", "2020/6/1", "1,234", "98.5", "在岗", "是", "2020-06-01 08:30"]


def make_csv(rows: list[list[str]], header: list[str] = ZH_HEADER, delimiter: str = ",") -> str:
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows([header, *rows])
    return text.getvalue()


def row_with(**changes: str) -> list[str]:
    values = dict(zip(WORKERS.keys, VALID, strict=True))
    values.update(changes)
    return [values[k] for k in WORKERS.keys]


def first_record(data: bytes, filename: str = "workers.csv") -> dict[str, object]:
    result = read_table(data, filename, WORKERS)
    assert result.ok, result.errors
    return to_records(result.rows, WORKERS)[0]


EXPECTED = {
    "worker_id": "W0001",
    "name": "张三",
    "hire_date": dt.date(2020, 6, 1),
    "records": 1234,
    "score": 98.5,
    "status": "active",
    "trained": True,
    "checked_at": dt.datetime(2020, 6, 1, 8, 30),
    "_row": 2,
}


# ------------------------------------------------------------------------------ encodings and headers


def test_utf8_bom_csv_with_chinese_headers():
    """Test that a UTF-8-with-BOM CSV with messy Chinese headers reads into typed rows."""
    result = read_table(make_csv([VALID]).encode("utf-8-sig"), "workers.csv", WORKERS)
    assert result.ok and result.encoding == "utf-8-sig" and result.file_type == "csv"
    assert to_records(result.rows, WORKERS) == [EXPECTED]
    assert list(result.rows.columns) == [*WORKERS.keys, "_row"]


def test_gb18030_csv_is_detected():
    """Test that a GBK/GB18030 CSV (the default of Chinese Excel) is read and its encoding reported."""
    data = make_csv([VALID]).encode("gb18030")
    result = read_table(data, "workers.csv", WORKERS)
    assert result.encoding == "gb18030"
    assert to_records(result.rows, WORKERS) == [EXPECTED]


def test_plain_utf8_and_utf16_are_detected():
    """Test that UTF-8 without BOM and Excel's UTF-16 "Unicode text" (tab-separated) are read."""
    assert read_table(make_csv([VALID]).encode("utf-8"), "a.csv", WORKERS).encoding == "utf-8"
    utf16 = read_table(make_csv([VALID], delimiter="\t").encode("utf-16"), "a.txt", WORKERS)
    assert utf16.encoding == "utf-16" and to_records(utf16.rows, WORKERS) == [EXPECTED]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_english_headers_and_sniffed_delimiter(delimiter):
    """Test that English headers in any case/spacing are matched, whatever the delimiter."""
    data = make_csv([VALID], header=EN_HEADER, delimiter=delimiter).encode("utf-8")
    assert first_record(data) == EXPECTED


def test_title_rows_blank_rows_and_unknown_columns():
    """Test that a title row, blank rows and an extra column keep row numbers as Excel shows them."""
    rows = [[*VALID, "x"], [], [""] * 9, row_with(worker_id="W0002"), [], []]
    text = "某某社区网格员名册,,,,,,,,\r\n" + make_csv(rows, header=[*ZH_HEADER, "备注"])
    result = read_table(text.encode("utf-8"), "a.csv", WORKERS)
    assert result.ok
    assert result.rows["_row"].tolist() == [3, 6]
    assert result.rows_read == 2
    assert result.unknown_columns == ["备注"]
    assert [w.code for w in result.warnings] == ["unknown_column"]


def test_quoted_newline_is_one_row():
    """Test that a value with a line break stays one row, so later row numbers match Excel."""
    data = make_csv([row_with(name="张\n三"), row_with(worker_id="W0002", records="x")]).encode()
    result = read_table(data, "a.csv", WORKERS)
    assert result.rows["name"].tolist() == ["张\n三"]
    assert [(e.row, e.code) for e in result.errors] == [(3, "not_a_number")]


# ------------------------------------------------------------------------------------- cell values


@pytest.mark.parametrize(
    "text",
    [
        "2020/6/1",
        "2020-06-01",
        "2020年6月1日",
        "2020.6.1",
        "20200601",
        "43983",
        "２０２０年６月１日",
        "2020-06-01 00:00:00",
        "2020-06-01T13:45",
    ],
)
def test_date_spellings(text):
    """Test that the date spellings offices export all read as 1 June 2020."""
    data = make_csv([row_with(hire_date=text)]).encode()
    assert first_record(data)["hire_date"] == dt.date(2020, 6, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-06-01 08:30", dt.datetime(2020, 6, 1, 8, 30)),
        ("2020/6/1 8:30:15", dt.datetime(2020, 6, 1, 8, 30, 15)),
        ("2020年6月1日 8时30分", dt.datetime(2020, 6, 1, 8, 30)),
        ("2020-06-01", dt.datetime(2020, 6, 1)),
        ("43983.5", dt.datetime(2020, 6, 1, 12, 0)),
    ],
)
def test_datetime_spellings(text, expected):
    """Test that datetimes with or without seconds, in Chinese or as a serial, keep their time."""
    assert first_record(make_csv([row_with(checked_at=text)]).encode())["checked_at"] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1,234", 1234), ("1234", 1234), ("１２３４", 1234), ("1 234", 1234), ("1234.0", 1234), ("", None)],
)
def test_numbers_as_text(text, expected):
    """Test that numbers typed as text, with separators or full-width digits, are read."""
    assert first_record(make_csv([row_with(records=text)]).encode())["records"] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("是", True), ("否", False), ("TRUE", True), ("no", False), ("Y", True), ("0", False), ("", None)],
)
def test_bool_spellings(text, expected):
    """Test that yes/no columns accept Chinese, English and 1/0."""
    assert first_record(make_csv([row_with(trained=text)]).encode())["trained"] is expected


def test_enum_accepts_zh_and_en_spellings():
    """Test that an enum maps every accepted spelling (any case, full-width) to its canonical value."""
    rows = [row_with(worker_id=f"W{i}", status=s) for i, s in enumerate(["在岗", "离岗", "ACTIVE", " left "])]
    result = read_table(make_csv(rows).encode(), "a.csv", WORKERS)
    assert result.rows["status"].tolist() == ["active", "left", "active", "left"]


# ------------------------------------------------------------------------------------------ Excel


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_with_date_cells_serials_and_numbers():
    """Test that an .xlsx with real date cells, a serial number, numeric cells and gaps reads correctly."""
    data = xlsx_bytes(
        [
            ["2020 年网格员名册"],
            ZH_HEADER,
            [
                "W0001",
                "张三",
                dt.datetime(2020, 6, 1),
                1234,
                98.5,
                "在岗",
                True,
                dt.datetime(2020, 6, 1, 8, 30),
            ],
            [],
            ["W0002", "李四", 43983, "1,234", 60, "active", "否", "2020/6/1 8:30"],
            ["W0003", "王五", dt.date(2020, 12, 31), 7.0, None, None, None, None],
            [],
        ]
    )
    result = read_table(data, "名册.xlsx", WORKERS)
    assert result.ok and result.file_type == "xlsx" and result.encoding is None
    records = to_records(result.rows, WORKERS)
    assert [r["_row"] for r in records] == [3, 5, 6]
    assert records[0] == {**EXPECTED, "_row": 3}
    assert records[1]["hire_date"] == dt.date(2020, 6, 1) and records[1]["records"] == 1234
    assert records[1]["checked_at"] == dt.datetime(2020, 6, 1, 8, 30)
    assert records[2]["hire_date"] == dt.date(2020, 12, 31) and records[2]["records"] == 7


def test_xlsx_errors_name_the_excel_row():
    """Test that errors in an .xlsx point at the sheet row a person sees."""
    data = xlsx_bytes([ZH_HEADER, VALID, [], ["W0002", "李四", "2020-13-01", 3.5]])
    result = read_table(data, "a.xlsx", WORKERS)
    assert [(e.row, e.column, e.code, e.value) for e in result.errors] == [
        (4, "hire_date", "not_a_date", "2020-13-01"),
        (4, "records", "not_an_integer", "3.5"),
    ]


# --------------------------------------------------------------------------- every refusal, exactly


@pytest.mark.parametrize(
    ("column", "value", "code"),
    [
        ("name", "", "required"),
        ("worker_id", "W00000001", "too_long"),
        ("hire_date", "2020-13-01", "not_a_date"),
        ("hire_date", "2020-02-30", "not_a_date"),
        ("checked_at", "2020-06-01 25:00", "not_a_datetime"),
        ("records", "abc", "not_a_number"),
        ("records", "1,23", "not_a_number"),
        ("records", "3.5", "not_an_integer"),
        ("records", "-1", "too_small"),
        ("score", "100.5", "too_large"),
        ("score", "inf", "not_a_number"),
        ("status", "休假", "not_a_choice"),
        ("trained", "也许", "not_a_bool"),
    ],
)
def test_cell_errors_name_row_column_and_value(column, value, code):
    """Test that a bad cell is refused with its code, Excel row, column and the offending value."""
    rows = [row_with(worker_id=f"W{i}") for i in range(3)] + [row_with(**{"worker_id": "W9", column: value})]
    result = read_table(make_csv(rows).encode("gb18030"), "a.csv", WORKERS)
    assert [(e.row, e.column, e.code) for e in result.errors] == [(5, column, code)]
    error = result.errors[0]
    assert error.value == (None if code == "required" else value)
    assert "第 5 行" in error.message_zh and "Row 5" in error.message_en
    assert result.rows["_row"].tolist() == [2, 3, 4] and result.rows_read == 4 and not result.ok


def test_message_wording():
    """Test that messages read as the product specifies, in both languages."""
    rows = [row_with(worker_id=f"W{i}") for i in range(3)] + [
        row_with(worker_id="W9", hire_date="2020-13-01")
    ]
    error = read_table(make_csv(rows).encode(), "a.csv", WORKERS).errors[0]
    assert error.message_zh == "第 5 行「入职日期」列的值“2020-13-01”不是有效日期"
    assert error.message_en == 'Row 5, column "hire date": "2020-13-01" is not a valid date'
    choice = read_table(make_csv([row_with(status="休假")]).encode(), "a.csv", WORKERS).errors[0]
    assert "可选：在岗、离岗" in choice.message_zh and "(active, left)" in choice.message_en


def test_duplicate_natural_key_names_both_rows():
    """Test that a repeated natural key refuses the later row and names the earlier one."""
    rows = [row_with(worker_id="W1"), row_with(worker_id="W2"), row_with(worker_id=" W1 ")]
    result = read_table(make_csv(rows).encode(), "a.csv", WORKERS)
    [error] = result.errors
    assert (error.row, error.column, error.code, error.value) == (4, "worker_id", "duplicate_key", "W1")
    assert "第 4 行与第 2 行" in error.message_zh and "Row 4 repeats row 2" in error.message_en
    assert result.rows["_row"].tolist() == [2, 3]


def test_a_chunk_whose_keys_all_repeat_earlier_ones_leaves_later_chunks_checkable():
    """Test chunked reading where a whole chunk repeats earlier keys (found by fuzzing: it used to store an
    empty run of keys, and the next chunk's lookup crashed with an IndexError)."""
    ids = ["W1", "W2", "W1", "W2", "W1", "W3"]  # chunks of rows 2 | 3–4 | 5–6 (all repeats) | 7
    result = read_table(
        make_csv([row_with(worker_id=i) for i in ids]).encode(), "a.csv", WORKERS, chunk_rows=2
    )
    assert [(e.row, e.code) for e in result.errors] == [
        (4, "duplicate_key"),
        (5, "duplicate_key"),
        (6, "duplicate_key"),
    ]
    assert result.rows["_row"].tolist() == [2, 3, 7]


def test_composite_key_compares_typed_values():
    """Test that a composite key matches on parsed values, so 2020/6/1 and 2020-06-01 collide."""
    schema = Schema(
        "visits",
        [Column("worker_id", ["工号"], required=True), Column("day", ["日期"], kind="date", required=True)],
        key=("worker_id", "day"),
    )
    data = "工号,日期\nW1,2020/6/1\nW1,2020/6/2\nW2,2020/6/1\nW1,2020-06-01\n".encode()
    [error] = read_table(data, "a.csv", schema).errors
    assert (error.row, error.column, error.code) == (5, "worker_id,day", "duplicate_key")
    assert "第 5 行与第 2 行的「工号、日期」重复" in error.message_zh


def test_row_wider_than_header():
    """Test that extra fields (an unquoted comma) refuse the row and show the spilled text."""
    data = (make_csv([VALID]) + "W2,李四,2020/6/1,1,2,在岗,是,2020-06-01,多出来的\r\n").encode()
    result = read_table(data, "a.csv", WORKERS)
    assert [(e.row, e.column, e.code, e.value) for e in result.errors] == [
        (3, None, "too_many_fields", "多出来的")
    ]


def test_wide_row_after_the_sample_keeps_row_numbers():
    """Test that a too-wide row far beyond the sniffed sample is still reported on the right row."""
    rows = [row_with(worker_id=f"W{i}") for i in range(3000)]
    text = (
        make_csv(rows)
        + "WX,李四,2020/6/1,1,2,在岗,是,2020-06-01,x,y,z\r\n"
        + make_csv([], row_with(worker_id="WA"))
    )
    result = read_table(text.encode(), "a.csv", WORKERS, chunk_rows=1000)
    assert [(e.row, e.code, e.value) for e in result.errors] == [(3002, "too_many_fields", "x,y,z")]
    assert result.rows["_row"].tolist() == [*range(2, 3002), 3003]


def test_header_problems_are_reported_without_rows():
    """Test that a missing required column and a duplicated header refuse the file (row None)."""
    header = ["工号", "worker id", "入职日期"]
    result = read_table(make_csv([["W1", "W1", "2020/6/1"]], header=header).encode(), "a.csv", WORKERS)
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (None, "worker_id", "duplicate_column"),
        (None, "name", "missing_column"),
    ]
    assert "缺少必填列「姓名」" in result.errors[1].message_zh
    assert 'Missing required column "name"' in result.errors[1].message_en
    assert result.rows.empty and not result.ok


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"\xef\xbb\xbf\r\n \r\n", "empty_file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "unsupported_format"),
        (b"<html><table><tr><td>\xe5\xb7\xa5\xe5\x8f\xb7</td></tr></table></html>", "unsupported_format"),
        (b"PK\x03\x04 not really a workbook", "unreadable_file"),
        ("工号,姓名\n".encode("gb18030") + b"\x80\xff\xfe\n", "unknown_encoding"),
    ],
)
def test_unreadable_files_are_refused_with_one_clear_error(data, code):
    """Test that empty, legacy .xls, HTML, broken zip and undecodable files give one file-level error."""
    result = read_table(data, "upload.xls", WORKERS)
    assert [(e.row, e.code) for e in result.errors] == [(None, code)]
    assert "upload.xls" in result.errors[0].message_zh and "upload.xls" in result.errors[0].message_en
    assert result.rows.empty and not result.ok


def test_header_only_file_warns_no_rows():
    """Test that a file with a header and no data is ok but warns that nothing was imported."""
    result = read_table(make_csv([]).encode(), "a.csv", WORKERS)
    assert result.ok and result.rows.empty and [w.code for w in result.warnings] == ["no_rows"]


def test_strict_mode_refuses_the_whole_file():
    """Test that strict mode returns no rows when any error exists, and ok is False whenever one does."""
    data = make_csv([VALID, row_with(worker_id="W2", records="x")]).encode()
    lenient = read_table(data, "a.csv", WORKERS)
    strict = read_table(data, "a.csv", WORKERS, strict=True)
    assert not lenient.ok and len(lenient.rows) == 1
    assert not strict.ok and strict.rows.empty and strict.errors == lenient.errors
    assert list(strict.rows.columns) == list(lenient.rows.columns)
    assert read_table(make_csv([VALID]).encode(), "a.csv", WORKERS, strict=True).rows["_row"].tolist() == [2]


def test_error_list_is_capped_but_counted():
    """Test that a file full of errors keeps the first max_errors in row order and counts the rest."""
    rows = [row_with(worker_id=f"W{i}", records="x") for i in range(50)]
    result = read_table(make_csv(rows).encode(), "a.csv", WORKERS, max_errors=10)
    assert result.error_count == 50 and len(result.errors) == 10 and result.truncated
    assert [e.row for e in result.errors] == list(range(2, 12))
    assert errors_frame(result.errors, "en").columns.tolist() == ["Row", "Problem"]


# ------------------------------------------------------------------------------------- big files


def big_csv(n: int) -> bytes:
    lines = [",".join(ZH_HEADER)]
    for i in range(n):
        if i % 50_000 == 7:
            lines.append("")  # blank line: still a row in Excel
        score = "abc" if i % 40_000 == 3 else str(i % 100)
        lines.append(
            f"W{i:07d},名{i % 97},2020/{i % 12 + 1}/{i % 28 + 1},{i},{score},在岗,是,2020-06-01 08:{i % 60:02d}"
        )
    lines.append("W0000005,重复,2020/1/1,1,1,在岗,是,")
    return ("\r\n".join(lines) + "\r\n").encode("gb18030")


def test_chunks_match_the_one_shot_read():
    """Test that reading 200k rows in chunks gives the same rows, errors and continuous row numbers."""
    data = big_csv(200_000)
    whole = read_table(data, "big.csv", WORKERS)
    chunks = list(iter_table(data, "big.csv", WORKERS, chunk_rows=30_000))
    assert len(chunks) == 7 and all(len(c.rows) <= 30_000 and c.rows_read <= 30_000 for c in chunks)
    combined = pd.concat([c.rows for c in chunks], ignore_index=True)
    pd.testing.assert_frame_equal(combined, whole.rows)
    assert [e for c in chunks for e in c.errors] == whole.errors
    rows = combined["_row"].to_numpy()
    assert rows[0] == 2 and (rows[1:] > rows[:-1]).all()
    assert whole.rows_read == 200_001 == sum(c.rows_read for c in chunks)
    # 200k data lines + 4 blank lines + header; the blank lines and refused rows are the only gaps
    refused = {e.row for e in whole.errors}
    assert len(refused) == 6 and len(whole.rows) == 200_001 - 6
    assert set(range(2, 200_007)) - set(rows.tolist()) - refused == {9, 50_010, 100_011, 150_012}
    last = whole.errors[-1]
    assert (last.row, last.code) == (200_006, "duplicate_key") and "第 7 行" in last.message_zh


def test_a_chunk_is_parsed_in_pieces_of_bounded_rows(monkeypatch):
    """Test that a chunk of many rows is parsed PARSE_ROWS rows at a time (pandas holds a Python str for every
    cell it parses at once) and joined into the same chunks, rows, row numbers and errors."""
    data = big_csv(100)  # a blank line, a bad score and a repeated key among them
    expected = list(iter_table(data, "big.csv", WORKERS, chunk_rows=30))
    asked: list[int | None] = []
    read_csv = sources.pd.read_csv

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        asked.append(kwargs.get("chunksize"))
        return read_csv(*args, **kwargs)

    monkeypatch.setattr(sources, "PARSE_ROWS", 4, raising=False)
    monkeypatch.setattr(sources.pd, "read_csv", spy)
    got = list(iter_table(data, "big.csv", WORKERS, chunk_rows=30))
    assert asked and max(size or 0 for size in asked) == 4
    assert len(got) == len(expected) == 4
    for mine, theirs in zip(got, expected, strict=True):
        pd.testing.assert_frame_equal(mine.rows, theirs.rows)
        assert mine.errors == theirs.errors and mine.rows_read == theirs.rows_read


# ------------------------------------------------------------------------------------------ templates


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_template_round_trip(fmt, lang, tmp_path):
    """Test that the downloadable template, read back, parses to exactly its example row."""
    path = tmp_path / f"template.{fmt}"
    write_template(WORKERS, path, fmt, lang)
    data = path.read_bytes()
    result = read_table(data, path.name, WORKERS)
    assert result.ok and not result.warnings
    assert to_records(result.rows, WORKERS) == [EXPECTED]
    if fmt == "csv":
        assert data.startswith(codecs.BOM_UTF8)
        header = data.decode("utf-8-sig").splitlines()[0].split(",")
        assert header == [c.label(lang) for c in WORKERS.columns]
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
        assert [c.value for c in sheet[1]] == [c.label(lang) for c in WORKERS.columns]


def test_template_bytes_buffer():
    """Test that write_template also writes to a binary buffer."""
    buffer = io.BytesIO()
    write_template(WORKERS, buffer, "csv")
    assert buffer.getvalue() == template_bytes(WORKERS, "csv")


# --------------------------------------------------------------------------------------- exports


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+86 138", "'+86 138"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("张三", "张三"),
        (-2, -2),
        (None, None),
    ],
)
def test_safe_cell(value, expected):
    """Test that exported text that Excel would run as a formula is neutralised, and nothing else."""
    assert safe_cell(value) == expected


def test_safe_frame():
    """Test that safe_frame applies safe_cell to text columns and leaves numbers alone."""
    frame = pd.DataFrame(
        {"name": ["=cmd|' /C calc'!A0", "张三"], "n": [-1, 2], "mixed": pd.Series(["@x", 3], dtype=object)}
    )
    out = safe_frame(frame)
    assert out["name"].tolist() == ["'=cmd|' /C calc'!A0", "张三"]
    assert out["n"].tolist() == [-1, 2] and out["mixed"].tolist() == ["'@x", 3]
    assert frame["name"][0].startswith("=")


# ------------------------------------------------------------------------------------- schema rules


def test_schema_refuses_ambiguous_headers():
    """Test that a schema where one header fits two columns is a programming error."""
    with pytest.raises(ValueError, match="fits"):
        Schema("x", [Column("a", ["名称"]), Column("b", ["名 称"])])
    with pytest.raises(ValueError, match="choices"):
        Column("s", ["状态"], kind="enum")


# ---------------------------------------------------------------------------------------- fuzzing

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(FUZZ, max_examples=150)
@given(st.binary(max_size=3000))
def test_random_bytes_only_produce_errors(data):
    """Test that arbitrary bytes never raise: they come back as errors and no rows."""
    result = read_table(data, "fuzz.csv", WORKERS)
    assert not result.ok and result.errors and result.rows.empty


@settings(FUZZ, max_examples=40)
@given(st.binary(max_size=2000))
def test_random_zip_like_bytes_only_produce_errors(data):
    """Test that bytes that look like a zip (xlsx) but are not never raise."""
    result = read_table(b"PK\x03\x04" + data, "fuzz.xlsx", WORKERS)
    assert not result.ok and result.rows.empty


@FUZZ
@given(
    st.lists(st.lists(st.text(max_size=12), min_size=0, max_size=10), max_size=20),
    st.sampled_from(["utf-8-sig", "gb18030"]),
)
def test_random_cells_are_accounted_for(rows, encoding):
    """Test that with a valid header every non-blank row is either returned or named in an error."""
    text = make_csv(rows)
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8-sig")
    result = read_table(data, "fuzz.csv", WORKERS)
    assert all(e.row is not None for e in result.errors)
    refused = {e.row for e in result.errors}
    assert len(result.rows) + len(refused) == result.rows_read
    assert refused.isdisjoint(result.rows["_row"].tolist())
