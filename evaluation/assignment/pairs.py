"""A (task, worker) pair's rules, points and score, written once (rank.py's docstring says what they mean).

``score_tasks`` scores the workers of each task's community for any number of tasks, from ``TaskInputs``: the
pairs' facts are looked up per pair in plain Python (dicts), the formula is numpy over all pairs at once.
智能派单's queue tab ranks one task with it (one_task.rank_task, a few ms), the batch tab every open task of the
scope (``score_pairs``, the frames in, one frame out). explain.py turns its columns into sentences.

The inputs are read for one task's community (service.task_inputs, in SQL) or taken from any scope's frames
(``scope_inputs``, ``inputs_from_frames``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd

from evaluation.assignment.rank import (
    ADJACENT_SHARE,
    COMPONENTS,
    EXTRA_SKILL_COURSE,
    PERF_COUNTS,
    PRIOR_STRENGTH,
    SKILL_CERT_SHARE,
    SKILL_SCORE_SHARE,
    TASK_COLUMNS,
    WORKER_COLUMNS,
    Preset,
    as_preset,
    haversine_km,
    nearest_grids,
    priority_code,
    shipped_items,
)

Counts = tuple[float, float, float, float, float]  # handled, ontime, rework, satisfied, rated
TASK_FIELDS = ("task_id", "kind", "item_code", "priority", "grid_id", "community_id", "lat", "lon")
NO_RECORD = (None, np.datetime64("NaT", "us"), math.nan)  # a course the worker has no result in
RENAMED = {"grid_id": "task_grid_id", "lat": "task_lat", "lon": "task_lon"}
QUAL_COLUMNS = ["worker_id", "course_code", "passed", "certificate_valid_until", "best_score"]
# The columns after the task's and the worker's, in order.
PAIR_COLUMNS = (
    "tier",
    "distance_km",
    "q_passed",
    "q_cert_until",
    "q_best",
    "s_passed",
    "s_cert_until",
    "s_best",
    "qualified",
    "qual_status",
    "s_cert_valid",
    "skill",
    *PERF_COUNTS,
    "p_ontime",
    "p_rework",
    "p_sat",
    "ontime_rate",
    "rework_rate",
    "satisfaction_rate",
    "performance",
    "open_tasks",
    "tasks_last_30d",
    "community_mean_30d",
    "open_task_cap",
    "rule",
    "tier_level",
    "eligible",
    *(f"pts_{c}" for c in COMPONENTS),
    "score",
    "max_score",
    "preset",
)


@dataclass(frozen=True)
class TaskInputs:
    """What ranking the tasks of some communities reads.

    ``workers``: those communities' workers in the viewer's scope, column name → array, at least WORKER_COLUMNS
    (lat, lon: their grid's centre). ``grids``: grid id → (community id, lat, lon) of those communities' grids.
    ``quals``: (worker, course) → (passed, certificate valid until or NaT, best score or NaN). ``perf``: (worker, category)
    → counts for these workers; ``pooled``: category → counts of every worker (the priors pool the whole
    district; None is events without a category, which count in the totals only). ``load``: worker → (open
    tasks, tasks in the last 30 days). ``busy``: workers in training during the task's response window (one
    task's; ``score_tasks`` takes the batch's per task)."""

    workers: dict[str, np.ndarray]
    grids: dict[Any, tuple[Any, float | None, float | None]]
    quals: dict[tuple[Any, str], tuple[bool, np.datetime64, float]]
    perf: dict[tuple[Any, Any], Counts]
    pooled: dict[Any, Counts]
    load: dict[Any, tuple[int, int]]
    busy: frozenset[Any] = frozenset()


def _missing(value: object) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _or_none(value: Any) -> Any:  # noqa: ANN401 - a cell of any type
    return None if _missing(value) else value


def _counts(frame: pd.DataFrame, keys: list[str]) -> dict[Any, Counts]:
    """The PERF_COUNTS summed per ``keys`` (a missing category is the key None)."""
    sums = frame.groupby(keys, dropna=False, sort=False)[list(PERF_COUNTS)].sum()
    levels = [sums.index.get_level_values(i) for i in range(len(keys))]
    levels = [lv.astype(object).where(lv.notna(), None).tolist() for lv in levels]
    index = zip(*levels, strict=True) if len(keys) > 1 else levels[0]
    return dict(zip(index, map(tuple, sums.to_numpy(dtype=float).tolist()), strict=True))


def scope_inputs(
    communities: Iterable[Any],
    task_grids: Iterable[Any],
    workers: pd.DataFrame,
    quals: pd.DataFrame,
    perf: pd.DataFrame,
    load: pd.DataFrame,
    *,
    grids: pd.DataFrame | None = None,
    pooled: pd.DataFrame | None = None,
) -> TaskInputs:
    """``TaskInputs`` of the tasks of ``communities`` lying in ``task_grids``, from the frames ``score_pairs``
    takes. The priors pool ``perf``, or the per-category counts ``pooled`` (category_code and the counts) when
    ``perf`` holds a few workers' rows only."""
    communities = list(communities)
    wk = workers[workers["community_id"].isin(communities)]
    wk = wk.reindex(columns=list(dict.fromkeys([*WORKER_COLUMNS, *wk.columns]))).reset_index(drop=True)
    ids = set(wk["worker_id"].tolist())
    table = grids if grids is not None else workers[["grid_id", "community_id", "lat", "lon"]]
    in_task_grid = table["grid_id"].isin(list(task_grids))
    table = table[table["community_id"].isin([*communities, *table.loc[in_task_grid, "community_id"]])]
    table = table.drop_duplicates("grid_id")
    q = quals[quals["worker_id"].isin(ids)].reindex(columns=QUAL_COLUMNS)
    q = q.drop_duplicates(["worker_id", "course_code"], keep="last")
    passed = q["passed"].astype(object).where(q["passed"].notna(), False).astype(bool)
    until = pd.to_datetime(q["certificate_valid_until"], errors="coerce").to_numpy(dtype="datetime64[us]")
    best = pd.to_numeric(q["best_score"], errors="coerce").astype(float)
    p = perf.reindex(columns=["worker_id", "category_code", *PERF_COUNTS])
    p = p.assign(**{c: pd.to_numeric(p[c], errors="coerce").fillna(0.0).astype(float) for c in PERF_COUNTS})
    if pooled is not None:
        sums = pooled.reindex(columns=["category_code", *PERF_COUNTS])
        sums = sums.assign(
            **{c: pd.to_numeric(sums[c], errors="coerce").fillna(0.0).astype(float) for c in PERF_COUNTS}
        )
    ld = load.reindex(columns=["worker_id", "open_tasks", "tasks_last_30d"]).drop_duplicates("worker_id")
    ld = ld[ld["worker_id"].isin(ids)]
    load_numbers = [pd.to_numeric(ld[c], errors="coerce").fillna(0).astype(int) for c in ld.columns[1:]]
    return TaskInputs(
        workers={c: wk[c].to_numpy() for c in wk.columns},
        grids={
            g: (_or_none(c), _or_none(la), _or_none(lo))
            for g, c, la, lo in zip(
                table["grid_id"], table["community_id"], table["lat"], table["lon"], strict=True
            )
        },
        quals=dict(
            zip(
                zip(q["worker_id"].tolist(), q["course_code"].tolist(), strict=True),
                zip(passed.tolist(), list(until), best.tolist(), strict=True),
                strict=True,
            )
        ),
        perf=_counts(p[p["worker_id"].isin(ids)], ["worker_id", "category_code"]),
        pooled=_counts(sums if pooled is not None else p, ["category_code"]),
        load=dict(zip(ld["worker_id"], zip(*(n.tolist() for n in load_numbers), strict=True), strict=True)),
    )


