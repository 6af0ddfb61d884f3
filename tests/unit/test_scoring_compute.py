"""Hand-computed scorecards for a four-worker district (see tests/unit/scoring_fixtures.py).

Scheme: collection 40 (linear 60→100), accuracy 20 (percentile in community), rework 20 (bands, lower
is better: ≤2% full, ≤5% half), hazards 20 (count per 100 households, linear 0→10).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from evaluation.scoring.compute import active_share, score_period
from evaluation.scoring.scheme import Scheme, SchemeError, default_scheme
from tests.unit.scoring_fixtures import (
    ADJUSTMENTS,
    REGISTRY,
    WORKERS,
    inputs,
    scheme,
    scheme_dict,
    single_scheme,
    v,
)


def card(result, worker_id):
    return result.cards.set_index("worker_id").loc[worker_id]


def comp(result, worker_id, component):
    c = result.components
    return c[(c["worker_id"] == worker_id) & (c["component"] == component)].iloc[0]


@pytest.fixture
def june():
    return score_period(inputs(adjustments=ADJUSTMENTS), scheme(), "2020-06")


def test_linear_normalisation_uses_summed_numerators(june):
    """Test that collection 45/50 = 90% earns (90−60)/(100−60) × 40 = 30 points, and two imports
    30/40 + 10/10 count as 40/50 = 80% (20 points), not the mean of the two ratios."""
    w1 = comp(june, 1, "c_coll")
    assert (w1["numerator"], w1["denominator"], w1["value"], w1["score"], w1["points"]) == (
        45,
        50,
        90,
        0.75,
        30,
    )
    w2 = comp(june, 2, "c_coll")
    assert (w2["numerator"], w2["denominator"], w2["value"], w2["points"]) == (40, 50, 80, 20)
    assert w1["formula"] == "45 ÷ 50 = 90% → (90 − 60) ÷ (100 − 60) = 0.75 × 40 = 30"


def test_bands_invert_for_lower_is_better(june):
    """Test that rework 2% earns the full band and 4% the half band (lower is better)."""
    assert comp(june, 1, "c_rework")["points"] == 20
    assert comp(june, 2, "c_rework")["points"] == 10


def test_percentile_within_community(june):
    """Test that accuracy 95% beats 90% in community 10 (1.0 vs 0.0) and a lone worker gets full marks."""
    assert comp(june, 1, "c_acc")["score"] == 1.0
    assert comp(june, 2, "c_acc")["score"] == 0.0
    assert comp(june, 3, "c_acc")["score"] == 1.0


def test_per_100_households_fairness(june):
    """Test that 16 hazards in 200 households (8 per 100) and 40 in 400 (10) are judged per household."""
    assert comp(june, 1, "c_haz")["value"] == 8 and comp(june, 1, "c_haz")["points"] == 16
    assert comp(june, 2, "c_haz")["value"] == 10 and comp(june, 2, "c_haz")["points"] == 20


def test_missing_component_weight_is_shared_out(june):
    """Test that worker 3 has no rework data: its 20 points are spread over the other 80 (× 1.25)."""
    w3 = card(june, 3)
    assert w3["missing_components"] == "c_rework" and w3["coverage"] == 0.8
    assert comp(june, 3, "c_coll")["eff_weight"] == 50
    assert comp(june, 3, "c_rework")["points"] == 0
    assert "shared out" in comp(june, 3, "c_rework")["formula"]


def test_mid_period_joiner_is_prorated_and_marked(june):
    """Test that a worker in post 15 of 30 June days has counts doubled (3 → 6 per 100 hh) and is marked."""
    w3 = card(june, 3)
    assert w3["active_share"] == 0.5 and bool(w3["prorated"])
    assert comp(june, 3, "c_haz")["value"] == 6
    # 12.5 (collection 0.25 × 50) + 25 (accuracy) + 15 (hazards 0.6 × 25)
    assert w3["total"] == 52.5
    assert not bool(card(june, 1)["prorated"])


def test_workers_hired_after_the_period_are_not_scored():
    """Test that a worker hired in July has no June card."""
    workers = WORKERS.assign(
        hire_date=[date(2018, 1, 1), date(2018, 1, 1), date(2020, 7, 2), date(2018, 1, 1)]
    )
    r = score_period(inputs(workers=workers), scheme(), "2020-06")
    assert 3 not in set(r.cards["worker_id"])


def test_worker_without_any_data_gets_no_score(june):
    """Test that a worker with no data is listed but not scored, graded or ranked."""
    w4 = card(june, 4)
    assert pd.isna(w4["total"]) and w4["grade"] == "" and not bool(w4["scored"])


def test_deductions_bonuses_and_totals(june):
    """Test totals: 86 + commendations (3 × 2 = 6, capped at +5) = 91; 50 − 5 falsification = 45."""
    assert card(june, 1)["base"] == 86 and card(june, 1)["bonus"] == 5 and card(june, 1)["total"] == 91
    assert card(june, 2)["deduction"] == -5 and card(june, 2)["total"] == 45


def test_grades_and_ranks(june):
    """Test grades (91 → 优秀, 52.5 and 45 → 不合格) and ranks overall and in the community."""
    assert card(june, 1)["grade"] == "excellent"
    assert card(june, 2)["grade"] == "fail" and card(june, 3)["grade"] == "fail"
    assert list(june.cards.sort_values("rank")["worker_id"][:3]) == [1, 3, 2]
    assert card(june, 2)["community_rank"] == 2 and card(june, 2)["community_n"] == 2


def test_excellent_share_cap_demotes_to_next_band():
    """Test that with 优秀 capped at 20% of 3 scored workers (0 places) a 91 becomes 良好, marked."""
    d = scheme_dict()
    d["grades"][0]["max_share"] = 0.2
    r = score_period(inputs(adjustments=ADJUSTMENTS), Scheme.from_dict(d), "2020-06")
    assert card(r, 1)["grade"] == "good" and bool(card(r, 1)["grade_capped"])


@pytest.mark.parametrize(
    ("total", "grade"),
    [
        (100, "excellent"),
        (90, "excellent"),
        (89.99, "good"),
        (80, "good"),
        (79.99, "pass"),
        (60, "pass"),
        (59.99, "fail"),
        (0, "fail"),
    ],
)
def test_grade_band_boundaries(total, grade):
    """Test each grade band's lower bound is inclusive."""
    d = scheme_dict()
    d["grades"][0]["max_share"] = None
    assert Scheme.from_dict(d).grade_for(total) == grade
    # and through the scorer: one component, linear 60 → 100, so value = 60 + 0.4 × total
    s = single_scheme(grades=d["grades"])
    r = score_period(inputs(values=[v(1, "2020-06", "coll", 60 + 0.4 * total, 100)]), s, "2020-06")
    assert card(r, 1)["grade"] == grade


