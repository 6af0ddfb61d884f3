"""Run a gridwise command or job, and stop it dead at the commit of a transaction, for tests/unit/test_faults.py.

    python -m tests.unit._crash_point --when "SELECT count(*) FROM t" --at-least N (--cli ARG… | --job mod:fn --now ISO)

Before every COMMIT the process sends (on the DB-API connection, inside the still-open transaction) the
``--when`` query; the first time its value reaches ``--at-least`` it prints ``PAUSED <value>`` on stdout and
sleeps until killed. The test then SIGKILLs it: the crash lands after every write of that transaction and
before its COMMIT, the latest moment a crash can still lose the transaction. The database comes from
GRIDWISE_DATABASE_URL, as for the real command.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.engine import Engine


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--when", required=True, help="scalar SQL run before each COMMIT")
    parser.add_argument("--at-least", type=int, required=True)
    parser.add_argument("--job", help="module:function of a job to run")
    parser.add_argument("--now", help="ISO time passed to the job")
    parser.add_argument("--cli", nargs=argparse.REMAINDER, help="arguments to the gridwise command")
    args = parser.parse_args(argv)

    @event.listens_for(Engine, "commit")
    def _pause(conn) -> None:  # noqa: ANN001 - sqlalchemy Connection
        cur = conn.connection.dbapi_connection.cursor()
        cur.execute(args.when)
        value = cur.fetchone()[0]
        cur.close()
        if value >= args.at_least:
            print(f"PAUSED {value}", flush=True)
            while True:
                time.sleep(60)

    if args.cli:
        from core.cli import main as cli_main

        return cli_main(args.cli)
    module, name = args.job.split(":")
    result = getattr(importlib.import_module(module), name)(now=datetime.fromisoformat(args.now))
    print(f"DONE {result}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
