"""Who should take a task, and why (智能派单 scoring, DOMAIN.md §7).

Everything here is pure and vectorised over (task, worker) pairs: the DB loader (service.py) hands
in frames shaped like the courses and field-data contracts (docs/CONVENTIONS.md) and gets frames
back. ``score_pairs`` does the work for any number of tasks; one task's ranking (``rank_candidates``) is
done in plain Python by one_task.py, with the same results; explain.py turns the numbers into sentences a
manager can read.

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
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
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


def grid_neighbours(grids: pd.DataFrame, k: int = K_ADJACENT) -> pd.DataFrame:
    """``grid_id, neighbour_id``: for each grid, the ``k`` nearest other grid centres of its community.

    ``grids`` has grid_id, community_id, lat, lon. Ties are broken by grid id so the result is stable.
    """
    g = grids[["grid_id", "community_id", "lat", "lon"]].dropna().drop_duplicates("grid_id")
    pos = _pair_positions(g["community_id"], g["community_id"])
    a, b = pos
    keep = g["grid_id"].to_numpy()[a] != g["grid_id"].to_numpy()[b]
    a, b = a[keep], b[keep]
    gid, nid = g["grid_id"].to_numpy()[a], g["grid_id"].to_numpy()[b]
    lat, lon = g["lat"].to_numpy(dtype=float), g["lon"].to_numpy(dtype=float)
    d = haversine_km(lat[a], lon[a], lat[b], lon[b])
    order = np.lexsort((nid, d, gid))
    gid, nid = gid[order], nid[order]
    starts = np.r_[0, np.flatnonzero(gid[1:] != gid[:-1]) + 1] if len(gid) else np.array([], dtype=int)
    rank_in_grid = np.arange(len(gid)) - np.repeat(starts, np.diff(np.r_[starts, len(gid)]))
    near = rank_in_grid < k
    return pd.DataFrame({"grid_id": gid[near], "neighbour_id": nid[near]})


def _pair_positions(left: pd.Series, right: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Row positions (i, j) of every left/right pair with equal keys, ordered by i then j: the
    inner join on one key column, without carrying any other column through the merge."""
    lf = pd.DataFrame({"k": left.to_numpy(), "i": np.arange(len(left))})
    rf = pd.DataFrame({"k": right.to_numpy(), "j": np.arange(len(right))})
    both = lf.merge(rf, on="k", how="inner", sort=False).sort_values(["i", "j"], kind="stable")
    return both["i"].to_numpy(), both["j"].to_numpy()


def _attach(
    pairs: pd.DataFrame,
    table: pd.DataFrame,
    left_on: list[str],
    right_on: list[str],
    columns: Mapping[str, str],
) -> None:
    """Left-join ``columns`` (source → target name) of ``table``, unique on ``right_on``, onto ``pairs``
    in place, by position lookups: missing keys give NaN/NaT."""
    table = table.drop_duplicates(right_on, keep="last").reset_index(drop=True)
    if len(right_on) == 1:
        pos = pd.Index(table[right_on[0]]).get_indexer(pairs[left_on[0]])
    else:  # a dict of key tuples: a MultiIndex costs ~5 ms to build and look up, for a few hundred pairs
        index = {k: i for i, k in enumerate(zip(*(table[c].tolist() for c in right_on), strict=True))}
        keys = zip(*(pairs[c].tolist() for c in left_on), strict=True)
        pos = np.fromiter((index.get(k, -1) for k in keys), dtype=np.intp, count=len(pairs))
    for (
        source,
        target,
    ) in columns.items():  # what reindex(pos) gives (NaN/NaT for -1), without its index checks
        pairs[target] = np.asarray(pd.api.extensions.take(table[source].array, pos, allow_fill=True))


def grids_from_workers(workers: pd.DataFrame) -> pd.DataFrame:
    """Grid centres as seen through the workers frame (when no grid table is given)."""
    return workers[["grid_id", "community_id", "lat", "lon"]].drop_duplicates("grid_id")


# ---------------------------------------------------------------------------------------------
# Scoring


def priority_rank(values: pd.Series) -> pd.Series:
    """1 urgent, 2 normal, 3 complex (codes or numbers accepted; unknown counts as normal)."""
    values = pd.Series(values)
    by_code = values.map(PRIORITY_RANK) if values.dtype != "int64" else values
    numeric = (
        pd.to_numeric(values.where(by_code.isna()), errors="coerce") if by_code.isna().any() else by_code
    )
    return pd.to_numeric(by_code.fillna(numeric), errors="coerce").fillna(2).astype(int)


