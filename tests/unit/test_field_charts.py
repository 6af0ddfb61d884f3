"""The field pages' charts and maps, built from domain frames: what a manager reads on them."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.i18n import t
from evaluation.assignment.charts import task_map
from evaluation.assignment.service import choosable
from evaluation.field.charts import coverage_chart, event_map, grade_chart, quality_chart, state_chart
from evaluation.field.rentals import GRADES


def _values(chart) -> list[dict]:  # noqa: ANN001
    spec = chart.to_dict()
    return next(iter(spec["datasets"].values()))


def test_state_chart_labels_states_in_the_language_and_marks_overdue_red():
    """Test that each state is a bar labelled in the page's language, red when some are overdue."""
    counts = pd.DataFrame({"state": ["dispatched", "handling"], "events": [5, 2], "overdue": [1, 0]})
    zh, en = state_chart(counts, "zh").to_dict(), state_chart(counts, "en").to_dict()
    assert [r["label"] for r in _values(state_chart(counts, "en"))] == [
        t("field.state.dispatched", "en"),
        t("field.state.handling", "en"),
    ]
    assert _values(state_chart(counts, "zh"))[0]["label"] == t("field.state.dispatched", "zh") != "dispatched"
    assert en["encoding"]["color"]["condition"]["value"] == "#C62828"
    assert zh["title"] != en["title"]


def test_event_map_puts_overdue_events_on_top_and_names_their_communities():
    """Test that overdue events are drawn last (on top) in red and only the events' communities are named."""
    events = pd.DataFrame(
        {
            "lat": [22.6, 22.61],
            "lon": [114.4, 114.41],
            "overdue": [True, False],
            "event_no": ["E1", "E2"],
            "item_code": ["C03", "F01"],
            "location": ["甲", "乙"],
            "community_id": [1, 1],
        }
    )
    comms = pd.DataFrame(
        {
            "id": [1, 2],
            "name_zh": ["下沙社区", "上沙社区"],
            "name_en": ["Xiasha", "Shangsha"],
            "lat": [22.6, 22.7],
            "lon": [114.4, 114.5],
        }
    )
    deck = json.loads(event_map(events, comms, "en").to_json())
    dots, names = deck["layers"]
    assert [d["event_no"] for d in dots["data"]] == ["E2", "E1"]
    assert dots["data"][-1]["color"] == [198, 40, 40, 220]
    assert [n["name"] for n in names["data"]] == ["Xiasha"]
    assert 10 <= deck["initialViewState"]["zoom"] <= 14


def test_grade_chart_lists_every_grade_even_without_buildings():
    """Test that the grade bars follow the standard's order, with 0 for a grade no building has."""
    values = _values(grade_chart(pd.DataFrame({"grade": ["green", "green", "red"]}), "en"))
    assert [v["grade"] for v in values] == list(GRADES)
    assert {v["grade"]: v["n"] for v in values}["red"] == 1


def test_coverage_chart_shows_communities_in_the_language():
    """Test that patrol coverage names each community in the page's language on a 0–100 % axis."""
    cov = pd.DataFrame(
        {"community_zh": ["下沙社区"], "community_en": ["Xiasha"], "due": [10], "made": [7], "rate": [70.0]}
    )
    chart = coverage_chart(cov, "en")
    assert _values(chart)[0]["community"] == "Xiasha"
    assert chart.to_dict()["encoding"]["x"]["scale"]["domain"] == [0, 100]


def test_quality_chart_stacks_checks_per_community_and_is_none_without_problems():
    """Test that flagged problems stack by check per community, and a clean district gives no chart."""
    summary = pd.DataFrame(
        {
            "community_id": [1, 2],
            "name_zh": ["下沙社区", "上沙社区"],
            "name_en": ["Xiasha", "Shangsha"],
            "address_codes": [2, 0],
            "visit_overflow": [1, 0],
            "duplicate_event": [0, 0],
            "reversed_dereg": [0, 0],
        }
    )
    values = _values(quality_chart(summary, "en"))
    assert {(v["community"], v["kind"], v["n"]) for v in values} == {
        ("Xiasha", "address_codes", 2),
        ("Xiasha", "visit_overflow", 1),
    }
    clean = summary.assign(address_codes=0, visit_overflow=0)
    assert quality_chart(clean, "zh") is None


def test_task_map_colours_tasks_by_priority_over_the_workers():
    """Test that the dispatch map shows workers (blue) and tasks coloured by priority, labelled in the language."""
    tasks = pd.DataFrame(
        {
            "lat": [22.6],
            "lon": [114.4],
            "priority_rank": [1],
            "title_zh": ["消防通道堵塞"],
            "title_en": ["Blocked fire lane"],
        }
    )
    workers = pd.DataFrame(
        {"lat": [22.61], "lon": [114.41], "name": ["张三"], "grid_zh": ["一网格"], "grid_en": ["Grid 1"]}
    )
    deck = json.loads(task_map(tasks, workers, "en").to_json())
    people, todo = deck["layers"]
    assert people["data"][0]["label"] == "张三 · Grid 1"
    assert todo["data"][0]["label"] == "Blocked fire lane" and todo["data"][0]["colour"] == [214, 39, 40, 200]


@pytest.mark.parametrize(
    "rule, may_pick",
    [
        ("farther_tier", True),
        ("at_cap", True),
        ("inactive", False),
        ("in_training", False),
        ("not_qualified", False),
    ],
)
def test_a_manager_may_pick_an_excluded_worker_only_past_a_soft_rule(rule, may_pick):
    """Test that the assign form offers the ranked workers plus those excluded by the grid tier or the task cap,
    never one a hard rule bars (inactive, in training, not qualified)."""
    ranked = pd.DataFrame({"worker_id": [1], "name": ["甲"], "score": [80.0], "rank": [1]})
    excluded = pd.DataFrame({"worker_id": [2], "name": ["乙"], "score": [50.0], "rule": [rule]})
    assert list(choosable(ranked, excluded)["worker_id"]) == ([1, 2] if may_pick else [1])
    assert list(choosable(ranked.iloc[0:0], excluded)["worker_id"]) == ([2] if may_pick else [])
