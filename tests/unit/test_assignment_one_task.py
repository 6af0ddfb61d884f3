"""One task's ranking in plain Python (one_task.py) is score_pairs' ranking of that task: the same workers in
the same order, the same rules, points, scores and every other column — on the rank tests' cases and on every
open task of the demo district, read for the task's community in SQL (service.task_inputs)."""

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
from evaluation.assignment.one_task import _round1, rank_candidates
from evaluation.assignment.rank import RULES, TASK_COLUMNS, load_presets, score_pairs
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


def pandas_ranking(t, workers, quals, perf, load, busy, weights, *, now, grids=None):  # noqa: ANN001, ANN201
    """The one-task ranking as score_pairs gives it (what rank_candidates computed before one_task.py)."""
    row = dict(t)
    tasks = pd.DataFrame([{c: row.get(c) for c in {*TASK_COLUMNS, *row}}])
    pairs = score_pairs(tasks, workers, quals, perf, load, busy, weights, now=now, grids=grids)
    if pairs.empty:
        return pairs.assign(rank=pd.Series(dtype=int)), pairs.copy()
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


def assert_same(plain: pd.DataFrame, reference: pd.DataFrame) -> None:
    """Same columns in the same order, same rows, and in every cell the same value (exactly, floats too) or
    both missing."""
    assert list(plain.columns) == list(reference.columns)
    assert len(plain) == len(reference)
    for c in reference.columns:
        for i, (a, b) in enumerate(zip(plain[c].tolist(), reference[c].tolist(), strict=True)):
            assert _missing(a) == _missing(b), (c, i, a, b)
            if not _missing(b):
                assert a == b, (c, i, a, b)
                if isinstance(b, float):
                    assert math.copysign(1, a) == math.copysign(1, b) or a == 0, (c, i, a, b)


def _both(t=None, *, workers=None, quals=None, perf=EMPTY_PERF, load=EMPTY_LOAD, busy=(), weights="routine"):  # noqa: ANN001, ANN202
    args = (
        t or task(),
        workers if workers is not None else workers_frame(),
        quals if quals is not None else quals_frame(),
        perf,
        load,
        set(busy),
        weights,
    )
    plain = rank_candidates(*args, now=NOW, grids=grids_frame())
    reference = pandas_ranking(*args, now=NOW, grids=grids_frame())
    return plain, reference


HISTORY = pd.DataFrame(
    [
        (1, "fire", 12, 11, 1, 9, 10),
        (2, "fire", 3, 1, 2, 1, 3),
        (3, "city", 40, 38, 0, 30, 31),
        (9, "fire", 50, 20, 10, 25, 40),
        (4, None, 5, 5, 0, 5, 5),
    ],
    columns=["worker_id", "category_code", "handled", "ontime", "rework", "satisfied", "rated"],
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
        {"t": {**task(), "community_id": 7}},  # nobody in that community
        {"load": LOAD, "weights": "balanced"},
        {"perf": HISTORY, "load": LOAD, "weights": {"grid": 7, "distance": 33, "skill": 0, "load": 60}},
        {"perf": HISTORY, "weights": "emergency"},
    ],
)
def test_plain_ranking_is_the_pandas_ranking(case):
    """Test that the plain-Python ranking gives score_pairs' ranked and excluded rows, cell for cell: hard
    rules, expired and failed qualifications, no coordinates, history and load, presets and tuned weights, a
    task without an item, a community without workers."""
    plain, reference = _both(**case)
    for a, b in zip(plain, reference, strict=True):
        assert_same(a, b)
    for lang in ("zh", "en"):  # and what the manager reads of them
        assert explain(plain[0], lang).tolist() == explain(reference[0], lang).tolist()
        assert exclusion_reasons(plain[1], lang).tolist() == exclusion_reasons(reference[1], lang).tolist()


def test_rounding_is_numpys():
    """Test that points round as DataFrame.round does (half to even on x · 10), not as Python's round."""
    values = [0.15, 0.25, 2.675, -0.05, -0.0, 1.45, 12.349999, 7.05, -3.25, 1e-9]
    assert [_round1(v) for v in values] == np.round(np.array(values), 1).tolist()


@pytest.mark.parametrize("username", ["xiasha", "manager"])
def test_every_open_task_of_the_demo_ranks_as_before(demo_db_url, username):
    """Test that for every open task of the demo district in the manager's scope under the presets, the
    ranking read for the task's community in SQL (what 智能派单 shows) is the pandas ranking over the
    scope's whole context (what it showed before), names and grid names included."""
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
            # every preset on each of a few tasks; on the district's many, the presets in turn
            for code in presets if len(queue) <= 10 else [presets[i % len(presets)]]:
                _, ranked, excluded = service.recommend(
                    session, viewer, row["task_id"], code, now=ctx.now, task=row
                )
                ref_ranked, ref_excluded = pandas_ranking(
                    row, ctx.workers, ctx.quals, ctx.perf, ctx.load, busy, code, now=ctx.now, grids=ctx.grids
                )
                assert_same(ranked, ref_ranked.merge(names, on="worker_id", how="left"))
                assert_same(excluded, ref_excluded.merge(names, on="worker_id", how="left"))
                seen_rules |= set(excluded["rule"])
        assert {
            "not_qualified",
            "farther_tier",
        } <= seen_rules  # the demo exercises the rules, not only points
