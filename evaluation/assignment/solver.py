"""Optimal batch assignment of tasks to grid workers (智能派单, DOMAIN.md §7).

A batch is a candidate table (one row per allowed task-worker pair, after the hard filters of §7:
own grid, on duty, qualified) and the free capacity of each worker. ``solve_batch`` picks at most
one worker per task and at most ``capacity`` tasks per worker such that

1. the count of assigned tasks is lexicographically largest by priority: as many priority-1 tasks
   as possible, then as many priority-2 tasks, and so on;
2. among those, the total cost is least.

Goal 1 also assigns as many tasks as the capacities allow: the sets of tasks that can be served
together form a (transversal) matroid, and a lexicographic optimum that left room for one more task
would not be lexicographically optimal.

Model: min-cost flow. Every task node supplies one unit that reaches the sink either through a
worker (arc task→worker, capacity 1, the pair's cost; arc worker→sink, capacity = the worker's free
capacity) or through a bypass arc task→sink ("left unassigned") whose cost ``U_r`` is a penalty
that depends on the task's priority rank ``r`` (0 = most urgent of the batch, ``P`` ranks).

Why the penalties are large enough. Let costs be integers in ``[0, C]`` and ``K`` bound the number
of tasks that can be assigned (``min(#tasks, total capacity)``). Take
``U_r = (P - r) · (K·C + 1)``. Let S be a flow optimal for this model and L a lexicographic
optimum. Seen as matchings (each worker split into capacity slots), S Δ L splits into disjoint
alternating paths and cycles; applied to S alone each one gives a feasible assignment, and changes
the assigned set by "+a", "-b" or "+a -b" (cycles change nothing). The count vectors of the pieces
add up to ``counts(L) - counts(S)``, which is lexicographically positive if S is not a lex optimum,
so one piece is lexicographically positive on its own: "+a", or "+a -b" with a more urgent than b.
That piece adds at most K pair arcs of cost <= C and removes arcs of cost >= 0, so its cost change
is at most K·C, while the penalty saved is ``U_a >= K·C + 1`` or ``U_a - U_b >= K·C + 1``: applying
it would make S cheaper, a contradiction. So S has the lexicographically best counts; the counts
fix the penalty total, so S also has the least cost among lexicographic optima.

Precision. OR-Tools needs integer costs. Costs are shifted by their minimum (negative costs are
fine: every assigned task pays the same shift once the counts are fixed) and multiplied by the
largest power of ten that keeps the scaled spread within ``COST_STEPS`` (and within the int64
budget below). For costs spread over 0..100 that is 10⁴: costs with up to four decimals are
solved exactly, and in general the returned total is within ``n_assigned / scale`` of the true
optimum. ``assigned.attrs["cost_resolution"]`` records ``1 / scale``.

Overflow. OR-Tools multiplies every cost by ``num_nodes + 1`` and refuses (BAD_COST_RANGE) a cost
above ``INT64_MAX / (2·(num_nodes + 1))``; node potentials grow further during the solve, so we
keep a headroom factor below that limit and, should OR-Tools still report BAD_COST_RANGE, retry
with a coarser cost scale.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

import numpy as np
import pandas as pd
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow
from scipy.spatial import cKDTree

from core.errors import InternalError, Misuse

REQUIRED_COLUMNS = ("task_id", "worker_id", "cost")
COST_STEPS = 1_000_000  # target resolution: the cost spread is cut into at most this many steps
_INT64_MAX = np.iinfo(np.int64).max
_POTENTIAL_HEADROOM = 64  # room for node potentials to grow past the largest scaled cost
_COARSER_ON_RETRY = 1_000


class UnassignedReason(StrEnum):
    """Why a task was left over; stable codes that the UI translates."""

    NO_CANDIDATES = "no_candidates"  # no worker passed the hard filters for this task
    NO_CAPACITY = "no_capacity"  # every allowed worker had no free capacity to begin with
    CAPACITY_TAKEN = "capacity_taken"  # allowed workers had room, used by more urgent or cheaper tasks


class BatchAssignment(NamedTuple):
    """The chosen pairs and the tasks left over; unpacks as ``assigned, unassigned``."""

    # task_id, worker_id, cost, priority, then the candidates' other columns; ordered by priority.
    # attrs["cost_resolution"]: the cost step the optimum was computed at (0.0: costs used as is).
    assigned: pd.DataFrame
    unassigned: pd.DataFrame  # task_id, priority, reason (an UnassignedReason value)


@dataclass(frozen=True)
class _Batch:
    """The validated candidate table as integer codes: tasks 0..n_tasks-1, workers 0..n_workers-1."""

    candidates: pd.DataFrame
    task_first_row: np.ndarray  # per task: its first row in ``candidates``
    task_priority: np.ndarray  # per task (int64)
    task_has_pair: np.ndarray  # per task (bool): at least one allowed worker
    pair_task: np.ndarray  # per distinct allowed pair (its cheapest row)
    pair_worker: np.ndarray
    pair_cost: np.ndarray  # float64
    pair_row: np.ndarray  # row in ``candidates``
    worker_capacity: np.ndarray  # per worker (int64, >= 0)

    @property
    def n_tasks(self) -> int:
        return len(self.task_first_row)


def solve_batch(candidates: pd.DataFrame, capacities: Mapping[Hashable, int]) -> BatchAssignment:
    """Assign the batch optimally: most urgent tasks first, then least total cost (see module doc).

    ``candidates`` has one row per allowed pair with ``task_id``, ``worker_id``, ``cost`` (lower is
    better) and optionally ``priority`` (integer, 1 the most urgent; all 1 if absent). A task with
    no allowed worker is a row whose ``worker_id`` is missing, as a left join of tasks onto pairs
    yields. Duplicate pairs keep their cheapest row. ``capacities`` maps worker_id to how many more
    tasks the worker may take; absent workers take none, negative values count as none.
    """
    batch = _prepare(candidates, capacities)
    usable = np.flatnonzero(batch.worker_capacity[batch.pair_worker] > 0)
    if len(usable) == 0:
        return _package(batch, usable, cost_resolution=0.0)
    steps = COST_STEPS
    while True:
        chosen, resolution, status = _solve_flow(batch, usable, steps)
        if status == SimpleMinCostFlow.OPTIMAL:
            return _package(batch, chosen, cost_resolution=resolution)
        if status != SimpleMinCostFlow.BAD_COST_RANGE or steps < _COARSER_ON_RETRY:
            raise InternalError(f"min-cost flow failed with status {status!r}")
        steps //= _COARSER_ON_RETRY


def greedy_batch(candidates: pd.DataFrame, capacities: Mapping[Hashable, int]) -> BatchAssignment:
    """Baseline for the benchmark: by priority, then cost, take each pair while the worker has room.

    Same inputs, outputs and reasons as ``solve_batch``; not optimal (it can spend a worker on a
    task that had another option, costing more or leaving an urgent task out).
    """
    batch = _prepare(candidates, capacities)
    usable = np.flatnonzero(batch.worker_capacity[batch.pair_worker] > 0)
    order = usable[
        np.lexsort(
            (batch.pair_row[usable], batch.pair_cost[usable], batch.task_priority[batch.pair_task[usable]])
        )
    ]
    # Greedy is sequential by definition (each take changes what is left), hence a plain loop over
    # Python ints, which is several times faster than indexing numpy arrays element by element.
    room = batch.worker_capacity.tolist()
    taken = [False] * batch.n_tasks
    chosen: list[int] = []
    for pair, task, worker in zip(
        order.tolist(), batch.pair_task[order].tolist(), batch.pair_worker[order].tolist(), strict=True
    ):
        if not taken[task] and room[worker] > 0:
            taken[task] = True
            room[worker] -= 1
            chosen.append(pair)
    return _package(batch, np.asarray(chosen, dtype=np.int64), cost_resolution=0.0)


def make_random_instance(
    n_tasks: int, n_workers: int, capacity: int, degree: int, seed: int
) -> tuple[pd.DataFrame, dict[int, int]]:
    """A realistic random batch for tests and the benchmark: ``(candidates, capacities)``.

    Tasks and workers are points in a unit square; each task is allowed for its nearest
    ``degree // 2 .. 3·degree // 2`` workers (about ``degree``), as the 属地 filter allows nearby
    workers only. Cost (0..100) is 70 % travel distance and 30 % noise standing for the score's
    other terms; priorities 1/2/3 come in shares 20/30/50 %. Every worker has ``capacity``.
    """
    if degree < 1 or n_workers < 1:
        raise Misuse("degree and n_workers must be at least 1")
    rng = np.random.default_rng(seed)
    worker_xy = rng.random((n_workers, 2))
    task_xy = rng.random((n_tasks, 2))
    k_max = min(degree + degree // 2, n_workers)
    k_task = np.minimum(rng.integers(max(1, degree - degree // 2), k_max + 1, size=n_tasks), k_max)
    distance, nearest = cKDTree(worker_xy).query(task_xy, k=k_max)
    distance = np.asarray(distance, dtype=np.float64).reshape(n_tasks, k_max)
    nearest = np.asarray(nearest, dtype=np.int64).reshape(n_tasks, k_max)
    task, slot = np.nonzero(np.arange(k_max)[None, :] < k_task[:, None])
    travel = distance[task, slot]
    reach = float(np.quantile(travel, 0.99)) if len(travel) else 1.0
    cost = 100.0 * (0.7 * np.minimum(travel / reach, 1.0) + 0.3 * rng.random(len(task)))
    priority = rng.choice(np.array([1, 2, 3]), size=n_tasks, p=[0.2, 0.3, 0.5])
    candidates = pd.DataFrame(
        {"task_id": task, "worker_id": nearest[task, slot], "cost": cost, "priority": priority[task]}
    )
    return candidates, dict.fromkeys(range(n_workers), capacity)


def _solve_flow(batch: _Batch, usable: np.ndarray, steps: int) -> tuple[np.ndarray, float, int]:
    """One min-cost flow over the usable pairs; returns (chosen pairs, cost resolution, status)."""
    pair_task = batch.pair_task[usable]
    pair_worker = batch.pair_worker[usable]
    tasks, task_node = np.unique(pair_task, return_inverse=True)
    workers, worker_index = np.unique(pair_worker, return_inverse=True)
    n_t, n_w = len(tasks), len(workers)
    sink = n_t + n_w
    num_nodes = sink + 1
    worker_capacity = np.minimum(batch.worker_capacity[workers], n_t)
    ranks, task_rank = np.unique(batch.task_priority[tasks], return_inverse=True)
    n_ranks = len(ranks)
    max_assigned = int(min(n_t, worker_capacity.sum()))  # K in the module docstring

    # Largest scaled cost C allowed so that the biggest penalty n_ranks·(K·C + 1) stays in budget.
    budget = _INT64_MAX // (2 * (num_nodes + 1)) // _POTENTIAL_HEADROOM
    max_steps = min(steps, (budget // n_ranks - 1) // max_assigned)
    cost = batch.pair_cost[usable]
    spread = float(cost.max() - cost.min())
    scale = 10.0 ** math.floor(math.log10(max_steps / spread)) if spread > 0 and max_steps > 0 else 1.0
    scaled = np.rint((cost - cost.min()) * scale).astype(np.int64)
    unit = max_assigned * int(scaled.max()) + 1
    penalty = (n_ranks - task_rank).astype(np.int64) * unit

    arange_t = np.arange(n_t, dtype=np.int32)
    tails = np.concatenate([task_node.astype(np.int32), arange_t, n_t + np.arange(n_w, dtype=np.int32)])
    heads = np.concatenate([(n_t + worker_index).astype(np.int32), np.full(n_t + n_w, sink, dtype=np.int32)])
    arc_capacity = np.concatenate([np.ones(len(usable) + n_t, dtype=np.int64), worker_capacity])
    arc_cost = np.concatenate([scaled, penalty, np.zeros(n_w, dtype=np.int64)])

    flow = SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, arc_capacity, arc_cost)
    supplies = np.ones(num_nodes, dtype=np.int64)
    supplies[n_t:sink] = 0
    supplies[sink] = -n_t
    flow.set_nodes_supplies(np.arange(num_nodes, dtype=np.int32), supplies)
    status = flow.solve()
    if status != SimpleMinCostFlow.OPTIMAL:
        return np.empty(0, dtype=np.int64), 0.0, status
    used = flow.flows(np.arange(len(usable), dtype=np.int32)) > 0
    return usable[used], 1.0 / scale, status


def _prepare(candidates: pd.DataFrame, capacities: Mapping[Hashable, int]) -> _Batch:
    """Validate the inputs and reduce them to integer codes, one cheapest row per distinct pair."""
    if candidates.empty and len(candidates.columns) == 0:
        candidates = pd.DataFrame({column: [] for column in REQUIRED_COLUMNS})
    missing = [column for column in REQUIRED_COLUMNS if column not in candidates.columns]
    if missing:
        raise Misuse(f"candidates is missing column(s) {missing}")
    candidates = candidates.reset_index(drop=True)
    if candidates["task_id"].isna().any():
        raise Misuse("candidates column 'task_id' has missing values")
    task, _ = pd.factorize(candidates["task_id"])
    worker, worker_ids = pd.factorize(candidates["worker_id"])  # missing worker_id -> code -1
    has_worker = worker >= 0

    cost = pd.to_numeric(candidates["cost"], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = has_worker & ~np.isfinite(cost)
    if bad.any():
        example = candidates["task_id"].iloc[int(np.argmax(bad))]
        raise Misuse(
            f"candidates column 'cost' must be a finite number on every allowed pair; "
            f"{int(bad.sum())} row(s) are NaN or infinite (e.g. task_id={example!r})"
        )

    _, task_first_row = np.unique(task, return_index=True)
    priority = _priorities(candidates, task, task_first_row)

    rows = np.flatnonzero(has_worker)
    order = rows[np.lexsort((rows, cost[rows], worker[rows], task[rows]))]
    first_of_pair = np.ones(len(order), dtype=bool)
    first_of_pair[1:] = (task[order][1:] != task[order][:-1]) | (worker[order][1:] != worker[order][:-1])
    pair_row = order[first_of_pair]

    return _Batch(
        candidates=candidates,
        task_first_row=task_first_row,
        task_priority=priority,
        task_has_pair=np.bincount(task[pair_row], minlength=len(task_first_row)) > 0,
        pair_task=task[pair_row],
        pair_worker=worker[pair_row],
        pair_cost=cost[pair_row],
        pair_row=pair_row,
        worker_capacity=_capacities(worker_ids, capacities),
    )


def _priorities(candidates: pd.DataFrame, task: np.ndarray, task_first_row: np.ndarray) -> np.ndarray:
    """Priority per task; it is a property of the task, so all its rows must agree."""
    if "priority" not in candidates.columns:
        return np.ones(len(task_first_row), dtype=np.int64)
    raw = pd.to_numeric(candidates["priority"], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(raw).all() or (raw != np.round(raw)).any():
        raise Misuse("candidates column 'priority' must be a whole number on every row")
    per_task = raw[task_first_row].astype(np.int64)
    disagree = raw != per_task[task]
    if disagree.any():
        example = candidates["task_id"].iloc[int(np.argmax(disagree))]
        raise Misuse(f"candidates column 'priority' differs between rows of task_id={example!r}")
    return per_task


def _capacities(worker_ids: pd.Index | np.ndarray, capacities: Mapping[Hashable, int]) -> np.ndarray:
    """Free capacity per worker code: absent workers 0, negative (over the cap already) 0."""
    ids = list(worker_ids)  # one lookup per distinct worker, not per row
    values = np.array([capacities.get(w, 0) for w in ids], dtype=np.float64)
    bad = ~np.isfinite(values) | (values != np.round(values))
    if bad.any():
        example = ids[int(np.argmax(bad))]
        raise Misuse(f"capacity must be a whole number (worker_id={example!r})")
    return np.clip(values, 0, None).astype(np.int64)


def _package(batch: _Batch, chosen: np.ndarray, *, cost_resolution: float) -> BatchAssignment:
    """Turn chosen pair indices into the two result frames, with a reason per task left over."""
    frame = batch.candidates
    chosen_task = batch.pair_task[chosen]
    order = np.lexsort((chosen_task, batch.task_priority[chosen_task]))
    assigned = frame.iloc[batch.pair_row[chosen][order]].reset_index(drop=True)
    if "priority" not in assigned.columns:
        assigned["priority"] = batch.task_priority[chosen_task[order]]
    leading = ["task_id", "worker_id", "cost", "priority"]
    assigned = assigned[leading + [c for c in assigned.columns if c not in leading]]
    assigned.attrs["cost_resolution"] = cost_resolution

    is_assigned = np.zeros(batch.n_tasks, dtype=bool)
    is_assigned[chosen_task] = True
    usable = batch.worker_capacity[batch.pair_worker] > 0
    has_room = np.bincount(batch.pair_task[usable], minlength=batch.n_tasks) > 0
    reason = np.where(
        ~batch.task_has_pair,
        UnassignedReason.NO_CANDIDATES.value,
        np.where(~has_room, UnassignedReason.NO_CAPACITY.value, UnassignedReason.CAPACITY_TAKEN.value),
    )
    left = np.flatnonzero(~is_assigned)
    left = left[np.lexsort((left, batch.task_priority[left]))]
    unassigned = frame[["task_id"]].iloc[batch.task_first_row[left]].reset_index(drop=True)
    unassigned["priority"] = batch.task_priority[left]
    unassigned["reason"] = reason[left]
    return BatchAssignment(assigned, unassigned)
