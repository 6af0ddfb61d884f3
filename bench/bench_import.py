"""Benchmark: import 1,000,000 event rows from a GB18030 CSV through the real import path, into SQLite (default)
or PostgreSQL (``--postgres URL``: a scratch database is made on that server and dropped afterwards).

    .venv/bin/python bench/bench_import.py [--rows 1000000] [--chunk 25000]
    .venv/bin/python bench/bench_import.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test [--rows N]

Prints the import time (wall and CPU), rows/s and peak RSS, and the ratio against a reference run in the same
process — the floor any importer of this file pays:
- SQLite: pandas.read_csv of the same file in the same chunks plus a plain sqlite3 executemany into a bare
  table (no validation, no lookups, no diff). Targets (issue #4): under 60 s and under 1 GB peak memory.
- PostgreSQL: a bare ``COPY … FROM STDIN (FORMAT csv)`` of the same file into a table of text columns with a
  unique index on the event number (no validation, no lookups, no diff, no figures) — not into field_event.
  CPU counts this process and its PostgreSQL backend (/proc). Goals (issue #21): the import's CPU ≤ 3× the
  bare COPY's, peak RSS ≤ 300 MB. A second reference is printed beside it: the rows the import wrote, COPYed
  again straight into field_event with its indexes and four foreign keys (rolled back) — the table's own
  cost, which alone is about 10× the bare COPY at a million rows. ``--breakdown`` prints where that goes:
  the same rows into a table of field_event's shape with none of its indexes and foreign keys, each alone,
  all, and none with all built after the COPY.
The import reads the file as ``gridwise import events FILE`` does (streamed from disk, not loaded whole); peak
RSS is this process's high-water mark over the import alone (reset through /proc/self/clear_refs before it).
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

os.environ["GRIDWISE_DEMO"] = "true"  # benches run on the demo district (core.instance)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HEADER = [
    "事件编号",
    "事项",
    "网格编码",
    "地点",
    "紧急程度",
    "上报人工号",
    "处置人工号",
    "发现时间",
    "上报时间",
    "受理时间",
    "派遣时间",
    "签收时间",
    "反馈时间",
    "办结时间",
    "处置结果",
    "满意度",
]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_csv(path: Path, rows: int, grids: pd.DataFrame, workers: pd.DataFrame, items: list[str]) -> None:
    rng = np.random.default_rng(7)
    with open(path, "w", encoding="gb18030", newline="") as fh:
        fh.write(",".join(HEADER) + "\r\n")
        step = 200_000
        for start in range(0, rows, step):
            n = min(step, rows - start)
            g = rng.integers(0, len(grids), n)
            t0 = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 270 * 1440, n), unit="min")

            def add(base, lo, hi, n=n):  # noqa: ANN001, ANN202
                return base + pd.to_timedelta(rng.integers(lo, hi, n), unit="min")

            reported = add(t0, 5, 120)
            accepted = add(reported, 5, 100)
            dispatched = add(accepted, 5, 60)
            signed = add(dispatched, 5, 200)
            feedback = add(signed, 30, 3000)
            closed = add(feedback, 30, 600)
            fmt = "%Y-%m-%d %H:%M"
            frame = pd.DataFrame(
                {
                    "no": [f"B{start + i:09d}" for i in range(n)],
                    "item": np.array(items)[rng.integers(0, len(items), n)],
                    "grid": grids["code"].to_numpy()[g],
                    "loc": "下沙村一巷" + pd.Series(g).astype(str) + "号",
                    "prio": np.array(["紧急", "一般", "复杂"])[rng.integers(0, 3, n)],
                    "rep": workers["employee_no"].to_numpy()[rng.integers(0, len(workers), n)],
                    "ass": workers["employee_no"].to_numpy()[rng.integers(0, len(workers), n)],
                    "d": t0.strftime(fmt),
                    "r": reported.strftime(fmt),
                    "a": accepted.strftime(fmt),
                    "p": dispatched.strftime(fmt),
                    "s": signed.strftime(fmt),
                    "f": feedback.strftime(fmt),
                    "c": closed.strftime(fmt),
                    "res": "已整改",
                    "sat": np.array(["满意", "基本满意", "不满意"])[rng.integers(0, 3, n)],
                }
            )
            frame.to_csv(fh, header=False, index=False, lineterminator="\r\n")


def reference(path: Path, chunk: int) -> tuple[float, float]:
    """pandas.read_csv + plain sqlite3 executemany of the same rows (no checks): (wall s, CPU s)."""
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(f"{tmp}/ref.db")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"CREATE TABLE ev ({', '.join(f'c{i} TEXT' for i in range(len(HEADER)))})")
        conn.execute("CREATE UNIQUE INDEX ux_ev ON ev (c0)")
        t, cpu = time.perf_counter(), time.process_time()
        sql = f"INSERT INTO ev VALUES ({', '.join('?' * len(HEADER))})"
        for frame in pd.read_csv(path, encoding="gb18030", dtype=str, chunksize=chunk, keep_default_na=False):
            conn.executemany(sql, frame.itertuples(index=False, name=None))
        conn.commit()
        elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
        conn.close()
    return elapsed, cpu


def hwm_mb() -> float:
    """This process's peak resident memory since the last :func:`reset_hwm` (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return rss_mb()


