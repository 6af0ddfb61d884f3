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
    for altair_way, cached_way in zip(drawn[::2], drawn[1::2], strict=True):
        a, b = altair_way.proto, cached_way.proto
        spec = json.loads(a.spec)
        assert set(spec.pop("data")) == {"name"}  # the altair way names its rows; the cached way sends them
        assert spec == json.loads(b.spec)
        assert (a.theme, a.use_container_width) == (b.theme, b.use_container_width)
        assert len(b.datasets) == 0  # its rows, nothing else
        pd.testing.assert_frame_equal(_rows(a), _rows(b))
        assert len(_rows(b)) > 1
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
