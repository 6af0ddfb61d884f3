"""Batch assignment solver: optimality against an independent solver, reasons, edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from evaluation.assignment.solver import (
    UnassignedReason,
    greedy_batch,
    make_random_instance,
    solve_batch,
)

FORBIDDEN = 1e15


def frame(rows: list[tuple], priority: bool = True) -> pd.DataFrame:
    """Candidate table from (task_id, worker_id, cost[, priority]) tuples."""
    columns = ["task_id", "worker_id", "cost", "priority"] if priority else ["task_id", "worker_id", "cost"]
    return pd.DataFrame(rows, columns=columns)


def counts_by_priority(assigned: pd.DataFrame, priorities: list[int]) -> list[int]:
    return [int((assigned["priority"] == p).sum()) for p in priorities]


def reference_optimum(candidates: pd.DataFrame, capacities: dict) -> tuple[list[int], float]:
    """Per-priority assigned counts and total cost by linear_sum_assignment on a dense matrix.

    Rows are tasks; columns are worker slots (each worker repeated per capacity) and one "leave
    unassigned" column per task. Leaving a task out costs ``unit · (n + 1) ** (levels - rank)``
    with ``unit`` above any total cost spread: each priority level outweighs all less urgent ones
    together plus any cost difference, so the optimum is lexicographic by priority, then cost.
    """
    rows = candidates.dropna(subset=["worker_id"])
    best = rows.groupby(["task_id", "worker_id"], sort=False)["cost"].min()
    task_priority = candidates.groupby("task_id", sort=False)["priority"].first()
    tasks = list(task_priority.index)
    levels = sorted(task_priority.unique())
    slots = [w for w, cap in capacities.items() for _ in range(max(int(cap), 0))]
    n = len(tasks)
    low = float(best.min()) if len(best) else 0.0
    spread = float(best.max()) - low if len(best) else 0.0
    unit = n * spread + 1.0

    matrix = np.full((n, len(slots) + n), FORBIDDEN)
    for i, task in enumerate(tasks):
        for j, worker in enumerate(slots):
            if (task, worker) in best.index:
                matrix[i, j] = best[(task, worker)] - low
        rank = levels.index(task_priority[task])
        matrix[i, len(slots) :] = unit * (n + 1) ** (len(levels) - rank)
    row, col = linear_sum_assignment(matrix)
    chosen = col < len(slots)
    counts = [0] * len(levels)
    for i in row[chosen]:
        counts[levels.index(task_priority[tasks[i]])] += 1
    total = float(sum(matrix[i, j] + low for i, j in zip(row[chosen], col[chosen], strict=True)))
    return counts, total


def assert_feasible(candidates: pd.DataFrame, capacities: dict, assigned: pd.DataFrame) -> None:
    """Each task at most once, capacities respected, only allowed pairs at their cheapest cost."""
    assert not assigned["task_id"].duplicated().any()
    per_worker = assigned["worker_id"].value_counts()
    for worker, used in per_worker.items():
        assert used <= capacities.get(worker, 0)
    best = candidates.dropna(subset=["worker_id"]).groupby(["task_id", "worker_id"])["cost"].min()
    for task, worker, cost in assigned[["task_id", "worker_id", "cost"]].itertuples(index=False):
        assert best[(task, worker)] == cost


@st.composite
def small_batches(draw: st.DrawFn) -> tuple[pd.DataFrame, dict]:
    """Small batches with ties, negative costs, duplicates, full workers and tasks with no pair."""
    n_tasks = draw(st.integers(1, 7))
    n_workers = draw(st.integers(1, 4))
    as_text = draw(st.booleans())
    task_ids = [f"t{i}" if as_text else i for i in range(n_tasks)]
    worker_ids = [f"w{j}" if as_text else 100 + j for j in range(n_workers)]
    cost_values = draw(
        st.sampled_from(
            [
                st.integers(0, 3).map(float),  # many ties
                st.integers(-50, 50).map(float),  # negative costs
                st.floats(0, 100, allow_nan=False).map(lambda c: round(c, 2)),
            ]
        )
    )
    rows = []
    for task in task_ids:
        priority = draw(st.integers(1, 3))
        allowed = draw(st.lists(st.sampled_from(worker_ids), max_size=n_workers, unique=True))
        if not allowed:
            rows.append((task, None, np.nan, priority))
        for worker in allowed:
            rows.append((task, worker, draw(cost_values), priority))
            if draw(st.integers(0, 5)) == 0:  # a duplicate pair, same or dearer
                rows.append((task, worker, rows[-1][2] + draw(st.integers(0, 2)), priority))
    capacities = {w: draw(st.integers(0, 3)) for w in worker_ids if draw(st.integers(0, 4)) > 0}
    return frame(rows), capacities


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(small_batches())
def test_solve_batch_matches_independent_optimum(batch: tuple[pd.DataFrame, dict]) -> None:
    """Test that solve_batch assigns as many tasks per priority, at the same least cost, as linear_sum_assignment."""
    candidates, capacities = batch
    assigned, unassigned = solve_batch(candidates, capacities)

    counts, total = reference_optimum(candidates, capacities)
    levels = sorted(candidates["priority"].unique())
    assert counts_by_priority(assigned, levels) == counts
    assert assigned["cost"].sum() == pytest.approx(total, abs=1e-6)
    assert_feasible(candidates, capacities, assigned)
    all_tasks = set(candidates["task_id"])
    assert set(assigned["task_id"]) | set(unassigned["task_id"]) == all_tasks
    assert len(assigned) + len(unassigned) == len(all_tasks)


@pytest.mark.parametrize("seed", range(5))
def test_solve_batch_never_worse_than_greedy_on_random_batches(seed: int) -> None:
    """Test that on realistic batches the optimum assigns at least greedy's urgent tasks, at no more cost if equal."""
    candidates, capacities = make_random_instance(300, 100, 2, 4, seed)
    assigned, _ = solve_batch(candidates, capacities)
    greedy, _ = greedy_batch(candidates, capacities)
    assert_feasible(candidates, capacities, assigned)
    assert_feasible(candidates, capacities, greedy)
    optimal_counts = counts_by_priority(assigned, [1, 2, 3])
    greedy_counts = counts_by_priority(greedy, [1, 2, 3])
    assert optimal_counts >= greedy_counts  # list comparison is lexicographic
    if optimal_counts == greedy_counts:
        assert assigned["cost"].sum() <= greedy["cost"].sum() + 1e-6


