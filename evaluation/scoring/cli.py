"""``gridwise scores …``: compute, compare, freeze and export from the command line.

gridwise scores compute --period 2020-06 [--json]
gridwise scores compare --by party --period 2020-06 --json
gridwise scores freeze --period 2020-06 [--recompute --reason "…"]
gridwise scores serve [--period 2020-06 …] [--missing]
"""

from __future__ import annotations

import argparse
import json
import math
import sys


def _clean(v):  # noqa: ANN001, ANN202
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):
        return _clean(v.item())
    return v


def _records(frame) -> list[dict]:  # noqa: ANN001
    return [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def cmd_compute(args: argparse.Namespace) -> int:
    # imported when the command runs, so that `gridwise --help` stays light (core/cli.py)
    from core.db import unit_of_work
    from core.scope import SYSTEM as CLI_VIEWER  # the command line acts for the installation as a whole
    from evaluation.scoring.service import scorecards

    with unit_of_work() as session:
        try:
            view = scorecards(session, CLI_VIEWER, args.period)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    cards = view.cards.sort_values("rank", na_position="last")
    cols = [
        "period",
        "worker_id",
        "employee_no",
        "name",
        "community_zh",
        "party_member",
        "total",
        "grade",
        "rank",
        "base",
        "bonus",
        "deduction",
        "coverage",
        "missing_components",
        "prorated",
        "scheme_code",
        "scheme_version",
    ]
    cards = cards[[c for c in cols if c in cards.columns]]
    if args.json:
        print(json.dumps(_records(cards), ensure_ascii=False, indent=1, default=str))
        return 0
    scored = cards[cards["total"].notna()]
    print(
        f"{args.period}: {len(scored)} workers scored with scheme {view.result.scheme.code} "
        f"v{view.result.scheme.version}; mean {scored['total'].mean():.2f}"
    )
    print(scored.head(args.top).to_string(index=False))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    # imported when the command runs, so that `gridwise --help` stays light (core/cli.py)
    from core.db import unit_of_work
    from core.scope import SYSTEM as CLI_VIEWER  # the command line acts for the installation as a whole
    from evaluation.scoring.service import compare_groups, compare_party

    with unit_of_work() as session:
        try:
            if args.by == "party":
                out = compare_party(session, CLI_VIEWER, args.period)
            else:
                out = compare_groups(session, CLI_VIEWER, args.period, args.by)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    out = out.round(4)
    if args.json:
        print(json.dumps(_records(out), ensure_ascii=False, indent=1, default=str))
    else:
        print(out.to_string(index=False))
    return 0


def cmd_freeze(args: argparse.Namespace) -> int:
    # imported when the command runs, so that `gridwise --help` stays light (core/cli.py)
    from core.db import unit_of_work
    from core.scope import SYSTEM as CLI_VIEWER  # the command line acts for the installation as a whole
    from evaluation.scoring.snapshots import freeze_period

    with unit_of_work() as session:
        snap, created = freeze_period(
            session,
            args.period,
            viewer=CLI_VIEWER,
            new_revision=args.recompute,
            reason=args.reason or ("recomputed from the CLI" if args.recompute else ""),
        )
        print(
            json.dumps(
                {
                    "period": snap.period,
                    "revision": snap.revision,
                    "created": created,
                    "scheme_version": snap.scheme_version,
                    "input_rows": json.loads(snap.input_rows),
                    "changes": json.loads(snap.changes or "{}"),
                },
                ensure_ascii=False,
            )
        )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    # imported when the command runs, so that `gridwise --help` stays light (core/cli.py)
    from core.db import unit_of_work
    from core.scope import SYSTEM as CLI_VIEWER  # the command line acts for the installation as a whole
    from evaluation.scoring.served import serve_periods
    from evaluation.scoring.service import period_choices

    with unit_of_work() as session:
        periods = args.period or period_choices(session, CLI_VIEWER)
        n = serve_periods(session, periods, source="job", missing_only=args.missing)
    print(json.dumps({"served": n, "periods": periods}, ensure_ascii=False))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("scores", help="performance scorecards: compute, compare, freeze")
    sp = p.add_subparsers(dest="scores_command", required=True)
    c = sp.add_parser("compute", help="compute every worker's scorecard for a period")
    c.add_argument("--period", required=True, help="YYYY-MM, YYYY-Qn, YYYY-Hn or YYYY")
    c.add_argument("--json", action="store_true", help="print the cards as a JSON list")
    c.add_argument("--top", type=int, default=20, help="rows to print without --json")
    c.set_defaults(func=cmd_compute)
    k = sp.add_parser("compare", help="party members vs all workers (or by community/subdistrict)")
    k.add_argument("--by", choices=["party", "community", "subdistrict"], default="party")
    k.add_argument("--period", required=True)
    k.add_argument("--json", action="store_true")
    k.set_defaults(func=cmd_compare)
    f = sp.add_parser("freeze", help="freeze a closed month (idempotent) or recompute it as a new revision")
    f.add_argument("--period", required=True)
    f.add_argument("--recompute", action="store_true")
    f.add_argument("--reason", default="")
    f.set_defaults(func=cmd_freeze)
    s = sp.add_parser("serve", help="keep periods' scorecards in the served tables (pages read them)")
    s.add_argument("--period", action="append", help="a period (repeatable); default: every month offered")
    s.add_argument("--missing", action="store_true", help="only periods not served yet")
    s.set_defaults(func=cmd_serve)
