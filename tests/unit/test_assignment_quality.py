"""Dispatch quality figures: 首派准确率, average time to sign, overdue rate (hand-computed)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from evaluation.assignment.quality import quality_figures

NOW = datetime(2020, 6, 10, 12, 0)


def events() -> pd.DataFrame:
    d = datetime
    rows = [
        # id, item, community, dispatched, signed, due, closed, feedback, returns
        (
            1,
            "F01",
            10,
            d(2020, 6, 1, 8),
            d(2020, 6, 1, 9),
            d(2020, 6, 2, 8),
            d(2020, 6, 1, 20),
            d(2020, 6, 1, 18),
            0,
        ),
        (
            2,
            "F01",
            10,
            d(2020, 6, 1, 8),
            d(2020, 6, 1, 11),
            d(2020, 6, 2, 8),
            None,
            d(2020, 6, 3, 8),
            1,
        ),  # late feedback
        (3, "C03", 20, d(2020, 6, 5, 8), None, d(2020, 6, 8, 8), None, None, 0),  # open, past due at NOW
        (4, "C03", 20, d(2020, 6, 9, 8), d(2020, 6, 9, 10), d(2020, 6, 12, 8), None, None, 0),  # not due yet
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "id",
            "item_code",
            "community_id",
            "dispatched_at",
            "signed_at",
            "due_at",
            "closed_at",
            "feedback_at",
            "return_count",
        ],
    )
    return frame.assign(category_code="x", state="handling")


def test_overall_figures():
    """Test 首派准确率 3/4, mean sign time (1 + 3 + 2) / 3 h, overdue 2 of the 3 whose deadline passed."""
    q = quality_figures(events(), None, now=NOW).iloc[0]
    assert q["dispatched"] == 4 and q["returned"] == 1
    assert q["first_dispatch_accuracy"] == pytest.approx(0.75)
    assert q["avg_sign_hours"] == pytest.approx(2.0)
    assert q["due"] == 3 and q["overdue"] == 2 and q["overdue_rate"] == pytest.approx(2 / 3)


def test_figures_by_item_and_community():
    """Test the grouping: F01 half returned and half late; C03 one overdue of one due."""
    by_item = quality_figures(events(), "item_code", now=NOW).set_index("item_code")
    assert by_item.loc["F01", "first_dispatch_accuracy"] == pytest.approx(0.5)
    assert by_item.loc["F01", "overdue_rate"] == pytest.approx(0.5)
    assert by_item.loc["C03", "due"] == 1 and by_item.loc["C03", "overdue_rate"] == 1.0
    by_comm = quality_figures(events(), "community_id", now=NOW).set_index("community_id")
    assert by_comm.loc[20, "avg_sign_hours"] == pytest.approx(2.0)
    assert list(by_comm.index) == [10, 20]


def test_no_events_gives_an_empty_table():
    """Test that an empty period gives no rows rather than an error."""
    assert quality_figures(events().iloc[0:0], "item_code", now=NOW).empty


def test_sql_aggregate_equals_the_pandas_figures(session):
    """Test that dispatch_quality (one GROUP BY in the database, what the page reads) gives the pandas
    figures of the same events, overall and by item and community, and leaves out events dispatched
    outside the period or the viewer's scope (issue #21)."""
    from core.models import Role
    from evaluation.assignment.quality import dispatch_quality, dispatched_events
    from evaluation.field.models import Event
    from evaluation.field.registry import ensure_reference_data
    from tests.factories import make_org, viewer

    org = make_org(session)
    ensure_reference_data(session)
    comm = {10: org.comm_a, 20: org.comm_b}
    grid = {10: org.grids_a[0], 20: org.grids_b[0]}
    frame = events()
    rows = [*frame.itertuples(index=False)]
    old = rows[0]._replace(id=5, dispatched_at=datetime(2019, 1, 1, 8))  # before the period
    for r in [*rows, old]:
        session.add(
            Event(
                event_no=f"E{r.id}",
                item_code=r.item_code,
                category_code="fire",
                grid_id=grid[r.community_id].id,
                community_id=comm[r.community_id].id,
                priority="normal",
                state="handling",
                reported_at=r.dispatched_at,
                dispatched_at=r.dispatched_at,
                signed_at=None if pd.isna(r.signed_at) else r.signed_at,
                due_at=r.due_at,
                closed_at=None if pd.isna(r.closed_at) else r.closed_at,
                feedback_at=None if pd.isna(r.feedback_at) else r.feedback_at,
                return_count=r.return_count,
            )
        )
    session.flush()
    start, end = datetime(2020, 6, 1), datetime(2020, 7, 1)
    district = viewer(Role.MANAGER)
    evs = dispatched_events(session, district, start=start, end=end)
    for by in (None, "item_code", "community_id"):
        got = dispatch_quality(session, district, start=start, end=end, by=by, now=NOW)
        want = quality_figures(evs, by, now=NOW)
        pd.testing.assert_frame_equal(
            got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False, check_exact=False
        )
    q = dispatch_quality(session, district, start=start, end=end, now=NOW).iloc[0]
    assert q["dispatched"] == 4 and q["overdue"] == 2 and q["avg_sign_hours"] == pytest.approx(2.0)
    only_b = dispatch_quality(session, viewer(Role.MANAGER, org.comm_b), start=start, end=end, now=NOW)
    assert only_b.iloc[0]["dispatched"] == 2
    assert dispatch_quality(session, district, start=end, end=datetime(2020, 8, 1), now=NOW).empty
