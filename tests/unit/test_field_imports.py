"""Imports of monthly figures and event lists: formats, encodings, headers, refusals, idempotence."""

from __future__ import annotations

import io
from datetime import datetime

import pandas as pd
import pytest
from sqlalchemy import func
from sqlmodel import select

from core.models import Role
from evaluation.field.imports import normalise_period, template
from evaluation.field.models import Event, EventState, MetricValue
from evaluation.field.registry import ensure_reference_data
from tests.factories import make_org, viewer
from tests.unit._field_import import import_and_commit

NOW = datetime(2020, 10, 1, 12, 0)


def _org(session):
    org = make_org(session)
    ensure_reference_data(session)
    session.commit()
    return org


def _count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


METRICS_ZH = "工号,统计月份,指标,分子,分母\nA00,2020-06,采集率,90,100\nA01,2020/6,准确率,45,50\nA02,2020年6月,未注销率,30,40\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_metrics_csv_in_every_office_encoding(session, encoding):
    """Test that a Chinese-header CSV reads the same in UTF-8 (±BOM), GBK and GB18030."""
    _org(session)
    report = import_and_commit(
        session, viewer(Role.MANAGER), "metrics", METRICS_ZH.encode(encoding), "m.csv", now=NOW
    )
    assert report.ok, report.errors
    assert (report.rows_read, report.added, report.written) == (3, 3, True)
    values = pd.DataFrame(
        session.exec(
            select(MetricValue.period, MetricValue.metric, MetricValue.numerator, MetricValue.denominator)
        ).all(),
        columns=["period", "metric", "num", "den"],
    ).sort_values("metric")
    assert values["period"].unique().tolist() == ["2020-06"]
    assert values.set_index("metric").loc["accuracy_rate", ["num", "den"]].tolist() == [45, 50]


def test_metrics_english_headers_and_excel_dates(session):
    """Test that an xlsx with English headers and a real date cell in the period column imports."""
    _org(session)
    frame = pd.DataFrame(
        {
            "Employee No": ["A00", "B01"],
            "Period": [datetime(2020, 6, 1), "2020-07"],
            "Metric": ["collection_rate", "Timely entry rate"],
            "Numerator": [8, 9],
            "Denominator": [10, 12],
        }
    )
    buf = io.BytesIO()
    frame.to_excel(buf, index=False)
    report = import_and_commit(session, viewer(Role.MANAGER), "metrics", buf.getvalue(), "m.xlsx", now=NOW)
    assert report.ok, report.errors
    assert report.added == 2 and report.file_type == "xlsx"
    assert sorted(session.exec(select(MetricValue.period)).all()) == ["2020-06", "2020-07"]


def test_reimport_changes_nothing_and_corrected_file_updates_in_place(session):
    """Test idempotence and update-in-place on (worker, period, metric)."""
    _org(session)
    mgr = viewer(Role.MANAGER)
    import_and_commit(session, mgr, "metrics", METRICS_ZH.encode(), "m.csv", now=NOW)
    again = import_and_commit(session, mgr, "metrics", METRICS_ZH.encode(), "m.csv", now=NOW)
    assert (again.added, again.changed, again.unchanged) == (0, 0, 3)
    fixed = METRICS_ZH.replace("A01,2020/6,准确率,45,50", "A01,2020/6,准确率,47,50")
    report = import_and_commit(session, mgr, "metrics", fixed.encode(), "m.csv", now=NOW)
    assert (report.added, report.changed, report.unchanged) == (0, 1, 2)
    assert _count(session, MetricValue) == 3
    assert (
        session.exec(select(MetricValue.numerator).where(MetricValue.metric == "accuracy_rate")).one() == 47
    )


def test_bad_rows_are_listed_and_nothing_is_written(session):
    """Test that every bad row is reported with row and column, and the DB is unchanged after a refusal."""
    _org(session)
    mgr = viewer(Role.MANAGER)
    import_and_commit(session, mgr, "metrics", METRICS_ZH.encode(), "m.csv", now=NOW)
    before = session.exec(select(MetricValue.metric, MetricValue.numerator)).all()
    bad = (
        "工号,统计月份,指标,分子,分母\n"
        "A00,2020-07,采集率,90,100\n"  # fine (row 2) but must not be written
        "ZZ9,2020-07,采集率,1,2\n"  # unknown worker (row 3)
        "A01,2020-13,准确率,1,2\n"  # bad month (row 4)
        "A01,2020-07,按时办结率,1,2\n"  # event-derived (row 5)
        "A01,2020-07,准确率,5,2\n"  # numerator > denominator (row 6)
        "A01,2020-07,采集率,abc,2\n"  # not a number (row 7)
        "A02,2020-07,采集率,1,\n"
    )  # ratio without denominator (row 8)
    report = import_and_commit(session, mgr, "metrics", bad.encode("gb18030"), "bad.csv", now=NOW)
    assert not report.ok and not report.written
    got = {(e.row, e.column, e.code) for e in report.errors}
    assert got == {
        (3, "employee_no", "unknown_worker"),
        (4, "period", "bad_period"),
        (5, "metric", "metric_from_events"),
        (6, "numerator", "numerator_over"),
        (7, "numerator", "not_a_number"),
        (8, "denominator", "required"),
    }
    assert all(e.message_zh.startswith(f"第 {e.row} 行") for e in report.errors)
    session.expire_all()
    assert session.exec(select(MetricValue.metric, MetricValue.numerator)).all() == before


