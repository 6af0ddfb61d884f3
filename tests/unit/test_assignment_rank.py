"""One-task ranking: hard rules with their reasons, preferences in points, sentences, presets."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from evaluation.assignment.explain import exclusion_reasons, explain, signed_points
from evaluation.assignment.one_task import rank_candidates
from evaluation.assignment.pairs import score_pairs
from evaluation.assignment.rank import (
    grid_neighbours,
    haversine_km,
    load_presets,
    preset_for_priority,
)

NOW = datetime(2020, 9, 15, 10, 0)
VALID = datetime(2021, 3, 1)
EXPIRED = datetime(2020, 8, 1)


def grids_frame() -> pd.DataFrame:
    """Community 1: five grids 0, 1.1, 2.2, 3.3, 4.4 km north of grid 11. Community 2 far away."""
    rows = [(10 + i, 1, 22.60 + (i - 1) * 0.01, 114.40) for i in range(1, 6)]
    rows.append((21, 2, 22.50, 114.55))
    return pd.DataFrame(rows, columns=["grid_id", "community_id", "lat", "lon"])


def workers_frame(**status: str) -> pd.DataFrame:
    """One worker per grid: worker 1 in grid 11 … worker 5 in grid 15; worker 9 in community 2."""
    g = grids_frame().set_index("grid_id")
    rows = [(w, f"网格员{w}", grid) for w, grid in [(1, 11), (2, 12), (3, 13), (4, 14), (5, 15), (9, 21)]]
    out = pd.DataFrame(rows, columns=["worker_id", "name", "grid_id"])
    out["community_id"] = out["grid_id"].map(g["community_id"])
    out["lat"] = out["grid_id"].map(g["lat"])
    out["lon"] = out["grid_id"].map(g["lon"])
    out["status"] = out["worker_id"].map(lambda w: status.get(f"w{w}", "active"))
    return out


def quals_frame(overrides: dict[int, tuple] | None = None, course: str = "fire_safety") -> pd.DataFrame:
    """Everyone holds a valid certificate with best score 90, unless overridden with
    (passed, certificate_valid_until, best_score) or None for no record at all."""
    rows = []
    for w in (1, 2, 3, 4, 5, 9):
        value = (overrides or {}).get(w, (True, VALID, 90.0))
        if value is not None:
            rows.append((w, course, *value))
    return pd.DataFrame(
        rows, columns=["worker_id", "course_code", "passed", "certificate_valid_until", "best_score"]
    )


EMPTY_PERF = pd.DataFrame(
    columns=["worker_id", "category_code", "handled", "ontime", "rework", "satisfied", "rated"]
)
EMPTY_LOAD = pd.DataFrame(columns=["worker_id", "open_tasks", "tasks_last_30d"])


def task(item: str = "F01", lat: float = 22.60, lon: float = 114.40, grid: int = 11) -> dict:
    return {
        "task_id": "E1",
        "kind": "event",
        "item_code": item,
        "priority": "normal",
        "grid_id": grid,
        "community_id": 1,
        "lat": lat,
        "lon": lon,
    }


def rank(t=None, *, workers=None, quals=None, perf=EMPTY_PERF, load=EMPTY_LOAD, busy=(), weights="routine"):
    return rank_candidates(
        t or task(),
        workers if workers is not None else workers_frame(),
        quals if quals is not None else quals_frame(),
        perf,
        load,
        set(busy),
        weights,
        now=NOW,
        grids=grids_frame(),
    )


def test_haversine_and_adjacency():
    """Test that 0.01° of latitude is about 1.1 km and adjacency is the k nearest grids of the community."""
    assert haversine_km(22.60, 114.40, 22.61, 114.40) == pytest.approx(1.112, abs=0.002)
    adj = grid_neighbours(grids_frame(), k=2)
    assert sorted(adj.loc[adj["grid_id"] == 11, "neighbour_id"]) == [12, 13]
    assert sorted(adj.loc[adj["grid_id"] == 13, "neighbour_id"]) == [12, 14]
    assert 21 not in set(adj["neighbour_id"]) and 21 not in set(adj["grid_id"])


def test_other_communities_are_out_of_scope_and_not_listed():
    """Test that only workers of the task's community are ranked or listed as excluded."""
    ranked, excluded = rank()
    assert 9 not in set(ranked["worker_id"]) | set(excluded["worker_id"])
    assert set(ranked["worker_id"]) | set(excluded["worker_id"]) == {1, 2, 3, 4, 5}


