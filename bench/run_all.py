"""`make bench`: run the benchmarks one after another with quick arguments, then say how to run the load test.

    .venv/bin/python bench/run_all.py            # quick arguments (a few minutes on a 2-core machine)
    .venv/bin/python bench/run_all.py --full     # each benchmark's own defaults (the README's figures)
    .venv/bin/python bench/run_all.py --only pages scoring

Each benchmark runs in its own process (they set GRIDWISE_ environment variables and build their own
databases) and prints its own figures and targets; this prints a summary of exit codes and wall times. The
quick arguments are smaller than the README's reference runs, so read their figures as a smoke check, not
as the published numbers. The browser load test (bench/load_test.py) is not run: it starts a server and 50
Chromium contexts and takes the whole machine for several minutes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["GRIDWISE_DEMO"] = "true"  # benches run on the demo district (core.instance)

ROOT = Path(__file__).resolve().parent.parent


def plan(tmp: Path, full: bool) -> dict[str, list[str]]:
    """Benchmark name → arguments for its script (quick unless ``full``)."""
    if full:
        return {"pages": [], "assignment": ["--district"], "scoring": [], "import": [], "cli": []}
    return {
        # the worker, a second worker on a returning device (where 我的考评's 60 ms goal is judged) and the 下沙
        # manager on a copy of the seeded demo district (cold and warm)
        "pages": ["--roles", "worker,worker2,xiasha"],
        "assignment": ["--repeat", "1"],
        "scoring": ["--demo-scale", "0.05", "--workers", "2000", "--records", "1000000", "--repeat", "1"],
        "import": ["--rows", "100000", "--chunk", "50000"],
        "cli": ["--repeat", "3"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--full", action="store_true", help="each benchmark's default (reference) arguments")
    parser.add_argument("--only", nargs="+", choices=["pages", "assignment", "scoring", "import", "cli"])
    args = parser.parse_args()

    summary = []
    with tempfile.TemporaryDirectory(prefix="gridwise-bench-") as tmp:
        for name, extra in plan(Path(tmp), args.full).items():
            if args.only and name not in args.only:
                continue
            cmd = [sys.executable, str(ROOT / "bench" / f"bench_{name}.py"), *extra]
            print(f"\n=== bench_{name}.py {' '.join(extra)}", flush=True)
            t = time.perf_counter()
            code = subprocess.run(cmd, cwd=ROOT).returncode
            summary.append((name, code, time.perf_counter() - t))

    print("\n=== summary")
    for name, code, seconds in summary:
        note = "ok" if code == 0 else "a target was missed" if code == 1 else "FAILED"
        print(f"bench_{name:<11} exit {code}  {seconds:6.0f} s  {note}")
    print(
        "\nNot run here: the browser load test (a real server, 50 Chromium contexts, several minutes):\n"
        "  .venv/bin/python bench/load_test.py --users 5                 # smoke run\n"
        "  .venv/bin/python bench/load_test.py --users 50 --db sqlite\n"
        "  .venv/bin/python bench/load_test.py --users 50 --db postgres  # PostgreSQL on 127.0.0.1:5432\n"
        "Server CPU per worker journey and per manager filter change (issue #11, a few minutes each):\n"
        "  .venv/bin/python bench/journey_cost.py [--journeys 5] [--db postgres]\n"
        "  .venv/bin/python bench/filter_cost.py"
    )
    return 0 if all(code == 0 for _, code, _ in summary) else 1


if __name__ == "__main__":
    raise SystemExit(main())
