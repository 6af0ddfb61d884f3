"""Server CPU per worker journey, per step and per page run, against a trivial page measured in the same run.

    .venv/bin/python bench/journey_cost.py                    # 5 journeys, SQLite copy of the seeded demo
    .venv/bin/python bench/journey_cost.py --journeys 3 --db postgres
    .venv/bin/python bench/journey_cost.py --pin              # server on core 1, browser + this script on core 0

Starts `streamlit run ui/server.py` through bench/run_stats.py (every script run recorded: page, thread CPU, SQL
round trips) on its own port and its own database: a copy of a demo district seeded once into
var/journey-demo.db (SQLite; ``--fresh`` seeds it again) or a new PostgreSQL database. The set-up is the load
test's (bench/load_test.py): a session of the course starting now with the journey's workers seated. One
more worker opens the pages once (a warm server), then the journeys run ONE AFTER ANOTHER in one Chromium,
so the server CPU read from /proc (utime + stime of the server process, independent of the browser's
load) between two steps is that step's cost alone:

  open, sign_in, home, my_learning, check_in, quiz_open, quiz_answer, quiz_submit  (see load_test.py),
  my_scorecard (我的考评: a worker's first view of their card), inbox (消息)

The floor is bench/trivial_page.py (a title, a radio, a button calling st.rerun) on two more servers,
clicked in the same run before and after the journeys: one with Streamlit's defaults (the ~55 ms per click
ARCHITECTURE.md and issue #11 quote), one with the app's .streamlit/config.toml (which turns off the full
garbage collection Streamlit runs after every script run). Its CPU per button click (two script runs) and
per radio click (one run) is printed; each step's CPU per action (a click or a page load that makes the
server run) is a ratio to the button-click floor with Streamlit's defaults. A last journey runs with cProfile on every script
run; the profiles are merged per page into ``--profile-dir`` (<page>.txt, top functions). At the end the
load test's database checks: one check-in and one submitted attempt per worker, no duplicates. Exit status:
0 when the journey and per-question targets are met, 1 when one is missed, 2 on a failed journey, a
database problem or a server traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path

os.environ["GRIDWISE_DEMO"] = "true"  # benches run on the demo district (core.instance)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load_test as lt  # noqa: E402 - the load test's set-up, server and journey

TEMPLATE = ROOT / "var" / "journey-demo.db"
TARGET_JOURNEY_S, TARGET_QUESTION_MS, TARGET_RATIO = 1.0, 60.0, 1.5
# The load test's journey, then 我的考评 and 消息 (issue #21: the first view of 我的考评 was most of a journey).
JOURNEY_STEPS = (*lt.STEPS, "my_scorecard", "inbox")


def sqlite_copy(stack: ExitStack, fresh: bool) -> str:
    """A private copy of the seeded demo district (seeded once into var/, migrated to head each time)."""
    if fresh or not TEMPLATE.exists():
        TEMPLATE.parent.mkdir(exist_ok=True)
        TEMPLATE.unlink(missing_ok=True)
        lt.seed(f"sqlite:///{TEMPLATE}", 1.0)
    tmp = Path(tempfile.mkdtemp(prefix="gridwise-journey-"))
    stack.callback(shutil.rmtree, tmp, ignore_errors=True)
    shutil.copy(TEMPLATE, tmp / "journey.db")
    url = f"sqlite:///{tmp / 'journey.db'}"
    env = {**os.environ, "GRIDWISE_DATABASE_URL": url, "GRIDWISE_SCHEDULER_ENABLED": "false"}
    subprocess.run(
        [sys.executable, "-m", "core.cli", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return url


def main_thread_cpu(pid: int) -> float:
    """CPU seconds of the server's main thread (Tornado's event loop: sessions, websocket, messages)."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def floor_costs(browser, url: str, pid: int, clicks: int, timeout_ms: int) -> dict[str, float]:  # noqa: ANN001
    """Server CPU per click on the trivial page: the button (st.rerun: two runs) and the radio (one run)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_init_script(lt.RUN_COUNTER_JS)
    page = await context.new_page()

    async def act(locator) -> None:  # noqa: ANN001
        runs = await page.evaluate("() => window.__gwRuns")
        await locator.click()
        await page.wait_for_function(lt.RUN_DONE_JS, arg=runs, timeout=timeout_ms, polling=100)

    await page.goto(url, timeout=timeout_ms)
    await page.wait_for_function(lt.RUN_DONE_JS, arg=0, timeout=timeout_ms, polling=100)
    button = page.get_by_role("button", name="Again")
    radios = [page.get_by_test_id("stRadio").get_by_text(x, exact=True) for x in ("a", "b", "c")]
    for _ in range(2):  # warm
        await act(button)
    out = {}
    t = lt.cpu_seconds(pid)
    for _ in range(clicks):
        await act(button)
    out["button"] = (lt.cpu_seconds(pid) - t) / clicks
    t = lt.cpu_seconds(pid)
    for i in range(clicks):
        await act(radios[(i + 1) % 3])
    out["radio"] = (lt.cpu_seconds(pid) - t) / clicks
    await context.close()
    return out


async def drive(
    app_url: str,
    app_pid: int,
    floors: dict[str, tuple[str, int]],
    plan: lt.Plan,
    stats: Path,
    profile_dir: Path,
    args: argparse.Namespace,
) -> dict:
    from playwright.async_api import async_playwright

    timeout_ms = int(args.timeout * 1000)
    exe = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    result: dict = {"journeys": [], "profile": None}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=exe,
            headless=True,
            args=[
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-gpu",
                "--disable-dev-shm-usage",
            ],
        )
        if plan.warm_up is not None:
            warm = await lt.run_user(
                browser,
                app_url,
                plan,
                plan.warm_up,
                timeout_ms,
                steps_to_run=("open", "sign_in", "home", "my_learning", "quiz_open"),
            )
            if warm.failed_step:
                raise RuntimeError(f"warm-up failed at {warm.failed_step}: {warm.error}")
        result["floor_before"] = {
            name: await floor_costs(browser, url, pid, args.floor_clicks, timeout_ms)
            for name, (url, pid) in floors.items()
        }
        spy = None
        if args.py_spy:  # samples every thread of the server (Tornado's loop too), collapsed stacks
            spy = subprocess.Popen(
                [
                    args.py_spy,
                    "record",
                    "-p",
                    str(app_pid),
                    "-r",
                    "200",
                    "-f",
                    "raw",
                    "--threads",
                    "-o",
                    str(profile_dir / "py-spy.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        *measured, profiled = plan.users
        for user in measured + [profiled]:
            if user is profiled:
                if spy is not None:
                    spy.send_signal(2)  # SIGINT: py-spy writes its file and exits
                    spy.wait(timeout=60)
                flag = Path(str(stats) + ".profile")
                flag.write_text(str(profile_dir / "raw"))
            marks: list[tuple[str, float, int, float]] = []

            def mark(name: str, marks: list = marks) -> None:
                marks.append((name, lt.cpu_seconds(app_pid), len(read_rows(stats)), main_thread_cpu(app_pid)))

            out = await lt.run_user(
                browser, app_url, plan, user, timeout_ms, steps_to_run=JOURNEY_STEPS, on_step=mark
            )
            if user is profiled:
                flag.unlink()
                result["profile"] = out
                continue
            result["journeys"].append({"outcome": out, "marks": marks})
            if out.failed_step:
                print(f"  journey {user.username} failed at {out.failed_step}: {out.error}")
        result["floor_after"] = {
            name: await floor_costs(browser, url, pid, args.floor_clicks, timeout_ms)
            for name, (url, pid) in floors.items()
        }
        await browser.close()
    return result


def merge_profiles(profile_dir: Path, rows: list[dict]) -> list[Path]:
    """One text file per page: the profiled runs' functions by own time and by cumulative time."""
    by_page: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r.get("profile") and Path(r["profile"]).exists():
            by_page[r["page"]].append(r["profile"])
    written = []
    for page, files in by_page.items():
        path = profile_dir / f"{page.replace('/', '_').removesuffix('.py')}.txt"
        with open(path, "w", encoding="utf-8") as out:
            out.write(f"{page}: {len(files)} profiled script runs (cProfile, merged)\n")
            stats = pstats.Stats(*files, stream=out)
            stats.strip_dirs()
            for key in ("cumulative", "tottime"):
                out.write(f"\n=== by {key} ===\n")
                stats.sort_stats(key).print_stats(35)
        written.append(path)
    return written


