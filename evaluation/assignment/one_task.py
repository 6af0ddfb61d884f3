"""One task's ranking in plain Python: what 智能派单 shows for the task a manager picked.

``rank.score_pairs`` scores any number of (task, worker) pairs with pandas, which costs ~60 ms a call whatever
the size; one task has the dozen workers of its community, so its ranking is done here row by row instead
(issue #21: 70–150 ms → a few ms). The rules, points, order and columns are ``score_pairs``'s for that task
(rank.py's docstring says what they mean): tests/unit/test_assignment_one_task.py compares the two on every
open task of the demo district and on the rank tests' cases. ``score_pairs`` stays the batch's and the skill
gaps' (many tasks at once).

The inputs are plain too (``TaskInputs``): read for the task's community alone (service.task_inputs, in SQL),
or taken from the district frames a caller already holds (``inputs_from_frames``).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from evaluation.assignment.rank import (
    ADJACENT_SHARE,
    COMPONENTS,
    EXTRA_SKILL_COURSE,
    K_ADJACENT,
    PERF_COUNTS,
    PRIOR_STRENGTH,
    PRIORITY_RANK,
    RULES,
    SKILL_CERT_SHARE,
    SKILL_SCORE_SHARE,
    TASK_COLUMNS,
    WORKER_COLUMNS,
    Preset,
    _empty_pairs,
    as_preset,
    haversine_km,
    shipped_items,
)

Counts = tuple[float, float, float, float, float]  # handled, ontime, rework, satisfied, rated
TASK_FIELDS = ("task_id", "kind", "item_code", "priority", "grid_id", "community_id", "lat", "lon")
RENAMED = {"grid_id": "task_grid_id", "lat": "task_lat", "lon": "task_lon"}


@dataclass(frozen=True)
class TaskInputs:
    """What one task's ranking reads, as plain Python.

    ``workers``: the task community's workers in the viewer's scope, by id, each a dict with at least
    WORKER_COLUMNS (lat, lon: their grid's centre). ``grids``: grid id → (community id, lat, lon) of the task
    community's grids. ``quals``: (worker, course) → (passed, certificate valid until, best score).
    ``perf``: (worker, category) → counts for these workers; ``pooled``: category → counts of every worker (the
    priors pool the whole district; None is events without a category, which count in the totals only).
    ``load``: worker → (open tasks, tasks in the last 30 days), active workers. ``busy``: workers in training
    during the task's response window."""

    workers: list[dict[str, Any]]
    grids: dict[int, tuple[Any, float | None, float | None]]
    quals: dict[tuple[int, str], tuple[bool, datetime | None, float | None]]
    perf: dict[tuple[int, Any], Counts]
    pooled: dict[Any, Counts]
    load: dict[int, tuple[int, int]]
    busy: frozenset[int]


def _missing(value: object) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _or_none(value: Any) -> Any:  # noqa: ANN401 - a cell of any type
    return None if _missing(value) else value


def _number(value: object) -> float:
    """A count as ``pd.to_numeric(errors="coerce").fillna(0)`` reads it."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(number) else number


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
    """``TaskInputs`` for ``task`` from the frames ``score_pairs`` takes (the district's, or any scope's). The
    priors pool ``perf``, or the per-category counts ``pooled`` (category_code and the counts) when ``perf``
    holds a few workers' rows only."""
    community = task.get("community_id")
    wk = workers[workers["community_id"].isin([community])]
    ids = set(wk["worker_id"].tolist())
    rows = wk.reindex(columns=list(dict.fromkeys([*WORKER_COLUMNS, *wk.columns]))).to_dict("records")
    table = grids if grids is not None else workers[["grid_id", "community_id", "lat", "lon"]]
    in_task_grid = table["grid_id"].isin([task.get("grid_id")])
    communities = [community, *table.loc[in_task_grid, "community_id"].tolist()]
    table = table[table["community_id"].isin(communities)].drop_duplicates("grid_id")
    q = quals[quals["worker_id"].isin(ids)].reindex(
        columns=["worker_id", "course_code", "passed", "certificate_valid_until", "best_score"]
    )
    cert_until = pd.to_datetime(q["certificate_valid_until"], errors="coerce")
    best = pd.to_numeric(q["best_score"], errors="coerce")
    quals_by = {
        (w, c): (bool(p) if not _missing(p) else False, _or_none(u), _or_none(b))
        for w, c, p, u, b in zip(q["worker_id"], q["course_code"], q["passed"], cert_until, best, strict=True)
    }
    p = perf.reindex(columns=["worker_id", "category_code", *PERF_COUNTS])
    counts = [[_number(v) for v in p[c].tolist()] for c in PERF_COUNTS]
    pooled_sums: dict[Any, list[float]] = {}
    mine: dict[tuple[int, Any], list[float]] = {}
    for i, (w, cat) in enumerate(zip(p["worker_id"].tolist(), p["category_code"].tolist(), strict=True)):
        cat = _or_none(cat)
        row = [column[i] for column in counts]
        pooled_sums[cat] = [a + b for a, b in zip(pooled_sums.get(cat, [0.0] * 5), row, strict=True)]
        if w in ids:
            mine[(w, cat)] = [a + b for a, b in zip(mine.get((w, cat), [0.0] * 5), row, strict=True)]
    if pooled is not None:
        sums = pooled.reindex(columns=["category_code", *PERF_COUNTS])
        totals = [[_number(v) for v in sums[c].tolist()] for c in PERF_COUNTS]
        pooled_by = {
            _or_none(cat): [column[i] for column in totals]
            for i, cat in enumerate(sums["category_code"].tolist())
        }
    else:
        pooled_by = pooled_sums
    ld = load.reindex(columns=["worker_id", "open_tasks", "tasks_last_30d"]).drop_duplicates("worker_id")
    load_by = {
        w: (int(_number(o)), int(_number(r)))
        for w, o, r in zip(ld["worker_id"], ld["open_tasks"], ld["tasks_last_30d"], strict=True)
        if w in ids
    }
    return TaskInputs(
        workers=rows,
        grids={
            g: (_or_none(c), _or_none(la), _or_none(lo))
            for g, c, la, lo in zip(
                table["grid_id"], table["community_id"], table["lat"], table["lon"], strict=True
            )
        },
        quals=quals_by,
        perf={k: tuple(v) for k, v in mine.items()},  # type: ignore[misc]
        pooled={k: tuple(v) for k, v in pooled_by.items()},  # type: ignore[misc]
        load=load_by,
        busy=frozenset(_busy_workers(busy, task.get("task_id"))),
    )


def _busy_workers(busy: Iterable[Hashable] | pd.DataFrame | None, task_id: object) -> set[Any]:
    if busy is None:
        return set()
    if isinstance(busy, pd.DataFrame):
        if "task_id" in busy.columns:
            return set(busy.loc[busy["task_id"] == task_id, "worker_id"].tolist())
        return set(busy["worker_id"].tolist())
    return set(busy)


@lru_cache(maxsize=4)
def _item_table(items_id: int) -> dict[str, tuple[Any, Any, Any]]:
    del items_id  # the key: shipped_items() is made once per process
    return _items_of(shipped_items())


def _items_of(items: pd.DataFrame) -> dict[str, tuple[Any, Any, Any]]:
    """item code → (category, qualification course, skill course), as score_pairs' merge reads them."""
    cols = [items[c].tolist() for c in ("item_code", "category_code", "qualification_course", "skill_course")]
    return {code: (_or_none(cat), _or_none(q), _or_none(s)) for code, cat, q, s in zip(*cols, strict=True)}


def _priority_rank(value: object) -> int:
    """rank.priority_rank of one value: 1 urgent, 2 normal, 3 complex, a number as itself, else 2."""
    if isinstance(value, str) and value in PRIORITY_RANK:
        return PRIORITY_RANK[value]
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 2
    return 2 if math.isnan(number) else int(number)


def _round1(x: float) -> float:
    """numpy's round(x, 1) (what DataFrame.round does): half to even on x · 10, the sign of zero kept."""
    return float(np.round(x, 1))


def _clip01(x: float) -> float:
    return x if math.isnan(x) else min(max(x, 0.0), 1.0)


def _priors(pooled: Mapping[Any, Counts]) -> tuple[dict[Any, tuple[float, float, float]], dict[str, float]]:
    """rank._performance over the pooled counts: per category (p_ontime, p_rework, p_sat), and the fallback."""
    total = [sum(c[i] for c in pooled.values()) for i in range(5)]
    fallback = {
        "p_ontime": total[1] / total[0] if total[0] > 0 else 0.9,
        "p_rework": total[2] / total[0] if total[0] > 0 else 0.05,
        "p_sat": total[3] / total[4] if total[4] > 0 else 0.9,
    }
    priors = {}
    for cat, (handled, ontime, rework, satisfied, rated) in pooled.items():
        if cat is None:
            continue
        rates = (
            ontime / handled if handled > 0 else fallback["p_ontime"],
            rework / handled if handled > 0 else fallback["p_rework"],
            satisfied / rated if rated > 0 else fallback["p_sat"],
        )
        priors[cat] = (_clip01(rates[0]), _clip01(rates[1]), _clip01(rates[2]))
    return priors, fallback


def _task_fields(task: Mapping[str, Any], items: Mapping[str, tuple[Any, Any, Any]]) -> dict[str, Any]:
    """The task's columns as score_pairs gives them to each of its pairs."""
    out = {RENAMED.get(c, c): _or_none(task.get(c)) for c in TASK_FIELDS if c in task or c in TASK_COLUMNS}
    category, qualification, skill = items.get(out["item_code"], (None, None, None))
    if "category_code" in task and not _missing(task["category_code"]):
        category = task["category_code"]
    out["category_code"] = category
    out["qualification_course"] = qualification
    out["skill_course"] = skill if skill is not None else EXTRA_SKILL_COURSE.get(category)
    out["priority_rank"] = _priority_rank(task.get("priority"))
    return out


def _adjacent(grids: Mapping[int, tuple[Any, Any, Any]], task_grid: Any) -> set[Any]:  # noqa: ANN401
    """rank.grid_neighbours of the task's grid: the K_ADJACENT nearest other grid centres of its community."""
    centre = grids.get(task_grid)
    if centre is None or any(_missing(v) for v in centre):
        return set()
    others = [
        (g, la, lo)
        for g, (c, la, lo) in grids.items()
        if g != task_grid and c == centre[0] and not _missing(la) and not _missing(lo)
    ]
    if not others:
        return set()
    n = len(others)
    d = haversine_km([centre[1]] * n, [centre[2]] * n, [o[1] for o in others], [o[2] for o in others])
    near = sorted(range(n), key=lambda i: (d[i], others[i][0]))[:K_ADJACENT]
    return {others[i][0] for i in near}


def _rule(pair: dict[str, Any], busy: frozenset[int], cap: int) -> str:
    if pair["status"] != "active":
        return "inactive"
    if pair["worker_id"] in busy:
        return "in_training"
    if not pair["qualified"]:
        return "not_qualified"
    return "at_cap" if pair["open_tasks"] >= cap else ""


def _qualification(pair: dict[str, Any], inputs: TaskInputs, at: datetime) -> None:
    w = pair["worker_id"]
    q = inputs.quals.get((w, pair["qualification_course"]))
    s = inputs.quals.get((w, pair["skill_course"]))
    pair["q_passed"], pair["q_cert_until"], pair["q_best"] = q if q is not None else (None, None, None)
    pair["s_passed"], pair["s_cert_until"], pair["s_best"] = s if s is not None else (None, None, None)
    until = pair["q_cert_until"]
    cert_valid = until is not None and until >= at
    passed_no_cert = bool(pair["q_passed"]) and until is None
    needs_course = pair["qualification_course"] is not None
    pair["qualified"] = not needs_course or cert_valid or passed_no_cert
    if not needs_course:
        pair["qual_status"] = "not_required"
    elif cert_valid:
        pair["qual_status"] = "certificate"
    elif passed_no_cert:
        pair["qual_status"] = "passed"
    elif until is not None:
        pair["qual_status"] = "expired"
    else:
        pair["qual_status"] = "failed" if pair["q_best"] is not None else "untrained"
    pair["s_cert_valid"] = pair["s_cert_until"] is not None and pair["s_cert_until"] >= at
    best = pair["s_best"] if pair["s_best"] is not None else 0.0
    pair["skill"] = (
        SKILL_SCORE_SHARE * min(max(best, 0.0), 100.0) / 100 + SKILL_CERT_SHARE * pair["s_cert_valid"]
    )


def _performance(pair: dict[str, Any], inputs: TaskInputs, priors: Mapping, fallback: Mapping) -> None:
    category = pair["category_code"]  # a task without a category has no history in it (score_pairs' NaN key)
    zero = (0.0, 0.0, 0.0, 0.0, 0.0)
    counts = inputs.perf.get((pair["worker_id"], category), zero) if category is not None else zero
    pair.update(zip(PERF_COUNTS, counts, strict=True))
    prior = priors.get(pair["category_code"])
    pair["p_ontime"], pair["p_rework"], pair["p_sat"] = (
        prior if prior is not None else (fallback["p_ontime"], fallback["p_rework"], fallback["p_sat"])
    )
    m = PRIOR_STRENGTH
    handled, rated = pair["handled"], pair["rated"]
    pair["ontime_rate"] = _clip01((pair["ontime"] + m * pair["p_ontime"]) / (handled + m))
    pair["rework_rate"] = _clip01((pair["rework"] + m * pair["p_rework"]) / (handled + m))
    pair["satisfaction_rate"] = _clip01((pair["satisfied"] + m * pair["p_sat"]) / (rated + m))
    pair["performance"] = pair["ontime_rate"] * (1 - pair["rework_rate"]) * pair["satisfaction_rate"]


def _points(pair: dict[str, Any], preset: Preset, cap: int) -> None:
    w = {c: preset.weight(c) for c in COMPONENTS}
    scale = max(float(preset.distance_scale_km), 1e-6)
    d = pair["distance_km"]
    share = 1.0 if pair["tier"] == 0 else ADJACENT_SHARE if pair["tier"] == 1 else 0.0
    fair_ref = 2 * pair["community_mean_30d"]
    fair = _clip01(pair["tasks_last_30d"] / fair_ref) if fair_ref > 0 else 0.0
    raw = {
        "grid": w["grid"] * share,
        "distance": w["distance"] * _clip01(1 - (scale if math.isnan(d) else d) / scale),
        "skill": w["skill"] * pair["skill"],
        "performance": w["performance"] * pair["performance"],
        "load": -w["load"] * _clip01(pair["open_tasks"] / cap),
        "fairness": -w["fairness"] * fair,
    }
    total = 0.0
    for c in COMPONENTS:
        pair[f"pts_{c}"] = _round1(raw[c])
        total = total + pair[f"pts_{c}"]
    pair["score"] = _round1(total)


def score_task(
    task: Mapping[str, Any],
    inputs: TaskInputs,
    weights: Preset | Mapping[str, float] | str,
    *,
    now: datetime,
    items: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """``score_pairs`` for one task, as one dict per worker of its community, in score_pairs' order."""
    preset = as_preset(weights)
    item_table = _item_table(0) if items is None else _items_of(items)
    cap = max(int(preset.open_task_cap), 1)
    base = _task_fields(task, item_table)
    workers = [
        w
        for w in inputs.workers
        if w["community_id"] == base["community_id"] and w["community_id"] is not None
    ]
    adjacent = _adjacent(inputs.grids, base["task_grid_id"])
    centre = inputs.grids.get(base["task_grid_id"], (None, None, None))
    tlat = base["task_lat"] if base["task_lat"] is not None else centre[1]
    tlon = base["task_lon"] if base["task_lon"] is not None else centre[2]
    n = len(workers)
    distance = haversine_km([w["lat"] for w in workers], [w["lon"] for w in workers], [tlat] * n, [tlon] * n)
    priors, fallback = _priors(inputs.pooled)
    active_recent = [inputs.load.get(w["worker_id"], (0, 0))[1] for w in workers if w["status"] == "active"]
    community_mean = sum(active_recent) / len(active_recent) if active_recent else 0.0
    at = pd.Timestamp(now).to_pydatetime()
    pairs = []
    for i, w in enumerate(workers):
        pair = {**base, **{c: _or_none(w.get(c)) for c in WORKER_COLUMNS if c != "community_id"}}
        pair["tier"] = (
            0 if pair["grid_id"] == base["task_grid_id"] else 1 if pair["grid_id"] in adjacent else 2
        )
        pair["distance_km"] = float(distance[i])
        _qualification(pair, inputs, at)
        _performance(pair, inputs, priors, fallback)
        pair["open_tasks"], pair["tasks_last_30d"] = inputs.load.get(w["worker_id"], (0, 0))
        pair["community_mean_30d"] = float(community_mean)
        pair["open_task_cap"] = cap
        pair["rule"] = _rule(pair, inputs.busy, cap)
        pairs.append(pair)
    need_n = max(int(preset.min_candidates), 1)
    passing = [p["tier"] for p in pairs if p["rule"] == ""]
    level = (
        0 if sum(t <= 0 for t in passing) >= need_n else 1 if sum(t <= 1 for t in passing) >= need_n else 2
    )
    max_score = sum(max(preset.weight(c), 0) for c in ("grid", "distance", "skill", "performance"))
    for pair in pairs:
        pair["tier_level"] = level
        if pair["rule"] == "" and pair["tier"] > level:
            pair["rule"] = "farther_tier"
        pair["rule"] = pair["rule"] or None
        pair["eligible"] = pair["rule"] is None
        _points(pair, preset, cap)
        pair["max_score"] = float(max_score)
        pair["preset"] = preset.code
    return sorted(
        pairs, key=lambda p: (not p["eligible"], -p["score"], *_last_if_nan(p["distance_km"]), p["worker_id"])
    )


def _last_if_nan(x: float) -> tuple[bool, float]:
    return (True, 0.0) if math.isnan(x) else (False, x)


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
    either into sentences). ``extra`` names worker fields of ``inputs.workers`` to carry (e.g. grid names)."""
    pairs = score_task(task, inputs, weights, now=now, items=items)
    if not pairs:
        columns = [*(RENAMED.get(c, c) for c in TASK_FIELDS if c in task or c in TASK_COLUMNS)]
        columns += ["category_code", "qualification_course", "skill_course", "priority_rank"]
        columns += [c for c in WORKER_COLUMNS if c != "community_id"]
        empty = _empty_pairs(pd.DataFrame(columns=columns))
        empty = empty.reindex(columns=[*empty.columns, *extra])
        return empty.assign(rank=pd.Series(dtype=int)), empty.copy()
    by_id = {w["worker_id"]: w for w in inputs.workers}
    for pair in pairs:
        for c in extra:
            pair[c] = by_id[pair["worker_id"]].get(c)
    ranked = [p for p in pairs if p["eligible"]]
    order = {r: i for i, r in enumerate(RULES)}
    excluded = sorted(
        (p for p in pairs if not p["eligible"]),
        key=lambda p: (order[p["rule"]], p["tier"], *_last_if_nan(p["distance_km"]), p["worker_id"]),
    )
    columns = list(pairs[0])
    return (
        _frame(ranked, columns, rank=True),
        _frame(excluded, columns, rank=False),
    )


DATES = ("q_cert_until", "s_cert_until")


def _frame(rows: list[dict[str, Any]], columns: list[str], *, rank: bool) -> pd.DataFrame:
    data: dict[str, Any] = {"rank": list(range(1, len(rows) + 1))} if rank else {}
    for c in columns:
        values = [r[c] for r in rows]
        data[c] = pd.to_datetime(pd.Series(values, dtype=object)) if c in DATES else values
    return pd.DataFrame(data)


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
    """``rank_task`` from the frames ``score_pairs`` takes (rank.py documents them)."""
    row = dict(task)
    inputs = inputs_from_frames(row, workers, quals, perf, load, busy, grids=grids)
    return rank_task(row, inputs, weights, now=now, items=items)
