"""Who should take a task, and why (智能派单 scoring, DOMAIN.md §7): the model, its presets and geometry.

pairs.py computes what this docstring describes, once, for any number of (task, worker) pairs: one task's
ranking (one_task.py, the queue tab) and every open task's (``pairs.score_pairs``, the batch tab) are the same
code; explain.py turns the numbers into sentences a manager can read.

Hard rules, in the order they are reported (a worker excluded by several shows the first):
  inactive       status is not ``active`` (on leave, left)
  in_training    enrolled in a training session during the task's response window
  not_qualified  the item's qualification course (taxonomy ``qualification_course``) is not held:
                 a valid certificate, or a pass of a course that issued no certificate. A pass whose
                 certificate has expired does not count, so expiry means something.
  at_cap         already holds ``open_task_cap`` open tasks
  farther_tier   属地 fallback: candidates come from the task's own grid, widened to the ``k`` nearest
                 grids of the community, then to the whole community, only until at least
                 ``min_candidates`` workers pass the rules above. Workers of other communities are
                 out of scope and not listed.

Preferences, in points (the preset's weights; routine = DOMAIN.md §7's suggested weights × 100):
  grid         own grid 100 %, adjacent grid 50 %, elsewhere in the community 0
  distance     1 − d / distance_scale_km (haversine from the worker's grid centre), floored at 0
  skill        0.7 · best quiz score of the item's course + 0.3 · valid certificate
  performance  on-time × (1 − rework) × satisfaction in the item's category, each rate smoothed
               towards the category's pooled rate with ``PRIOR_STRENGTH`` pseudo-tasks, so a worker
               with no history scores the average rather than zero
  load         penalty: − weight · open_tasks / cap
  fairness     penalty: − weight · min(1, tasks in the last 30 days / (2 · community mean)): someone at
               the community average loses half the weight, at twice the average all of it
Load and fairness are penalties so a sentence can say "本周已有 4 件任务 −8"; the score differs from
§7's formula by the constant w_load + w_fair, which changes no ranking.
"""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from core.errors import Misuse
from core.settings import DATA_DIR
from core.taxonomy import load_taxonomy

COMPONENTS = ("grid", "distance", "skill", "performance", "load", "fairness")
RULES = ("inactive", "in_training", "not_qualified", "at_cap", "farther_tier")
PRIORITY_RANK = {"urgent": 1, "normal": 2, "complex": 3}  # by sign limit in data/sla.json: 0.5 h, 4 h, 24 h
PRIOR_STRENGTH = 5.0  # pseudo-tasks of the category average mixed into each worker's rates
K_ADJACENT = 3  # adjacent grids = the 3 nearest grid centres of the same community
ADJACENT_SHARE = 0.5  # share of the grid weight an adjacent grid earns
SKILL_SCORE_SHARE, SKILL_CERT_SHARE = 0.7, 0.3
EARTH_RADIUS_KM = 6371.0088
# Tasks outside the 43-item taxonomy: the course whose results count as skill for them (none qualifies).
EXTRA_SKILL_COURSE = {"verification": "house_coding", "rental": "residence_registration"}

WORKER_COLUMNS = ("worker_id", "name", "grid_id", "community_id", "status", "lat", "lon")
TASK_COLUMNS = ("task_id", "item_code", "priority", "grid_id", "community_id", "lat", "lon")


# ---------------------------------------------------------------------------------------------
# Presets and shipped content


@dataclass(frozen=True)
class Preset:
    """A dispatch policy: weights in points plus the rule parameters that go with them."""

    code: str
    name_zh: str = ""
    name_en: str = ""
    note_zh: str = ""
    note_en: str = ""
    weights: Mapping[str, float] = field(default_factory=dict)
    open_task_cap: int = 8
    min_candidates: int = 3
    distance_scale_km: float = 5.0

    def tuned(self, **weights: float) -> Preset:
        """The same preset with some weights changed (the page's sliders)."""
        unknown = set(weights) - set(COMPONENTS)
        if unknown:
            raise Misuse(f"unknown weight(s) {sorted(unknown)}; expected {COMPONENTS}")
        return replace(self, weights={**self.weights, **weights})

    def weight(self, component: str) -> float:
        return float(self.weights.get(component, 0.0))


@lru_cache(maxsize=1)
def _presets_file() -> dict[str, Any]:
    return json.loads((DATA_DIR / "assignment_presets.json").read_text(encoding="utf-8"))


def load_presets() -> dict[str, Preset]:
    """The shipped presets (data/assignment_presets.json) by code, in file order."""
    out = {}
    for raw in _presets_file()["presets"]:
        weights = {c: float(raw["weights"].get(c, 0.0)) for c in COMPONENTS}
        out[raw["code"]] = Preset(
            code=raw["code"],
            name_zh=raw["name_zh"],
            name_en=raw["name_en"],
            note_zh=raw["note_zh"],
            note_en=raw["note_en"],
            weights=weights,
            open_task_cap=int(raw["open_task_cap"]),
            min_candidates=int(raw["min_candidates"]),
            distance_scale_km=float(raw["distance_scale_km"]),
        )
    return out


def preset_for_priority(priority: object) -> Preset:
    """The default preset for a task's priority (urgent → emergency, otherwise routine)."""
    mapping = _presets_file()["default_by_priority"]
    code = mapping.get(str(priority), "routine")
    if isinstance(priority, (int, np.integer)):
        code = "emergency" if int(priority) == 1 else "routine"
    return load_presets()[code]