def inputs_from_frames(
    task: Mapping[str, Any],
    workers: pd.DataFrame,
    quals: pd.DataFrame,
    perf: pd.DataFrame,
    load: pd.DataFrame,
    busy: Iterable[Hashable] | pd.DataFrame | None,
    *,
    grids: pd.DataFrame | None = None,
    pooled: pd.DataFrame | None = None,
) -> TaskInputs:
    """``TaskInputs`` for one ``task`` (its community's) from the frames ``score_pairs`` takes."""
    inputs = scope_inputs(
        [task.get("community_id")],
        [task.get("grid_id")],
        workers,
        quals,
        perf,
        load,
        grids=grids,
        pooled=pooled,
    )
    return replace(inputs, busy=frozenset(_busy_of(busy)(task.get("task_id"))))


def _busy_of(busy: Iterable[Hashable] | pd.DataFrame | None) -> Callable[[Any], Collection[Any]]:
    """Who is in training during a task: ``busy`` is worker ids for every task, or task_id, worker_id rows."""
    if busy is None:
        return lambda _task: frozenset()
    if isinstance(busy, pd.DataFrame):
        if "task_id" not in busy.columns:
            every = frozenset(busy["worker_id"].tolist())
            return lambda _task: every
        by_task: dict[Any, set[Any]] = {}
        for t, w in zip(busy["task_id"].tolist(), busy["worker_id"].tolist(), strict=True):
            by_task.setdefault(t, set()).add(w)
        return lambda task: by_task.get(task, frozenset())
    every = frozenset(busy)
    return lambda _task: every


