"""What the signed-in check costs every page run (ui/session_cookie.current_viewer → core.web_sessions.check_session).

    .venv/bin/python bench/session_check.py [--runs 500]

Every page run re-reads the browser's session row (so a revocation or a timeout takes effect on the next
action) in its own unit of work. Prints the CPU per check on a fresh migrated SQLite database and its ratio to
an empty unit of work measured in the same process; compare with the ~55 ms of server CPU a trivial page's click
costs (ARCHITECTURE.md, Capacity).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
from pathlib import Path

os.environ["GRIDWISE_DEMO"] = "true"  # benches run on the demo district (core.instance)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.db import make_engine, unit_of_work  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.models import User  # noqa: E402
from core.web_sessions import check_session, open_session  # noqa: E402


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=500)
    runs = parser.parse_args().runs
    url = f"sqlite:///{tempfile.mkdtemp(prefix='gridwise-session-bench-')}/bench.db"
    upgrade(url)
    engine = make_engine(url)
    with unit_of_work(engine) as s:
        user = User(username="bench", display_name="bench", password_hash="-", role="manager")
        s.add(user)
        s.flush()
        session_id = open_session(s, user)[0].id
    start = cpu()
    for _ in range(runs):
        with unit_of_work(engine) as s:
            assert check_session(s, session_id=session_id).ok
    per_check = (cpu() - start) / runs
    start = cpu()
    for _ in range(runs):
        with unit_of_work(engine):
            pass
    empty = (cpu() - start) / runs
    print(
        f"session check: {per_check * 1000:.2f} ms CPU per page run; empty unit of work {empty * 1000:.2f} ms; "
        f"ratio {per_check / empty:.1f}x"
    )
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
