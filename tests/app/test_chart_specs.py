"""Charts drawn from a spec built once per key (ui.chart_specs) are the charts st.altair_chart draws."""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from evaluation.scoring import charts
from evaluation.scoring.compute import score_period
from tests.unit.scoring_fixtures import ADJUSTMENTS, inputs, scheme
from ui import chart_specs

LABELS = {"name_col": "name_zh", "earned_label": "得分", "lost_label": "失分"}
TITLES = {"title": "各项得分", "x_title": "分"}
TREND = {"title": "我的月度总分", "x_title": "月份", "y_title": "总分"}


def _both_ways() -> None:
    """Each chart twice: st.altair_chart of the altair chart, then chart_specs.draw_chart of its rows."""
    import streamlit as st

    from evaluation.scoring import charts
    from ui.chart_specs import draw_chart

    labels, titles, trend = st.session_state["labels"], st.session_state["titles"], st.session_state["trend"]
    for comps in st.session_state["cards"]:
        st.altair_chart(charts.contribution_chart(comps, **labels, **titles), width="stretch")
        rows, names = charts.contribution_rows(comps, **labels)
        draw_chart(
            rows,
            ("contributions", tuple(names), *labels.values(), *titles.values()),
            lambda names=names: charts.contribution_spec(names, **labels, **titles),
        )
    months = st.session_state["months"]
    st.altair_chart(
        charts.worker_trend_chart(months, **trend, mine_label="我", community_label=""), width="stretch"
    )
    rows = charts.worker_trend_rows(months.to_dict("records"), mine_label="我", community_label="")
    draw_chart(rows, ("worker_trend", *trend.values()), lambda: charts.worker_trend_spec(**trend))


def _rows(proto) -> pd.DataFrame:  # noqa: ANN001 - a VegaLiteChart proto
    raw = proto.datasets[0].data.data if proto.datasets else proto.data.data
    return pa.ipc.open_stream(io.BytesIO(raw)).read_all().to_pandas()


def _assert_drawn_alike(drawn: list) -> None:
    """Each pair (the altair way, then the cached way) has one spec, one theme and width, and the same rows."""
    for altair_way, cached_way in zip(drawn[::2], drawn[1::2], strict=True):
        a, b = altair_way.proto, cached_way.proto
        spec = json.loads(a.spec)
        assert set(spec.pop("data")) == {"name"}  # the altair way names its rows; the cached way sends them
        assert spec == json.loads(b.spec)
        assert (a.theme, a.use_container_width) == (b.theme, b.use_container_width)
        assert len(b.datasets) == 0  # its rows, nothing else
        pd.testing.assert_frame_equal(_rows(a), _rows(b))


@pytest.fixture
def cards() -> list[pd.DataFrame]:
    june = score_period(inputs(adjustments=ADJUSTMENTS), scheme(), "2020-06")
    comps = june.components
    return [comps[comps["worker_id"] == w].reset_index(drop=True) for w in (2, 3)]


def test_drawn_from_a_built_spec_is_the_altair_chart(cards: list[pd.DataFrame]) -> None:
    """Test that the contribution and trend charts drawn from a cached spec with the viewer's rows have the
    Vega-Lite spec and the rows that st.altair_chart gives the same chart: the same chart on screen."""
    chart_specs.clear_chart_specs()
    at = AppTest.from_function(_both_ways, default_timeout=60)
    at.session_state["labels"], at.session_state["titles"], at.session_state["trend"] = LABELS, TITLES, TREND
    at.session_state["cards"] = cards
    at.session_state["months"] = pd.DataFrame({"period": ["2020-05", "2020-06"], "mine": [81.5, 84.25]})
    at.run()
    assert not at.exception, at.exception
    drawn = at.get("vega_lite_chart")
    assert len(drawn) == 6
    _assert_drawn_alike(drawn)
    assert all(len(_rows(b.proto)) > 1 for b in drawn[1::2])
    # two workers' rows, not one drawn twice
    assert not _rows(drawn[1].proto).equals(_rows(drawn[3].proto))


