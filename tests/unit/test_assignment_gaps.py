"""Skill gaps: items lacking qualified candidates and the workers nearest to qualifying."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from evaluation.assignment.gaps import item_gaps, nearest_to_qualifying, qualification_pairs
from evaluation.assignment.pairs import score_pairs
from tests.unit.test_assignment_batch import tasks_frame
from tests.unit.test_assignment_rank import (
    EMPTY_LOAD,
    EMPTY_PERF,
    EXPIRED,
    NOW,
    grids_frame,
    quals_frame,
    workers_frame,
)


def test_items_without_any_qualified_worker_in_the_community_come_first():
    """Test that fire tasks in community 2 (nobody certified) count as gaps, community 1's do not, and
    items needing no qualification are not listed."""
    tasks = tasks_frame(
        [
            ("a", "F01", 11, "urgent"),
            ("b", "F01", 21, "normal"),
            ("c", "F04", 21, "normal"),
            ("d", "C03", 21, "normal"),
        ]
    )
    quals = quals_frame({9: (False, pd.NaT, 70.0)})
    pairs = score_pairs(
        tasks, workers_frame(), quals, EMPTY_PERF, EMPTY_LOAD, set(), "routine", now=NOW, grids=grids_frame()
    )
    gaps = item_gaps(pairs).set_index("item_code")
    assert set(gaps.index) == {"F01", "F04"}
    assert gaps.loc["F01", ["tasks", "tasks_without_qualified"]].tolist() == [2, 1]
    assert gaps.loc["F04", "gap_share"] == 1.0
    assert gaps.loc["F01", "qualification_course"] == "fire_safety"
    assert gaps.loc["F01", "qualified_workers"] == 5 and gaps.loc["F01", "workers"] == 6


def test_qualification_pairs_agree_with_the_ranking_on_who_is_qualified():
    """Test that the skill-gap pairs (qualification only, tasks needing one only) hold the pairs and the
    qualification the full ranking gives those tasks — valid, expired, passed without a certificate, failed,
    no record, and an inactive worker — and so the same gaps; with no qualifications read, nobody holds one."""
    tasks = tasks_frame(
        [
            ("a", "F01", 11, "urgent"),
            ("b", "F01", 21, "normal"),
            ("c", "F04", 13, "normal"),
            ("d", "C03", 21, "normal"),
        ]
    )
    quals = quals_frame(
        {2: (True, EXPIRED, 88.0), 3: (True, pd.NaT, 85.0), 4: (False, pd.NaT, 60.0), 5: None, 9: None}
    )
    workers = workers_frame(w1="left")
    full = score_pairs(
        tasks, workers, quals, EMPTY_PERF, EMPTY_LOAD, set(), "routine", now=NOW, grids=grids_frame()
    )
    lean = qualification_pairs(tasks, workers, quals, now=NOW)
    cols = ["task_id", "worker_id", "community_id", "qualified"]
    key = lambda f: f[cols].sort_values(cols[:2]).reset_index(drop=True)  # noqa: E731
    assert key(lean).equals(key(full[full["qualification_course"].notna()]))
    assert set(lean["task_id"]) == {"a", "b", "c"} and lean["qualified"].sum() == 4  # 1 and 3, for a and c
    assert item_gaps(lean).equals(item_gaps(full))
    empty = quals.iloc[:0]
    assert not qualification_pairs(tasks, workers, empty, now=NOW)["qualified"].any()


def test_nearest_to_qualifying_orders_expiring_expired_failed_untrained():
    """Test the order: expiring soon, then expired (latest first), failed (best score first), never tried;
    the qualified and the inactive are left out."""
    now = datetime(2020, 9, 15)
    quals = quals_frame(
        {
            1: (True, datetime(2021, 3, 1), 90.0),  # qualified: not listed
            2: (True, datetime(2020, 9, 30), 85.0),  # expiring in 15 days
            3: (True, datetime(2020, 5, 1), 88.0),  # expired long ago
            4: (True, datetime(2020, 9, 1), 82.0),  # expired recently
            5: (False, pd.NaT, 72.0),  # failed, 8 short
            9: None,
        }
    )
    workers = workers_frame(w9="active")
    extra = workers.iloc[[0]].assign(worker_id=7, name="老员工", status="left")
    near = nearest_to_qualifying(pd.concat([workers, extra]), quals, "fire_safety", now=now)
    assert near["worker_id"].tolist() == [2, 4, 3, 5, 9]
    assert near["status"].tolist() == ["expiring", "expired", "expired", "failed", "untrained"]
    assert near.set_index("worker_id").loc[5, "points_short"] == 8
    assert nearest_to_qualifying(workers, quals, "fire_safety", now=now, community_ids=[2])[
        "worker_id"
    ].tolist() == [9]