@lru_cache(maxsize=4)
def _item_table(items_id: int) -> dict[str, tuple[Any, Any, Any]]:
    del items_id  # the key: shipped_items() is made once per process
    return _items_of(shipped_items())


def _items_of(items: pd.DataFrame) -> dict[str, tuple[Any, Any, Any]]:
    """item code → (category, qualification course, skill course)."""
    cols = [items[c].tolist() for c in ("item_code", "category_code", "qualification_course", "skill_course")]
    return {code: (_or_none(cat), _or_none(q), _or_none(s)) for code, cat, q, s in zip(*cols, strict=True)}


def task_courses(
    item_code: Any,  # noqa: ANN401 - a cell
    category: Any,  # noqa: ANN401 - a cell
    items: Mapping[str, tuple[Any, Any, Any]],
) -> tuple[Any, Any, Any]:
    """A task's (category, qualification course, skill course): its own category wins over its item's; a task
    outside the taxonomy measures skill with EXTRA_SKILL_COURSE and needs no qualification."""
    item_category, qualification, skill = items.get(item_code, (None, None, None))
    category = item_category if _missing(category) else category
    return category, qualification, skill if skill is not None else EXTRA_SKILL_COURSE.get(category)


def priors(pooled: Mapping[Any, Counts]) -> tuple[dict[Any, tuple[float, float, float]], Counts]:
    """Per category the pooled (on-time, rework, satisfaction) rates every worker's rates are smoothed towards,
    and the district's (for a category without history; 0.9, 0.05, 0.9 when there is none at all)."""
    total = [sum(c[i] for c in pooled.values()) for i in range(5)]
    fallback = (
        total[1] / total[0] if total[0] > 0 else 0.9,
        total[2] / total[0] if total[0] > 0 else 0.05,
        total[3] / total[4] if total[4] > 0 else 0.9,
    )
    out = {}
    for cat, (handled, ontime, rework, satisfied, rated) in pooled.items():
        if cat is not None:
            rates = (
                ontime / handled if handled > 0 else fallback[0],
                rework / handled if handled > 0 else fallback[1],
                satisfied / rated if rated > 0 else fallback[2],
            )
            out[cat] = (
                min(max(rates[0], 0.0), 1.0),
                min(max(rates[1], 0.0), 1.0),
                min(max(rates[2], 0.0), 1.0),
            )
    return out, (*fallback, 0.0, 0.0)


def qualification(
    needs_course: np.ndarray, passed: np.ndarray, until: np.ndarray, best: np.ndarray, at: np.datetime64
) -> tuple[np.ndarray, np.ndarray]:
    """(qualified, qual_status) per pair: a certificate valid at ``at``, or a pass of a course that issued no
    certificate; an expired certificate does not count even with a pass."""
    has_until = ~np.isnat(until)
    cert_valid = has_until & (until >= at)
    passed_no_cert = passed & ~has_until
    qualified = ~needs_course | cert_valid | passed_no_cert
    status = np.select(
        [~needs_course, cert_valid, passed_no_cert, has_until, ~np.isnan(best)],
        ["not_required", "certificate", "passed", "expired", "failed"],
        default="untrained",
    )
    return qualified, status.astype(object)


def _column(values: list[Any], dtype: Any = None) -> np.ndarray:  # noqa: ANN401 - a numpy dtype
    if dtype is not None:
        return np.array(values, dtype=dtype)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _one(value: Any) -> np.ndarray:  # noqa: ANN401 - a cell
    """A column of one value: numbers keep their numpy type (as in a frame), anything else is an object."""
    return np.array([value]) if isinstance(value, (int, float, np.number)) else _column([value])