def test_period_spellings():
    """Test the month spellings offices use."""
    got = normalise_period(
        pd.Series(["2020-06", "2020/6", "2020年6月", "2020-06-01", "2020.6", "2020-13", "六月"])
    )
    assert got.tolist()[:5] == ["2020-06"] * 5
    assert got.isna().tolist()[5:] == [True, True]


EVENTS_ZH = (
    "事件编号,事项,网格编码,地点,紧急程度,上报人工号,处置人工号,发现时间,上报时间,受理时间,派遣时间,签收时间,反馈时间,办结时间,处置结果,满意度\n"
    "E1,F02,D1A0,一巷1号,紧急,A00,A01,2020/6/1 8:00,2020/6/1 9:00,2020/6/1 9:30,2020/6/1 10:00,2020/6/1 10:20,2020/6/1 15:00,2020/6/1 17:00,已清理,满意\n"
    "E2,生命安全通道/消防通道堵塞占用,D1A1,二巷2号,,A01,,2020-06-02 08:30,2020-06-02 09:00,2020-06-02 09:10,,,2020-06-02 09:40,,当场整改,\n"
    "E3,C04,D1A0,三巷3号,一般,A00,,,2020-06-03 10:00,,,,,,作废:重复上报,\n"
    "E4,S01,D1A2,四巷4号,复杂,A02,A02,2020-06-04,2020-06-04 12:00,2020-06-04 13:00,2020-06-04 14:00,,,,,\n"
)


def test_events_import_derives_state_and_deadlines(session):
    """Test that states and deadlines follow the timestamps and priority (SLA), and items accept names."""
    org = _org(session)
    report = import_and_commit(
        session, viewer(Role.MANAGER), "events", EVENTS_ZH.encode("gbk"), "ev.csv", now=NOW
    )
    assert report.ok, [e.message_en for e in report.errors]
    assert report.added == 4
    ev = {e.event_no: e for e in session.exec(select(Event)).all()}
    assert ev["E1"].state == EventState.EVALUATED.value and ev["E1"].satisfaction == "satisfied"
    assert ev["E1"].due_at == datetime(2020, 6, 2, 10, 20)  # urgent: 24 h from signing
    assert ev["E2"].state == EventState.SELF_RESOLVED.value and ev["E2"].priority == "urgent"  # item default
    assert ev["E2"].assignee_id == org.workers_a[1].id  # self-handled: the reporter
    assert ev["E3"].state == EventState.VOIDED.value and ev["E3"].due_at is None
    assert ev["E4"].state == EventState.DISPATCHED.value
    assert ev["E4"].sign_due_at == datetime(2020, 6, 5, 14, 0)  # complex: sign within 24 h
    # Event-derived figures were recomputed from the import.
    hazards = session.exec(
        select(func.sum(MetricValue.numerator)).where(MetricValue.metric == "hazards_reported")
    ).one()
    assert hazards == 4


def test_events_reimport_and_correction(session):
    """Test that the same event file changes nothing and a corrected row updates by event number."""
    _org(session)
    mgr = viewer(Role.MANAGER)
    import_and_commit(session, mgr, "events", EVENTS_ZH.encode(), "ev.csv", now=NOW)
    again = import_and_commit(session, mgr, "events", EVENTS_ZH.encode("utf-8-sig"), "ev.csv", now=NOW)
    assert (again.added, again.changed, again.unchanged) == (0, 0, 4)
    fixed = EVENTS_ZH.replace("2020/6/1 17:00,已清理,满意", "2020/6/1 17:00,已清理,不满意")
    report = import_and_commit(session, mgr, "events", fixed.encode(), "ev.csv", now=NOW)
    assert (report.added, report.changed, report.unchanged) == (0, 1, 3)
    assert _count(session, Event) == 4
    assert session.exec(select(Event.satisfaction).where(Event.event_no == "E1")).one() == "unsatisfied"


