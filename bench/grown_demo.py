"""What bench/bench_city.py and bench/bench_growth.py share (not a bench itself): both grow a copy of the
seeded demo district (bench_pages' SQLite template, var/bench-demo.db), run commands on the copy, then run
bench/bench_pages.py on the demo and on the copy and compare each page's server CPU.

- ``arguments``: their common options (--roles, --pages, --fresh, --print-only);
- ``columns`` / ``copy_rows``: INSERT … SELECT copies of a table's rows with some columns computed;
- ``gridwise``: a ``python -m core.cli`` command (or ``python -c`` code) on a SQLite file;
- ``page_costs``: bench_pages on the demo and on its grown copy (grown first when missing or ``--fresh``),
  each page's CPU by (role, page, phase).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "var" / "bench-demo.db"

Key = tuple[str, str, str]  # (role, page, phase) of a bench_pages row


def arguments(doc: str | None, *, roles: str, pages: str = "", fresh: str) -> argparse.ArgumentParser:
    """The options both benches take (``fresh``: the help of --fresh); a bench adds its own."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--roles", default=roles)
    parser.add_argument("--pages", default=pages)
    parser.add_argument("--fresh", action="store_true", help=fresh)
    parser.add_argument("--print-only", action="store_true", help="exit 0 when a goal is missed")
    return parser


def columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in db.execute(f"PRAGMA table_info({table})")]


def copy_rows(db: sqlite3.Connection, table: str, changed: dict[str, str], where: str) -> None:
    """INSERT INTO table SELECT … FROM table WHERE ``where``, with ``changed`` columns computed (``id`` is
    left to the database unless ``changed`` names it)."""
    cols = [c for c in columns(db, table) if c != "id" or "id" in changed]
    select = ", ".join(changed.get(c, c) for c in cols)
    db.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {select} FROM {table} WHERE {where}")


def gridwise(
    db: Path, *command: str, code: str | None = None, demo: bool = True, quiet: bool = False
) -> None:
    """Run ``gridwise <command>`` (or ``python -c code``) on the SQLite file ``db``, scheduler off, as the
    demo instance unless ``demo`` is False; ``quiet`` keeps its output. A failure raises."""
    env = {**os.environ, "GRIDWISE_DATABASE_URL": f"sqlite:///{db}", "GRIDWISE_SCHEDULER_ENABLED": "false"}
    if demo:
        env["GRIDWISE_DEMO"] = "true"
    argv = ["-c", code] if code is not None else ["-m", "core.cli", *command]
    subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, check=True, capture_output=quiet)


def run_pages(template: Path, args: argparse.Namespace, out: Path) -> int:
    cmd = [sys.executable, str(ROOT / "bench" / "bench_pages.py"), "--template-db", str(template)]
    cmd += ["--roles", args.roles, "--json", str(out), "--print-only"]
    if args.pages:
        cmd += ["--pages", args.pages]
    print("$ " + " ".join(cmd[1:]), flush=True)
    return subprocess.run(cmd, cwd=ROOT).returncode


def page_costs(
    args: argparse.Namespace, copy: Path, grow: Callable[[Path, Path], None], labels: tuple[str, str]
) -> dict[str, dict[Key, float]] | None:
    """bench_pages on the demo template and on ``copy`` in turn (same roles and pages), ``copy`` made first by
    ``grow(BASE, copy)`` when missing or ``--fresh``: per label (the demo's, the copy's), each page's CPU
    seconds by (role, page, phase) in the order measured. None when the template is missing or a run
    failed (a page raised)."""
    if not BASE.exists():
        print(f"{BASE} missing: run bench/bench_pages.py once (it seeds the demo template)")
        return None
    if args.fresh or not copy.exists():
        grow(BASE, copy)
    work = Path(tempfile.mkdtemp(prefix="gridwise-pages-"))
    try:
        costs = {}
        for label, template in zip(labels, (BASE, copy), strict=True):
            if run_pages(template, args, work / f"{label}.json") == 2:
                return None
            rows = json.loads((work / f"{label}.json").read_text())["rows"]
            costs[label] = {(r["role"], r["page"], r["phase"]): r["cpu"] for r in rows}
        return costs
    finally:
        shutil.rmtree(work, ignore_errors=True)