def score_tasks(
    tasks: pd.DataFrame | Mapping[str, Any],
    inputs: TaskInputs,
    weights: Preset | Mapping[str, float] | str,
    *,
    now: datetime,
    busy: Iterable[Hashable] | pd.DataFrame | None = None,
    items: pd.DataFrame | None = None,
    extra: Iterable[str] = (),
) -> dict[str, np.ndarray]:
    """Every (task, worker of the task's community) pair as columns, best first within each task (tasks by id):
    the task's and the worker's columns, then PAIR_COLUMNS, then the worker columns ``extra``. ``busy`` is who
    is in training during each task (worker ids, or task_id, worker_id rows); None: ``inputs.busy``. ``tasks``:
    a frame (score_pairs documents its columns), or one task as a mapping."""
    preset = as_preset(weights)
    item_table = _item_table(0) if items is None else _items_of(items)
    cap = max(int(preset.open_task_cap), 1)
    in_training = _busy_of(busy) if busy is not None else (lambda _task: inputs.busy)
    if isinstance(tasks, pd.DataFrame):
        task_cols = [c for c in TASK_FIELDS if c in tasks.columns or c in TASK_COLUMNS]
        tk = {c: tasks[c].to_numpy() for c in tasks.columns if c in (*task_cols, "category_code")}
        tk.update(
            {c: np.full(len(tasks), None, dtype=object) for c in (*task_cols, "category_code") if c not in tk}
        )
    else:  # one task
        task_cols = [c for c in TASK_FIELDS if c in tasks or c in TASK_COLUMNS]
        tk = {c: _one(tasks.get(c)) for c in (*task_cols, "category_code")}

    # The task's side: courses, priority, where it is and which grids are adjacent to its own.
    courses = [
        task_courses(i, c, item_table)
        for i, c in zip(tk["item_code"].tolist(), tk["category_code"].tolist(), strict=True)
    ]
    adjacent = {g: set(near) for g, near in nearest_grids(inputs.grids, set(tk["grid_id"].tolist())).items()}
    centre = [inputs.grids.get(g, (None, None, None)) for g in tk["grid_id"].tolist()]

    # The pairs: each task with every worker of its community.
    wk = inputs.workers
    members: dict[Any, list[int]] = {}
    for j, c in enumerate(wk["community_id"].tolist()):
        if not _missing(c):
            members.setdefault(c, []).append(j)
    groups = [members.get(c, []) if not _missing(c) else [] for c in tk["community_id"].tolist()]
    ti = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    wi = np.array([j for g in groups for j in g], dtype=np.intp)
    n = len(ti)
    col: dict[str, np.ndarray] = {RENAMED.get(c, c): tk[c][ti] for c in task_cols}
    for k, name in enumerate(("category_code", "qualification_course", "skill_course")):
        col[name] = _column([courses[t][k] for t in ti.tolist()])
    col["priority_rank"] = np.array([priority_code(p) for p in tk["priority"].tolist()], dtype=np.int64)[ti]
    col.update({c: wk[c][wi] for c in WORKER_COLUMNS if c != "community_id"})

    # Facts per pair, looked up.
    workers = col["worker_id"].tolist()
    grid_of, task_grid = col["grid_id"].tolist(), col["task_grid_id"].tolist()
    col["tier"] = np.array(
        [0 if g == tg else 1 if g in adjacent[tg] else 2 for g, tg in zip(grid_of, task_grid, strict=True)],
        dtype=np.int64,
    )
    centre_lat, centre_lon = (np.array([c[k] for c in centre], dtype=float)[ti] for k in (1, 2))
    task_lat = np.where(pd.isna(col["task_lat"]), centre_lat, col["task_lat"])  # else the grid's centre
    task_lon = np.where(pd.isna(col["task_lon"]), centre_lon, col["task_lon"])
    col["distance_km"] = haversine_km(col["lat"], col["lon"], task_lat, task_lon) if n else np.zeros(0)
    for prefix, course in (("q", "qualification_course"), ("s", "skill_course")):
        held = [inputs.quals.get(k, NO_RECORD) for k in zip(workers, col[course].tolist(), strict=True)]
        passed = [h[0] for h in held]
        col[f"{prefix}_passed"] = _column(passed, bool if None not in passed else None)
        col[f"{prefix}_cert_until"] = _column([h[1] for h in held], "datetime64[us]")
        col[f"{prefix}_best"] = _column([h[2] for h in held], float)
    zero = (0.0, 0.0, 0.0, 0.0, 0.0)
    history = [  # a task without a category has no history in it
        inputs.perf.get((w, c), zero) if c is not None else zero
        for w, c in zip(workers, col["category_code"].tolist(), strict=True)
    ]
    counts = np.fromiter(chain.from_iterable(history), dtype=float, count=5 * n).reshape(n, 5)
    load = np.array([inputs.load.get(w, (0, 0)) for w in wk["worker_id"].tolist()], dtype=np.int64)
    load = load.reshape(-1, 2)[wi]
    busy_now = {t: in_training(t) for t in set(col["task_id"].tolist())}
    training = np.array(
        [w in busy_now[t] for w, t in zip(workers, col["task_id"].tolist(), strict=True)], bool
    )
    by_category, fallback = priors(inputs.pooled)
    prior = np.array([by_category.get(c[0], fallback[:3]) for c in courses], dtype=float).reshape(-1, 3)[ti]

    _formula(col, ti, len(groups), counts, prior, load, training, preset, cap, now)
    col.update({c: wk[c][wi] for c in extra})
    if not n:
        return col
    order = np.lexsort(  # by task, eligible first, best score, nearest, worker id
        (
            col["worker_id"]
            if col["worker_id"].dtype != object
            else pd.factorize(col["worker_id"], sort=True)[0],
            col["distance_km"],
            -col["score"],
            ~col["eligible"],
            pd.factorize(tk["task_id"], sort=True)[0][ti],
        )
    )
    return {c: v[order] for c, v in col.items()}


