"""The chart rules of core.charts, checked on the built charts (``to_dict()``): counts step by whole numbers,
bars measure from zero, and the grade mix keeps its legend in view for a single community."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd

from courses.charts import attendance_rate_chart, score_histogram
from evaluation.field.charts import state_chart
from evaluation.scoring import charts as scoring_charts

GN = {"excellent": "优秀", "good": "良好", "pass": "合格", "fail": "不合格"}


def _units(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every single-view part of a (possibly layered) chart spec."""
    if "layer" in spec:
        for part in spec["layer"]:
            yield from _units(part)
    else:
        yield spec


def _mark(unit: dict[str, Any]) -> str:
    mark = unit.get("mark")
    return mark["type"] if isinstance(mark, dict) else str(mark)


def _count_axes(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        enc.get("axis", {})
        for unit in _units(spec)
        for channel in ("x", "y")
        if (enc := unit.get("encoding", {}).get(channel))
        and (
            enc.get("aggregate") in ("count", "sum")
            or str(enc.get("field", "")).startswith(("count", "n", "events"))
        )
        and enc.get("type") == "quantitative"
    ]


def test_count_axes_step_by_whole_numbers() -> None:
    """Test that histograms and counts of workers, attempts and events never show half a worker."""
    workers = pd.DataFrame({"worker_id": [1, 2, 3], "rate": [0.5, 0.9, 0.95]})
    attempts = pd.DataFrame({"score": [55.0, 80.0], "passed": [False, True]})
    states = pd.DataFrame({"state": ["reported", "dispatched"], "events": [1, 2], "overdue": [0, 1]})
    cards = pd.DataFrame({"scored": [True, True], "total": [88.0, 72.0], "grade": ["good", "pass"]})
    built = [
        attendance_rate_chart(workers, min_rate=0.8, labels={"rate": "r", "workers": "w", "title": "t"}),
        score_histogram(
            attempts, pass_mark=60, labels={"score": "s", "attempts": "a", "passed": "p", "failed": "f"}
        ),
        state_chart(states, "zh"),
        scoring_charts.score_histogram(cards, GN, title="t", x_title="x", y_title="y", grade_title="g"),
    ]
    for chart in built:
        axes = _count_axes(chart.to_dict())
        assert axes, chart
        assert all(axis.get("tickMinStep") == 1 and axis.get("format") == "d" for axis in axes), axes


def test_party_comparison_bars_start_at_zero() -> None:
    """Test that the party comparison's bars measure from 0, so a 1.5-point gap does not look like a chasm."""
    comp = pd.DataFrame({"name": ["采集率"], "party": [92.5], "all": [91.0], "gap_pp": [1.5]})
    spec = scoring_charts.party_gap_chart(
        comp, name_col="name", party_label="党员", all_label="全体", title="t", y_title="%"
    ).to_dict()
    bars = [u for u in _units(spec) if _mark(u) == "bar"]
    assert bars and all(u["encoding"]["y"]["scale"]["domain"][0] == 0 for u in bars)


def test_grade_mix_of_one_community_is_a_bar_with_its_legend_above() -> None:
    """Test that a one-community manager's grade mix gets a full bar and a one-row legend that fits."""
    cards = pd.DataFrame(
        {"scored": [True] * 4, "grade": ["excellent", "good", "good", "fail"], "community": ["下沙社区"] * 4}
    )
    spec = scoring_charts.grade_mix_chart(
        cards, GN, community_col="community", title="t", x_title="x", grade_title="g"
    ).to_dict()
    assert spec["height"] == {"step": 28}
    legend = spec["encoding"]["color"]["legend"]
    assert legend["orient"] == "top" and legend["direction"] == "horizontal"