def test_veto_forces_lowest_grade():
    """Test that a vetoing deduction (一票否决) sets 不合格 whatever the points."""
    d = scheme_dict()
    d["adjustments"][0]["veto"] = True
    adj = pd.DataFrame([{"worker_id": 1, "period": "2020-06", "code": "falsification", "cases": 1}])
    r = score_period(inputs(adjustments=adj), Scheme.from_dict(d), "2020-06")
    assert card(r, 1)["total"] == 81 and card(r, 1)["grade"] == "fail"


ROLL = [
    v(1, "2020-02", "coll", 80, 100),
    v(1, "2020-05", "coll", 90, 100),
    v(1, "2020-08", "coll", 100, 100),
    v(1, "2020-11", "coll", 60, 100),
]


def test_quarter_sums_its_months():
    """Test that a quarter scores Σnum/Σden over its months (Q2: only May's 90% → 75)."""
    r = score_period(inputs(values=ROLL + [v(1, "2020-06", "coll", 0, 0)]), single_scheme(), "2020-Q2")
    assert card(r, 1)["total"] == 75


def test_year_is_mean_of_quarters():
    """Test the year as the mean of quarters: (50 + 75 + 100 + 0) / 4 = 56.25."""
    r = score_period(inputs(values=ROLL), single_scheme(), "2020")
    assert card(r, 1)["total"] == pytest.approx(56.25)
    assert "2020-Q1" in card(r, 1)["parts"]


def test_year_leaves_out_quarters_without_data():
    """Test that with no Q4 data the year is the mean of three quarters (75) and is marked."""
    r = score_period(inputs(values=ROLL[:3]), single_scheme(), "2020")
    assert card(r, 1)["total"] == pytest.approx(75) and bool(card(r, 1)["prorated"])


def test_year_half_40_year_end_60():
    """Test half-year 40% + year-end 60%: H1 (170/200 = 85% → 62.5), H2 (160/200 = 80% → 50) → 55."""
    r = score_period(inputs(values=ROLL), single_scheme(year_rule="half_40_year_end_60"), "2020")
    assert card(r, 1)["total"] == pytest.approx(55)


def test_active_share():
    """Test days-in-post shares: hired before (1), mid-June 16th (0.5), after the end (0)."""
    s = active_share(
        pd.Series([date(2019, 1, 1), date(2020, 6, 16), date(2020, 7, 1), None]),
        date(2020, 6, 1),
        date(2020, 6, 30),
    )
    assert s.tolist() == [1.0, 0.5, 0.0, 1.0]


def test_expected_volume_fairness():
    """Test 'against the grid's expected volume': community rate 60 hazards / 600 households = 0.1 per
    household, so 200 households expect 20 (16 found → 80%) and 400 expect 40 (44 → 110%)."""
    d = scheme_dict()
    d["dimensions"][1]["components"][1].update(
        fairness="expected_volume", normalisation={"method": "linear", "floor": 50, "target": 100}
    )
    vals = [v(1, "2020-06", "haz", 16, None), v(2, "2020-06", "haz", 44, None)]
    r = score_period(inputs(values=vals), Scheme.from_dict(d), "2020-06")
    assert comp(r, 1, "c_haz")["value"] == pytest.approx(80)
    assert comp(r, 2, "c_haz")["value"] == pytest.approx(110)
    assert comp(r, 1, "c_haz")["score"] == pytest.approx(0.6)
    assert "expected 20" in comp(r, 1, "c_haz")["formula"]