def test_a_spec_is_built_once_per_key() -> None:
    """Test that chart_spec builds (and validates) a chart's spec once per key, again for another key."""
    chart_specs.clear_chart_specs()
    built: list[str] = []

    def build(title: str):  # noqa: ANN202 - an altair chart
        built.append(title)
        return charts.worker_trend_spec(title=title, x_title="x", y_title="y")

    first = chart_specs.chart_spec(("trend", "zh"), lambda: build("我的月度总分"))
    assert chart_specs.chart_spec(("trend", "zh"), lambda: build("我的月度总分")) is first
    other = chart_specs.chart_spec(("trend", "en"), lambda: build("My monthly total"))
    assert built == ["我的月度总分", "My monthly total"]
    assert first["title"] == "我的月度总分" and other["title"] == "My monthly total"
    assert not {"data", "datasets", "config"} & set(first) and first["mark"]["type"] == "line"


def _page_charts_both_ways() -> None:
    """The week calendar (课程与排课) and the events per state (事件闭环), each st.altair_chart then draw_chart."""
    import streamlit as st

    from courses.charts import calendar_chart, calendar_rows, calendar_spec
    from evaluation.field.charts import state_chart, state_rows, state_spec
    from ui.chart_specs import draw_chart

    for sessions, week_of, lang, labels in st.session_state["calendars"]:
        st.altair_chart(calendar_chart(sessions, week_of=week_of, lang=lang, labels=labels), width="stretch")
        draw_chart(
            calendar_rows(sessions, week_of=week_of, lang=lang, labels=labels),
            ("calendar", week_of, *labels.items()),
            lambda week_of=week_of, labels=labels: calendar_spec(week_of=week_of, labels=labels),
        )
    for counts, lang in st.session_state["states"]:
        st.altair_chart(state_chart(counts, lang), width="stretch")
        draw_chart(state_rows(counts, lang), ("event_states", lang), lambda lang=lang: state_spec(lang))


def test_the_calendar_and_the_event_states_drawn_from_a_built_spec_are_the_altair_charts() -> None:
    """Test that the week calendar (a busy week with a cancelled session, and an empty week, in zh and en) and
    the events-per-state chart drawn from a cached spec with their rows have the Vega-Lite spec and the rows
    that st.altair_chart gives the same charts: the calendar and the state bars look as they did."""
    from datetime import date

    chart_specs.clear_chart_specs()
    sessions = pd.DataFrame(
        {
            "start_at": pd.to_datetime(["2020-03-02 09:30", "2020-03-04 14:00", "2020-03-10 09:00"]),
            "end_at": pd.to_datetime(["2020-03-02 11:00", "2020-03-04 15:30", "2020-03-10 10:00"]),
            "course_zh": ["信息采集", "消防", "信息采集"],
            "course_en": ["Info", "", "Info"],
            "status": ["closed", "cancelled", "scheduled"],
            "seated": [300, 20, 5],
        }
    )
    zh = {"course": "课程", "status.cancelled": "已取消", "weekday.0": "周一", "weekday.2": "周三"}
    en = {"course": "Course", "status.cancelled": "Cancelled", "weekday.0": "Mon", "weekday.2": "Wed"}
    counts = pd.DataFrame(
        {"state": ["registered", "dispatched", "closed"], "events": [12, 30, 900], "overdue": [0, 4, 0]}
    )
    at = AppTest.from_function(_page_charts_both_ways, default_timeout=60)
    at.session_state["calendars"] = [
        (sessions, date(2020, 3, 4), "zh", zh),
        (sessions, date(2020, 3, 4), "en", en),
        (sessions, date(2020, 4, 1), "zh", zh),  # a week without sessions
        (sessions.iloc[0:0], date(2020, 3, 4), "zh", zh),  # nothing scheduled at all
    ]
    at.session_state["states"] = [(counts[counts["state"] != "registered"], "zh"), (counts.iloc[:2], "en")]
    at.run()
    assert not at.exception, at.exception
    drawn = at.get("vega_lite_chart")
    assert len(drawn) == 12
    _assert_drawn_alike(drawn)
    assert len(_rows(drawn[1].proto)) == 2 and len(_rows(drawn[5].proto)) == 0  # the week's two, then none
    assert "已取消" in set(_rows(drawn[1].proto)["status"]) and "Wed" in json.dumps(
        json.loads(drawn[3].proto.spec)
    )
