"""``gridwise courses …``: the catalog and the scheduled jobs from the command line."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

# The jobs `--job` accepts: courses.jobs.JOB_FUNCTIONS's keys, named here so that building the parser does
# not import every job's module (tests/unit/test_cli_startup.py keeps the two lists equal).
JOB_NAMES = (
    "reminders",
    "close-sessions",
    "auto-submit",
    "certificate-expiry",
    "attendance-warnings",
    "enrollment-rules",
)


def _list(args: argparse.Namespace) -> int:
    # imported when the command runs, so that `gridwise --help` stays light (core/cli.py)
    from core.db import unit_of_work
    from courses.catalog import catalog_frame

    with unit_of_work() as session:
        df = catalog_frame(session)
    if df.empty:
        print("no courses (run `gridwise courses load` to load the shipped ones)", file=sys.stderr)
        return 0
    cols = ["code", "title_zh", "title_en", "skill_area", "questions", "pass_mark", "validity_months"]
    print(df[cols].to_string(index=False))
    return 0


def _load(args: argparse.Namespace) -> int:
    # imported when the command runs, so that `gridwise --help` stays light (core/cli.py)
    from core.db import unit_of_work
    from courses.catalog import load_shipped_courses

    with unit_of_work() as session:
        courses = load_shipped_courses(session)
    print(f"{len(courses)} courses loaded or updated", file=sys.stderr)
    return 0


def _jobs_run(args: argparse.Namespace) -> int:
    # imported when the command runs, so that `gridwise --help` stays light (core/cli.py)
    from courses.jobs import JOB_FUNCTIONS, run_all

    now = datetime.fromisoformat(args.now) if args.now else None
    if args.job == "all":
        results = run_all(now=now)
    else:
        results = {args.job: JOB_FUNCTIONS[args.job](now=now)}
    for name, n in results.items():
        print(f"{name}: {n}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("courses", help="online courses: catalog and scheduled jobs")
    csub = p.add_subparsers(dest="courses_command", required=True, metavar="ACTION")
    c = csub.add_parser("list", help="list the course catalog")
    c.set_defaults(func=_list)
    c = csub.add_parser("load", help="load or update the shipped courses from data/courses")
    c.set_defaults(func=_load)
    c = csub.add_parser("jobs-run", help="run the courses jobs once (what is due as of --now)")
    c.add_argument("--now", help="ISO wall-clock time in Asia/Shanghai, e.g. 2020-03-03T13:00 (default: now)")
    c.add_argument("--job", default="all", choices=["all", *JOB_NAMES])
    c.set_defaults(func=_jobs_run)