def test_events_bad_rows_refuse_the_file(session):
    """Test out-of-order times, unknown items and grids are reported, and nothing is written."""
    _org(session)
    bad = (
        EVENTS_ZH.splitlines()[0] + "\n"
        "E1,F02,D1A0,x,紧急,A00,,2020/6/1 8:00,2020/6/1 9:00,2020/6/1 8:30,,,,,,\n"
        "E2,X99,D1A0,x,紧急,A00,,,2020/6/1 9:00,,,,,,,\n"
        "E3,F02,NOPE,x,紧急,A00,,,2020/6/1 9:00,,,,,,,\n"
        "E4,F02,D1A0,x,紧急,A00,,,,,,,,,,\n"
        "E1,F02,D1A0,x,紧急,A00,,,2020/6/1 9:00,,,,,,,\n"
    )
    report = import_and_commit(session, viewer(Role.MANAGER), "events", bad.encode(), "ev.csv", now=NOW)
    got = {(e.row, e.column, e.code) for e in report.errors}
    assert got == {
        (2, "accepted_at", "out_of_order"),
        (3, "item", "not_a_choice"),
        (4, "grid_code", "unknown_grid"),
        (5, "reported_at", "required"),
        (6, "event_no", "duplicate_key"),
    }
    assert _count(session, Event) == 0 and not report.written


def test_large_file_in_chunks_reports_progress(session):
    """Test that a file read in several chunks imports fully and calls progress for each chunk."""
    _org(session)
    lines = [EVENTS_ZH.splitlines()[0]] + [
        f"N{i},F0{1 + i % 9},D1A{i % 3},x,一般,A0{i % 3},,,2020-06-0{1 + i % 9} 09:00,,,,,,,"
        for i in range(250)
    ]
    seen = []
    report = import_and_commit(
        session,
        viewer(Role.MANAGER),
        "events",
        "\n".join(lines).encode(),
        "big.csv",
        now=NOW,
        chunk_rows=100,
        progress=lambda n, f: seen.append(n),
    )
    assert report.ok and report.added == 250 and _count(session, Event) == 250
    assert len(seen) == 3 and seen[-1] == 250  # the header takes a record of the first chunk


def test_templates_read_back():
    """Test that the downloadable templates (zh, xlsx and csv) are accepted headers with an example row."""
    for kind in ("metrics", "events"):
        for fmt in ("xlsx", "csv"):
            assert len(template(kind, fmt, "zh")) > 50


def test_cli_exit_status_and_dry_run(session, engine, tmp_path, monkeypatch, capsys):
    """Test `gridwise import`: a refused file exits 1 and writes nothing; --dry-run writes nothing; a good
    file exits 0 and is written; --template writes a workbook."""
    import json

    from core.cli import main
    from core.settings import get_settings

    _org(session)
    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("GRIDWISE_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
        good.write_bytes(METRICS_ZH.encode("gb18030"))
        bad.write_bytes(METRICS_ZH.replace("A01,2020/6,准确率,45,50", "A01,2020/6,准确率,55,50").encode())
        assert main(["import", "metrics", str(bad), "--json", "--lang", "en"]) == 1
        report = json.loads(capsys.readouterr().out)
        assert (
            report["refused"] == 1
            and report["errors"][0]["row"] == 3
            and report["errors"][0]["value"] == "55"
        )
        assert main(["import", "metrics", str(good), "--dry-run"]) == 0
        session.expire_all()
        assert _count(session, MetricValue) == 0
        assert main(["import", "metrics", str(good)]) == 0
        session.expire_all()
        assert _count(session, MetricValue) == 3
        assert main(["import", "events", "--template", str(tmp_path / "t.xlsx")]) == 0
        assert (tmp_path / "t.xlsx").read_bytes()[:2] == b"PK"
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("chunk_rows", [50_000, 1])
def test_same_worker_month_metric_spelt_twice_is_refused(session, chunk_rows):
    """Test that one worker × month × metric given twice under different spellings (2020-06 / 2020/6,
    采集率 / collection_rate) is refused as a repeated row, in one chunk or across chunks, and nothing is
    written — it used to reach the database and fail on the unique constraint (found by fuzzing)."""
    _org(session)
    data = (
        "工号,统计月份,指标,分子,分母\nA00,2020-05,准确率,1,2\nA00,2020-06,采集率,90,100\n"
        "A00,2020/6,collection_rate,91,100\n"
    ).encode()
    report = import_and_commit(
        session, viewer(Role.MANAGER), "metrics", data, "m.csv", now=NOW, chunk_rows=chunk_rows
    )
    assert not report.written and report.error_count == 1
    (error,) = report.errors
    assert (error.row, error.code) == (4, "duplicate_key") and "row 3" in error.message("en")
    assert _count(session, MetricValue) == 0