def reset_hwm() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # Linux: reset VmHWM to the current RSS


def backend_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a PostgreSQL backend process on this machine, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pg_reference(engine, path: Path) -> tuple[float, float]:  # noqa: ANN001
    """A bare COPY of the file's rows into text columns with a unique event number: (wall s, CPU s of this
    process and the backend)."""
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE ev_ref ({', '.join(f'c{i} text' for i in range(len(HEADER)))})")
        conn.exec_driver_sql("CREATE UNIQUE INDEX ux_ev_ref ON ev_ref (c0)")
    with engine.begin() as conn:
        driver = conn.connection.driver_connection
        pid = driver.info.backend_pid
        t, cpu, server = time.perf_counter(), time.process_time(), backend_cpu(pid)
        with driver.cursor() as cur, open(path, "rb") as fh:
            with cur.copy("COPY ev_ref FROM STDIN (FORMAT csv, HEADER true, ENCODING 'GB18030')") as copy:
                while block := fh.read(1 << 20):
                    copy.write(block)
        conn.exec_driver_sql("SELECT 1")  # the COPY is finished on the server
        elapsed = time.perf_counter() - t
        cpu = time.process_time() - cpu + backend_cpu(pid) - server
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE ev_ref")
    return elapsed, cpu


def _stored_rows(engine, listed: str) -> bytes:  # noqa: ANN001
    """The ``listed`` columns of every row the import wrote to field_event, as COPY text."""
    with engine.begin() as conn:
        driver = conn.connection.driver_connection
        with driver.cursor() as cur, cur.copy(f"COPY (SELECT {listed} FROM field_event) TO STDOUT") as out:
            return b"".join(bytes(block) for block in out)


def _timed_copy(
    conn, table: str, listed: str, rows: bytes, after: tuple[str, ...] = ()
) -> tuple[float, float]:  # noqa: ANN001
    """COPY ``rows`` into ``table`` on ``conn`` (then run the ``after`` statements): (wall s, CPU s of this
    process and the backend)."""
    driver = conn.connection.driver_connection
    conn.exec_driver_sql("SELECT 1")  # the connection's transaction is open before the clock starts
    pid = driver.info.backend_pid
    t, cpu, server = time.perf_counter(), time.process_time(), backend_cpu(pid)
    with driver.cursor() as cur, cur.copy(f"COPY {table} ({listed}) FROM STDIN") as copy:
        for i in range(0, len(rows), 1 << 20):
            copy.write(rows[i : i + (1 << 20)])
    for sql in after:
        conn.exec_driver_sql(sql)
    conn.exec_driver_sql("SELECT 1")  # the COPY is finished on the server
    return time.perf_counter() - t, time.process_time() - cpu + backend_cpu(pid) - server