def _formula(
    col: dict[str, np.ndarray],
    ti: np.ndarray,
    n_tasks: int,
    counts: np.ndarray,
    prior: np.ndarray,
    load: np.ndarray,
    training: np.ndarray,
    preset: Preset,
    cap: int,
    now: datetime,
) -> None:
    """The pair's rules, preferences, points and score (rank.py's docstring), into ``col`` in PAIR_COLUMNS'
    order, from its facts: tier, distance, the two course records, history ``counts`` (PERF_COUNTS), the
    category's ``prior`` rates, ``load`` (open tasks, tasks in the last 30 days) and ``training``."""
    at = np.datetime64(pd.Timestamp(now).to_datetime64(), "us")
    needs_course = ~pd.isna(col["qualification_course"]).astype(bool)
    passed = np.equal(col["q_passed"], True).astype(bool)  # None: no record
    col["qualified"], col["qual_status"] = qualification(
        needs_course, passed, col["q_cert_until"], col["q_best"], at
    )
    col["s_cert_valid"] = ~np.isnat(col["s_cert_until"]) & (col["s_cert_until"] >= at)
    best = np.clip(np.nan_to_num(col["s_best"], nan=0.0), 0, 100)
    col["skill"] = SKILL_SCORE_SHARE * best / 100 + SKILL_CERT_SHARE * col["s_cert_valid"]

    # Past performance in the task's category, smoothed towards the category's pooled rates.
    col.update({c: counts[:, i] for i, c in enumerate(PERF_COUNTS)})
    col["p_ontime"], col["p_rework"], col["p_sat"] = prior[:, 0], prior[:, 1], prior[:, 2]
    m = PRIOR_STRENGTH
    handled = col["handled"]
    col["ontime_rate"] = np.clip((col["ontime"] + m * col["p_ontime"]) / (handled + m), 0, 1)
    col["rework_rate"] = np.clip((col["rework"] + m * col["p_rework"]) / (handled + m), 0, 1)
    col["satisfaction_rate"] = np.clip((col["satisfied"] + m * col["p_sat"]) / (col["rated"] + m), 0, 1)
    col["performance"] = col["ontime_rate"] * (1 - col["rework_rate"]) * col["satisfaction_rate"]

    # Load, and fairness against the mean of the community's active workers.
    col["open_tasks"], col["tasks_last_30d"] = load[:, 0], load[:, 1]
    active = col["status"] == "active"
    recent = np.bincount(
        ti, weights=np.where(active, col["tasks_last_30d"], 0).astype(float), minlength=n_tasks
    )
    members = np.bincount(ti, weights=active.astype(float), minlength=n_tasks)
    col["community_mean_30d"] = np.where(members > 0, recent / np.where(members > 0, members, 1), 0.0)[ti]
    col["open_task_cap"] = np.full(len(ti), cap, dtype=np.int64)

    # Hard rules, first failing one; then the 属地 fallback: the narrowest tier with min_candidates passing.
    rule = np.select(
        [~active, training, ~col["qualified"], col["open_tasks"] >= cap],
        ["inactive", "in_training", "not_qualified", "at_cap"],
        default="",
    ).astype(object)
    col["rule"] = rule
    passing = rule == ""
    need = max(int(preset.min_candidates), 1)
    near = [
        np.bincount(ti, weights=(passing & (col["tier"] <= t)).astype(float), minlength=n_tasks)
        for t in (0, 1)
    ]
    col["tier_level"] = np.where(near[0] >= need, 0, np.where(near[1] >= need, 1, 2)).astype(np.int64)[ti]
    rule[passing & (col["tier"] > col["tier_level"])] = "farther_tier"
    rule[rule == ""] = None
    col["eligible"] = pd.isna(rule).astype(bool)

    # Points: each rounded to 0.1 as shown, the score their sum.
    w = {c: preset.weight(c) for c in COMPONENTS}
    scale = max(float(preset.distance_scale_km), 1e-6)
    fair_ref = 2 * col["community_mean_30d"]
    fair_share = np.clip(col["tasks_last_30d"] / np.where(fair_ref > 0, fair_ref, 1), 0, 1)
    raw = {
        "grid": w["grid"] * np.select([col["tier"] == 0, col["tier"] == 1], [1.0, ADJACENT_SHARE], 0.0),
        "distance": w["distance"]
        * np.clip(1 - np.where(np.isnan(col["distance_km"]), scale, col["distance_km"]) / scale, 0, 1),
        "skill": w["skill"] * col["skill"],
        "performance": w["performance"] * col["performance"],
        "load": -w["load"] * np.clip(col["open_tasks"] / cap, 0, 1),
        "fairness": -w["fairness"] * np.where(fair_ref > 0, fair_share, 0.0),
    }
    score = np.zeros(len(ti))
    for c in COMPONENTS:
        col[f"pts_{c}"] = np.round(raw[c].astype(float), 1)
        score = score + col[f"pts_{c}"]
    col["score"] = np.round(score, 1)
    col["max_score"] = np.full(len(ti), float(sum(max(w[c], 0) for c in COMPONENTS[:4])))
    col["preset"] = np.full(len(ti), preset.code, dtype=object)


