"""The candidates' points chart (智能派单): its rows, and a spec that depends on the language alone, so that
ui/chart_specs.py builds it once per language and each task draws its own rows with it."""

from __future__ import annotations

from evaluation.assignment.charts import points_chart, points_rows, points_spec
from evaluation.assignment.rank import COMPONENTS
from tests.unit.test_assignment_rank import rank


def test_points_rows_hold_each_candidates_points_in_rank_order():
    """Test that the chart has a row per candidate and preference with that candidate's points, labelled and
    ordered by rank, the top ten at most."""
    ranked, _ = rank()
    rows = points_rows(ranked, "zh")
    assert len(rows) == len(ranked) * len(COMPONENTS)
    first = rows[rows["order"] == 0]
    assert set(first["candidate"]) == {f"1. {ranked['name'].iloc[0]}"}
    assert first["points"].tolist() == [float(ranked[f"pts_{c}"].iloc[0]) for c in COMPONENTS]
    assert rows.groupby("order")["points"].sum().round(1).tolist() == ranked["score"].tolist()
    assert len(points_rows(ranked, "zh", top=2)) == 2 * len(COMPONENTS)


def test_the_spec_depends_on_the_language_not_on_the_candidates():
    """Test that two tasks' charts share one spec (candidates sorted by their rank field, not by a list of
    names) and that the language changes it."""
    ranked, _ = rank()
    other, _ = rank(weights="balanced")
    spec = points_spec("zh").to_dict()
    assert spec["encoding"]["y"]["sort"] == {"field": "order", "op": "min"}
    assert {
        k: v for k, v in points_chart(ranked, "zh").to_dict().items() if k not in ("data", "datasets")
    } == {
        k: v
        for k, v in points_chart(other.iloc[::-1], "zh").to_dict().items()
        if k not in ("data", "datasets")
    }
    assert points_spec("en").to_dict()["title"] != spec["title"]