def report(result: dict, rows: list[dict]) -> dict:  # noqa: C901
    print()
    floor_of = {}
    for name in result["floor_before"]:
        before, after = result["floor_before"][name], result["floor_after"][name]
        floor_of[name] = (before["button"] + after["button"]) / 2
        print(
            f"floor, {name} (bench/trivial_page.py, same run): {floor_of[name] * 1000:.0f} ms server CPU per "
            f"button click with st.rerun (2 runs; before the journeys {before['button'] * 1000:.0f}, after "
            f"{after['button'] * 1000:.0f}), {(before['radio'] + after['radio']) / 2 * 1000:.0f} ms per radio "
            "click (1 run)"
        )
    floor = floor_of["Streamlit defaults"]  # the floor as ARCHITECTURE.md and issue #11 measured it
    same = floor_of["app config"]
    ok = [j for j in result["journeys"] if j["outcome"].failed_step is None]
    if not ok:
        print("no journey finished")
        return {}
    per_step: dict[str, list[float]] = defaultdict(list)
    loop_of: dict[str, list[float]] = defaultdict(list)
    runs_of: dict[str, list[dict]] = defaultdict(list)
    actions: dict[str, list[int]] = defaultdict(list)
    for j in ok:
        marks = j["marks"]
        for (name, cpu, n, loop), (_, cpu2, n2, loop2) in zip(marks, marks[1:], strict=False):
            per_step[name].append(cpu2 - cpu)
            loop_of[name].append(loop2 - loop)
            runs_of[name] += rows[n:n2]
            actions[name].append(j["outcome"].actions.get(name, 0))
    n = len(ok)
    questions = statistics.mean(len(j["outcome"].question_times) for j in ok)
    print(
        f"\n{'step':<13} {'actions':>7} {'CPU s':>7} {'ms/action':>9} {'× floor':>7} {'runs':>5} "
        f"{'frag':>4} {'script ms/run':>13} {'loop ms':>7} {'SQL/run':>7}"
    )
    total = total_actions = 0.0
    table = {}
    for name in JOURNEY_STEPS:
        if name not in per_step:
            continue
        cpu = statistics.mean(per_step[name])
        acts = statistics.mean(actions[name]) or 1
        runs = runs_of[name]
        script = statistics.mean([r["cpu"] for r in runs]) if runs else 0.0
        sql = statistics.mean([r["sql"] for r in runs]) if runs else 0.0
        frag = sum(r["fragment"] for r in runs) / n
        total += cpu
        total_actions += acts
        table[name] = {"cpu": cpu, "actions": acts, "runs": len(runs) / n}
        print(
            f"{name:<13} {acts:>7.0f} {cpu:>7.3f} {cpu / acts * 1000:>9.0f} {cpu / acts / floor:>7.2f} "
            f"{len(runs) / n:>5.1f} {frag:>4.0f} {script * 1000:>13.1f} "
            f"{statistics.mean(loop_of[name]) * 1000:>7.0f} {sql:>7.1f}"
        )
    per_q = statistics.mean(per_step["quiz_answer"]) / questions if questions else float("nan")
    ratio = total / total_actions / floor
    print(
        f"{'journey':<13} {total_actions:>7.0f} {total:>7.3f} {total / total_actions * 1000:>9.0f} {ratio:>7.2f}"
    )
    print(
        f"\nper journey: {total:.2f} server CPU-s (target ≤ {TARGET_JOURNEY_S}: "
        f"{'MET' if total <= TARGET_JOURNEY_S else 'NOT met'}), spread "
        f"{min(sum(s) for s in zip(*per_step.values(), strict=False)):.2f}–"
        f"{max(sum(s) for s in zip(*per_step.values(), strict=False)):.2f} over {n} journeys"
    )
    print(
        f"per quiz question: {per_q * 1000:.0f} ms (target ≤ {TARGET_QUESTION_MS:.0f}: "
        f"{'MET' if per_q * 1000 <= TARGET_QUESTION_MS else 'NOT met'}), {questions:.0f} questions"
    )
    print(
        f"per action: {ratio:.2f} × the floor with Streamlit's defaults (target ≤ {TARGET_RATIO}: "
        f"{'MET' if ratio <= TARGET_RATIO else 'NOT met'}); {total / total_actions / same:.2f} × the trivial page "
        "under the app's own config"
    )
    journey_runs = [r for name in runs_of for r in runs_of[name]]
    script_cpu = sum(r["cpu"] for r in journey_runs) / n
    loop = sum(statistics.mean(v) for v in loop_of.values())
    print(
        f"where: {script_cpu:.2f} CPU-s per journey in script runs (script threads), {loop:.2f} in the main "
        f"thread (Tornado: sessions, websocket, messages), {total - script_cpu - loop:.2f} elsewhere "
        "(other threads, e.g. argon2's lanes)"
    )
    by_page: dict[str, list[dict]] = defaultdict(list)
    for r in journey_runs:
        by_page[r["page"] + (" (fragment)" if r["fragment"] else "")].append(r)
    print(f"\n{'page run':<32} {'runs':>5} {'median ms':>9} {'mean ms':>8} {'max ms':>7} {'SQL/run':>7}")
    for page, rs in sorted(by_page.items()):
        cpus = [r["cpu"] * 1000 for r in rs]
        print(
            f"{page:<32} {len(rs) / n:>5.1f} {statistics.median(cpus):>9.1f} {statistics.mean(cpus):>8.1f} "
            f"{max(cpus):>7.1f} {statistics.mean(r['sql'] for r in rs):>7.1f}"
        )
    return {
        "total": total,
        "per_question": per_q,
        "ratio": ratio,
        "floor": floor,
        "floor_same_config": same,
        "steps": table,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--journeys", type=int, default=5)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-admin-url", default=lt.PG_ADMIN_URL)
    parser.add_argument("--course", default="house_coding")
    parser.add_argument("--floor-clicks", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=120, help="seconds one page action may take")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="server processes on core 1, the browser and this script on core 0 (taskset)",
    )
    parser.add_argument("--fresh", action="store_true", help="seed var/journey-demo.db again")
    parser.add_argument("--profile-dir", type=Path, default=ROOT / "artifacts" / "journey-profile")
    parser.add_argument(
        "--py-spy", default=None, help="py-spy to sample the server during the measured journeys"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the figures here too")
    args = parser.parse_args()

    print(
        f"journey_cost: {args.journeys} journeys one after another, {args.db}; before: {lt.machine_load()}",
        flush=True,
    )
    with ExitStack() as stack:
        if args.db == "sqlite":
            db_url = sqlite_copy(stack, args.fresh)
        else:
            db_url = lt.create_database("postgres", stack, args.pg_admin_url)
            lt.seed(db_url, 1.0)
        os.environ["GRIDWISE_DATABASE_URL"] = db_url
        plan = lt.prepare(db_url, args.journeys + 1, args.course)  # the last one is the profiled journey
        work = Path(tempfile.mkdtemp(prefix="gridwise-journey-run-"))
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        shutil.rmtree(args.profile_dir, ignore_errors=True)
        args.profile_dir.mkdir(parents=True)
        stats, floor_stats = work / "runs.jsonl", work / "floor.jsonl"
        prefix = ("taskset", "-c", "1") if args.pin else ()
        launcher = (str(ROOT / "bench" / "run_stats.py"),)
        app_url, app_pid = lt.start_server(
            db_url,
            work / "app.log",
            stack,
            launcher=launcher,
            prefix=prefix,
            env_extra={"GRIDWISE_RUN_STATS": str(stats)},
        )
        floors = {}  # the trivial page as the app's server runs it, and with Streamlit's defaults
        for name, extra in (("app config", ()), ("Streamlit defaults", ("--runner.postScriptGC", "true"))):
            floors[name] = lt.start_server(
                db_url,
                work / f"floor-{len(floors)}.log",
                stack,
                script="bench/trivial_page.py",
                launcher=launcher,
                prefix=prefix,
                env_extra={"GRIDWISE_RUN_STATS": str(floor_stats)},
                extra_args=extra,
            )
        if args.pin:
            os.sched_setaffinity(0, {0})  # the browser Playwright starts inherits it
        t = time.perf_counter()
        result = asyncio.run(drive(app_url, app_pid, floors, plan, stats, args.profile_dir, args))
        rows = read_rows(stats)
        figures = report(result, rows)
        written = merge_profiles(args.profile_dir, [r for r in rows if r.get("profile")])
        print(f"\nprofiles of one journey's runs: {len(written)} pages in {args.profile_dir}")
        tracebacks = lt.log_tracebacks(work / "app.log")
        print(
            f"server log: {len(tracebacks)} tracebacks" + "".join(f"\n  {tb[:300]}" for tb in tracebacks[:3])
        )
        outcomes = [j["outcome"] for j in result["journeys"]] + [result["profile"]]
        problems = lt.check_database(db_url, plan, outcomes)
        for p in problems:
            print(f"  PROBLEM: {p}")
        print(f"\n{time.perf_counter() - t:.0f} s wall; after: {lt.machine_load()}")
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1))
    failed = [o for o in outcomes if o.failed_step]
    if problems or failed or tracebacks:
        return 2
    met = (
        figures
        and figures["total"] <= TARGET_JOURNEY_S
        and figures["per_question"] * 1000 <= TARGET_QUESTION_MS
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
