"""``gridwise assign batch [--dry-run] [--json]``: the page's "assign all open" from the command line."""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from core.paths import DATA_DIR


def _viewer(session, username: str | None):  # noqa: ANN001, ANN202
    """The acting user: ``--user`` (a manager or admin, with their scope), else the whole district as
    the system (decisions then record no user)."""
    # imported when the command runs, so that `gridwise --help` stays light (core/cli.py)
    from sqlmodel import select

    from core.models import Role, User
    from core.scope import SYSTEM, viewer_for

    if username is None:
        return SYSTEM
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or user.role not in (Role.MANAGER.value, Role.SYSADMIN.value):
        raise SystemExit(f"error: {username!r} is not a manager or administrator account")
    return viewer_for(session, user)


def _batch(args: argparse.Namespace) -> int:
    # imported when the command runs, so that `gridwise --help` stays light (core/cli.py)
    from core.db import unit_of_work
    from evaluation.assignment import service
    from evaluation.assignment.models import DecisionSource
    from evaluation.field.registry import field_now

    with unit_of_work() as session:
        now = field_now(
            session, datetime.fromisoformat(args.now) if args.now else None
        )  # one instant for both steps
        viewer = _viewer(session, args.user)
        proposal = service.propose_batch(session, viewer, args.preset, now=now)
        result = {"assigned": 0, "skipped": 0}
        if not args.dry_run:
            result = service.commit_batch(session, viewer, proposal, now=now, source=DecisionSource.CLI)
    summary = {
        "preset": proposal.preset,
        "open_unassigned_tasks": proposal.n_tasks,
        "proposed": len(proposal.assigned),
        "total_score": round(proposal.total_score, 1),
        "first_choice_share": None if proposal.assigned.empty else round(proposal.first_choice_share, 3),
        "unassigned": proposal.unassigned["reason"].value_counts().to_dict()
        if not proposal.unassigned.empty
        else {},
        "dry_run": bool(args.dry_run),
        "committed": result["assigned"],
        "skipped_already_assigned": result["skipped"],
    }
    if args.json:
        rows = (
            proposal.assigned[["task_id", "worker_id", "name", "score", "rank_in_task", "priority"]]
            if not proposal.assigned.empty
            else None
        )
        left = (
            proposal.unassigned[["task_id", "priority", "reason"]] if not proposal.unassigned.empty else None
        )
        print(
            json.dumps(
                {
                    **summary,
                    "assignments": [] if rows is None else rows.to_dict(orient="records"),
                    "left_over": [] if left is None else left.to_dict(orient="records"),
                },
                ensure_ascii=False,
                indent=2,
                default=str,
            )
        )
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")
    return 0


def _preset_codes() -> list[str]:
    """The shipped presets' codes, read from the file rank.load_presets reads (data/assignment_presets.json)
    without loading rank's numpy and pandas: building the parser is `gridwise --help`'s cost."""
    shipped = json.loads((DATA_DIR / "assignment_presets.json").read_text(encoding="utf-8"))
    return [preset["code"] for preset in shipped["presets"]]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("assign", help="smart task assignment (智能派单)")
    asub = p.add_subparsers(dest="assign_command", required=True, metavar="ACTION")
    b = asub.add_parser("batch", help="assign every unassigned open task optimally (most urgent first)")
    b.add_argument("--dry-run", action="store_true", help="show the proposal, write nothing")
    b.add_argument("--json", action="store_true", help="print the proposal as JSON")
    b.add_argument("--preset", default="routine", choices=_preset_codes())
    b.add_argument("--user", help="act as this manager account (its scope and name on the decisions)")
    b.add_argument(
        "--now",
        help="ISO time in Asia/Shanghai to judge the tasks at (default: the field clock: now, or the "
        "demo's pinned 2020-09-30 18:00 in a demo database)",
    )
    b.set_defaults(func=_batch)
