"""Served scorecards (issue #21): what the pages read from the served tables equals what the scorer computes;
a write to the current month updates it; the job is idempotent; frozen months stay as frozen."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest
from sqlmodel import func, select

from core.models import Role
from evaluation.field.models import MetricValue
from evaluation.scoring.adjustments import record_adjustment
from evaluation.scoring.models_served import ServedCard, ServedComparison, ServedScorecard
from evaluation.scoring.served import (
    serve_current,
    served_party,
    served_trend,
    served_view,
    served_worker_card,
    write_served,
)
from evaluation.scoring.service import compare_party, monthly_trend, scorecards
from evaluation.scoring.snapshots import SYSTEM, freeze_period
from tests.unit.test_scoring_db import FIGURES, org  # noqa: F401 - the fixture: six workers, June 2020

DISTRICT = None  # set per test: viewer objects need the fixture's org


def _district():
    from tests.factories import viewer

    return viewer(Role.MANAGER)


def _same(served: pd.DataFrame, computed: pd.DataFrame, keys: list[str]) -> None:
    """Equal frames, row order and dtypes aside (JSON stores no dates; the pages read values)."""
    assert set(served.columns) == set(computed.columns)
    cols = list(computed.columns)
    a = served[cols].sort_values(keys).reset_index(drop=True)
    b = computed[cols].sort_values(keys).reset_index(drop=True)
    for c in cols:
        if c == "hire_date":
            assert a[c].astype(str).tolist() == b[c].astype(str).tolist()
            continue
        pd.testing.assert_series_equal(a[c], b[c], check_dtype=False, check_names=False, check_exact=False)


def test_served_scorecard_equals_the_computed_one(session, org):  # noqa: F811
    """Test the district manager's, a community manager's and a worker's served cards and components are the
    computed ones, and the party comparison and the trend too."""
    from tests.factories import viewer

    worker = org.workers_a[1]
    for who in (_district(), viewer(Role.MANAGER, org.comm_b), viewer(Role.WORKER, worker=worker)):
        computed = scorecards(session, who, "2020-06")
        served = served_view(session, who, "2020-06")
        assert len(served.cards) == len(computed.cards) > 0
        _same(served.cards, computed.cards, ["worker_id"])
        _same(served.components, computed.components, ["worker_id", "component"])
        assert served.result.scheme == computed.result.scheme and served.scheme_id == computed.scheme_id
    mine = served_worker_card(session, viewer(Role.WORKER, worker=worker), "2020-06")
    assert mine.cards["worker_id"].tolist() == [worker.id]
    for who in (_district(), viewer(Role.MANAGER, org.comm_b)):
        _same(served_party(session, who, "2020-06"), compare_party(session, who, "2020-06"), ["metric"])
    trend = served_trend(session, _district(), first="2020-05", last="2020-06")
    computed_trend = monthly_trend(session, _district(), first="2020-05", last="2020-06")
    cols = ["period", "worker_id", "community_id", "subdistrict_id", "total", "grade", "scored"]
    _same(
        trend[cols + ["subdistrict_zh"]], computed_trend[cols + ["subdistrict_zh"]], ["period", "worker_id"]
    )
    # one served row per period and scheme: a second read computes nothing more
    n = session.exec(select(func.count()).select_from(ServedScorecard)).one()
    served_view(session, _district(), "2020-06")
    assert session.exec(select(func.count()).select_from(ServedScorecard)).one() == n


def test_a_write_to_the_current_month_updates_the_served_card(session, org):  # noqa: F811
    """Test recording a deduction for June changes the June card a worker reads at once, and drops the served
    quarter, half and year containing June (filled again on the next read, with the deduction)."""
    worker = org.workers_a[0]
    before = served_view(session, _district(), "2020-06")
    quarter = served_view(session, _district(), "2020-Q2")
    old = before.cards.set_index("worker_id").at[worker.id, "total"]
    old_q = quarter.cards.set_index("worker_id").at[worker.id, "total"]
    from evaluation.scoring.store import active_scheme

    scheme, _ = active_scheme(session)
    deduction = next(a for a in scheme.adjustments if a.points_per_case < 0 and not a.veto)
    record_adjustment(
        session, _district(), worker_id=worker.id, period="2020-06", code=deduction.code, cases=1, note="test"
    )
    after = served_view(session, _district(), "2020-06").cards.set_index("worker_id")
    assert after.at[worker.id, "total"] < old
    assert after.at[worker.id, "total"] == pytest.approx(
        scorecards(session, _district(), "2020-06").cards.set_index("worker_id").at[worker.id, "total"]
    )
    periods = set(session.exec(select(ServedScorecard.period)).all())
    assert "2020-Q2" not in periods and "2020-06" in periods
    assert (
        served_view(session, _district(), "2020-Q2").cards.set_index("worker_id").at[worker.id, "total"]
        < old_q
    )


def test_serve_job_is_idempotent(session, org, engine):  # noqa: F811
    """Test the job run twice leaves one served row per period (replaced, not added) with the same figures,
    and the time of the figures moves to the second run."""
    session.commit()
    at = datetime(2020, 6, 20, 10, 0)
    assert serve_current(now=at, engine=engine)["refreshed"] == 5  # May, June, Q2, H1, 2020
    first = served_view(session, _district(), "2020-06")
    counts = (
        session.exec(select(func.count()).select_from(ServedScorecard)).one(),
        session.exec(select(func.count()).select_from(ServedCard)).one(),
        session.exec(select(func.count()).select_from(ServedComparison)).one(),
    )
    session.commit()
    later = datetime(2020, 6, 20, 10, 15)
    serve_current(now=later, engine=engine)
    session.expire_all()
    again = served_view(session, _district(), "2020-06")
    assert (
        session.exec(select(func.count()).select_from(ServedScorecard)).one(),
        session.exec(select(func.count()).select_from(ServedCard)).one(),
        session.exec(select(func.count()).select_from(ServedComparison)).one(),
    ) == counts
    _same(again.cards, first.cards, ["worker_id"])
    assert first.computed_at == at and again.computed_at == later


def test_a_frozen_month_is_served_as_frozen_and_the_job_leaves_it(session, org, engine):  # noqa: F811
    """Test freezing June serves June's frozen figures; a later June figure (late data) does not change what is
    served once June is closed and frozen: the job refreshes only open months."""
    snap, _ = freeze_period(session, "2020-06", viewer=SYSTEM, now=datetime(2020, 7, 2))
    session.commit()
    served = session.exec(select(ServedScorecard).where(ServedScorecard.period == "2020-06")).one()
    assert served.source == "freeze" and served.computed_at == datetime(2020, 7, 2)
    frozen_totals = served_view(session, _district(), "2020-06").cards.set_index("worker_id")["total"]
    w = org.workers_b[2]
    row = session.exec(
        select(MetricValue).where(MetricValue.worker_id == w.id, MetricValue.metric == "collection_rate")
    ).one()
    row.numerator = 100
    session.add(row)
    session.commit()
    serve_current(now=datetime(2020, 7, 3), engine=engine)  # last month = June: frozen, left alone
    session.expire_all()
    now_totals = served_view(session, _district(), "2020-06").cards.set_index("worker_id")["total"]
    pd.testing.assert_series_equal(now_totals.sort_index(), frozen_totals.sort_index())


def test_write_served_replaces_rows_in_place(session, org):  # noqa: F811
    """Test writing a period twice keeps one header and one card per worker (the unique keys hold)."""
    write_served(session, "2020-06", source="job")
    write_served(session, "2020-06", source="job")
    assert session.exec(select(func.count()).select_from(ServedScorecard)).one() == 1
    assert session.exec(select(func.count()).select_from(ServedCard)).one() == len(FIGURES)
