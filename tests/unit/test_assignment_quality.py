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
