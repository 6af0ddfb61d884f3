"""Scale-out: the load test's worker journeys through HAProxy with 1 and then 2 replicas (issue #12; not in `make test`).

    .venv/bin/python bench/scaleout.py                        # 12 users per run, 1 then 2 replicas
    .venv/bin/python bench/scaleout.py --users 10 --browser-cpus 0

One new PostgreSQL database (``gridwise_load_<pid>`` beside ``--pg-admin-url``, dropped at the end), migrated
and seeded once with the real commands; 2 × ``--users`` demo workers (plus one warm-up worker per replica)
are enrolled and seated in one session of the course starting now (bench/load_test.py ``prepare``). Each run
starts the cluster as `make cluster` does (deploy/cluster.py: replicas `streamlit run ui/server.py`, one
`gridwise scheduler`, HAProxy with cookie stickiness), warms every replica directly once (a fresh process has
not imported its pages), then drives ``--users`` browser contexts at once through HAProxy, each doing the
load test's journey (open, sign in, home, my learning, check in, quiz, submit). Run 1 has 1 replica, run 2
has 2 replicas and the next ``--users`` workers.

Printed per run: journeys per minute (finished journeys / wall time), errors, CPU seconds from /proc of each
replica, HAProxy and the browser side; then the ratio of journeys per minute (2 replicas / 1 replica), and
the ratio of server CPU capacity: journeys per server-CPU-second × replicas (what the replicas could do if
each had a core of its own, the browsers elsewhere). At the end, the load test's database checks over both
runs: exactly one check-in and one submitted attempt per user, no duplicates. The browsers, HAProxy,
PostgreSQL and the replicas share this machine's cores: on 2 cores the wall ratio is bounded by that, not by
the app. ``--browser-cpus 0`` pins Chromium (and this script) to core 0 with sched_setaffinity.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
import traceback
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

os.environ["GRIDWISE_DEMO"] = "true"  # benches run on the demo district (core.instance)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load_test as lt  # noqa: E402  (bench/load_test.py: the journey, set-up and checks)

from deploy.cluster import Cluster, free_port, start  # noqa: E402


@dataclass
class RunResult:
    replicas: int
    outcomes: list[lt.Outcome]
    elapsed: float
    cpu: dict[str, float]  # replica name, "haproxy", "browsers" → CPU seconds during the timed part
    tracebacks: list[str]

    @property
    def finished(self) -> int:
        return sum(1 for o in self.outcomes if o.failed_step is None)

    @property
    def per_minute(self) -> float:
        return self.finished / self.elapsed * 60

    @property
    def server_cpu(self) -> float:
        return sum(v for k, v in self.cpu.items() if k.startswith("r"))

    @property
    def capacity(self) -> float:
        """Journeys per minute the replicas could serve with one core each: journeys per server CPU s × replicas."""
        return self.finished / self.server_cpu * 60 * self.replicas if self.server_cpu else float("nan")


async def drive(
    cluster: Cluster, plan: lt.Plan, warm_ups: list[lt.User], args: argparse.Namespace
) -> tuple[list[lt.Outcome], float, dict[str, float]]:
    from playwright.async_api import async_playwright

    exe = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    timeout_ms = int(args.timeout * 1000)
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
        for (name, (port, _p)), user in zip(cluster.replicas.items(), warm_ups, strict=True):
            warm = await lt.run_user(
                browser,
                f"http://127.0.0.1:{port}",
                plan,
                user,
                timeout_ms,
                steps_to_run=("open", "sign_in", "home", "my_learning", "quiz_open"),
            )
            print(
                f"  warm-up of {name} by {user.username}: {sum(warm.times.values()):.1f} s"
                + (f"; failed: {warm.error}" if warm.failed_step else ""),
                flush=True,
            )
        pids = {name: p.pid for name, (_port, p) in cluster.replicas.items()} | {"haproxy": cluster.proxy.pid}
        before = {k: lt.cpu_seconds(pid) for k, pid in pids.items()}
        before_all = lt.cpu_seconds(os.getpid())
        t = time.perf_counter()
        n = len(plan.users)
        tasks = [
            asyncio.create_task(
                lt.run_user(
                    browser,
                    cluster.url,
                    plan,
                    u,
                    timeout_ms,
                    args.ramp * i / max(1, n),
                    shots=args.screenshots,
                )
            )
            for i, u in enumerate(plan.users)
        ]
        done, pending = await asyncio.wait(tasks, timeout=args.deadline)
        for task in pending:
            task.cancel()
        elapsed = time.perf_counter() - t
        cpu = {k: lt.cpu_seconds(pid) - before[k] for k, pid in pids.items()}
        # This script's descendants: Chromium, Playwright's driver, and the cluster (replicas, HAProxy, scheduler).
        cpu["browsers"] = lt.cpu_seconds(os.getpid()) - before_all - sum(cpu.values())
        outcomes = []
        for user, task in zip(plan.users, tasks, strict=True):
            if task in done and task.exception() is None:
                outcomes.append(task.result())
            else:
                why = "run deadline passed" if task in pending else lt.first_line(task.exception())
                outcomes.append(lt.Outcome(user.username, failed_step="(deadline)", error=why))
        await browser.close()
    return outcomes, elapsed, cpu


def run(
    replicas: int, db_url: str, plan: lt.Plan, warm_ups: list[lt.User], args: argparse.Namespace, work: Path
) -> RunResult:
    print(
        f"\n--- {replicas} replica(s), {len(plan.users)} users through HAProxy; {lt.machine_load()}",
        flush=True,
    )
    cluster = start(
        replicas=replicas, port=free_port(), database_url=db_url, work_dir=work / f"cluster-{replicas}"
    )
    try:
        if args.browser_cpus is not None:
            os.sched_setaffinity(0, {int(c) for c in args.browser_cpus.split(",")})  # Chromium inherits it
        outcomes, elapsed, cpu = asyncio.run(drive(cluster, plan, warm_ups, args))
    finally:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        cluster.stop()
    tracebacks = [tb for name in cluster.replicas for tb in lt.log_tracebacks(cluster.logs / f"{name}.log")]
    result = RunResult(replicas, outcomes, elapsed, cpu, tracebacks)
    lt.print_steps(lt.report_steps(outcomes), outcomes)
    print(
        f"{result.finished}/{len(outcomes)} journeys in {elapsed:.0f} s wall = {result.per_minute:.1f} per minute; "
        f"errors {len(outcomes) - result.finished}; server log tracebacks {len(tracebacks)}"
    )
    print(
        "CPU s during the run: "
        + ", ".join(f"{k} {v:.0f}" for k, v in cpu.items())
        + f" (of {elapsed * (os.cpu_count() or 1):.0f} on {os.cpu_count()} cores); "
        f"server CPU per journey {result.server_cpu / max(1, result.finished):.1f} s; "
        f"capacity {result.capacity:.1f} journeys/min at one core per replica"
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=12, help="concurrent virtual users in each run")
    parser.add_argument(
        "--pg-admin-url",
        default=lt.PG_ADMIN_URL,
        help="a PostgreSQL URL allowed to CREATE DATABASE (the bench's database is made beside it)",
    )
    parser.add_argument("--course", default="house_coding")
    parser.add_argument("--timeout", type=float, default=300, help="seconds one page action may take")
    parser.add_argument(
        "--ramp", type=float, default=0, help="spread the users' starts over this many seconds"
    )
    parser.add_argument("--deadline", type=float, default=900, help="seconds one run may take")
    parser.add_argument(
        "--browser-cpus", default=None, help="pin Chromium and this script to these cores, e.g. 0"
    )
    parser.add_argument("--screenshots", type=Path, default=ROOT / "artifacts" / "scaleout")
    args = parser.parse_args()
    n = args.users
    print(f"scale-out: {n} users per run, 1 then 2 replicas, PostgreSQL; {lt.machine_load()}", flush=True)
    with ExitStack() as stack:
        db_url = lt.create_database("postgres", stack, args.pg_admin_url)
        os.environ["GRIDWISE_DATABASE_URL"] = db_url
        lt.seed(db_url, 1.0)
        everyone = lt.prepare(
            db_url, 2 * n + 3, args.course
        )  # two runs' users + a warm-up worker per replica
        work = Path(tempfile.mkdtemp(prefix="gridwise-scaleout-"))
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        warm_ups = everyone.users[2 * n :]  # each once: a warm-up leaves its quiz attempt open
        results = []
        try:
            for replicas, users, warm in (
                (1, everyone.users[:n], warm_ups[:1]),
                (2, everyone.users[n : 2 * n], warm_ups[1:]),
            ):
                results.append(run(replicas, db_url, replace(everyone, users=users), warm, args, work))
        except Exception:
            traceback.print_exc()
            return 2
        one, two = results
        print(
            f"\njourneys per minute: 1 replica {one.per_minute:.1f}, 2 replicas {two.per_minute:.1f}, "
            f"ratio {two.per_minute / one.per_minute:.2f}x (target >= 1.7x)"
        )
        print(
            f"server CPU capacity (journeys per server CPU s x replicas): 1 replica {one.capacity:.1f}/min, "
            f"2 replicas {two.capacity:.1f}/min, ratio {two.capacity / one.capacity:.2f}x"
        )
        print(
            f"errors: {sum(len(r.outcomes) - r.finished for r in results)}; "
            f"server tracebacks: {sum(len(r.tracebacks) for r in results)}"
        )
        # Both runs' users together: the load test's checks (a check-in by a worker of run 1 is not "not in the run").
        problems = lt.check_database(
            db_url, replace(everyone, users=everyone.users[: 2 * n]), one.outcomes + two.outcomes
        )
        for p in problems:
            print(f"  PROBLEM: {p}")
        if not problems:
            print("database: as expected (one check-in and one submitted attempt per user, no duplicates)")
    ok = all(r.finished == len(r.outcomes) and not r.tracebacks for r in results) and not problems
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
