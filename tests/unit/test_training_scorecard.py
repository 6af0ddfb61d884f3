"""Training plans into the scorecard: the plan-completion metric and the bottom group (末位培训)."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from core.scope import SYSTEM
from courses.training import plans
from courses.training.models import GroupMember
from evaluation.scoring.inputs import TRAINING_REGISTRY, plan_values
from evaluation.scoring.remedial import bottom_of_scorecard, enroll_bottom_group, previous_quarter
from tests.unit._courses_world import make_world


def test_plan_completion_is_a_ratio_metric_of_the_registry():
    """Test that the scorer's registry offers training_plan_completion (%, higher is better) and that its
    monthly rows sum to credited ÷ required, skipping months with no duty."""
    row = TRAINING_REGISTRY.set_index("code").loc["training_plan_completion"]
    assert (row["kind"], row["unit"], row["direction"]) == ("ratio", "%", "higher")
    hours = pd.DataFrame(
        {
            "worker_id": [1, 1, 1],
            "period": ["2020-01", "2020-02", "2020-03"],
            "credited_hours": [0.0, 6.0, 2.0],
            "required_hours": [3.4, 3.2, 0.0],
        }
    )
    v = plan_values(hours)
    assert v["period"].tolist() == ["2020-01", "2020-02"]
    assert v["numerator"].sum() / v["denominator"].sum() == 6.0 / 6.6


def test_the_bottom_share_takes_the_lowest_scored_cards():
    """Test that the bottom 10 % of 25 scored cards are the 2 lowest totals, and unscored cards never count."""
    cards = pd.DataFrame({"worker_id": range(1, 28), "total": [float(x) for x in range(25)] + [None, None]})
    bottom = bottom_of_scorecard(cards, 10)
    assert bottom["worker_id"].tolist() == [1, 2] and bottom["rank_pct"].tolist() == [4.0, 8.0]
    assert (
        previous_quarter(datetime(2020, 7, 5)) == "2020-Q2"
        and previous_quarter(datetime(2021, 2, 1)) == "2020-Q4"
    )


def test_remedial_enrolment_is_idempotent(session, monkeypatch):
    """Test that the bottom of a scorecard is placed in the group and enrolled in the remedial course once,
    however often it runs."""
    import evaluation.scoring.service as service

    w = make_world(session)
    plans.save_plan(
        session,
        w.manager,
        year=2020,
        unit_id=w.org.district.id,
        requirements=[{"worker_group": "bottom", "hours": 12, "bottom_pct": 40}],
        courses=[{"course_code": "house_coding", "worker_group": "bottom", "due_date": date(2020, 9, 30)}],
    )
    ids = [x.id for x in w.org.workers_a + w.org.workers_b]
    cards = pd.DataFrame({"worker_id": ids, "total": [90.0, 80.0, 70.0, 60.0, 50.0, 40.0]})

    class Result:
        pass

    r = Result()
    r.cards = cards  # type: ignore[attr-defined]
    monkeypatch.setattr(service, "district_scorecards", lambda *a, **k: (r, None, 1))
    first = enroll_bottom_group(session, SYSTEM, period="2020-06", now=datetime(2020, 7, 5, 7))
    again = enroll_bottom_group(session, SYSTEM, period="2020-06", now=datetime(2020, 7, 5, 7))
    assert (first["placed"], first["enrolled"], again["placed"], again["enrolled"]) == (2, 2, 0, 0)
    placed = session.query(GroupMember.worker_id).all()
    assert sorted(p[0] for p in placed) == sorted(ids[-2:])
