"""Many tasks at once: the candidate table for every open task, the optimal batch, and a proposal.

Pure functions over the frames ``pairs.score_pairs`` returns. The cost of a pair is ``max_score −
score`` (the preset's best attainable score minus this worker's), so the solver's least total cost
is the greatest total score; the priority is the task's (1 urgent, 2 normal, 3 complex), so urgent
tasks get the scarce workers first (solver.py has the proof).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.assignment.rank import Preset, as_preset, priority_rank
from evaluation.assignment.solver import solve_batch


@dataclass(frozen=True)
class BatchProposal:
    """What "assign all open" would do, before anyone confirms it."""

    assigned: pd.DataFrame  # task_id, worker_id, cost, priority, score, rank_in_task, then the pair's columns
    unassigned: pd.DataFrame  # task_id, priority, reason (no_candidates | no_capacity | capacity_taken)
    preset: str
    n_tasks: int

    @property
    def total_score(self) -> float:
        return float(self.assigned["score"].sum()) if not self.assigned.empty else 0.0

    @property
    def first_choice_share(self) -> float:
        """Share of assigned tasks that went to their own top-ranked candidate."""
        if self.assigned.empty:
            return float("nan")
        return float((self.assigned["rank_in_task"] == 1).mean())


def candidate_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """The solver's input: one row per eligible pair (cost = max_score − score, task priority), plus
    one row with no worker for each task nobody is eligible for (so it comes back as no_candidates).

    ``rank_in_task`` is the pair's place in the task's own ranking (1 = its recommendation).
    """
    columns = ["task_id", "worker_id", "cost", "priority", "score", "rank_in_task"]
    if pairs.empty:
        return pd.DataFrame(columns=columns)
    eligible = pairs[pairs["eligible"].astype(bool)]
    ranked = eligible.sort_values(
        ["task_id", "score", "distance_km", "worker_id"], ascending=[True, False, True, True]
    )
    table = pd.DataFrame(
        {
            "task_id": ranked["task_id"].to_numpy(),
            "worker_id": ranked["worker_id"].to_numpy(),
            "cost": (ranked["max_score"] - ranked["score"]).to_numpy(dtype=float),
            "priority": ranked["priority_rank"].to_numpy(dtype=np.int64),
            "score": ranked["score"].to_numpy(dtype=float),
            "rank_in_task": ranked.groupby("task_id").cumcount().to_numpy() + 1,
        }
    )
    task_priority = pairs.drop_duplicates("task_id").set_index("task_id")["priority_rank"]
    orphans = task_priority.index.difference(pd.Index(table["task_id"].unique()))
    if len(orphans):
        table = pd.concat(
            [
                table,
                pd.DataFrame(
                    {
                        "task_id": orphans,
                        "worker_id": np.nan,
                        "cost": np.nan,
                        "priority": task_priority.loc[orphans].to_numpy(dtype=np.int64),
                        "score": np.nan,
                        "rank_in_task": np.nan,
                    }
                ),
            ],
            ignore_index=True,
        )
    return table


def capacities(load: pd.DataFrame, workers: pd.DataFrame, preset: Preset | str) -> dict[Hashable, int]:
    """Free places per worker: the preset's open-task cap minus the tasks already on hand."""
    cap = as_preset(preset).open_task_cap
    on_hand = load.drop_duplicates("worker_id").set_index("worker_id")["open_tasks"] if not load.empty else {}
    ids = workers["worker_id"]
    held = ids.map(on_hand).fillna(0).astype(int) if len(ids) else ids
    return dict(zip(ids.tolist(), np.maximum(cap - np.asarray(held, dtype=int), 0).tolist(), strict=True))


def propose(
    pairs: pd.DataFrame,
    tasks: pd.DataFrame,
    load: pd.DataFrame,
    workers: pd.DataFrame,
    preset: Preset | str,
) -> BatchProposal:
    """Solve the batch over ``pairs`` (from score_pairs for the unassigned ``tasks``)."""
    p = as_preset(preset)
    n_tasks = int(tasks["task_id"].nunique()) if not tasks.empty else 0
    table = candidate_table(pairs)
    # Tasks of communities with no worker in scope never reach the pairs: no candidates either.
    missing = tasks[~tasks["task_id"].isin(table["task_id"])] if not tasks.empty else tasks
    if not missing.empty:
        table = pd.concat(
            [
                table,
                pd.DataFrame(
                    {
                        "task_id": missing["task_id"].to_numpy(),
                        "worker_id": np.nan,
                        "cost": np.nan,
                        "priority": priority_rank(missing["priority"]).to_numpy(dtype=np.int64),
                        "score": np.nan,
                        "rank_in_task": np.nan,
                    }
                ),
            ],
            ignore_index=True,
        )
    if table.empty:
        empty = pd.DataFrame(columns=["task_id", "worker_id", "cost", "priority", "score", "rank_in_task"])
        return BatchProposal(empty, pd.DataFrame(columns=["task_id", "priority", "reason"]), p.code, n_tasks)
    assigned, unassigned = solve_batch(table, capacities(load, workers, p))
    assigned = assigned.assign(
        worker_id=assigned["worker_id"].astype(int), rank_in_task=assigned["rank_in_task"].astype(int)
    )
    detail = pairs.drop(columns=[c for c in ("priority",) if c in pairs.columns])
    assigned = assigned.merge(detail.drop(columns=["score"]), on=["task_id", "worker_id"], how="left")
    return BatchProposal(assigned.reset_index(drop=True), unassigned, p.code, n_tasks)