def _busy_pairs(busy: Iterable[Hashable] | pd.DataFrame | None, pairs: pd.DataFrame) -> np.ndarray:
    """Boolean per pair: the worker is in a training session at the task's time."""
    if busy is None:
        return np.zeros(len(pairs), dtype=bool)
    if isinstance(busy, pd.DataFrame):
        if "task_id" in busy.columns:
            key = set(zip(busy["task_id"].tolist(), busy["worker_id"].tolist(), strict=True))
            both = zip(pairs["task_id"].tolist(), pairs["worker_id"].tolist(), strict=True)
            return np.fromiter((k in key for k in both), dtype=bool, count=len(pairs))
        return pairs["worker_id"].isin(set(busy["worker_id"])).to_numpy()
    return pairs["worker_id"].isin(set(busy)).to_numpy()


PERF_COUNTS = ("handled", "ontime", "rework", "satisfied", "rated")


def _numeric_perf(perf: pd.DataFrame) -> pd.DataFrame:
    p = perf.reindex(columns=["worker_id", "category_code", *PERF_COUNTS]).copy()
    for c in PERF_COUNTS:
        p[c] = pd.to_numeric(p[c], errors="coerce").fillna(0.0).astype(float)
    return p


def _performance(perf: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """Smoothed per (worker, category): handled, raw rates and the combined performance in [0, 1]."""
    p = _numeric_perf(perf)
    cols = list(p.columns)
    pooled = p.groupby("category_code")[cols[2:]].sum()
    prior = pd.DataFrame(
        {
            "p_ontime": pooled["ontime"] / pooled["handled"].where(pooled["handled"] > 0),
            "p_rework": pooled["rework"] / pooled["handled"].where(pooled["handled"] > 0),
            "p_sat": pooled["satisfied"] / pooled["rated"].where(pooled["rated"] > 0),
        }
    )
    total = p[cols[2:]].sum()
    fallback = {
        "p_ontime": total["ontime"] / total["handled"] if total["handled"] > 0 else 0.9,
        "p_rework": total["rework"] / total["handled"] if total["handled"] > 0 else 0.05,
        "p_sat": total["satisfied"] / total["rated"] if total["rated"] > 0 else 0.9,
    }
    return prior.fillna(fallback).clip(0, 1).reset_index(), fallback


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
    """Every (task, worker of the task's community) pair with its rules, points and score.

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
    behind each preference, ``pts_<component>`` and ``score``.
    """
    preset = as_preset(weights)
    items = items if items is not None else shipped_items()
    cap = max(int(preset.open_task_cap), 1)

    task_cols = [
        c
        for c in ("task_id", "kind", "item_code", "priority", "grid_id", "community_id", "lat", "lon")
        if c in tasks.columns
    ]
    tk = tasks[task_cols].rename(columns={"grid_id": "task_grid_id", "lat": "task_lat", "lon": "task_lon"})
    tk = tk.merge(
        items[["item_code", "category_code", "qualification_course", "skill_course"]],
        on="item_code",
        how="left",
    )
    if "category_code" in tasks.columns:  # the task's own category wins over the taxonomy lookup
        tk["category_code"] = tasks["category_code"].to_numpy()
        tk["category_code"] = tk["category_code"].fillna(
            tk["item_code"].map(items.drop_duplicates("item_code").set_index("item_code")["category_code"])
        )
    tk["skill_course"] = tk["skill_course"].fillna(tk["category_code"].map(EXTRA_SKILL_COURSE))
    tk["priority_rank"] = priority_rank(tk["priority"]) if "priority" in tk else 2

    # Only the tasks' communities take part (a pair is a task and a worker of its community): ranking one task
    # reads its community's workers, their courses and history, not the district's. The category priors
    # below still pool the whole ``perf``.
    wk = workers.reindex(columns=list(WORKER_COLUMNS))
    wk = wk[wk["community_id"].isin(tk["community_id"])].reset_index(drop=True)
    quals = quals[quals["worker_id"].isin(wk["worker_id"])]
    ti, wi = _pair_positions(tk["community_id"], wk["community_id"])
    pairs = pd.DataFrame(
        {
            **{c: tk[c].to_numpy()[ti] for c in tk.columns},
            **{c: wk[c].to_numpy()[wi] for c in wk.columns if c != "community_id"},
        }
    )
    if pairs.empty:
        return _empty_pairs(pairs)

    # 属地 tier: own grid, one of the k nearest grids of the community, or elsewhere in it.
    grid_table = grids if grids is not None else grids_from_workers(workers)
    task_grids = grid_table[grid_table["grid_id"].isin(tk["task_grid_id"])]
    grid_table = grid_table[
        grid_table["community_id"].isin(tk["community_id"])
        | grid_table["community_id"].isin(task_grids["community_id"])
    ]
    neighbours = grid_neighbours(grid_table)
    adj_key = pd.MultiIndex.from_frame(neighbours[["grid_id", "neighbour_id"]])
    is_adjacent = pd.MultiIndex.from_arrays([pairs["task_grid_id"], pairs["grid_id"]]).isin(adj_key)
    own = (pairs["grid_id"] == pairs["task_grid_id"]).to_numpy()
    pairs["tier"] = np.where(own, 0, np.where(is_adjacent, 1, 2))

    # Distance from the worker's grid centre to the task's point (its grid centre if it has none).
    centre = grid_table.drop_duplicates("grid_id").set_index("grid_id")
    tlat = pairs["task_lat"].fillna(pairs["task_grid_id"].map(centre["lat"]))
    tlon = pairs["task_lon"].fillna(pairs["task_grid_id"].map(centre["lon"]))
    pairs["distance_km"] = haversine_km(pairs["lat"], pairs["lon"], tlat, tlon)

    # Qualification and skill from the courses contract.
    q = quals.reindex(columns=["worker_id", "course_code", "passed", "certificate_valid_until", "best_score"])
    q = q.assign(
        passed=q["passed"].fillna(False).astype(bool),
        certificate_valid_until=pd.to_datetime(q["certificate_valid_until"], errors="coerce"),
        best_score=pd.to_numeric(q["best_score"], errors="coerce"),
    ).drop_duplicates(["worker_id", "course_code"], keep="last")
    _attach(
        pairs,
        q,
        ["worker_id", "qualification_course"],
        ["worker_id", "course_code"],
        {"passed": "q_passed", "certificate_valid_until": "q_cert_until", "best_score": "q_best"},
    )
    _attach(
        pairs,
        q,
        ["worker_id", "skill_course"],
        ["worker_id", "course_code"],
        {"passed": "s_passed", "certificate_valid_until": "s_cert_until", "best_score": "s_best"},
    )
    for c in ("q_cert_until", "s_cert_until"):
        pairs[c] = pd.to_datetime(pairs[c])
    ts_now = pd.Timestamp(now)
    cert_valid = pairs["q_cert_until"].notna() & (pairs["q_cert_until"] >= ts_now)
    cert_expired = pairs["q_cert_until"].notna() & (pairs["q_cert_until"] < ts_now)
    passed_no_cert = pairs["q_passed"].fillna(False).astype(bool) & pairs["q_cert_until"].isna()
    needs_course = pairs["qualification_course"].notna()
    pairs["qualified"] = ~needs_course | cert_valid | passed_no_cert
    pairs["qual_status"] = np.select(
        [~needs_course, cert_valid, passed_no_cert, cert_expired, pairs["q_best"].notna()],
        ["not_required", "certificate", "passed", "expired", "failed"],
        default="untrained",
    )
    pairs["s_cert_valid"] = pairs["s_cert_until"].notna() & (pairs["s_cert_until"] >= ts_now)
    pairs["skill"] = (
        SKILL_SCORE_SHARE * pairs["s_best"].fillna(0).clip(0, 100) / 100
        + SKILL_CERT_SHARE * pairs["s_cert_valid"]
    )

    # Past performance in the task's category, smoothed towards the category's pooled rates.
    prior, fallback = _performance(perf)
    pf = (
        _numeric_perf(perf[perf["worker_id"].isin(wk["worker_id"])])
        .groupby(["worker_id", "category_code"], as_index=False)
        .sum()
    )
    _attach(
        pairs, pf, ["worker_id", "category_code"], ["worker_id", "category_code"], {c: c for c in PERF_COUNTS}
    )
    _attach(
        pairs, prior, ["category_code"], ["category_code"], {c: c for c in ("p_ontime", "p_rework", "p_sat")}
    )
    for c, v in fallback.items():
        pairs[c] = pairs[c].fillna(v)
    for c in ("handled", "ontime", "rework", "satisfied", "rated"):
        pairs[c] = pd.to_numeric(pairs[c], errors="coerce").fillna(0.0)
    m = PRIOR_STRENGTH
    pairs["ontime_rate"] = ((pairs["ontime"] + m * pairs["p_ontime"]) / (pairs["handled"] + m)).clip(0, 1)
    pairs["rework_rate"] = ((pairs["rework"] + m * pairs["p_rework"]) / (pairs["handled"] + m)).clip(0, 1)
    pairs["satisfaction_rate"] = ((pairs["satisfied"] + m * pairs["p_sat"]) / (pairs["rated"] + m)).clip(0, 1)
    pairs["performance"] = pairs["ontime_rate"] * (1 - pairs["rework_rate"]) * pairs["satisfaction_rate"]

    # Load and fairness from the field contract; the fairness reference is the community mean.
    ld = load.reindex(columns=["worker_id", "open_tasks", "tasks_last_30d"]).drop_duplicates("worker_id")
    _attach(
        pairs,
        ld,
        ["worker_id"],
        ["worker_id"],
        {"open_tasks": "open_tasks", "tasks_last_30d": "tasks_last_30d"},
    )
    pairs["open_tasks"] = pd.to_numeric(pairs["open_tasks"], errors="coerce").fillna(0).astype(int)
    pairs["tasks_last_30d"] = pd.to_numeric(pairs["tasks_last_30d"], errors="coerce").fillna(0).astype(int)
    comm = wk[["worker_id", "community_id", "status"]].copy()
    _attach(comm, ld, ["worker_id"], ["worker_id"], {"tasks_last_30d": "recent"})
    comm = comm[comm["status"] == "active"]
    community_mean = (
        pd.to_numeric(comm["recent"], errors="coerce").fillna(0).groupby(comm["community_id"]).mean()
    )
    pairs["community_mean_30d"] = pairs["community_id"].map(community_mean).fillna(0.0)

    # Hard rules, first failing one reported.
    pairs["open_task_cap"] = cap
    active = (pairs["status"] == "active").to_numpy()
    in_training = _busy_pairs(busy, pairs)
    at_cap = (pairs["open_tasks"] >= cap).to_numpy()
    pairs["rule"] = np.select(
        [~active, in_training, ~pairs["qualified"].to_numpy(), at_cap],
        ["inactive", "in_training", "not_qualified", "at_cap"],
        default="",
    )
    # 属地 fallback: the narrowest tier level with at least min_candidates workers passing the rules.
    passing = pairs["rule"] == ""
    level_counts = (
        pd.DataFrame(
            {
                "task_id": pairs["task_id"],
                **{f"n{lvl}": passing & (pairs["tier"] <= lvl) for lvl in (0, 1)},
            }
        )
        .groupby("task_id")
        .sum()
    )
    need_n = max(int(preset.min_candidates), 1)
    task_level = pd.Series(
        np.where(level_counts["n0"] >= need_n, 0, np.where(level_counts["n1"] >= need_n, 1, 2)),
        index=level_counts.index,
    )
    pairs["tier_level"] = pairs["task_id"].map(task_level).astype(int)
    farther = passing & (pairs["tier"] > pairs["tier_level"])
    pairs.loc[farther, "rule"] = "farther_tier"
    pairs["rule"] = pairs["rule"].replace("", None)
    pairs["eligible"] = pairs["rule"].isna()

    # Points.
    w = {c: preset.weight(c) for c in COMPONENTS}
    scale = max(float(preset.distance_scale_km), 1e-6)
    pairs["pts_grid"] = w["grid"] * np.select(
        [pairs["tier"] == 0, pairs["tier"] == 1], [1.0, ADJACENT_SHARE], 0.0
    )
    pairs["pts_distance"] = w["distance"] * (1 - pairs["distance_km"].fillna(scale) / scale).clip(0, 1)
    pairs["pts_skill"] = w["skill"] * pairs["skill"]
    pairs["pts_performance"] = w["performance"] * pairs["performance"]
    pairs["pts_load"] = -w["load"] * (pairs["open_tasks"] / cap).clip(0, 1)
    fair_ref = 2 * pairs["community_mean_30d"]
    pairs["pts_fairness"] = -w["fairness"] * np.where(
        fair_ref > 0, (pairs["tasks_last_30d"] / fair_ref.where(fair_ref > 0, 1)).clip(0, 1), 0.0
    )
    pts = [f"pts_{c}" for c in COMPONENTS]
    pairs[pts] = pairs[pts].round(1)
    pairs["score"] = pairs[pts].sum(axis=1).round(1)
    pairs["max_score"] = sum(max(w[c], 0) for c in ("grid", "distance", "skill", "performance"))
    pairs["preset"] = preset.code
    return pairs.sort_values(
        ["task_id", "eligible", "score", "distance_km", "worker_id"],
        ascending=[True, False, False, True, True],
    ).reset_index(drop=True)


def _empty_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    extra = [
        "tier",
        "distance_km",
        "qualified",
        "qual_status",
        "skill",
        "performance",
        "open_tasks",
        "tasks_last_30d",
        "rule",
        "eligible",
        *[f"pts_{c}" for c in COMPONENTS],
        "score",
        "preset",
    ]
    return pairs.reindex(columns=[*pairs.columns, *[c for c in extra if c not in pairs.columns]])
