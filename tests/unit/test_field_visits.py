"""巡查覆盖率 from visit records and the visit plan (evaluation.field.visits), against hand-computed values.

Plan: 56 days per house; graded rental rooms at their grade's interval from the grading day. make_org's
community A grids hold 300 households, community B's 400.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlmodel import select

from core.models import Role, Worker
from evaluation.field.api import metric_values
from evaluation.field.models import FigureSource, MetricValue, RentalBuilding, VisitDay
from evaluation.field.registry import ensure_reference_data
from evaluation.field.summary import recompute_event_metrics
from evaluation.field.visits import house_visit_interval_days, visit_figures
from tests.factories import make_org, viewer

NOW = datetime(2020, 7, 15, 0, 0)


@pytest.fixture
def world(session):
    org = make_org(session)
    a0, a1, a2 = org.workers_a
    # A second worker in grid A0: the grid's plan is shared.
    extra = Worker(
        employee_no="A99",
        name="网格员A99",
        grid_id=a0.grid_id,
        community_id=a0.community_id,
        subdistrict_id=a0.subdistrict_id,
        hire_date=date(2019, 1, 1),
    )
    # A grid without households has no plan, so its worker gets no figure (not 0 %).
    org.grids_b[2].households = 0
    # A red building (10 rooms, every 3 days) in grid A1, graded halfway through June.
    session.add_all(
        [
            extra,
            org.grids_b[2],
            RentalBuilding(
                code="B1",
                address="下沙村一巷1号",
                grid_id=a1.grid_id,
                community_id=a1.community_id,
                units=10,
                grade="red",
                score=50,
                graded_at=datetime(2020, 6, 16),
            ),
        ]
    )
    session.add_all(
        [
            VisitDay(worker_id=a0.id, day=date(2020, 6, 2), visits=60),
            VisitDay(worker_id=a0.id, day=date(2020, 6, 3), visits=40),
            VisitDay(worker_id=a1.id, day=date(2020, 6, 10), visits=250),
            VisitDay(worker_id=a1.id, day=date(2020, 7, 1), visits=30),
        ]
    )
    session.commit()
    return org, extra


def _by_worker(frame, period):
    return frame[frame["period"] == period].set_index("worker_id")[["numerator", "denominator"]]


def test_visits_against_the_plan_hand_computed(session, world):
    """Test numerators and denominators per worker for June and the first half of July."""
    org, extra = world
    a0, a1, a2 = org.workers_a
    b0, _b1, b2 = org.workers_b
    assert house_visit_interval_days() == 56
    figures = visit_figures(session, now=NOW)
    assert set(figures["metric"]) == {"patrol_coverage_rate"}
    june = _by_worker(figures, "2020-06")
    # Grid A0: 300 × 30 / 56 = 160.7 due, shared by two workers → 80 each; A00's 100 visits count as 80.
    assert june.loc[a0.id].tolist() == [80, 80]
    assert june.loc[extra.id].tolist() == [0, 80]
    # Grid A1: 160.7 + 10 rooms × 15 graded days × (1/3 − 1/56) = 160.7 + 47.3 → 208; 250 visits capped.
    assert june.loc[a1.id].tolist() == [208, 208]
    # A worker with a plan and no visits: 0 of 161, a figure of 0 %, not a missing one.
    assert june.loc[a2.id].tolist() == [0, 161]
    assert june.loc[b0.id].tolist() == [0, 214]  # 400 × 30 / 56
    assert b2.id not in june.index  # no households, no plan, no figure
    july = _by_worker(figures, "2020-07")
    # 14 days of July up to NOW: 300 × 14 / 56 = 75, plus the red rooms 10 × 14 × (1/3 − 1/56) = 44.2.
    assert july.loc[a1.id].tolist() == [30, 119]
    assert july.loc[a2.id].tolist() == [0, 75]
    assert set(figures["period"]) == {"2020-06", "2020-07"}  # nothing before the first logged visit


def test_periods_limit_the_months(session, world):
    """Test that asking for July alone returns July's rows only, with the same values."""
    org, _extra = world
    july = visit_figures(session, now=NOW, periods=("2020-07", "2020-07"))
    assert set(july["period"]) == {"2020-07"}
    assert _by_worker(july, "2020-07").loc[org.workers_a[1].id].tolist() == [30, 119]


def test_recompute_stores_the_derived_figure_for_scorecards(session, world):
    """Test that the recompute writes 巡查覆盖率 as a derived figure and that it aggregates as Σnum/Σden."""
    org, _extra = world
    ensure_reference_data(session)
    session.add(
        MetricValue(
            worker_id=org.workers_a[0].id,
            period="2020-06",
            metric="patrol_coverage_rate",
            numerator=1,
            denominator=1,
            source=FigureSource.IMPORT.value,
        )
    )
    session.commit()
    recompute_event_metrics(session, now=NOW)
    session.commit()
    rows = session.exec(select(MetricValue).where(MetricValue.metric == "patrol_coverage_rate")).all()
    assert {r.source for r in rows} == {FigureSource.EVENTS.value}  # the typed-in ratio is replaced
    values = metric_values(
        session,
        viewer(Role.MANAGER),
        start_period="2020-06",
        end_period="2020-06",
        metrics=["patrol_coverage_rate"],
    )
    a1 = values[values["worker_id"] == org.workers_a[1].id]
    assert a1[["numerator", "denominator"]].iloc[0].tolist() == [208, 208]
