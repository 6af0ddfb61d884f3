"""Benchmark: start-up of the ``gridwise`` command (issue #21: ``gridwise scores --help`` took 2.35–4.7 s).

    .venv/bin/python bench/bench_cli.py [--repeat 7]

Runs ``gridwise --help`` and ``gridwise scores --help`` (the installed console script) and, as the reference in
the same process, ``python -c pass`` (the interpreter's own start-up), each ``--repeat`` times interleaved.
Prints the median wall time and CPU (user + system of the child, from wait4) of each, the ratio to the
reference, and the heaviest imports of ``gridwise --help`` from ``python -X importtime``. Goal (issue #21):
each help ≤ 0.5 s; exits 1 when missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 0.5


def run_once(cmd: list[str]) -> tuple[float, float]:
    """(wall s, CPU s) of one run of ``cmd``, its output discarded."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def heaviest_imports(cmd_args: list[str], top: int = 5) -> list[tuple[str, int]]:
    """The top-level imports of ``gridwise <cmd_args>`` with the largest cumulative time (µs)."""
    probe = (
        "import sys; from core.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass"
    )
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", probe, *cmd_args], cwd=ROOT, capture_output=True, text=True
    ).stderr
    rows = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _self, cumulative, name = line.removeprefix("import time:").split("|")
        if cumulative.strip().isdigit() and not name.startswith("  "):  # top-level imports only
            rows.append((name.strip(), int(cumulative)))
    return sorted(rows, key=lambda r: -r[1])[:top]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    gridwise = str(Path(sys.executable).parent / "gridwise")
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "gridwise --help": [gridwise, "--help"],
        "gridwise scores --help": [gridwise, "scores", "--help"],
    }
    for cmd in commands.values():  # warm the file cache once, untimed
        run_once(cmd)
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, cmd in commands.items():  # interleaved, so a busy moment hits every command alike
            runs[name].append(run_once(cmd))

    median = {
        n: (statistics.median(w for w, _ in r), statistics.median(c for _, c in r)) for n, r in runs.items()
    }
    ref_wall, ref_cpu = median["python -c pass"]
    print(f"median of {args.repeat} runs (load average {os.getloadavg()[0]:.1f}):")
    ok = True
    for name, (wall, cpu) in median.items():
        line = f"  {name:<24} wall {wall * 1000:6.0f} ms   CPU {cpu * 1000:6.0f} ms"
        if name != "python -c pass":
            line += f"   ratio to python -c pass: wall {wall / ref_wall:.1f}x, CPU {cpu / max(ref_cpu, 1e-3):.1f}x"
            ok = ok and wall <= GOAL_S
        print(line)
    print("heaviest top-level imports of `gridwise --help` (python -X importtime, cumulative):")
    for name, micros in heaviest_imports(["--help"]):
        print(f"  {name:<40} {micros / 1000:6.1f} ms")
    print(f"goal (each help ≤ {GOAL_S} s wall):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