def test_default_scheme_follows_domain_recommendation():
    """Test the shipped default: four dimensions 30/30/25/15 and the listed component weights."""
    s = default_scheme()
    assert [(d.name_zh, d.weight) for d in s.dimensions] == [
        ("信息采集", 30),
        ("巡查与隐患", 30),
        ("事件办理", 25),
        ("学习与作风", 15),
    ]
    w = {c.code: c.weight for c in s.components}
    assert (w["collection_rate"], w["accuracy_rate"], w["retention_rate"]) == (12, 12, 6)
    assert (w["patrol_coverage_rate"], w["timely_report_rate"], w["valid_report_rate"]) == (12, 8, 10)
    assert (w["ontime_closure_rate"], w["rework_rate"], w["satisfaction_rate"]) == (10, 5, 10)
    assert {a.code: a.points_per_case for a in s.adjustments}["falsification"] == -5
    assert s.bonus_cap == 5 and s.grades[0].min_score == 90


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["dimensions"][0]["components"][0].update(weight=50), "add up to 100"),
        (
            lambda d: d["dimensions"][0]["components"][0]["normalisation"].update(method="magic"),
            "normalisation",
        ),
        (
            lambda d: d["dimensions"][1]["components"][0]["normalisation"].update(
                method="linear", floor=0, target=10
            ),
            "lower-is-better",
        ),
        (lambda d: d.pop("grades"), "grade bands"),
        (lambda d: d["dimensions"][0]["components"][1].update(code="c_coll"), "unique"),
    ],
)
def test_invalid_schemes_are_refused_with_a_reason(edit, message):
    """Test that a broken scheme edit is refused with a message naming what to fix."""
    d = scheme_dict()
    edit(d)
    directions = dict(zip(REGISTRY["code"], REGISTRY["direction"], strict=True))
    with pytest.raises(SchemeError, match=message):
        Scheme.from_dict(d, registry_directions=directions)


def test_scheme_json_round_trip():
    """Test that a scheme survives to_json/from_json unchanged."""
    s = default_scheme()
    assert Scheme.from_json(s.to_json()) == s


def test_share_cap_with_ties_keeps_the_quota_filled():
    """Test that when ten workers tie at 100 and 优秀 is capped at 20%, exactly two keep it (ties broken
    by data coverage, then id) rather than all ten losing it."""
    workers = pd.DataFrame(
        {
            "worker_id": range(1, 11),
            "community_id": 10,
            "subdistrict_id": 1,
            "party_member": False,
            "hire_date": None,
            "households": 300,
        }
    )
    d = scheme_dict()
    d["grades"][0]["max_share"] = 0.2
    rows = [v(w, "2020-06", "coll", 100, 100) for w in range(1, 11)]
    r = score_period(inputs(values=rows, workers=workers), single_scheme(grades=d["grades"]), "2020-06")
    assert (r.cards["total"] == 100).all()
    assert sorted(r.cards.loc[r.cards["grade"] == "excellent", "worker_id"]) == [1, 2]
    assert r.cards["grade_capped"].sum() == 8


def test_thin_data_cannot_earn_the_top_grade():
    """Test that a 100 resting on 40% of the weight (coverage below the 60% minimum) is 良好, not 优秀,
    and is marked, while a 95 on full data keeps 优秀."""
    d = scheme_dict()
    d["grades"][0]["max_share"] = None
    rows = [
        v(1, "2020-06", "coll", 100, 100),  # collection only: 40 of 100 weight
        v(2, "2020-06", "coll", 98, 100),
        v(2, "2020-06", "acc", 19, 20),
        v(2, "2020-06", "rework", 0, 10),
        v(2, "2020-06", "haz", 30, None),
    ]
    r = score_period(inputs(values=rows), Scheme.from_dict(d), "2020-06")
    assert card(r, 1)["total"] == 100 and card(r, 1)["grade"] == "good" and bool(card(r, 1)["low_coverage"])
    assert card(r, 2)["total"] >= 90 and card(r, 2)["grade"] == "excellent"


def test_year_does_not_report_an_empty_quarter_as_missing_components():
    """Test that with no Q4 data the year's card lists no missing components (Q4 is left out instead)."""
    r = score_period(inputs(values=ROLL[:3]), single_scheme(), "2020")
    assert card(r, 1)["missing_components"] == "" and card(r, 1)["parts_n"] == 3


def test_year_leaves_out_a_thinly_covered_quarter():
    """Test that a quarter whose data covers 40% of the weight (below the 60% minimum) does not drag the
    year: Q2 on full data counts alone."""
    full = [
        v(1, "2020-05", m, *fig)
        for m, fig in (("coll", (100, 100)), ("acc", (20, 20)), ("rework", (0, 10)), ("haz", (20, None)))
    ]
    thin = [v(1, "2020-11", "coll", 60, 100)]  # Q4: collection only, at the floor → 0 points
    r = score_period(inputs(values=full + thin), scheme(), "2020")
    assert card(r, 1)["total"] == pytest.approx(100) and card(r, 1)["parts_n"] == 1