def test_each_hard_rule_excludes_with_its_own_reason():
    """Test inactive, in training, expired certificate, failed quiz, untrained and cap, each with a sentence."""
    workers = workers_frame(w2="on_leave")
    quals = quals_frame({3: (True, EXPIRED, 85.0), 4: (False, pd.NaT, 60.0), 5: None})
    load = pd.DataFrame({"worker_id": [1], "open_tasks": [8], "tasks_last_30d": [10]})
    ranked, excluded = rank(workers=workers, quals=quals, load=load, busy={1})
    assert ranked.empty
    rules = dict(zip(excluded["worker_id"], excluded["rule"], strict=True))
    assert rules == {
        1: "in_training",
        2: "inactive",
        3: "not_qualified",
        4: "not_qualified",
        5: "not_qualified",
    }
    zh = dict(zip(excluded["worker_id"], exclusion_reasons(excluded, "zh"), strict=True))
    assert zh[2] == "不在岗：请假"
    assert zh[3] == "消防安全隐患排查证书已于 2020-08-01 过期"
    assert zh[4] == "消防安全隐患排查测验最高 60 分，未达合格线"
    assert zh[5] == "未取得消防安全隐患排查资格（未参加测验）"
    en = dict(zip(excluded["worker_id"], exclusion_reasons(excluded, "en"), strict=True))
    assert en[1] == "In a training session during the task's time"
    # Without the training session, worker 1 hits the cap instead.
    _, excluded = rank(workers=workers, quals=quals, load=load)
    row = excluded[excluded["worker_id"] == 1]
    assert row["rule"].item() == "at_cap"
    assert exclusion_reasons(row, "zh").item() == "手头未办结 8 件，已达上限 8 件"


def test_a_pass_counts_only_while_its_certificate_is_valid():
    """Test that a pass without certificate qualifies but a pass whose certificate expired does not."""
    quals = quals_frame({1: (True, pd.NaT, 82.0), 2: (True, EXPIRED, 95.0)})
    ranked, excluded = rank(quals=quals)
    assert 1 in set(ranked["worker_id"])
    assert excluded.set_index("worker_id").loc[2, "rule"] == "not_qualified"


def test_items_without_a_qualification_course_need_none():
    """Test that an item with no qualification course (C03 piled goods) admits untrained workers."""
    quals = quals_frame({w: None for w in (1, 2, 3, 4, 5)})
    ranked, _ = rank(task("C03"), quals=quals)
    assert set(ranked["worker_id"]) >= {1, 2, 3}


def test_scope_tiers_widen_only_until_enough_candidates():
    """Test own grid, then the 3 nearest grids, then the community, until min_candidates pass the rules."""
    ranked, excluded = rank()  # own (1) + adjacent (2, 3, 4) = 4 >= 3: grid 15's worker is not needed
    assert list(ranked["tier"]) == [0, 1, 1, 1]
    assert excluded.set_index("worker_id").loc[5, "rule"] == "farther_tier"
    assert exclusion_reasons(excluded, "zh").iloc[0] == "本网格及相邻网格已有足够合格人选（属地优先）"
    # Two of the adjacent workers unqualified: only 2 within the adjacent tier, so the pool widens.
    ranked, excluded = rank(quals=quals_frame({2: None, 3: None}))
    assert set(ranked["worker_id"]) == {1, 4, 5}
    assert set(excluded["rule"]) == {"not_qualified"}
    # A preset asking for one candidate stops at the own grid.
    one = load_presets()["routine"]
    from dataclasses import replace

    ranked, excluded = rank(weights=replace(one, min_candidates=1))
    assert list(ranked["worker_id"]) == [1]
    assert (
        exclusion_reasons(excluded[excluded["rule"] == "farther_tier"], "en")
        .iloc[0]
        .startswith("Enough qualified workers in the task's own grid")
    )


