"""Page speed: every page's script run on the full demo district, median over AppTest runs.

    .venv/bin/python bench/bench_pages.py [--db sqlite:///var/bench-demo.db] [--runs 5]

Seeds the demo district at full scale into the given database if it is empty, then runs each page
as a role allowed to open it. Prints the median and max per page, the target (1 s) and the ratio to a
reference run in the same process: the signed-out sign-in page, which does one tiny query.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ["GRIDWISE_DEMO"] = "true"  # benches run on the demo district (core.instance)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=f"sqlite:///{ROOT / 'var' / 'bench-demo.db'}")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    os.environ["GRIDWISE_DATABASE_URL"] = args.db
    os.environ["GRIDWISE_SCHEDULER_ENABLED"] = "false"

    from sqlalchemy import inspect
    from sqlmodel import Session, select
    from streamlit.testing.v1 import AppTest

    from core.db import get_engine, unit_of_work
    from core.demo import seed_demo
    from core.migrate import upgrade
    from core.models import Role, User, Worker
    from core.scope import viewer_for
    from ui.pages import PAGES

    tables = inspect(get_engine()).get_table_names()
    if not tables or "alembic_version" in tables:  # leave a hand-built (create_all) database alone
        upgrade(args.db)
    with unit_of_work() as s:
        if s.exec(select(Worker.id).limit(1)).first() is None:
            t0 = time.perf_counter()
            seed_demo(s, scale=args.scale, log=lambda m: print("  " + m, file=sys.stderr))
            print(f"seeded demo (scale {args.scale}) in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    users = {Role.WORKER: "dp0001", Role.MANAGER: "manager", Role.SYSADMIN: "admin"}
    with Session(get_engine()) as s:
        viewers = {
            r: viewer_for(s, s.exec(select(User).where(User.username == u)).one()) for r, u in users.items()
        }

    def run(page: str | None, viewer) -> float:
        """Time one script run of ``page``; the first run of a fresh AppTest (runner start-up) is
        not timed, so every figure is a rerun, as a user's clicks are."""
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        if viewer is not None:
            at.session_state["viewer"] = viewer
        at.run()
        if page and page != "app.py":
            at.switch_page(page)
        t0 = time.perf_counter()
        at.run()
        elapsed = time.perf_counter() - t0
        if at.exception:
            raise RuntimeError(f"{page}: {at.exception[0].message}")
        return elapsed

    run(None, None)  # warm imports and caches
    reference = statistics.median(run(None, None) for _ in range(args.runs))
    print(f"reference (sign-in page, signed out): median {reference * 1000:.0f} ms\n")
    print(f"{'page':28} {'role':8} {'median ms':>10} {'max ms':>8} {'ratio':>7}  target 1000 ms")
    failed = 0
    for spec in [p for p in PAGES if p.exists]:
        role = next(r for r in (Role.MANAGER, Role.WORKER, Role.SYSADMIN) if r in spec.roles)
        run(spec.path, viewers[role])  # first run fills st.cache_data like a warm server
        times = [run(spec.path, viewers[role]) for _ in range(args.runs)]
        med = statistics.median(times)
        ok = med < 1.0
        failed += not ok
        print(
            f"{spec.path:28} {role.value:8} {med * 1000:10.0f} {max(times) * 1000:8.0f} "
            f"{med / reference:7.1f}  {'PASS' if ok else 'FAIL'}"
        )
    print(f"\n{failed} page(s) over the 1 s median target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