def score_pairs(
    tasks: pd.DataFrame,
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
) -> pd.DataFrame:
    """Every (task, worker of the task's community) pair with its rules, points and score: ``score_tasks``
    from frames.

    ``tasks``: task_id, item_code, priority, grid_id, community_id, lat, lon (category_code optional).
    ``workers``: worker_id, name, grid_id, community_id, status, lat, lon (the grid centre).
    ``quals``: worker_id, course_code, passed, certificate_valid_until, best_score (courses contract).
    ``perf``: worker_id, category_code, handled, ontime, rework, satisfied, rated (field contract).
    ``load``: worker_id, open_tasks, tasks_last_30d (field contract).
    ``busy``: worker ids in training during the task (a set for all tasks, or task_id, worker_id rows).
    ``now``: when the task is judged (a certificate counts while valid at ``now``); no default, so a
    caller cannot mix the wall clock with tasks on the field clock (the service passes ``field_now``).

    Returns one row per pair with ``rule`` (None when eligible, else the first hard rule that
    excludes the worker), ``eligible``, ``tier`` (0 own grid, 1 adjacent, 2 community), the inputs
    behind each preference, ``pts_<component>`` and ``score``; by task, best first.
    """
    inputs = scope_inputs(
        tasks["community_id"].dropna().unique(), tasks["grid_id"], workers, quals, perf, load, grids=grids
    )
    busy = busy if busy is not None else ()
    return pd.DataFrame(score_tasks(tasks, inputs, weights, now=now, busy=busy, items=items))
