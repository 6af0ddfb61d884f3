"""Benchmark the batch assignment solver against its time targets and the greedy baseline.

    python bench/bench_assignment.py               # all three sizes
    python bench/bench_assignment.py --sizes small # the 1,000 × 1,000 batch only

    python bench/bench_assignment.py --district     # also through the real ranking (score_pairs)

"total s" is building the candidate table plus solving (the target applies to it); times are the
median of ``--repeat`` runs after one warm-up run, so library import and first-call costs are out.
The greedy ratio is greedy cost / optimal cost; when greedy assigns fewer tasks its cost covers
fewer tasks, so read it together with the assigned counts.

With ``--district`` each size is also run as a synthetic district (communities of 12 workers, one
grid each, tasks over the 43 items with their qualification rules, quiz results, history and load):
"build s" is then the real pipeline — ``pairs.score_pairs`` (hard rules, 属地 tiers, preferences) and
``batch.candidate_table`` — and the optimum is compared with greedy on that table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from evaluation.assignment.batch import candidate_table  # noqa: E402
from evaluation.assignment.pairs import score_pairs  # noqa: E402
from evaluation.assignment.rank import item_courses  # noqa: E402
from evaluation.assignment.solver import greedy_batch, make_random_instance, solve_batch  # noqa: E402


@dataclass(frozen=True)
class Size:
    """One benchmark batch and its time budget (build + solve)."""

    name: str
    n_tasks: int
    n_workers: int
    capacity: int
    target_s: float


SIZES = {
    "small": Size("small", 1_000, 1_000, 3, 0.2),
    "medium": Size("medium", 5_000, 2_000, 3, 1.0),
    "large": Size("large", 20_000, 5_000, 5, 5.0),
}


def per_priority(assigned) -> str:
    counts = assigned["priority"].value_counts()
    return "/".join(str(int(counts.get(p, 0))) for p in (1, 2, 3))


def run(size: Size, degree: int, repeat: int, seed: int) -> dict[str, str]:
    """Time build and solve; report the optimum next to the greedy baseline."""
    build_times, solve_times = [], []
    for run_index in range(repeat + 1):
        start = time.perf_counter()
        candidates, capacities = make_random_instance(
            size.n_tasks, size.n_workers, size.capacity, degree, seed
        )
        built = time.perf_counter()
        assigned, unassigned = solve_batch(candidates, capacities)
        solved = time.perf_counter()
        if run_index > 0:  # run 0 warms up imports and caches
            build_times.append(built - start)
            solve_times.append(solved - built)
    start = time.perf_counter()
    greedy, _ = greedy_batch(candidates, capacities)
    greedy_s = time.perf_counter() - start

    build_s = statistics.median(build_times)
    solve_s = statistics.median(solve_times)
    total_s = build_s + solve_s
    optimal_cost = float(assigned["cost"].sum())
    greedy_cost = float(greedy["cost"].sum())
    return {
        "size": f"{size.n_tasks:,}×{size.n_workers:,} c{size.capacity}",
        "pairs": f"{len(candidates):,}",
        "build s": f"{build_s:.3f}",
        "solve s": f"{solve_s:.3f}",
        "total s": f"{total_s:.3f}",
        "target": f"<{size.target_s:g}",
        "ok": "PASS" if total_s < size.target_s else "FAIL",
        "assigned p1/p2/p3": per_priority(assigned),
        "left": f"{len(unassigned):,}",
        "cost": f"{optimal_cost:,.1f}",
        "greedy p1/p2/p3": per_priority(greedy),
        "greedy left": f"{size.n_tasks - len(greedy):,}",
        "greedy cost": f"{greedy_cost:,.1f}",
        "greedy s": f"{greedy_s:.3f}",
        "greedy/opt": f"{greedy_cost / optimal_cost:.4f}" if optimal_cost else "n/a",
    }


COMMUNITY_SIZE = 12


def make_district(n_tasks: int, n_workers: int, capacity: int, seed: int):  # noqa: ANN201
    """Frames shaped like the courses and field contracts for a synthetic district."""
    rng = np.random.default_rng(seed)
    community = np.arange(n_workers) // COMMUNITY_SIZE
    c_lat = 22.5 + rng.random(community.max() + 1) * 0.2
    c_lon = 114.3 + rng.random(community.max() + 1) * 0.3
    workers = pd.DataFrame(
        {
            "worker_id": np.arange(n_workers),
            "name": "w",
            "grid_id": np.arange(n_workers),
            "community_id": community,
            "status": np.where(rng.random(n_workers) < 0.97, "active", "on_leave"),
            "lat": c_lat[community] + rng.normal(0, 0.004, n_workers),
            "lon": c_lon[community] + rng.normal(0, 0.005, n_workers),
        }
    )
    items = item_courses()
    courses = items["skill_course"].dropna().unique()
    q = pd.MultiIndex.from_product(
        [workers["worker_id"], courses], names=["worker_id", "course_code"]
    ).to_frame(index=False)
    q = q[rng.random(len(q)) < 0.85]
    score = rng.integers(40, 101, len(q)).astype(float)
    valid = np.where(score >= 80, rng.integers(-60, 300, len(q)), -1)
    now = pd.Timestamp("2020-09-15 10:00")
    quals = q.assign(
        passed=score >= 80,
        best_score=score,
        certificate_valid_until=np.where(valid >= 0, now + pd.to_timedelta(valid, unit="D"), pd.NaT),
    )
    cats = items["category_code"].unique()
    perf = pd.MultiIndex.from_product(
        [workers["worker_id"], cats], names=["worker_id", "category_code"]
    ).to_frame(index=False)
    handled = rng.integers(0, 30, len(perf))
    perf = perf.assign(
        handled=handled,
        ontime=rng.binomial(handled, 0.9),
        rework=rng.binomial(handled, 0.05),
        satisfied=rng.binomial(handled, 0.9),
        rated=handled,
    )
    load = pd.DataFrame(
        {
            "worker_id": workers["worker_id"],
            "open_tasks": rng.integers(0, 4, n_workers),
            "tasks_last_30d": rng.integers(0, 20, n_workers),
        }
    )
    grid = rng.integers(0, n_workers, n_tasks)
    tasks = pd.DataFrame(
        {
            "task_id": [f"event:{i}" for i in range(n_tasks)],
            "kind": "event",
            "item_code": rng.choice(items["item_code"].to_numpy(), n_tasks),
            "priority": rng.choice(["urgent", "normal", "complex"], n_tasks, p=[0.2, 0.6, 0.2]),
            "grid_id": grid,
            "community_id": community[grid],
            "lat": workers["lat"].to_numpy()[grid] + rng.normal(0, 0.002, n_tasks),
            "lon": workers["lon"].to_numpy()[grid] + rng.normal(0, 0.002, n_tasks),
        }
    )
    busy = set(rng.choice(n_workers, size=n_workers // 50, replace=False).tolist())
    caps = dict(zip(load["worker_id"], np.maximum(capacity + 3 - load["open_tasks"], 0), strict=True))
    return tasks, workers, quals, perf, load, busy, caps, now.to_pydatetime()


def run_district(size: Size, repeat: int, seed: int) -> dict[str, str]:
    """Time the real pipeline: score_pairs + candidate_table, then solve; greedy on the same table."""
    tasks, workers, quals, perf, load, busy, caps, now = make_district(
        size.n_tasks, size.n_workers, size.capacity, seed
    )
    build_times, solve_times = [], []
    for run_index in range(repeat + 1):
        start = time.perf_counter()
        pairs = score_pairs(tasks, workers, quals, perf, load, busy, "routine", now=now)
        table = candidate_table(pairs)
        built = time.perf_counter()
        assigned, unassigned = solve_batch(table, caps)
        solved = time.perf_counter()
        if run_index > 0:
            build_times.append(built - start)
            solve_times.append(solved - built)
    greedy, _ = greedy_batch(table, caps)
    total_s = statistics.median(build_times) + statistics.median(solve_times)
    return {
        "size": f"district {size.n_tasks:,}×{size.n_workers:,}",
        "pairs": f"{int(table['worker_id'].notna().sum()):,}",
        "build s": f"{statistics.median(build_times):.3f}",
        "solve s": f"{statistics.median(solve_times):.3f}",
        "total s": f"{total_s:.3f}",
        "target": f"<{size.target_s:g}",
        "ok": "PASS" if total_s < size.target_s else "FAIL",
        "assigned p1/p2/p3": per_priority(assigned),
        "left": f"{len(unassigned):,}",
        "cost": f"{assigned['cost'].sum():,.1f}",
        "greedy p1/p2/p3": per_priority(greedy),
        "greedy left": f"{size.n_tasks - len(greedy):,}",
        "greedy cost": f"{greedy['cost'].sum():,.1f}",
        "greedy s": "",
        "greedy/opt": f"{greedy['cost'].sum() / assigned['cost'].sum():.4f}" if len(assigned) else "n/a",
    }


def print_table(rows: list[dict[str, str]]) -> None:
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    print("  ".join(c.rjust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(row[c].rjust(widths[c]) for c in columns))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", choices=[*SIZES, "all"], default=["all"])
    parser.add_argument("--degree", type=int, default=8, help="about how many workers each task allows")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per size (median reported)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument(
        "--district",
        action="store_true",
        help="also run each size through the real ranking (score_pairs + candidate_table)",
    )
    args = parser.parse_args()
    names = list(SIZES) if "all" in args.sizes else args.sizes
    rows = [run(SIZES[name], args.degree, args.repeat, args.seed) for name in names]
    if args.district:
        rows += [run_district(SIZES[name], args.repeat, args.seed) for name in names]
    print(f"degree ~{args.degree}, median of {args.repeat} run(s)")
    print_table(rows)
    return 0 if all(row["ok"] == "PASS" for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