def test_urgent_task_wins_short_capacity_over_cheaper_routine_task() -> None:
    """Test that a priority-1 task gets the only free worker even though a priority-3 task is far cheaper."""
    candidates = frame([("routine", "w", 1.0, 3), ("urgent", "w", 90.0, 1)])
    assigned, unassigned = solve_batch(candidates, {"w": 1})
    assert assigned["task_id"].tolist() == ["urgent"]
    assert unassigned.to_dict("records") == [
        {"task_id": "routine", "priority": 3, "reason": UnassignedReason.CAPACITY_TAKEN}
    ]


def test_optimum_serves_more_urgent_tasks_than_greedy_by_cost() -> None:
    """Test that the optimum serves both urgent tasks where greedy gives the shared worker to the cheaper one."""
    candidates = frame([("t1", "a", 1.0, 1), ("t1", "b", 5.0, 1), ("t2", "a", 2.0, 1)])
    assigned, unassigned = solve_batch(candidates, {"a": 1, "b": 1})
    assert sorted(zip(assigned["task_id"], assigned["worker_id"], strict=True)) == [("t1", "b"), ("t2", "a")]
    assert unassigned.empty
    greedy, greedy_left = greedy_batch(candidates, {"a": 1, "b": 1})
    assert greedy_left["task_id"].tolist() == ["t2"]


def test_optimum_is_cheaper_than_greedy_on_two_by_two() -> None:
    """Test that solve_batch finds the 4.0 pairing where greedy's cheapest-first pass pays 11.0."""
    candidates = frame([("t1", "a", 1.0, 1), ("t1", "b", 2.0, 1), ("t2", "a", 2.0, 1), ("t2", "b", 10.0, 1)])
    capacities = {"a": 1, "b": 1}
    assigned, _ = solve_batch(candidates, capacities)
    greedy, _ = greedy_batch(candidates, capacities)
    assert greedy["cost"].sum() == 11.0
    assert assigned["cost"].sum() == 4.0
    assert dict(zip(assigned["task_id"], assigned["worker_id"], strict=True)) == {"t1": "b", "t2": "a"}


def test_each_unassigned_task_gets_its_reason() -> None:
    """Test that no pair, no free capacity and capacity used by a more urgent task give three distinct reasons."""
    candidates = frame(
        [
            ("lonely", None, np.nan, 2),  # a left join row: no worker passed the filters
            ("full", "busy", 3.0, 1),  # its only worker has no capacity left
            ("first", "w", 5.0, 1),
            ("second", "w", 1.0, 2),  # w's single slot goes to the more urgent task
        ]
    )
    assigned, unassigned = solve_batch(candidates, {"busy": 0, "w": 1})
    assert assigned["task_id"].tolist() == ["first"]
    reasons = dict(zip(unassigned["task_id"], unassigned["reason"], strict=True))
    assert reasons == {
        "lonely": "no_candidates",
        "full": "no_capacity",
        "second": "capacity_taken",
    }


def test_worker_missing_from_capacities_takes_nothing() -> None:
    """Test that a worker absent from capacities counts as having no room (reason no_capacity)."""
    candidates = frame([("t1", "ghost", 1.0, 1), ("t2", "w", 1.0, 1)])
    assigned, unassigned = solve_batch(candidates, {"w": 5})
    assert assigned["task_id"].tolist() == ["t2"]
    assert unassigned["reason"].tolist() == ["no_capacity"]


