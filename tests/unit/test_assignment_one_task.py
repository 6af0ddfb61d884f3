"""One definition of a pair's score (pairs.py): the queue tab's one-task ranking and the batch tab's score_pairs give
the numbers worked out by hand from rank.py's formula, and the same rows — on the rank tests' cases, with several
tasks in one batch, and on the demo district read for one community in SQL or for the whole scope."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sqlmodel import Session, select

from core.db import get_engine
from core.models import User
from core.scope import viewer_for
from evaluation.assignment import service
from evaluation.assignment.explain import exclusion_reasons, explain
from evaluation.assignment.one_task import rank_candidates
from evaluation.assignment.pairs import priors, score_pairs
from evaluation.assignment.rank import RULES, TASK_COLUMNS, load_presets
from tests.app.test_assignment_pages import prepare_dispatch_db
from tests.unit.test_assignment_rank import (
    EMPTY_LOAD,
    EMPTY_PERF,
    EXPIRED,
    NOW,
    grids_frame,
    quals_frame,
    task,
    workers_frame,
)

COUNTS = ["worker_id", "category_code", "handled", "ontime", "rework", "satisfied", "rated"]


def batch_ranking(t, workers, quals, perf, load, busy, weights, *, now, grids=None):  # noqa: ANN001, ANN201
    """The task's rows of score_pairs over a batch of it and a task of the other community, split as
    rank_candidates splits them (ranked best first, excluded by rule, tier, distance)."""
    row = dict(t)
    other = {**row, "task_id": "E0", "grid_id": 21, "community_id": 2, "lat": 22.5, "lon": 114.55}
    tasks = pd.DataFrame([{c: r.get(c) for c in {*TASK_COLUMNS, *row}} for r in (other, row)])
    pairs = score_pairs(tasks, workers, quals, perf, load, busy, weights, now=now, grids=grids)
    pairs = pairs[pairs["task_id"] == row["task_id"]]
    ranked = pairs[pairs["eligible"]].reset_index(drop=True)
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    excluded = pairs[~pairs["eligible"]].copy()
    excluded["rule_order"] = excluded["rule"].map({r: i for i, r in enumerate(RULES)})
    excluded = excluded.sort_values(["rule_order", "tier", "distance_km", "worker_id"]).drop(
        columns="rule_order"
    )
    return ranked, excluded.reset_index(drop=True)


def _missing(value: object) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def assert_same(one: pd.DataFrame, batch: pd.DataFrame) -> None:
    """Same columns in the same order, same rows, and in every cell the same value (exactly) or both missing."""
    assert list(one.columns) == list(batch.columns)
    assert len(one) == len(batch)
    for c in batch.columns:
        for i, (a, b) in enumerate(zip(one[c].tolist(), batch[c].tolist(), strict=True)):
            assert _missing(a) == _missing(b), (c, i, a, b)
            if not _missing(b):
                assert a == b, (c, i, a, b)


def test_points_are_the_formula_worked_by_hand():
    """Test every component of a routine ranking against the formula worked out by hand, in the queue's
    ranking and in the batch's: grid 30 / adjacent 15, distance 15·(1 − d/5 km) with 0.01° = 1.112 km, skill
    20·(0.7·0.9 + 0.3), performance 15·ontime·(1 − rework)·satisfaction smoothed with 5 pseudo-tasks of the
    fire category's pooled rates (worker 9, of another community, counts in them), load −15·2/8 (−3.75 shown
    −3.8, half to even), fairness −5 at twice the community mean (6 vs (6+0+0+0+0)/5 = 1.2)."""
    perf = pd.DataFrame([(2, "fire", 10, 8, 1, 9, 10), (9, "fire", 10, 10, 0, 10, 10)], columns=COUNTS)
    load = pd.DataFrame({"worker_id": [2], "open_tasks": [2], "tasks_last_30d": [6]})
    args = (task(), workers_frame(), quals_frame(), perf, load, set(), "routine")
    by_hand = {  # worker: grid, distance, skill, performance, load, fairness, score
        1: (30.0, 15.0, 18.6, 12.2, 0.0, 0.0, 75.8),  # 15·0.9·0.95·0.95 = 12.18
        3: (15.0, 8.3, 18.6, 12.2, 0.0, 0.0, 54.1),
        4: (15.0, 5.0, 18.6, 12.2, 0.0, 0.0, 50.8),
        2: (15.0, 11.7, 18.6, 10.5, -3.8, -5.0, 47.0),  # 15·(12.5/15)·(1 − 1.25/15)·(13.75/15) = 10.50
    }
    points = [f"pts_{c}" for c in ("grid", "distance", "skill", "performance", "load", "fairness")]
    for ranked, excluded in (
        rank_candidates(*args, now=NOW, grids=grids_frame()),
        batch_ranking(*args, now=NOW, grids=grids_frame()),
    ):
        assert ranked["worker_id"].tolist() == list(by_hand)
        got = {w: tuple(r) for w, *r in ranked[["worker_id", *points, "score"]].itertuples(index=False)}
        assert got == by_hand
        assert excluded[["worker_id", "rule"]].values.tolist() == [[5, "farther_tier"]]
        assert ranked["max_score"].unique().tolist() == [80.0]  # grid + distance + skill + performance


def test_priors_pool_each_category_and_fall_back_to_the_district():
    """Test the smoothing priors: a category's pooled rates, the district's for a category without history
    (and for events without a category, which count in the totals only), the defaults with no history."""
    by_category, fallback = priors(
        {
            "fire": (10.0, 9.0, 1.0, 8.0, 10.0),
            "city": (0.0, 0.0, 0.0, 0.0, 0.0),
            None: (10.0, 5.0, 0.0, 4.0, 5.0),
        }
    )
    assert by_category["fire"] == pytest.approx((0.9, 0.1, 0.8))
    assert by_category["city"] == pytest.approx((14 / 20, 1 / 20, 12 / 15))
    assert None not in by_category
    assert fallback[:3] == pytest.approx((14 / 20, 1 / 20, 12 / 15))
    assert priors({})[1][:3] == (0.9, 0.05, 0.9)


HISTORY = pd.DataFrame(
    [
        (1, "fire", 12, 11, 1, 9, 10),
        (2, "fire", 3, 1, 2, 1, 3),
        (3, "city", 40, 38, 0, 30, 31),
        (9, "fire", 50, 20, 10, 25, 40),
        (4, None, 5, 5, 0, 5, 5),
    ],
    columns=COUNTS,
)
LOAD = pd.DataFrame({"worker_id": [1, 2, 3, 5], "open_tasks": [8, 3, 0, 9], "tasks_last_30d": [10, 4, 0, 7]})


@pytest.mark.parametrize(
    "case",
    [
        {},
        {"workers": workers_frame(w2="on_leave", w4="left"), "busy": {1}},
        {
            "quals": quals_frame(
                {3: (True, EXPIRED, 85.0), 4: (False, pd.NaT, 60.0), 5: None, 1: (True, pd.NaT, 75)}
            )
        },
        {
            "t": task(item="C03"),
            "quals": quals_frame({1: None, 2: (False, pd.NaT, 40.0)}, course="city_management"),
        },
        {"t": task(lat=None, lon=None, grid=13)},
        {"t": task(lat=22.64, lon=114.43, grid=15), "perf": HISTORY, "load": LOAD},
        {"t": {**task(item="F03"), "category_code": "fire", "priority": "urgent"}, "perf": HISTORY},
        {"t": {**task(item=None), "kind": "verification", "category_code": "verification"}},
        {"load": LOAD, "weights": "balanced"},
        {"perf": HISTORY, "load": LOAD, "weights": {"grid": 7, "distance": 33, "skill": 0, "load": 60}},
        {"perf": HISTORY, "weights": "emergency"},
    ],
)
def test_a_task_ranks_alike_alone_and_in_a_batch(case):
    """Test that a task's rows are the same ranked alone (the queue tab) and in a batch with a task of another
    community (the batch tab: the 属地 fallback, the community mean and who is busy are per task): hard rules,
    expired and failed qualifications, no coordinates, history and load, presets and tuned weights, a task
    without an item — and so are the sentences a manager reads."""
    args = (
        case.get("t") or task(),
        case.get("workers", workers_frame()),
        case.get("quals", quals_frame()),
        case.get("perf", EMPTY_PERF),
        case.get("load", EMPTY_LOAD),
        set(case.get("busy", ())),
        case.get("weights", "routine"),
    )
    one = rank_candidates(*args, now=NOW, grids=grids_frame())
    batch = batch_ranking(*args, now=NOW, grids=grids_frame())
    for a, b in zip(one, batch, strict=True):
        assert_same(a, b)
    for lang in ("zh", "en"):
        assert explain(one[0], lang).tolist() == explain(batch[0], lang).tolist()
        assert exclusion_reasons(one[1], lang).tolist() == exclusion_reasons(batch[1], lang).tolist()


def test_a_community_without_workers_has_no_pairs():
    """Test that a task whose community has nobody in scope ranks nobody, alone or in a batch."""
    ranked, excluded = rank_candidates(
        {**task(), "community_id": 7},
        workers_frame(),
        quals_frame(),
        EMPTY_PERF,
        EMPTY_LOAD,
        set(),
        "routine",
        now=NOW,
        grids=grids_frame(),
    )
    assert ranked.empty and excluded.empty and {"rank", "score", "rule"} <= set(ranked.columns)
    pairs = score_pairs(
        pd.DataFrame([{**task(), "community_id": 7}]),
        workers_frame(),
        quals_frame(),
        EMPTY_PERF,
        EMPTY_LOAD,
        None,
        "routine",
        now=NOW,
        grids=grids_frame(),
    )
    assert pairs.empty and {"score", "eligible", "rule"} <= set(pairs.columns)


@pytest.mark.parametrize("username", ["xiasha", "manager"])
def test_every_open_task_of_the_demo_ranks_as_in_the_batch(demo_db_url, username):
    """Test that for every open task of the demo district in the manager's scope under the presets, the
    ranking read for the task's community in SQL (what the queue tab shows) is the task's rows of score_pairs
    over the scope's whole context (what the batch tab solves), names and grid names included."""
    prepare_dispatch_db(demo_db_url)  # five events in 下沙 (the small test demo has few open tasks there)
    with Session(get_engine(demo_db_url)) as session:
        viewer = viewer_for(session, session.exec(select(User).where(User.username == username)).one())
        queue = service.task_queue(session, viewer)
        ctx = service.load_context(session, viewer)
        assert len(queue) >= 5 and queue["community_id"].nunique() > (1 if username == "manager" else 0)
        names = ctx.workers[["worker_id", "employee_no", "grid_zh", "grid_en"]]
        seen_rules: set[str] = set()
        presets = list(load_presets())
        for i, (_, row) in enumerate(queue.iterrows()):
            busy = service.busy_for(session, row.to_frame().T.reset_index(drop=True), ctx.now)
            for code in presets if len(queue) <= 10 else [presets[i % len(presets)]]:
                _, ranked, excluded = service.recommend(
                    session, viewer, row["task_id"], code, now=ctx.now, task=row
                )
                ref_ranked, ref_excluded = batch_ranking(
                    row, ctx.workers, ctx.quals, ctx.perf, ctx.load, busy, code, now=ctx.now, grids=ctx.grids
                )
                assert_same(ranked, ref_ranked.merge(names, on="worker_id", how="left"))
                assert_same(excluded, ref_excluded.merge(names, on="worker_id", how="left"))
                seen_rules |= set(excluded["rule"])
        assert {
            "not_qualified",
            "farther_tier",
        } <= seen_rules  # the demo exercises the rules, not only points
