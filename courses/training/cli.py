"""``gridwise training …``: required vs credited study hours per worker; the ledger job by hand."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime


def _hours(args: argparse.Namespace) -> int:
    # imported when the command runs, so that `gridwise --help` stays light (core/cli.py)
    from sqlmodel import select

    from core.db import unit_of_work
    from core.models import OrgUnit
    from core.scope import SYSTEM
    from courses.training.progress import FIGURES
    from courses.training.supervision import plan_status

    as_of = date.fromisoformat(args.as_of) if args.as_of else None
    with unit_of_work() as session:
        community_id = None
        if args.community:
            unit = session.exec(
                select(OrgUnit).where(
                    (OrgUnit.name_zh == args.community)
                    | (OrgUnit.name_en == args.community)
                    | (OrgUnit.code == args.community)
                )
            ).first()
            if unit is None:
                print(f"no community named {args.community!r}", file=sys.stderr)
                return 2
            community_id = unit.id
        df = plan_status(session, SYSTEM, year=args.year, as_of=as_of, community_id=community_id)
    cols = ["employee_no", "name", "community_zh", "required_year", *FIGURES]
    if args.json:
        out = df[cols].copy()
        out["completion"] = out["completion"].astype(float).round(3)
        print(
            json.dumps(
                json.loads(out.to_json(orient="records", force_ascii=False)), ensure_ascii=False, indent=1
            )
        )
        return 0
    if df.empty:
        print("no workers (or no plan for that year)", file=sys.stderr)
        return 0
    shown = df[cols].copy()
    shown["completion"] = (
        (shown["completion"].astype(float) * 100).round(0).map(lambda v: "" if v != v else f"{v:.0f}%")
    )
    print(shown.to_string(index=False))
    print(
        f"\n{len(df)} workers; required to date {df['required_to_date'].sum():.1f} h, "
        f"credited {df['credited'].sum():.1f} h, behind {int(df['behind'].sum())}",
        file=sys.stderr,
    )
    return 0


def _credit(args: argparse.Namespace) -> int:
    # imported when the command runs, so that `gridwise --help` stays light (core/cli.py)
    from core.db import unit_of_work
    from courses.training.ledger import credit_sources
    from courses.training.serving import serve

    now = datetime.fromisoformat(args.now) if args.now else None
    with unit_of_work() as session:
        n = credit_sources(session, now=now)
        served = serve(session, now=now)
    print(f"{n} ledger rows added; {served} plan progress rows served", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("training", help="training plans: study hours per worker")
    tsub = p.add_subparsers(dest="training_command", required=True, metavar="ACTION")
    c = tsub.add_parser("hours", help="required vs credited study hours per worker")
    c.add_argument("--year", type=int, required=True)
    c.add_argument("--community", help="a community's name (zh or en) or code")
    c.add_argument("--as-of", help="YYYY-MM-DD (default: today, or 31 December of a past year)")
    c.add_argument("--json", action="store_true", help="one JSON record per worker")
    c.set_defaults(func=_hours)
    c = tsub.add_parser(
        "credit",
        help="bring the hours ledger up to date with sessions, quizzes and lessons; serve plan progress",
    )
    c.add_argument("--now", help="ISO wall-clock time (default: now)")
    c.set_defaults(func=_credit)
