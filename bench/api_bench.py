"""Benchmark: events posted to the JSON API at a sustained rate from several client threads, against a real
uvicorn process on loopback, beside the floor — a bare FastAPI endpoint inserting one row — run the same way.

    .venv/bin/python bench/api_bench.py [--seconds 30] [--rate 300] [--threads 8] [--postgres URL]

Each thread posts its share of the rate (one new event per request, ``Idempotency-Key`` = the event number);
a request that fails (5xx, timeout, connection) is retried with the same key, as a platform would. Prints
p50/p95 latency for both servers, the server CPU seconds (from /proc) per request and the ratio API/floor,
events/s, the client CPU seconds, and checks in the database: every event posted is there exactly once
(zero lost, zero doubled), one ``api.events.write`` audit row per answered request, the audit chain
verifies (core.audit_chain.verify).

Goal (issue #23), checked in the one run: the API's server CPU per event at most ``MAX_CPU_RATIO`` × the
floor's, and on PostgreSQL at least ``MIN_EVENTS_PER_SECOND`` events/s answered by the one API process
(offer at least that rate: a lower --rate cannot show it, and the run says so and fails). Exit 1 when a
goal is missed or an event is lost or doubled. The figures depend on the machine: on a shared one, repeat.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

os.environ["GRIDWISE_DEMO"] = "true"  # benches run on the demo district (core.instance)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TICKS = os.sysconf("SC_CLK_TCK")
MAX_CPU_RATIO = 5.0  # API server CPU per event ÷ the floor's
MIN_EVENTS_PER_SECOND = 200.0  # PostgreSQL, one API process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / TICKS


def prepare(url: str) -> tuple[str, str, list[str]]:
    """Migrate, add a small org (one community, 20 grids, 20 workers), a district API client; returns
    (key, floor table ready, grid codes)."""
    from sqlalchemy import text

    from core.api_clients import create_client
    from core.db import make_engine, unit_of_work
    from core.migrate import upgrade
    from core.models import OrgLevel, Worker
    from core.org import add_unit
    from core.scope import SYSTEM
    from evaluation.field.registry import ensure_reference_data

    upgrade(url)
    engine = make_engine(url)
    with unit_of_work(engine) as s:
        d = add_unit(s, code="BD", name_zh="压测区", name_en="Bench district", level=OrgLevel.DISTRICT)
        sub = add_unit(s, code="BD1", name_zh="街道", name_en="Sub", level=OrgLevel.SUBDISTRICT, parent=d)
        comm = add_unit(s, code="BD1A", name_zh="社区", name_en="Comm", level=OrgLevel.COMMUNITY, parent=sub)
        grids = [
            add_unit(
                s,
                code=f"BD1A{i:02d}",
                name_zh=f"网格{i}",
                name_en=f"G{i}",
                level=OrgLevel.GRID,
                parent=comm,
                lat=22.6 + i / 100,
                lon=114.4,
            )
            for i in range(20)
        ]
        s.add_all(
            [
                Worker(
                    employee_no=f"BW{i:03d}",
                    name=f"网格员{i}",
                    grid_id=g.id,
                    community_id=comm.id,
                    subdistrict_id=sub.id,
                )
                for i, g in enumerate(grids)
            ]
        )
        ensure_reference_data(s)
        _, key = create_client(s, SYSTEM, name="bench", scope_unit_id=None, operations=["events.write"])
        codes = [g.code for g in grids]
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE floor_event (id INTEGER PRIMARY KEY "
                + ("AUTOINCREMENT" if engine.dialect.name == "sqlite" else "GENERATED ALWAYS AS IDENTITY")
                + ", event_no VARCHAR(40) UNIQUE NOT NULL, body TEXT)"
            )
            if engine.dialect.name == "sqlite"
            else text(
                "CREATE TABLE floor_event (id SERIAL PRIMARY KEY, event_no VARCHAR(40) UNIQUE NOT NULL, "
                "body TEXT)"
            )
        )
    engine.dispose()
    return key, "floor_event", codes


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    sent: set[str] = field(default_factory=set)
    answered: int = 0  # 200/201 responses, replays of a retried request included
    retries: int = 0
    failures: int = 0


def start(app: str, url: str, port: int, log: Path, factory: bool) -> subprocess.Popen:
    env = {
        **os.environ,
        "GRIDWISE_DATABASE_URL": url,
        "GRIDWISE_SCHEDULER_ENABLED": "false",
        "GRIDWISE_API_RATE_PER_SECOND": "10000",
        "GRIDWISE_API_BURST": "10000",
        "PYTHONPATH": str(ROOT),
    }
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        *(["--factory"] if factory else []),
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(
                f"http://127.0.0.1:{port}/docs" if not factory else f"http://127.0.0.1:{port}/api/v1/health",
                timeout=1,
            )
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server did not start; see {log}")


def load(
    base: str,
    path: str,
    key: str | None,
    codes: list[str],
    *,
    prefix: str,
    seconds: float,
    rate: float,
    threads: int,
) -> Result:
    result, lock = Result(), threading.Lock()
    per_thread = rate / threads
    stop_at = time.monotonic() + seconds

    def worker(t: int) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
            n, next_at = 0, time.monotonic() + t / rate
            while next_at < stop_at:
                time.sleep(max(0.0, next_at - time.monotonic()))
                no = f"{prefix}{t:02d}{n:06d}"
                body = {
                    "event_no": no,
                    "item": "C03",
                    "grid_code": codes[n % len(codes)],
                    "reported_at": "2020-06-01T09:00:00",
                }
                t0 = time.perf_counter()
                for attempt in range(5):
                    try:
                        r = c.post(path, json=body, headers={"Idempotency-Key": no})
                        if r.status_code < 500:
                            break
                    except httpx.HTTPError:
                        pass
                    with lock:
                        result.retries += 1
                    time.sleep(0.2 * (attempt + 1))
                else:
                    with lock:
                        result.failures += 1
                    r = None
                elapsed = time.perf_counter() - t0
                with lock:
                    if r is not None and r.status_code in (200, 201):
                        result.answered += 1
                        result.latencies.append(elapsed)
                        result.sent.add(no)
                    elif r is not None:
                        result.failures += 1
                        print(f"refused {no}: {r.status_code} {r.text[:200]}", file=sys.stderr)
                n += 1
                next_at += 1 / per_thread

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    return result


def pct(values: list[float], p: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[p - 1] * 1000
        if len(values) > 1
        else float("nan")
    )


def count(url: str, table: str, column: str, prefix: str) -> tuple[int, int]:
    from sqlalchemy import text

    from core.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        rows, distinct = conn.execute(
            text(f"SELECT count(*), count(DISTINCT {column}) FROM {table} WHERE {column} LIKE :p"),
            {"p": prefix + "%"},
        ).one()
    engine.dispose()
    return int(rows), int(distinct)


def audit_check(url: str, prefix: str) -> tuple[int, bool, str]:
    """(api.events.write rows for the bench's events, chain verified, verdict message)."""
    from sqlalchemy import text
    from sqlmodel import Session

    from core.audit_chain import verify
    from core.db import make_engine

    engine = make_engine(url)
    with Session(engine) as session:
        rows = session.execute(
            text("SELECT count(*) FROM audit_log WHERE action = 'api.events.write' AND entity_id LIKE :p"),
            {"p": prefix + "%"},
        ).scalar_one()
        verdict = verify(session)
    engine.dispose()
    return int(rows), verdict.ok, verdict.message("en")


def run(
    name: str,
    app: str,
    factory: bool,
    path: str,
    key: str | None,
    url: str,
    codes: list[str],
    table: str,
    prefix: str,
    args: argparse.Namespace,
    tmp: Path,
) -> dict[str, float]:
    port = free_port()
    proc = start(app, url, port, tmp / f"{name}.log", factory)
    try:
        before = cpu_seconds(proc.pid)
        client_before = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        res = load(
            f"http://127.0.0.1:{port}",
            path,
            key,
            codes,
            prefix=prefix,
            seconds=args.seconds,
            rate=args.rate,
            threads=args.threads,
        )
        wall = time.perf_counter() - t0
        server_cpu = cpu_seconds(proc.pid) - before
        ru = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = ru.ru_utime + ru.ru_stime - client_before.ru_utime - client_before.ru_stime
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    rows, distinct = count(url, table, "event_no", prefix)
    n = len(res.latencies)
    out = {
        "requests": n,
        "rate": n / wall,
        "p50_ms": pct(res.latencies, 50),
        "p95_ms": pct(res.latencies, 95),
        "server_cpu_s": server_cpu,
        "cpu_ms_per_req": 1000 * server_cpu / max(n, 1),
        "client_cpu_s": client_cpu,
        "lost": len(res.sent) - distinct,
        "doubled": rows - distinct,
        "retries": res.retries,
        "failures": res.failures,
        "answered": res.answered,
    }
    print(
        f"{name:>5}: {n} events in {wall:.1f} s ({out['rate']:.1f}/s), p50 {out['p50_ms']:.1f} ms, "
        f"p95 {out['p95_ms']:.1f} ms, server CPU {server_cpu:.2f} s ({out['cpu_ms_per_req']:.1f} ms/request), "
        f"client CPU {client_cpu:.2f} s; in the database {distinct} of {len(res.sent)} posted "
        f"(lost {out['lost']}, doubled {out['doubled']}), retries {res.retries}, failures {res.failures}"
    )
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--rate", type=float, default=300, help="events per second, all threads together")
    p.add_argument("--threads", type=int, default=8)
    p.add_argument(
        "--postgres", help="a PostgreSQL URL (an empty database) instead of a temporary SQLite file"
    )
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        url = args.postgres or f"sqlite:///{tmp / 'bench.db'}"
        key, table, codes = prepare(url)
        print(
            f"{'PostgreSQL' if args.postgres else 'SQLite'}: {args.rate:g} events/s from {args.threads} threads "
            f"for {args.seconds:g} s, one uvicorn process each"
        )
        floor = run("floor", "bench._api_floor:app", False, "/floor", None, url, codes, table, "F", args, tmp)
        api = run(
            "api",
            "api.app:create_app",
            True,
            "/api/v1/events",
            key,
            url,
            codes,
            "field_event",
            "E",
            args,
            tmp,
        )
        audit_rows, chain_ok, chain_message = audit_check(url, "E")
    ratio = api["cpu_ms_per_req"] / floor["cpu_ms_per_req"]
    print(
        f"ratio api/floor: p50 {api['p50_ms'] / floor['p50_ms']:.1f}x, p95 {api['p95_ms'] / floor['p95_ms']:.1f}x, "
        f"server CPU per request {ratio:.1f}x"
    )
    print(
        f"audit: {audit_rows} api.events.write rows for {api['answered']} answered requests; chain: {chain_message}"
    )
    ok = all(r["lost"] == 0 and r["doubled"] == 0 and r["failures"] == 0 for r in (floor, api))
    print("zero lost, zero doubled" if ok else "LOST OR DOUBLED EVENTS (or failures): see above")
    audit_ok = chain_ok and audit_rows == api["answered"]
    if not audit_ok:
        print("AUDIT: not one verified row per request")
    goals = [
        (
            f"server CPU per event ≤ {MAX_CPU_RATIO:g}x the floor's",
            ratio <= MAX_CPU_RATIO,
            f"{api['cpu_ms_per_req']:.1f} ms vs {floor['cpu_ms_per_req']:.1f} ms = {ratio:.1f}x",
        )
    ]
    if args.postgres:
        offered = args.rate >= MIN_EVENTS_PER_SECOND
        goals.append(
            (
                f"≥ {MIN_EVENTS_PER_SECOND:g} events/s from one API process on PostgreSQL",
                offered and api["rate"] >= MIN_EVENTS_PER_SECOND,
                f"{api['rate']:.1f}/s"
                + (
                    ""
                    if offered
                    else f" (offered {args.rate:g}/s: run with --rate {MIN_EVENTS_PER_SECOND:g} or more)"
                ),
            )
        )
    else:
        print(f"events/s (SQLite, no goal): {api['rate']:.1f}")
    for label, met, figure in goals:
        print(f"goal {'met' if met else 'MISSED'}: {label}: {figure}")
    return 0 if ok and audit_ok and all(met for _, met, _ in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
