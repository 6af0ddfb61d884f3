"""Property tests of the scorer over random districts (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluation.scoring.compute import score_period
from evaluation.scoring.scheme import default_scheme
from tests.unit.scoring_fixtures import REGISTRY, WORKERS, inputs, scheme

METRICS = ["coll", "rework", "acc", "haz"]


@st.composite
def districts(draw):
    """Random June figures for the four fixture workers; each metric present or absent per worker."""
    rows = []
    for w in (1, 2, 3, 4):
        for m in METRICS:
            if not draw(st.booleans()):
                continue
            if m == "haz":
                rows.append(
                    {
                        "worker_id": w,
                        "period": "2020-06",
                        "metric": m,
                        "numerator": float(draw(st.integers(0, 60))),
                        "denominator": np.nan,
                    }
                )
            else:
                den = draw(st.integers(1, 200))
                rows.append(
                    {
                        "worker_id": w,
                        "period": "2020-06",
                        "metric": m,
                        "numerator": float(draw(st.integers(0, den))),
                        "denominator": float(den),
                    }
                )
    return rows


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(rows=districts(), data=st.data())
def test_improving_a_metric_never_lowers_the_total(rows, data):
    """Test that moving one worker's metric in its good direction never lowers that worker's total."""
    if not rows:
        return
    # choose the metric first, so each kind of rule (bands, linear, percentile, count) is exercised
    metric = data.draw(st.sampled_from(sorted({r["metric"] for r in rows})))
    i = data.draw(st.sampled_from([k for k, r in enumerate(rows) if r["metric"] == metric]))
    row = rows[i]
    better = [dict(r) for r in rows]
    if row["metric"] == "haz":
        better[i]["numerator"] = row["numerator"] + data.draw(st.integers(1, 30))
    elif row["metric"] == "rework":  # lower is better
        better[i]["numerator"] = row["numerator"] - data.draw(st.integers(0, int(row["numerator"])))
    else:
        better[i]["numerator"] = row["numerator"] + data.draw(
            st.integers(0, int(row["denominator"] - row["numerator"]))
        )
    s = scheme()
    before = score_period(inputs(values=rows), s, "2020-06").cards.set_index("worker_id")["total"]
    after = score_period(inputs(values=better), s, "2020-06").cards.set_index("worker_id")["total"]
    w = row["worker_id"]
    assert after[w] >= before[w] - 1e-9


@SETTINGS
@given(rows=districts())
def test_scores_stay_in_range_and_weights_are_respected(rows):
    """Test totals in [0, 100], component scores in [0, 1], points within their (shared-out) weight,
    weights of present components adding to 100 in the scheme's proportions, base = Σ points."""
    r = score_period(inputs(values=rows), scheme(), "2020-06")
    cards, comps = r.cards, r.components
    scored = cards[cards["scored"]]
    assert ((scored["total"] >= 0) & (scored["total"] <= 100)).all()
    present = comps[~comps["missing"]]
    assert ((present["score"] >= 0) & (present["score"] <= 1)).all()
    assert (present["points"] <= present["eff_weight"] + 1e-9).all()
    assert (comps.loc[comps["missing"], "points"] == 0).all()
    for w, g in present.groupby("worker_id"):
        assert abs(g["eff_weight"].sum() - 100) < 1e-6
        ratio = g["eff_weight"] / g["weight"]
        assert np.allclose(ratio, ratio.iloc[0])  # shared out pro rata
        assert abs(cards.set_index("worker_id").at[w, "base"] - g["points"].sum()) < 1e-9
    # no data at all → not scored
    no_data = set(WORKERS["worker_id"]) - set(present["worker_id"])
    assert not cards[cards["worker_id"].isin(no_data)]["scored"].any()


@SETTINGS
@given(n=st.integers(3, 40), seed=st.integers(0, 10_000))
def test_excellent_share_never_exceeds_the_cap(n, seed):
    """Test that with the default scheme's 20% cap, at most ⌊0.2 n⌋ workers are graded 优秀."""
    rng = np.random.default_rng(seed)
    workers = pd.DataFrame(
        {
            "worker_id": range(1, n + 1),
            "community_id": rng.integers(1, 4, n),
            "subdistrict_id": 1,
            "party_member": False,
            "hire_date": None,
            "households": 300,
        }
    )
    s = default_scheme()
    reg = pd.DataFrame(
        [
            {
                "code": c.metric,
                "unit": "%",
                "direction": "lower" if c.metric == "rework_rate" else "higher",
                "kind": "ratio",
                "name_zh": c.name_zh,
                "name_en": c.name_en,
            }
            for c in s.components
        ]
    )
    reg.loc[reg["code"].isin(["training_quiz_avg", "training_certificates"]), "unit"] = "分"
    rows = [
        {
            "worker_id": w,
            "period": "2020-06",
            "metric": c.metric,
            "numerator": float(rng.integers(95, 101)),
            "denominator": 100.0,
        }
        for w in range(1, n + 1)
        for c in s.components
        if c.metric != "rework_rate"
    ]
    cards = score_period(
        type(inputs())(workers=workers, values=pd.DataFrame(rows), registry=reg), s, "2020-06"
    ).cards
    assert (cards["grade"] == "excellent").sum() <= int(0.2 * n)


def test_registry_fixture_directions():
    """Test the fixture registry has one lower-is-better metric (so inversion is exercised)."""
    assert REGISTRY.set_index("code").at["rework", "direction"] == "lower"


@pytest.mark.parametrize("metric", METRICS)
def test_each_rule_is_monotone_in_the_good_direction(metric):
    """Test a sweep of one worker's figure from worst to best never lowers their total (every rule,
    the lower-is-better inversion included)."""
    totals = []
    for k in range(0, 101, 5):
        if metric == "haz":
            row = {
                "worker_id": 1,
                "period": "2020-06",
                "metric": "haz",
                "numerator": float(k // 5),
                "denominator": np.nan,
            }
        else:
            good = k if metric != "rework" else 100 - k
            row = {
                "worker_id": 1,
                "period": "2020-06",
                "metric": metric,
                "numerator": float(good),
                "denominator": 100.0,
            }
        other = {
            "worker_id": 2,
            "period": "2020-06",
            "metric": metric,
            "numerator": 50.0,
            "denominator": np.nan if metric == "haz" else 100.0,
        }
        cards = score_period(inputs(values=[row, other]), scheme(), "2020-06").cards.set_index("worker_id")
        totals.append(cards.at[1, "total"])
    assert all(b >= a - 1e-9 for a, b in zip(totals, totals[1:], strict=False)), totals
    assert totals[-1] > totals[0]
