"""Chart builders (through ``chart.to_dict()``), calibration flags and improvement advice."""

from __future__ import annotations

import pandas as pd
import pytest

from evaluation.scoring import charts
from evaluation.scoring.calibration import community_calibration, worker_outliers
from evaluation.scoring.compute import score_period
from evaluation.scoring.service import improvement_options
from tests.unit.scoring_fixtures import ADJUSTMENTS, inputs, scheme

GN = {"excellent": "优秀", "good": "良好", "pass": "合格", "fail": "不合格"}


@pytest.fixture
def june():
    return score_period(inputs(adjustments=ADJUSTMENTS), scheme(), "2020-06")


def test_histogram_bins_totals_and_colours_by_grade(june):
    """Test the distribution chart bins totals in 5-point steps and colours grades in band order."""
    spec = charts.score_histogram(
        june.cards, GN, title="t", x_title="x", y_title="y", grade_title="g"
    ).to_dict()
    assert spec["encoding"]["x"]["bin"] == {"binned": True, "step": 5}
    assert spec["encoding"]["x"]["scale"]["domain"] == [0, 100]
    assert spec["encoding"]["color"]["scale"]["domain"] == ["优秀", "良好", "合格", "不合格"]
    rows = next(iter(spec["datasets"].values()))
    assert sum(r["n"] for r in rows) == 3  # the worker without data is not drawn
    assert all(r["bin_end"] - r["bin"] == 5 and r["bin"] % 5 == 0 for r in rows)


