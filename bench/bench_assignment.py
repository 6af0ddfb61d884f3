"""Benchmark the batch assignment solver against its time targets and the greedy baseline.

    python bench/bench_assignment.py               # all three sizes
    python bench/bench_assignment.py --sizes small # the 1,000 × 1,000 batch only

"total s" is building the candidate table plus solving (the target applies to it); times are the
median of ``--repeat`` runs after one warm-up run, so library import and first-call costs are out.
The greedy ratio is greedy cost / optimal cost; when greedy assigns fewer tasks its cost covers
fewer tasks, so read it together with the assigned counts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluation.assignment import greedy_batch, make_random_instance, solve_batch  # noqa: E402


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
    args = parser.parse_args()
    names = list(SIZES) if "all" in args.sizes else args.sizes
    rows = [run(SIZES[name], args.degree, args.repeat, args.seed) for name in names]
    print(f"degree ~{args.degree}, median of {args.repeat} run(s)")
    print_table(rows)
    return 0 if all(row["ok"] == "PASS" for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
