"""Metric formulas against hand-computed values, including zero denominators, and the party-member
comparison on the demo."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func
from sqlmodel import select

from core.models import Role
from evaluation.field.api import metric_registry, metric_values
from evaluation.field.models import Event, MetricValue
from evaluation.field.registry import ensure_reference_data
from evaluation.field.summary import aggregate, ratio, recompute_event_metrics
from tests.factories import make_org, viewer

T = datetime(2020, 6, 1, 8, 0)
NOW = datetime(2020, 8, 1)


def test_ratio_is_sum_over_sum_and_none_without_denominator():
    """Test Σnum/Σden (not a mean of ratios) and that a zero denominator gives no figure."""
    values = pd.DataFrame(
        {
            "worker_id": [1, 1, 2, 3],
            "period": ["2020-06", "2020-07", "2020-06", "2020-06"],
            "metric": ["collection_rate"] * 3 + ["hazards_reported"],
            "numerator": [9.0, 1.0, 0.0, 5.0],
            "denominator": [10.0, 10.0, 0.0, np.nan],
        }
    )
    out = aggregate(values, ["worker_id", "metric"]).set_index(["worker_id", "metric"])["value"]
    assert out[(1, "collection_rate")] == pytest.approx(50.0)  # 10/20, not mean(90%, 10%)
    assert np.isnan(out[(2, "collection_rate")])  # 0/0: no figure, not 0%
    assert out[(3, "hazards_reported")] == 5.0  # a count sums
    overall = aggregate(values[values["metric"] == "collection_rate"], ["metric"])
    assert overall["value"].iloc[0] == pytest.approx(10 / 20 * 100)
    assert ratio(3, 0) is None and ratio(3, None) is None and ratio(3, 4) == 75.0


def _ev(session, org, n, **kw):
    base = dict(
        event_no=f"E{n}",
        item_code="F01",
        category_code="fire",
        grid_id=org.grids_a[0].id,
        community_id=org.comm_a.id,
        priority="normal",
        state="evaluated",
        reporter_id=org.workers_a[0].id,
        assignee_id=org.workers_a[1].id,
    )
    base.update(kw)
    session.add(Event(**base))


@pytest.mark.parametrize("narrow_above", [200_000, 0])  # 0: SQLite's narrow temporary copy path
def test_event_metrics_hand_computed(session, monkeypatch, narrow_above):
    """Test every event-derived metric on six events whose figures are worked out by hand."""
    from evaluation.field import summary

    monkeypatch.setattr(summary, "NARROW_ABOVE", narrow_above)
    org = make_org(session)
    ensure_reference_data(session)
    h = timedelta(hours=1)
    # normal: report limit 24 h. E1 on time, E2 late (30 h), E3 voided, E4 no discovery time, E5 pending.
    _ev(
        session,
        org,
        1,
        discovered_at=T,
        reported_at=T + h,
        accepted_at=T + 1.5 * h,
        due_at=T + 50 * h,
        feedback_at=T + 40 * h,
        closed_at=T + 45 * h,
        evaluated_at=T + 46 * h,
        satisfaction="satisfied",
    )
    _ev(
        session,
        org,
        2,
        discovered_at=T,
        reported_at=T + 30 * h,
        accepted_at=T + 33 * h,
        due_at=T + 60 * h,
        feedback_at=T + 70 * h,
        closed_at=T + 72 * h,
        evaluated_at=T + 73 * h,
        satisfaction="unsatisfied",
        rework_count=2,
    )
    _ev(
        session,
        org,
        3,
        discovered_at=T,
        reported_at=T + 2 * h,
        voided_at=T + 3 * h,
        state="voided",
        assignee_id=None,
    )
    _ev(session, org, 4, reported_at=T + 5 * h, accepted_at=T + 6 * h, due_at=T + 20 * h, state="handling")
    _ev(session, org, 5, discovered_at=T, reported_at=T + 3 * h, state="reported", assignee_id=None)
    # Postponed (缓办): left out of 应办结.
    _ev(
        session,
        org,
        6,
        reported_at=T + 3 * h,
        accepted_at=T + 4 * h,
        due_at=T + 10 * h,
        postponed=True,
        state="handling",
    )
    session.flush()
    recompute_event_metrics(session, now=NOW)
    vals = metric_values(session, viewer(Role.MANAGER), start_period="2020-06", end_period="2020-06")
    got = vals.set_index(["worker_id", "metric"])[["numerator", "denominator"]]
    rep, ass = org.workers_a[0].id, org.workers_a[1].id
    assert got.loc[(rep, "hazards_reported")].tolist()[0] == 6
    assert got.loc[(rep, "timely_report_rate")].tolist() == [
        3,
        4,
    ]  # E1, E3, E5 within 24 h of 4 with discovery
    assert got.loc[(rep, "valid_report_rate")].tolist() == [4, 5]  # E1, E2, E4, E6 of 5 decided (E5 pending)
    assert got.loc[(rep, "ontime_verify_rate")].tolist() == [4, 5]  # E2 took 3 h (> 2 h)
    assert got.loc[(ass, "ontime_closure_rate")].tolist() == [1, 3]  # E1 on time; E2 late; E4 overdue open
    assert got.loc[(ass, "closure_rate")].tolist() == [2, 3]
    assert got.loc[(ass, "rework_rate")].tolist() == [2, 4]  # 2 reworks over 4 feedbacks (1 + 3)
    assert got.loc[(ass, "satisfaction_rate")].tolist() == [1, 2]
    # Idempotent: recomputing gives the same rows, not twice as many.
    n = session.exec(select(func.count()).select_from(MetricValue)).one()
    recompute_event_metrics(session, now=NOW)
    assert session.exec(select(func.count()).select_from(MetricValue)).one() == n


def test_scope_limits_metric_values(session):
    """Test a community manager sees only their workers' figures and a worker only their own."""
    org = make_org(session)
    ensure_reference_data(session)
    for w in org.workers_a + org.workers_b:
        session.add(
            MetricValue(
                worker_id=w.id,
                period="2020-06",
                metric="collection_rate",
                numerator=1,
                denominator=2,
                source="import",
            )
        )
    session.flush()
    a = metric_values(session, viewer(Role.MANAGER, org.comm_a), start_period="2020-01", end_period="2020-12")
    assert set(a["worker_id"]) == {w.id for w in org.workers_a}
    me = metric_values(
        session, viewer(Role.WORKER, worker=org.workers_b[0]), start_period="2020-06", end_period="2020-06"
    )
    assert me["worker_id"].tolist() == [org.workers_b[0].id]
    reg = metric_registry(session)
    assert {"code", "name_zh", "name_en", "unit", "direction", "kind", "aggregation"} <= set(reg.columns)
    assert reg.set_index("code").loc["rework_rate", "direction"] == "lower"
