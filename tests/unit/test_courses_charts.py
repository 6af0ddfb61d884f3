"""The courses chart builders, read through ``chart.to_dict()``: what a manager sees plotted."""

from __future__ import annotations

import pandas as pd

from courses import charts


def _data(spec: dict) -> list[list[dict]]:
    """The inline data of each layer, in layer order."""
    datasets = spec.get("datasets", {})
    return [datasets[layer["data"]["name"]] for layer in spec["layer"]]


def test_attendance_rate_chart_bins_rated_workers_and_marks_the_threshold():
    """Test that workers without a rate are left out, rates are binned by 5 points and the threshold is drawn."""
    per_worker = pd.DataFrame({"worker_id": [1, 2, 3], "rate": [0.5, 0.95, None]})
    spec = charts.attendance_rate_chart(
        per_worker, min_rate=0.8, labels={"rate": "出勤率", "workers": "人数", "title": "分布"}
    ).to_dict()
    bars, rule = _data(spec)
    assert sorted(r["rate"] for r in bars) == [0.5, 0.95]
    assert rule == [{"x": 0.8}]
    enc = spec["layer"][0]["encoding"]
    assert enc["x"]["bin"] == {"step": 0.05} and enc["x"]["title"] == "出勤率" and enc["y"]["title"] == "人数"
    assert spec["layer"][0]["title"] == "分布"


def test_score_histogram_colours_passed_and_failed_and_draws_the_pass_mark():
    """Test that each attempt is labelled passed or failed in the page's words, coloured green and red, with
    the pass mark as a rule."""
    attempts = pd.DataFrame({"score": [90.0, 40.0, 80.0], "passed": [True, False, True]})
    spec = charts.score_histogram(
        attempts,
        pass_mark=80,
        labels={"score": "Score", "attempts": "Attempts", "passed": "Passed", "failed": "Failed"},
    ).to_dict()
    bars, rule = _data(spec)
    assert [r["result"] for r in bars] == ["Passed", "Failed", "Passed"]
    scale = spec["layer"][0]["encoding"]["color"]["scale"]
    assert scale == {"domain": ["Passed", "Failed"], "range": [charts.PASSED_COLOUR, charts.FAILED_COLOUR]}
    assert rule == [{"x": 80}]


def test_item_map_plots_only_items_with_a_discrimination_and_flags_weak_ones():
    """Test that items seen too rarely for a discrimination index are not plotted, those needing review are
    red, and the weak-discrimination line is drawn."""
    items = pd.DataFrame(
        {
            "question_id": [1, 2, 3],
            "code": ["q1", "q2", "q3"],
            "question": ["甲", "乙", "丙"],
            "n": [10, 10, 2],
            "facility": [0.5, 0.99, 1.0],
            "discrimination": [0.4, 0.05, None],
            "needs_review": [False, True, True],
        }
    )
    spec = charts.item_map(
        items,
        weak=0.2,
        labels={"facility": "F", "discrimination": "D", "needs_review": "复核", "question": "题目"},
    ).to_dict()
    points, band = _data(spec)
    assert [p["code"] for p in points] == ["q1", "q2"]
    assert spec["layer"][0]["encoding"]["color"]["scale"]["range"] == [
        charts.FLAG_COLOUR,
        charts.PLAIN_COLOUR,
    ]
    assert band == [{"y": 0.2}]