def as_preset(weights: Preset | Mapping[str, float] | str) -> Preset:
    if isinstance(weights, Preset):
        return weights
    if isinstance(weights, str):
        return load_presets()[weights]
    return load_presets()["routine"].tuned(**{k: float(v) for k, v in weights.items()})


def item_courses(taxonomy: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One row per taxonomy item: its category, the course that qualifies for it (or None) and the
    course whose results measure skill in it (the qualification course, else the category's)."""
    tax = taxonomy if taxonomy is not None else load_taxonomy()
    rows = [
        {
            "item_code": item["code"],
            "category_code": cat["code"],
            "item_zh": item["name_zh"],
            "item_en": item["name_en"],
            "category_zh": cat["name_zh"],
            "category_en": cat["name_en"],
            "qualification_course": item.get("qualification_course"),
            "skill_course": item.get("qualification_course") or cat.get("course"),
        }
        for cat in tax["categories"]
        for item in cat["items"]
    ]
    return pd.DataFrame(rows)


@lru_cache(maxsize=1)
def shipped_items() -> pd.DataFrame:
    """``item_courses()`` of the shipped taxonomy, made once per process: the scoring and the explanations
    read it on every ranking (callers must not modify it)."""
    return item_courses()


@lru_cache(maxsize=1)
def course_titles() -> pd.DataFrame:
    """code, title_zh, title_en of the shipped courses (data/courses/*.json)."""
    rows = []
    for path in sorted((DATA_DIR / "courses").glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        rows.append({"code": raw["code"], "title_zh": raw["title_zh"], "title_en": raw["title_en"]})
    return pd.DataFrame(rows, columns=["code", "title_zh", "title_en"])


# ---------------------------------------------------------------------------------------------
# Geometry


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    """Great-circle distance in km, elementwise (NaN where a coordinate is missing)."""
    p1, p2 = np.radians(np.asarray(lat1, dtype=float)), np.radians(np.asarray(lat2, dtype=float))
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def nearest_grids(
    grids: Mapping[Hashable, tuple[Any, Any, Any]], of: Iterable[Hashable], k: int = K_ADJACENT
) -> dict[Hashable, list[Any]]:
    """The grids adjacent to each grid ``of``: the ``k`` nearest other grid centres of its community, nearest
    first (ties by grid id); none for a grid without a centre. ``grids``: grid id → (community id, lat, lon)."""
    located = {g: v for g, v in grids.items() if not any(x is None or x != x for x in v)}  # x != x: NaN
    members: dict[Any, list[Hashable]] = {}
    for g, v in located.items():
        members.setdefault(v[0], []).append(g)
    wanted: dict[Any, list[Hashable]] = {}
    out: dict[Hashable, list[Any]] = {}
    for g in of:
        out[g] = []
        if g in located:
            wanted.setdefault(located[g][0], []).append(g)
    for community, queries in wanted.items():
        ids = members[community]
        lat, lon = (np.array([located[g][i] for g in ids], dtype=float) for i in (1, 2))
        d = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
        position = {g: i for i, g in enumerate(ids)}
        by_id = np.argsort(np.argsort(np.array(ids, dtype=object)))  # ids' order, for ties
        for g in queries:
            i = position[g]
            order = np.lexsort((by_id, d[i]))
            out[g] = [ids[j] for j in order[order != i][:k].tolist()]
    return out


def grid_neighbours(grids: pd.DataFrame, k: int = K_ADJACENT) -> pd.DataFrame:
    """``grid_id, neighbour_id``: ``nearest_grids`` of every grid of ``grids`` (grid_id, community_id, lat,
    lon), by grid id."""
    g = grids[["grid_id", "community_id", "lat", "lon"]].dropna().drop_duplicates("grid_id")
    table = {i: (c, la, lo) for i, c, la, lo in g.itertuples(index=False, name=None)}
    near = nearest_grids(table, table, k=k)
    rows = [(i, j) for i in sorted(table) for j in near[i]]
    return pd.DataFrame(rows, columns=["grid_id", "neighbour_id"])


def _pair_positions(left: pd.Series, right: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Row positions (i, j) of every left/right pair with equal keys, ordered by i then j: the
    inner join on one key column, without carrying any other column through the merge."""
    lf = pd.DataFrame({"k": left.to_numpy(), "i": np.arange(len(left))})
    rf = pd.DataFrame({"k": right.to_numpy(), "j": np.arange(len(right))})
    both = lf.merge(rf, on="k", how="inner", sort=False).sort_values(["i", "j"], kind="stable")
    return both["i"].to_numpy(), both["j"].to_numpy()


# ---------------------------------------------------------------------------------------------
# Priority


def priority_code(value: object) -> int:
    """1 urgent, 2 normal, 3 complex; a number as itself; anything else counts as normal."""
    if isinstance(value, str) and value in PRIORITY_RANK:
        return PRIORITY_RANK[value]
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 2
    return 2 if math.isnan(number) else int(number)


def priority_rank(values: pd.Series) -> pd.Series:
    """``priority_code`` of each value."""
    values = pd.Series(values)
    return pd.Series([priority_code(v) for v in values.tolist()], index=values.index, dtype=int)


PERF_COUNTS = ("handled", "ontime", "rework", "satisfied", "rated")
