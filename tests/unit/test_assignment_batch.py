"""The candidate table for many tasks and the batch proposal built on solve_batch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.assignment.batch import candidate_table, capacities, propose
from evaluation.assignment.pairs import score_pairs
from evaluation.assignment.rank import load_presets
from evaluation.assignment.solver import greedy_batch
from tests.unit.test_assignment_rank import EMPTY_PERF, NOW, grids_frame, quals_frame, workers_frame


def tasks_frame(rows: list[tuple]) -> pd.DataFrame:
    """(task_id, item, grid, priority) → open tasks at their grid's centre."""
    g = grids_frame().set_index("grid_id")
    out = pd.DataFrame(rows, columns=["task_id", "item_code", "grid_id", "priority"])
    out["kind"] = "event"
    out["community_id"] = out["grid_id"].map(g["community_id"])
    out["lat"], out["lon"] = out["grid_id"].map(g["lat"]), out["grid_id"].map(g["lon"])
    return out


def pairs_for(tasks, quals=None, load=None, preset="routine"):
    return score_pairs(
        tasks,
        workers_frame(),
        quals if quals is not None else quals_frame(),
        EMPTY_PERF,
        load if load is not None else pd.DataFrame(columns=["worker_id", "open_tasks", "tasks_last_30d"]),
        set(),
        preset,
        now=NOW,
        grids=grids_frame(),
    )


def test_candidate_table_costs_priorities_and_orphans():
    """Test cost = max score − score, the task's priority, each task's own ranking, and a worker-less row
    for a task nobody is eligible for."""
    tasks = tasks_frame([("A", "F01", 11, "urgent"), ("B", "C03", 12, "complex"), ("Z", "F01", 21, "normal")])
    quals = quals_frame({9: None})  # community 2's only worker lacks the fire qualification
    pairs = pairs_for(tasks, quals)
    table = candidate_table(pairs)
    assert set(table["task_id"]) == {"A", "B", "Z"}
    z = table[table["task_id"] == "Z"]
    assert len(z) == 1 and z["worker_id"].isna().all() and z["priority"].item() == 2
    a = table[table["task_id"] == "A"].reset_index(drop=True)
    assert (a["priority"] == 1).all() and (table.loc[table["task_id"] == "B", "priority"] == 3).all()
    assert a["rank_in_task"].tolist() == list(range(1, len(a) + 1))
    assert a["worker_id"].iloc[0] == 1  # the own-grid worker is the task's recommendation
    assert (a["cost"] >= 0).all() and a["cost"].is_monotonic_increasing
    best = pairs[(pairs["task_id"] == "A") & pairs["eligible"]]
    assert a["cost"].iloc[0] == pytest.approx(best["max_score"].iloc[0] - best["score"].max())
    assert (
        not table.dropna(subset=["worker_id"])
        .merge(pairs[~pairs["eligible"]], on=["task_id", "worker_id"])
        .shape[0]
    )  # no excluded pair slips in


def test_capacities_are_the_cap_minus_tasks_on_hand():
    """Test free places = preset cap − open tasks, never negative, zero for workers without load rows."""
    load = pd.DataFrame({"worker_id": [1, 2], "open_tasks": [3, 12], "tasks_last_30d": [0, 0]})
    caps = capacities(load, workers_frame(), load_presets()["routine"])
    assert caps[1] == 5 and caps[2] == 0 and caps[3] == 8


def test_urgent_task_gets_the_only_free_worker_and_the_other_is_explained():
    """Test two tasks in grid 11 where only worker 1 is qualified and has one free place: the urgent one
    wins; the routine one stays unassigned with capacity_taken."""
    tasks = tasks_frame([("routine", "F01", 11, "normal"), ("urgent", "F01", 11, "urgent")])
    quals = quals_frame({2: None, 3: None, 4: None, 5: None})
    load = pd.DataFrame({"worker_id": [1], "open_tasks": [7], "tasks_last_30d": [3]})  # cap 8 → one place
    pairs = pairs_for(tasks, quals, load)
    proposal = propose(pairs, tasks, load, workers_frame(), "routine")
    assert proposal.assigned[["task_id", "worker_id"]].values.tolist() == [["urgent", 1]]
    assert proposal.unassigned[["task_id", "reason"]].values.tolist() == [["routine", "capacity_taken"]]
    assert proposal.n_tasks == 2 and proposal.first_choice_share == 1.0
    assert proposal.total_score == pytest.approx(
        pairs.loc[(pairs["task_id"] == "urgent") & (pairs["worker_id"] == 1), "score"].item()
    )
    # The proposal carries what the page and the commit need: the pair's reasons and its place in the ranking.
    assert {"pts_grid", "distance_km", "kind", "item_code", "rank_in_task"} <= set(proposal.assigned.columns)


def test_tasks_of_a_community_without_workers_come_back_as_no_candidates():
    """Test that a task whose community has no worker in scope is reported, not silently dropped."""
    tasks = tasks_frame([("A", "C03", 11, "normal")])
    lonely = pd.concat([tasks, tasks.assign(task_id="X", community_id=99, grid_id=999)], ignore_index=True)
    proposal = propose(
        pairs_for(lonely),
        lonely,
        pd.DataFrame(columns=["worker_id", "open_tasks"]),
        workers_frame(),
        "routine",
    )
    assert proposal.unassigned[["task_id", "reason"]].values.tolist() == [["X", "no_candidates"]]
    assert proposal.assigned["task_id"].tolist() == ["A"]


def test_optimal_batch_beats_greedy_on_a_contended_district():
    """Test that on 60 tasks over one community's 5 workers (capacity 2–8), the proposal's total score is at
    least the greedy pass's (and it assigns at least as many), with every chosen pair eligible and capacities respected."""
    rng = np.random.default_rng(7)
    rows = [
        (
            f"t{i}",
            str(rng.choice(["F01", "C03"])),
            int(rng.integers(11, 16)),
            str(rng.choice(["urgent", "normal", "complex"], p=[0.2, 0.5, 0.3])),
        )
        for i in range(60)
    ]
    tasks = tasks_frame(rows)
    load = pd.DataFrame(
        {"worker_id": [1, 2, 3, 4, 5], "open_tasks": [6, 0, 3, 4, 2], "tasks_last_30d": [9, 1, 4, 5, 3]}
    )
    quals = quals_frame({3: (False, pd.NaT, 40.0)}, course="fire_safety")
    pairs = pairs_for(tasks, quals, load)
    proposal = propose(pairs, tasks, load, workers_frame(), "routine")
    table = candidate_table(pairs)
    caps = capacities(load, workers_frame(), "routine")
    greedy, _ = greedy_batch(table, caps)
    assert len(proposal.assigned) >= len(greedy) > 0
    if len(proposal.assigned) == len(greedy):
        assert proposal.assigned["score"].sum() >= greedy["score"].sum() - 1e-6
    used = proposal.assigned["worker_id"].value_counts()
    assert all(used[w] <= caps[w] for w in used.index)
    eligible = pairs.set_index(["task_id", "worker_id"])["eligible"]
    assert all(
        eligible[(t, w)] for t, w in proposal.assigned[["task_id", "worker_id"]].itertuples(index=False)
    )
    # Urgent tasks are served before less urgent ones when places run out.
    left = proposal.unassigned["priority"]
    if len(left):
        assert proposal.assigned["priority"].min() <= left.min()
