"""Benchmark: import 1,000,000 event rows from a GB18030 CSV into SQLite through the real import path.

    .venv/bin/python bench/bench_import.py [--rows 1000000] [--chunk 100000]

Prints the import time (wall and CPU), rows/s and peak RSS, and the ratio against a reference run in the same process:
pandas.read_csv of the same file in the same chunks plus a plain sqlite3 executemany into a bare table
(no validation, no lookups, no diff) — the floor any importer of this file pays. Targets (issue #4):
under 60 s and under 1 GB peak memory.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=50_000)
    args = parser.parse_args()

    from core.db import make_engine, unit_of_work
    from core.demo import seed_demo
    from core.migrate import import_all_models
    from core.scope import SYSTEM
    from evaluation.field.imports import import_file
    from evaluation.field.registry import items_frame

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
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
        ref, ref_cpu = reference(path, args.chunk)
        print(
            f"reference (read_csv + sqlite3 executemany, no checks): {ref:.1f} s, {args.rows / ref:,.0f} rows/s "
            f"({ref_cpu:.1f} s CPU)"
        )
        base_rss = rss_mb()

        data = path.read_bytes()
        t, cpu = time.perf_counter(), time.process_time()
        with unit_of_work(engine) as session:
            report = import_file(session, SYSTEM, "events", data, path.name, chunk_rows=args.chunk)
        elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
        del data
        peak = rss_mb()
        assert report.ok and report.written and report.added == args.rows, report.to_dict("en")["errors"][:5]
        print(
            f"gridwise import events: {elapsed:.1f} s, {args.rows / elapsed:,.0f} rows/s "
            f"(incl. recomputing event-derived figures for {report.periods})"
        )
        print(f"peak RSS: {peak:,.0f} MB (before the import: {base_rss:,.0f} MB)")
        print(f"ratio to reference: {elapsed / ref:.2f}x")
        # On a shared machine wall time follows the other processes; CPU time (user + system) of this
        # process does not, and on a quiet machine the wall time is about CPU time plus the disk writes.
        print(
            f"CPU: import {cpu:.1f} s, reference {ref_cpu:.1f} s, ratio {cpu / ref_cpu:.2f}x "
            f"(load average {os.getloadavg()[0]:.1f})"
        )
        ok = elapsed < 60 and peak < 1024
        print("targets (< 60 s, < 1 GB):", "met" if ok else "NOT met")
        engine.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("GRIDWISE_SCHEDULER_ENABLED", "false")
    sys.exit(main())