def pg_table_reference(engine, columns: list[str]) -> tuple[float, float]:  # noqa: ANN001
    """The rows the import wrote, COPYed again straight into field_event itself — its unique key, indexes and
    four foreign keys, emptied by TRUNCATE in a transaction rolled back afterwards: (wall s, CPU s of this
    process and the backend). What the table alone costs for these rows, before any reading, checking or
    upserting: the second reference, printed beside the bare COPY."""
    listed = ", ".join(columns)
    rows = _stored_rows(engine, listed)
    with engine.connect() as conn:
        conn.exec_driver_sql("TRUNCATE field_event CASCADE")  # emptied as the import found it (undone below)
        spent = _timed_copy(conn, "field_event", listed, rows)
        conn.rollback()
    return spent


def pg_table_breakdown(engine, columns: list[str]) -> list[tuple[str, float]]:  # noqa: ANN001
    """Where the table's own cost goes (``--breakdown``): the rows the import wrote, COPYed into a scratch
    table shaped like field_event (its columns and defaults) with none of its indexes and keys, with each one
    alone, with all of them, and with none and then all of them built after the COPY (the bulk-load way,
    which would need the table locked against readers and writers). Each in a transaction rolled back:
    [(what, backend + client CPU s)]."""
    listed = ", ".join(columns)
    rows = _stored_rows(engine, listed)
    with engine.begin() as conn:
        indexes = conn.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'field_event'"
        ).all()
        keys = conn.exec_driver_sql(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'field_event'::regclass AND contype = 'f'"
        ).all()
    made = {
        name: sql.replace(name, f"{name}_x", 1).replace(" ON public.field_event ", " ON fe_x ")
        for name, sql in indexes
    }
    made |= {name: f"ALTER TABLE fe_x ADD CONSTRAINT {name}_x {sql}" for name, sql in keys}

    def cost(before: list[str], after: tuple[str, ...] = ()) -> float:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE fe_x (LIKE field_event INCLUDING DEFAULTS INCLUDING IDENTITY)")
            for sql in before:
                conn.exec_driver_sql(sql)
            _wall, spent = _timed_copy(conn, "fe_x", listed, rows, after)
            conn.rollback()
        return spent

    out = [("no index, no key", cost([]))]
    out += [(f"+ {name} only", cost([sql])) for name, sql in made.items()]
    out.append(("all of them (as field_event)", cost(list(made.values()))))
    out.append(("none, then all built after the COPY", cost([], tuple(made.values()))))
    return out


def cli_import(url: str, path: Path, chunk: int) -> tuple[float, float, float, dict]:
    """``gridwise import events FILE --json`` in a child process on ``url``: (wall s, CPU s of the child and
    its PostgreSQL backend, the child's peak RSS in MB, the report).

    The peak is the child's own VmHWM, sampled while it runs: wait4's ru_maxrss of a child spawned from this
    process starts at this process's RSS (Linux copies the parent's high-water mark into the child at
    fork/exec), so it reported this bench's ~375 MB, not the import's."""
    import json
    import subprocess

    env = {**os.environ, "GRIDWISE_DATABASE_URL": url, "GRIDWISE_SCHEDULER_ENABLED": "false"}
    cmd = [str(Path(sys.executable).parent / "gridwise"), "import", "events", str(path), "--json"]
    cmd += ["--chunk-rows", str(chunk)]
    server_before = _backends_cpu(url)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    _SAMPLER["child"] = proc.pid
    out = proc.stdout.read() if proc.stdout else b""
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    server = _backends_cpu(url, finished=True) - server_before
    _SAMPLER["split"] = (usage.ru_utime + usage.ru_stime, server)
    return elapsed, usage.ru_utime + usage.ru_stime + server, _SAMPLER["child_hwm"], json.loads(out)


