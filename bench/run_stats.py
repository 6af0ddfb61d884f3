"""`streamlit run` with a record of every script run, for bench/journey_cost.py (not used by the app).

    GRIDWISE_RUN_STATS=/tmp/runs.jsonl python bench/run_stats.py run app.py --server.port 8600 ...

Before handing over to Streamlit's own command line it wraps the function Streamlit executes each script
run (and each fragment run) with, and counts SQL round trips with a SQLAlchemy ``before_cursor_execute``
listener on every engine. Each run appends one JSON line to the file named by ``GRIDWISE_RUN_STATS``:

    {"page": "pages/quiz.py", "fragment": false, "rerun": false, "cpu": 0.031, "wall": 0.035, "sql": 4}

``cpu`` is the script thread's CPU time (``time.thread_time``); what the server spends outside script
runs (websocket, protobuf, forward messages) is only in the process's total, which the bench reads from
/proc. While the file ``$GRIDWISE_RUN_STATS.profile`` exists, each run is also profiled with cProfile
and written to ``<the folder named in that file>/<n>-<page>.prof``.
"""

from __future__ import annotations

import cProfile
import json
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def install(stats_path: str) -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from streamlit.runtime.scriptrunner import exec_code, script_runner

    local = threading.local()
    lock = threading.Lock()
    profile_flag = Path(stats_path + ".profile")
    counter = iter(range(1, 10**9))

    @event.listens_for(Engine, "before_cursor_execute")
    def _count(*_args: object) -> None:
        local.sql = getattr(local, "sql", 0) + 1

    original = exec_code.exec_func_with_error_handling

    def recorded(func, ctx):  # noqa: ANN001, ANN202
        if getattr(local, "depth", 0):  # a fragment's code inside a full run: part of that run
            return original(func, ctx)
        local.depth, local.sql = 1, 0
        profiler = cProfile.Profile() if profile_flag.exists() else None
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            if profiler is not None:
                profiler.enable()
            result = original(func, ctx)
        finally:
            if profiler is not None:
                profiler.disable()
            local.depth = 0
        try:  # the page that ran (the main script runs every page through st.navigation)
            script = ctx.pages_manager.get_pages()[ctx.page_script_hash]["script_path"]
        except (AttributeError, KeyError, TypeError):
            script = getattr(sys.modules.get("__main__"), "__file__", "?")
        try:
            page = Path(script).resolve().relative_to(ROOT).as_posix()
        except ValueError:
            page = Path(script).name
        row = {
            "page": page,
            "fragment": bool(getattr(ctx, "fragment_ids_this_run", None)),
            "rerun": result[2] is not None,
            "cpu": round(time.thread_time() - cpu, 5),
            "wall": round(time.perf_counter() - wall, 5),
            "sql": local.sql,
            "t": time.time(),
        }
        with lock:
            if profiler is not None:  # the flag file holds the folder the profiles go to
                folder = Path(profile_flag.read_text().strip() or profile_flag.parent)
                folder.mkdir(parents=True, exist_ok=True)
                row["profile"] = str(folder / f"{next(counter):05d}-{page.replace('/', '_')}.prof")
                profiler.dump_stats(row["profile"])
            with open(stats_path, "a", encoding="utf-8") as out:
                out.write(json.dumps(row) + "\n")
        return result

    script_runner.exec_func_with_error_handling = recorded


def main() -> None:
    stats = os.environ.get("GRIDWISE_RUN_STATS")
    if stats:
        install(stats)
    sys.path.insert(0, str(ROOT))
    from streamlit.web.cli import main as streamlit_main

    sys.argv = ["streamlit", *sys.argv[1:]]
    streamlit_main()


if __name__ == "__main__":
    main()
