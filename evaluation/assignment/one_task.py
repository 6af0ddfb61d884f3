"""One task's ranking: what 智能派单 shows for the task a manager picked.

The pairs are ``pairs.score_tasks``'s for that one task (the batch tab's code), from inputs read for the task's
community alone (service.task_inputs, in SQL) or taken from frames a caller already holds
(``inputs_from_frames``): a few ms, where a pandas pass over the pairs cost ~60 ms whatever the size (issue #21).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from evaluation.assignment.pairs import TaskInputs, inputs_from_frames, score_tasks
from evaluation.assignment.rank import RULES, Preset

__all__ = ["TaskInputs", "inputs_from_frames", "rank_candidates", "rank_task"]


def rank_task(
    task: Mapping[str, Any],
    inputs: TaskInputs,
    weights: Preset | Mapping[str, float] | str,
    *,
    now: datetime,
    items: pd.DataFrame | None = None,
    extra: Sequence[str] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(ranked, excluded)`` for one task: the eligible workers best first with ``rank``, score and points per
    preference; the workers of the task's community a hard rule excluded, with the ``rule`` (explain.py turns
    either into sentences). ``extra`` names worker columns of ``inputs.workers`` to carry (e.g. grid names)."""
    pairs = score_tasks(task, inputs, weights, now=now, items=items, extra=extra)
    eligible = pairs["eligible"]
    ranked = {"rank": np.arange(1, int(eligible.sum()) + 1), **{c: v[eligible] for c, v in pairs.items()}}
    out = {c: v[~eligible] for c, v in pairs.items()}
    order = {r: i for i, r in enumerate(RULES)}
    rule_order = np.array([order[r] for r in out["rule"].tolist()], dtype=np.int64)
    by = np.lexsort((out["worker_id"].astype(float), out["distance_km"], out["tier"], rule_order))
    return pd.DataFrame(ranked), pd.DataFrame({c: v[by] for c, v in out.items()})


def rank_candidates(
    task: Mapping[str, Any] | pd.Series,
    workers: pd.DataFrame,
    quals: pd.DataFrame,
    perf: pd.DataFrame,
    load: pd.DataFrame,
    busy: Iterable[Hashable] | pd.DataFrame | None,
    weights: Preset | Mapping[str, float] | str,
    *,
    now: datetime,
    grids: pd.DataFrame | None = None,
    items: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``rank_task`` from the frames ``pairs.score_pairs`` takes (rank.py documents them)."""
    row = dict(task)
    inputs = inputs_from_frames(row, workers, quals, perf, load, busy, grids=grids)
    return rank_task(row, inputs, weights, now=now, items=items)