# The columns the import writes (evaluation.field.imports._write_events); the rest take their defaults.
TABLE_COLUMNS = [
    "event_no",
    "item_code",
    "category_code",
    "grid_id",
    "community_id",
    "location",
    "building_code",
    "lat",
    "lon",
    "priority",
    "reporter_id",
    "assignee_id",
    "discovered_at",
    "reported_at",
    "accepted_at",
    "dispatched_at",
    "signed_at",
    "feedback_at",
    "closed_at",
    "voided_at",
    "started_at",
    "evaluated_at",
    "sign_due_at",
    "due_at",
    "result",
    "satisfaction",
    "rework_count",
    "postponed",
    "state",
    "import_hash",
    "updated_at",
    "source",
    "reopen_count",
    "return_count",
    "escalation",
]

_BACKENDS: dict[int, float] = {}


def _backends_cpu(url: str, finished: bool = False) -> float:
    """CPU of the PostgreSQL backends serving ``url``'s database, sampled while the child runs (a backend's
    /proc entry goes when its connection closes, so the last sample before that is what it used), and the
    child's peak RSS (VmHWM, kept in ``_SAMPLER["child_hwm"]``).

    The watcher runs in autocommit: pg_stat_activity is read once per transaction, so a watcher in one long
    transaction kept the backends of its first look and never saw the import's (which made the import's
    CPU read ~1.5 s of a backend's ~14 s at 200,000 events)."""
    import threading

    from sqlalchemy import create_engine

    name = url.rsplit("/", 1)[1]
    if finished:
        _SAMPLER["stop"] = True
        _SAMPLER["thread"].join()
        return sum(_BACKENDS.values())
    watcher = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    _SAMPLER["child_hwm"] = 0.0

    def sample() -> None:
        with watcher.connect() as conn:
            while not _SAMPLER.get("stop"):
                pids = conn.exec_driver_sql(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,)
                ).scalars()
                for pid in pids:
                    try:
                        _BACKENDS[pid] = backend_cpu(pid)
                    except OSError:
                        pass
                for _ in range(4):  # the child's high-water mark, every 50 ms
                    _SAMPLER["child_hwm"] = max(_SAMPLER["child_hwm"], _vm_hwm_mb(_SAMPLER.get("child")))
                    time.sleep(0.05)
        watcher.dispose()

    _SAMPLER["thread"] = threading.Thread(target=sample, daemon=True)
    _SAMPLER["thread"].start()
    return 0.0


_SAMPLER: dict = {}