def test_reasons_carry_signed_points_that_add_up_to_the_score():
    """Test the sentences for the own-grid worker, and that the points shown sum to the score."""
    load = pd.DataFrame({"worker_id": [1, 2], "open_tasks": [4, 0], "tasks_last_30d": [6, 2]})
    weights = load_presets()["routine"].tuned(load=16)
    ranked, _ = rank(load=load, weights=weights)
    top = ranked.iloc[[0]]
    assert top["worker_id"].item() == 1
    line = explain(top, "zh").item()
    assert "同一网格 +30" in line
    assert "距离 0.0 公里 +15" in line
    assert "已持有消防安全隐患排查证书（有效至 2021-03-01），测验最高 90 分 +18.6" in line
    assert "手头未办结 4 件（上限 8 件） −8" in line
    # Fairness: community mean of last-30-day tasks is (6+2+0+0+0)/5 = 1.6; 6 ≥ 2×1.6 → full −5.
    assert "近30天接单 6 件（社区人均 1.6 件） −5" in line
    assert line.index("同一网格") < line.index("手头未办结")  # strongest reason first
    en = explain(top, "en").item()
    assert "Same grid +30" in en and "4 open tasks on hand (cap 8) −8" in en
    pts = top[[c for c in top.columns if c.startswith("pts_")]].sum(axis=1).item()
    assert top["score"].item() == pytest.approx(pts, abs=0.05)


def test_past_performance_is_smoothed_so_new_workers_are_not_punished():
    """Test that a newcomer scores the category average, a strong record more, a poor record less."""
    perf = pd.DataFrame(
        [
            (2, "fire", 20, 20, 0, 20, 20),
            (3, "fire", 20, 10, 6, 12, 20),
            (4, "fire", 1, 0, 1, 0, 1),
            (2, "city", 50, 0, 50, 0, 50),
        ],
        columns=["worker_id", "category_code", "handled", "ontime", "rework", "satisfied", "rated"],
    )
    ranked, _ = rank(perf=perf)
    p = ranked.set_index("worker_id")["performance"]
    pooled = (30 / 41) * (1 - 7 / 41) * (32 / 41)  # the fire category's pooled rates
    assert p[1] == pytest.approx(pooled, rel=1e-6)  # no fire history: exactly the average
    assert p[2] > p[1] > p[3]
    # One bad task moves a newcomer only part of the way down (5 pseudo-tasks of the average).
    assert p[3] < p[4] < p[1]
    sentence = explain(ranked.set_index("worker_id").loc[[1]].reset_index(), "zh").item()
    assert "暂无消防安全类办件记录，按平均水平计" in sentence
    sentence = explain(ranked.set_index("worker_id").loc[[2]].reset_index(), "zh").item()
    assert "消防安全类已办 20 件：按时 100%、返工 0%、满意 100%" not in sentence  # smoothed, not raw
    assert "消防安全类已办 20 件" in sentence


def test_routine_keeps_the_own_grid_worker_emergency_sends_the_nearest_expert():
    """Test that for an event on the grid's edge, 常规 picks the grid's own worker and 应急 the
    better-trained worker standing next to it (distance and skill first)."""
    edge = task(lat=22.61, lon=114.40)  # in grid 11, at grid 12's centre
    quals = quals_frame({1: (True, VALID, 80.0), 2: (True, VALID, 100.0)})
    routine, _ = rank(edge, quals=quals, weights="routine")
    emergency, _ = rank(edge, quals=quals, weights="emergency")
    assert routine["worker_id"].iloc[0] == 1
    assert emergency["worker_id"].iloc[0] == 2


def test_balanced_prefers_the_idle_worker_over_the_busy_own_grid_worker():
    """Test that 均衡 puts load and fairness first: the own-grid worker with 5 open tasks and the most
    recent work loses to an idle neighbour, while 常规 still keeps the own-grid worker."""
    load = pd.DataFrame(
        {"worker_id": [1, 2, 3, 4], "open_tasks": [5, 0, 1, 1], "tasks_last_30d": [12, 1, 4, 4]}
    )
    routine, _ = rank(load=load, weights="routine")
    balanced, _ = rank(load=load, weights="balanced")
    assert routine["worker_id"].iloc[0] == 1
    assert balanced["worker_id"].iloc[0] == 2


