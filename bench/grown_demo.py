"""What bench/bench_city.py and bench/bench_growth.py share (not a bench itself): both grow a copy of the
seeded demo district (bench_pages' SQLite template, var/bench-demo.db), run commands on the copy, then
measure bench/bench_pages.py's views on the demo and on the copy and compare each page's server CPU.

- ``arguments``: their common options (--roles, --pages, --fresh, --print-only);
- ``columns`` / ``copy_rows``: INSERT … SELECT copies of a table's rows with some columns computed;
- ``gridwise``: a ``python -m core.cli`` command (or ``python -c`` code) on a SQLite file;
- ``page_costs``: bench_pages on the demo and on its grown copy (grown first when missing or ``--fresh``),
  each page's CPU by (role, page, phase);
- ``interleaved_costs``: the same views on a server per template at once, alternated page by page over
  several rounds, then more rounds for the pages a callback names (what bench_growth compares).
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
from contextlib import ExitStack
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


def interleaved_costs(
    args: argparse.Namespace,
    templates: dict[str, Path],
    rounds: int,
    extra_rounds: int = 0,
    extra: Callable[[dict[str, dict[Key, list[dict]]]], set[tuple[str, str]]] | None = None,
) -> dict[str, dict[Key, list[dict]]] | None:
    """bench_pages' views on one server per template, alternated page by page: for each role and phase,
    each page is viewed on every server in turn (the order reversed every other page and round), so a change
    in the machine's load reaches all sides alike. Every round starts each server again on a fresh copy of
    its template (cold: st.cache_data empty) on the port it had before, and each side keeps one browser
    context across rounds (a returning device: after the first round its HTTP cache holds the static files,
    bench_pages' ``files``). Per label, each view's row (bench_pages.view) by (role, page, phase), one per
    round. Then ``extra_rounds`` more of just the (role, page) pairs ``extra(samples)`` names (same servers'
    ports, same browsers), their rows added. None when a page raised or a server logged a traceback."""
    import bench_pages as bp
    import load_test as lt
    from playwright.sync_api import sync_playwright

    from core.i18n import t
    from core.models import Role
    from ui.pages import PAGES

    labels = list(templates)
    wanted = {p for p in args.pages.split(",") if p}
    roles = [r for r in args.roles.split(",") if r]
    timeout_ms = int(args.timeout * 1000)
    samples: dict[str, dict[Key, list[dict]]] = {label: {} for label in labels}
    ports = {label: lt.free_port() for label in labels}
    devices: dict[str, object] = {}
    work = Path(tempfile.mkdtemp(prefix="gridwise-growth-"))
    failed = 0
    try:
        migrated = {}
        for label, template in templates.items():
            migrated[label] = work / f"{label}.db"
            shutil.copy(template, migrated[label])
            bp._migrate(f"sqlite:///{migrated[label]}")
        exe = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=exe, headless=True, args=["--disable-gpu", "--disable-dev-shm-usage"]
            )
            plan: list[set[tuple[str, str]] | None] = [None] * rounds
            rnd = 0
            while True:
                if rnd == rounds and extra is not None and extra_rounds and not failed:
                    near = extra(samples)
                    names = ", ".join(f"{role} {page}" for role, page in sorted(near)) or "none asked"
                    print(f"{extra_rounds} more rounds for: {names}", flush=True)
                    plan += [near] * extra_rounds if near else []
                if rnd == len(plan):
                    break
                only = plan[rnd]
                with ExitStack() as stack:
                    servers, cpus, logs = {}, {}, {}
                    for label in labels:
                        db = work / f"round{rnd}-{label}.db"
                        shutil.copy(migrated[label], db)
                        logs[label] = work / f"round{rnd}-{label}.log"
                        servers[label], pid = lt.start_server(
                            f"sqlite:///{db}",
                            logs[label],
                            stack,
                            env_extra={"GRIDWISE_MFA_REQUIRED_ROLES": ""},
                            port=ports[label],
                        )
                        cpus[label] = bp.ServerCpu(pid, f"sqlite:///{db}")
                    print(f"round {rnd + 1}: {lt.machine_load()}", flush=True)
                    for role_label in roles:
                        username, role = bp.ROLES[role_label]
                        pages = [
                            p
                            for p in PAGES
                            if p.exists
                            and p.in_menu
                            and Role(role) in p.roles
                            and (not wanted or p.url_path in wanted)
                            and (only is None or (role_label, p.url_path or "app") in only)
                        ]
                        if not pages:
                            continue
                        tabs = {}
                        for label in labels:
                            tabs[label] = bp.Tab(browser, servers[label], timeout_ms, devices.get(label))
                            devices[label] = tabs[label].context
                            bp.sign_in(tabs[label], username)
                        for phase in ("cold", "warm"):
                            for i, spec in enumerate(pages):
                                order = labels if (i + rnd) % 2 == 0 else labels[::-1]
                                key = (role_label, spec.url_path or "app", phase)
                                line = []
                                for label in order:
                                    sidebar = tabs[label].page.get_by_test_id("stSidebar")
                                    link = sidebar.get_by_role("link", name=t(spec.label, "zh"), exact=True)
                                    row = bp.view(tabs[label], cpus[label], link, args.settle_ms)
                                    samples[label].setdefault(key, []).append(row)
                                    failed += bool(row["error"])
                                    line.append(
                                        f"{label} {row['cpu'] * 1000:5.0f} ms"
                                        + (f" ({row['files']} files)" if row["files"] else "")
                                        + (f" ERROR {row['error']}" if row["error"] else "")
                                    )
                                print(
                                    f"  {role_label:8} {phase:4} {key[1]:16} " + "  ".join(line), flush=True
                                )
                        for tab in tabs.values():
                            bp.sign_out(tab)
                    for label in labels:
                        cpus[label].close()
                        tracebacks = lt.log_tracebacks(logs[label])
                        failed += len(tracebacks)
                        for tb in tracebacks[:3]:
                            print(f"  {label} server traceback: {tb[:300]}")
                rnd += 1
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return None if failed else samples