def test_histogram_and_grade_mix_carry_counts_not_workers():
    """Test that a city's 20,000 totals reach the browser as counts per bin (or community) and grade."""
    n = 20_000
    cards = pd.DataFrame(
        {
            "scored": True,
            "total": [(i * 7919) % 10001 / 100 for i in range(n)],  # 0 … 100, both ends included
            "grade": [list(GN)[i % 4] for i in range(n)],
            "community": [f"c{i % 50}" for i in range(n)],
        }
    )
    hist = charts.score_histogram(cards, GN, title="t", x_title="x", y_title="y", grade_title="g").to_dict()
    rows = pd.DataFrame(next(iter(hist["datasets"].values())))
    assert len(rows) <= 20 * 4 and rows["n"].sum() == n
    assert rows["bin"].min() == 0 and rows["bin"].max() == 95  # a total of 100 falls in the last bin
    at_100 = int((cards["total"] == 100).sum())
    assert at_100 and rows[rows["bin"] == 95]["n"].sum() == int((cards["total"] >= 95).sum())
    mix = charts.grade_mix_chart(
        cards, GN, community_col="community", title="t", x_title="x", grade_title="g"
    ).to_dict()
    rows = pd.DataFrame(next(iter(mix["datasets"].values())))
    assert len(rows) <= 50 * 4 and rows["n"].sum() == n
    assert (rows.groupby("community")["n"].sum() == n // 50).all()


def test_contribution_chart_earned_and_missed(june):
    """Test the contribution bars: earned points plus missed points make each component's weight."""
    comps = june.components[june.components["worker_id"] == 3]
    spec = charts.contribution_chart(
        comps, name_col="name_zh", earned_label="得分", lost_label="失分", title="t", x_title="x"
    ).to_dict()
    rows = pd.DataFrame(next(iter(spec["datasets"].values())))
    per = rows.groupby("name_zh")["pts"].sum()
    assert per["采集率"] == pytest.approx(50) and per["准确率"] == pytest.approx(25)
    assert "返工率" not in per.index  # no data: not drawn


def test_party_gap_chart_labels_the_gap():
    """Test the party chart draws both groups per metric and prints the gap in points."""
    comp = pd.DataFrame(
        {"name": ["采集率", "准确率"], "party": [92.5, 90.1], "all": [91.0, 88.5], "gap_pp": [1.5, 1.6]}
    )
    spec = charts.party_gap_chart(
        comp, name_col="name", party_label="党员", all_label="全体", title="t", y_title="%"
    ).to_dict()
    texts = [r.get("gap_text") for d in spec["datasets"].values() for r in d if "gap_text" in r]
    assert texts == ["+1.50 pp", "+1.60 pp"]
    assert spec["layer"][0]["encoding"]["xOffset"]["field"] == "group"


def test_trend_and_grade_mix_charts(june):
    """Test the trend averages per month and group; the grade mix stacks to 100% per community."""
    trend = pd.DataFrame(
        {"period": ["2020-05", "2020-05", "2020-06"], "sub": ["A", "A", "A"], "total": [80.0, 90.0, 70.0]}
    )
    spec = charts.trend_chart(
        trend, group="sub", title="t", x_title="x", y_title="y", group_title="g"
    ).to_dict()
    assert [r["total"] for r in next(iter(spec["datasets"].values()))] == [85.0, 70.0]
    mix = charts.grade_mix_chart(
        june.cards, GN, community_col="community_id", title="t", x_title="x", grade_title="g"
    ).to_dict()
    assert mix["encoding"]["x"]["stack"] == "normalize"


def test_calibration_flags_a_generous_community():
    """Test a community whose mean is far above the district's is flagged, and a low worker is an outlier."""
    cards = pd.DataFrame(
        {
            "worker_id": range(12),
            "scored": True,
            "community_id": [1] * 6 + [2] * 6,
            "total": [95, 96, 97, 94, 95, 96, 70, 71, 72, 69, 70, 40],
            "grade": ["excellent"] * 6 + ["pass"] * 5 + ["fail"],
        }
    )
    cal = community_calibration(cards).set_index("community_id")
    assert cal.at[1, "flag"] == "high_mean" and cal.at[2, "flag"] == "low_mean"
    out = worker_outliers(cards)
    assert out["worker_id"].tolist() == [11] and out["outlier"].tolist() == ["low"]


def test_improvement_options_rank_by_points_to_gain(june):
    """Test advice is ordered by the points a worker could still gain, with the courses' skill areas."""
    comps = june.components[june.components["worker_id"] == 2].copy()
    comps["metric"] = comps["metric"].astype(str).replace({"coll": "collection_rate"}).astype("category")
    opts = improvement_options(comps)
    # accuracy lost all 20, collection 20 of 40, rework 10 of 20; hazards are at full marks
    assert opts["gain"].tolist() == pytest.approx([20, 20, 10])
    assert set(opts["component"][:2]) == {"c_acc", "c_coll"} and opts["component"].iloc[2] == "c_rework"
    assert opts.set_index("component").at["c_coll", "skills"] == ("info_collection", "residence_registration")


def test_advice_is_honest_about_ranked_components():
    """Test that a component scored by rank in the subdistrict is not offered as a way up when the worker's
    value is already 100% (the missing points come from ties), that it is reported as tied instead, and that a
    ranked component below the top carries its rank and cohort for the advice's text."""
    from evaluation.scoring.service import tied_at_best

    comps = pd.DataFrame(
        {
            "component": ["valid", "cover", "acc"],
            "name_zh": ["有效上报率", "覆盖率", "准确率"],
            "metric": ["valid_report_rate", "patrol_coverage_rate", "accuracy_rate"],
            "method": ["percentile", "percentile", "linear"],
            "unit": ["%", "%", "%"],
            "direction": ["higher", "higher", "higher"],
            "value": [100.0, 80.0, 90.0],
            "points": [5.2, 2.5, 8.0],
            "eff_weight": [10.0, 10.0, 10.0],
            "missing": [False, False, False],
            "formula": [
                "30/30 = 100.0% → rank 3.5/6 in subdistrict = 0.5 × 10 = 5.2",
                "8/10 = 80.0% → rank 5/6 in subdistrict = 0.2 × 10 = 2.5",
                "90% → (90 − 60) ÷ (95 − 60) = 0.8 × 10 = 8",
            ],
        }
    )
    opts = improvement_options(comps)
    assert "valid" not in opts["component"].tolist()  # no "当前 100.0%" beside "可多得 4.8 分"
    cover = opts.set_index("component").loc["cover"]
    assert cover["ranked"] and cover["cohort"] == "subdistrict"
    assert (cover["cohort_rank"], cover["cohort_n"]) == (5, 6)
    assert not opts.set_index("component").loc["acc", "ranked"]
    assert tied_at_best(comps)["component"].tolist() == ["valid"]