def test_tuned_weights_change_the_ranking_at_once():
    """Test that setting the grid weight to zero and raising skill changes who comes first."""
    quals = quals_frame({1: (True, pd.NaT, 80.0), 2: (True, VALID, 100.0)})
    base, _ = rank(quals=quals)
    tuned, _ = rank(quals=quals, weights=load_presets()["routine"].tuned(grid=0, skill=60))
    assert base["worker_id"].iloc[0] == 1 and tuned["worker_id"].iloc[0] == 2
    with pytest.raises(ValueError, match="unknown weight"):
        load_presets()["routine"].tuned(speed=3)


def test_preset_for_priority_and_signed_points():
    """Test the default preset per priority and the +/− formatting of points."""
    assert preset_for_priority("urgent").code == "emergency"
    assert preset_for_priority("normal").code == "routine"
    assert preset_for_priority(1).code == "emergency"
    assert [signed_points(v) for v in (30, -7.96, 0, -0.01, 18.64)] == ["+30", "−8", "+0", "+0", "+18.6"]
    assert {p.code for p in load_presets().values()} == {"emergency", "routine", "balanced"}
    for preset in load_presets().values():
        assert sum(preset.weights.values()) == 100


def test_score_pairs_is_vectorised_over_many_tasks():
    """Test that several tasks score in one call, each against its own community, busy per task."""
    tasks = pd.DataFrame(
        [
            {**task(), "task_id": "E1"},
            {**task(grid=21), "task_id": "E2", "community_id": 2, "lat": 22.5, "lon": 114.55},
        ]
    )
    busy = pd.DataFrame({"task_id": ["E1"], "worker_id": [1]})
    pairs = score_pairs(
        tasks,
        workers_frame(),
        quals_frame(),
        EMPTY_PERF,
        EMPTY_LOAD,
        busy,
        "routine",
        now=NOW,
        grids=grids_frame(),
    )
    assert set(pairs.loc[pairs["task_id"] == "E2", "worker_id"]) == {9}
    assert pairs.set_index(["task_id", "worker_id"]).loc[("E1", 1), "rule"] == "in_training"
    e2 = pairs[pairs["task_id"] == "E2"]
    assert e2["eligible"].all() and e2["tier"].tolist() == [0]


def test_one_task_reads_its_community_alone_but_the_priors_pool_every_community():
    """Test that a task's ranking is the same given the whole district or only its community's workers, courses,
    load and grids (score_pairs leaves the others out), while a category's pooled rates, which a newcomer
    scores, count every community's record: worker 9's poor fire record elsewhere lowers worker 1's figure."""
    perf = pd.DataFrame(
        [(2, "fire", 20, 20, 0, 20, 20), (9, "fire", 20, 0, 10, 0, 20)],
        columns=["worker_id", "category_code", "handled", "ontime", "rework", "satisfied", "rated"],
    )
    load = pd.DataFrame({"worker_id": [1, 3, 9], "open_tasks": [1, 2, 7], "tasks_last_30d": [3, 1, 40]})
    whole_ranked, whole_excluded = rank(perf=perf, load=load, quals=quals_frame({4: None}))
    workers = workers_frame()
    own = workers[workers["community_id"] == 1]
    own_ranked, own_excluded = rank_candidates(
        task(),
        own,
        quals_frame({4: None}).query("worker_id in @own.worker_id"),
        perf,
        load[load["worker_id"].isin(own["worker_id"])],
        set(),
        "routine",
        now=NOW,
        grids=grids_frame().query("community_id == 1"),
    )
    pd.testing.assert_frame_equal(whole_ranked, own_ranked)
    pd.testing.assert_frame_equal(whole_excluded, own_excluded)
    assert not whole_excluded.empty  # worker 4 lacks the course
    pooled = (20 / 40) * (1 - 10 / 40) * (20 / 40)  # fire: worker 2 and worker 9, of another community
    assert whole_ranked.set_index("worker_id").at[1, "performance"] == pytest.approx(pooled, rel=1e-6)