@pytest.mark.parametrize(
    "empty",
    [frame([]), pd.DataFrame(), frame([], priority=False)],
    ids=["with-columns", "no-columns", "no-priority"],
)
def test_empty_batch_gives_empty_results(empty: pd.DataFrame) -> None:
    """Test that an empty candidate table returns two empty frames with their columns."""
    assigned, unassigned = solve_batch(empty, {"w": 1})
    assert assigned.empty and unassigned.empty
    assert list(assigned.columns[:4]) == ["task_id", "worker_id", "cost", "priority"]
    assert list(unassigned.columns) == ["task_id", "priority", "reason"]


def test_string_ids_and_missing_priority_column() -> None:
    """Test that string ids round-trip unchanged and a table without priority treats all tasks as priority 1."""
    candidates = frame(
        [("事件-1", "张三", 2.5), ("事件-2", "张三", 1.5), ("事件-2", "李四", 4.0)], priority=False
    )
    assigned, unassigned = solve_batch(candidates, {"张三": 1, "李四": 1})
    assert dict(zip(assigned["task_id"], assigned["worker_id"], strict=True)) == {
        "事件-1": "张三",
        "事件-2": "李四",
    }
    assert assigned["priority"].tolist() == [1, 1]
    assert assigned["cost"].sum() == 6.5
    assert unassigned.empty


def test_duplicate_pairs_keep_the_cheapest_row() -> None:
    """Test that a pair listed twice is costed at its cheaper row, extra columns included."""
    candidates = frame([("t", "w", 9.0, 1), ("t", "w", 3.0, 1)]).assign(source=["grid", "pool"])
    assigned, _ = solve_batch(candidates, {"w": 1})
    assert assigned[["cost", "source"]].to_dict("records") == [{"cost": 3.0, "source": "pool"}]


def test_negative_costs_stay_optimal() -> None:
    """Test that negative costs (bonuses) are handled without losing the optimum."""
    candidates = frame(
        [("t1", "a", -5.0, 1), ("t1", "b", -4.0, 1), ("t2", "a", -9.0, 1), ("t2", "b", 1.0, 1)]
    )
    assigned, _ = solve_batch(candidates, {"a": 1, "b": 1})
    assert assigned["cost"].sum() == -13.0


def test_decimal_costs_are_solved_exactly() -> None:
    """Test that costs spread over 0..100 are compared to the fourth decimal, not rounded into a tie."""
    candidates = frame(
        [("t1", "a", 50.0002, 1), ("t1", "b", 50.0001, 1), ("t2", "c", 0.0, 1), ("t3", "c", 100.0, 1)]
    )
    assigned, _ = solve_batch(candidates, {"a": 1, "b": 1, "c": 2})
    assert assigned.set_index("task_id").loc["t1", "worker_id"] == "b"
    assert assigned.attrs["cost_resolution"] == pytest.approx(1e-4)


def test_nan_cost_is_rejected_with_column_name() -> None:
    """Test that a NaN cost on an allowed pair raises ValueError naming the cost column."""
    with pytest.raises(ValueError, match="'cost'"):
        solve_batch(frame([("t", "w", np.nan, 1)]), {"w": 1})


def test_bad_priority_is_rejected_with_column_name() -> None:
    """Test that a missing or inconsistent priority raises ValueError naming the priority column."""
    with pytest.raises(ValueError, match="'priority'"):
        solve_batch(frame([("t", "w", 1.0, np.nan)]), {"w": 1})
    with pytest.raises(ValueError, match="'priority'"):
        solve_batch(frame([("t", "a", 1.0, 1), ("t", "b", 1.0, 2)]), {"a": 1, "b": 1})


def test_missing_column_is_rejected() -> None:
    """Test that a table without a cost column raises ValueError naming it."""
    with pytest.raises(ValueError, match="cost"):
        solve_batch(pd.DataFrame({"task_id": [1], "worker_id": [2]}), {2: 1})


def test_random_instance_is_realistic() -> None:
    """Test that make_random_instance gives ~degree workers per task, costs in 0..100, priorities 1..3."""
    candidates, capacities = make_random_instance(500, 200, 3, 6, seed=1)
    per_task = candidates.groupby("task_id").size()
    assert per_task.index.nunique() == 500
    assert 5 <= per_task.mean() <= 7 and per_task.min() >= 3
    assert candidates["cost"].between(0, 100).all()
    assert set(candidates["priority"]) == {1, 2, 3}
    assert not candidates.duplicated(["task_id", "worker_id"]).any()
    assert capacities == dict.fromkeys(range(200), 3)
    again, _ = make_random_instance(500, 200, 3, 6, seed=1)
    pd.testing.assert_frame_equal(candidates, again)