def _vm_hwm_mb(pid: int | None) -> float:
    """A running process's peak resident memory (VmHWM) in MB; 0 when it is not (or no longer) there."""
    try:
        status = Path(f"/proc/{pid}/status").read_text() if pid else ""
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--chunk",
        type=int,
        default=25_000,
        help="rows per chunk (default 25000: `gridwise import`'s default)",
    )
    parser.add_argument(
        "--postgres", metavar="URL", help="a PostgreSQL server's URL (a scratch database is made)"
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="PostgreSQL: also print what each of field_event's indexes and keys costs the same rows",
    )
    args = parser.parse_args()

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from core.db import make_engine, unit_of_work
    from core.demo import seed_demo
    from core.migrate import import_all_models
    from core.scope import SYSTEM
    from evaluation.field.imports import import_file
    from evaluation.field.registry import items_frame

    scratch = None
    with tempfile.TemporaryDirectory() as tmp:
        if args.postgres:
            scratch = f"gw_bench_import_{os.getpid()}"
            admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{scratch}"'))
            url = make_url(args.postgres).set(database=scratch).render_as_string(hide_password=False)
        else:
            url = f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        try:
            import_all_models().create_all(engine)
            with unit_of_work(engine) as s:
                seed_demo(s, scale=0.0, extensions=(), log=lambda _m: None)  # the org and workers only
            grids = pd.read_sql("SELECT code FROM org_unit WHERE level = 'grid'", engine)
            workers = pd.read_sql("SELECT employee_no FROM worker", engine)
            path = Path(tmp) / "events.csv"
            t = time.perf_counter()
            make_csv(path, args.rows, grids, workers, items_frame()["item_code"].tolist())
            size = path.stat().st_size
            print(
                f"generated {args.rows:,} rows, {size / 1e6:.0f} MB GB18030 CSV in {time.perf_counter() - t:.1f} s"
            )
            if args.postgres:
                ref, ref_cpu = pg_reference(engine, path)
                what = "bare COPY into text columns + unique index"
            else:
                ref, ref_cpu = reference(path, args.chunk)
                what = "read_csv + sqlite3 executemany, no checks"
            print(f"reference ({what}): {ref:.1f} s, {args.rows / ref:,.0f} rows/s ({ref_cpu:.1f} s CPU)")
            if args.postgres:  # the real command in its own process: its peak RSS is the import's alone
                elapsed, cpu, peak, report = cli_import(url, path, args.chunk)
                base_rss = 0.0
            else:
                base_rss = rss_mb()
                reset_hwm()
                with unit_of_work(engine) as session:
                    t, cpu = time.perf_counter(), time.process_time()
                    report = import_file(
                        session, SYSTEM, "events", path, path.name, chunk_rows=args.chunk
                    ).to_dict("en")
                elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
                peak = hwm_mb()
            assert report["refused"] == 0 and report["added"] == args.rows, report["errors"][:5]
            if args.postgres:
                table_ref, table_cpu = pg_table_reference(engine, TABLE_COLUMNS)
                print(
                    f"second reference (the same rows COPYed straight into field_event, its indexes and foreign "
                    f"keys): {table_ref:.1f} s ({table_cpu:.1f} s CPU, {table_cpu / ref_cpu:.1f}x the bare COPY)"
                )
                if args.breakdown:
                    for what, spent in pg_table_breakdown(engine, TABLE_COLUMNS):
                        print(
                            f"  COPY into field_event's shape, {what}: {spent:.1f} s CPU ({spent / ref_cpu:.1f}x)"
                        )
            print(
                f"gridwise import events: {elapsed:.1f} s, {args.rows / elapsed:,.0f} rows/s "
                f"(chunks of {args.chunk:,} rows; incl. recomputing the event-derived figures and the commit)"
            )
            print(
                f"peak RSS of the import: {peak:,.0f} MB"
                + (
                    f" (before it: {base_rss:,.0f} MB)"
                    if base_rss
                    else " (`gridwise import events FILE`'s process)"
                )
            )
            print(f"ratio to reference: {elapsed / ref:.2f}x")
            # On a shared machine wall time follows the other processes; CPU time (user + system) of this
            # process (and of its PostgreSQL backend) does not.
            print(
                f"CPU: import {cpu:.1f} s, reference {ref_cpu:.1f} s, ratio {cpu / ref_cpu:.2f}x "
                + ("(both: client and its PostgreSQL backend) " if args.postgres else "")
                + f"(load average {os.getloadavg()[0]:.1f})"
            )
            if args.postgres:
                client, server = _SAMPLER["split"]
                print(f"CPU of the import: gridwise {client:.1f} s, its PostgreSQL backend {server:.1f} s")
                print(f"CPU ratio to the second reference (COPY into field_event): {cpu / table_cpu:.2f}x")
                ok = cpu <= 3 * ref_cpu and peak <= 300
                print("goals (CPU ≤ 3× the bare COPY, ≤ 300 MB):", "met" if ok else "NOT met")
            else:
                ok = elapsed < 60 and peak < 1024
                print("targets (< 60 s, < 1 GB):", "met" if ok else "NOT met")
        finally:
            engine.dispose()
            if scratch:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
                admin.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("GRIDWISE_SCHEDULER_ENABLED", "false")
    sys.exit(main())
