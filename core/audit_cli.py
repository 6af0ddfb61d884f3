"""``gridwise audit …``: the audit trail's chain, archive and PostgreSQL lock-down.

gridwise audit verify [--archive FILE]   walk the chain; exit 1 naming the first row changed, removed or inserted
gridwise audit archive [--dir DIR]       move rows older than GRIDWISE_AUDIT_KEEP_DAYS (180) to a verifiable file
gridwise audit lock-down --role NAME     PostgreSQL: append-only trigger; NAME may only INSERT and SELECT
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_verify(args: argparse.Namespace) -> int:
    # lazy: loaded when the command runs, so `gridwise --help` stays light (core/cli.py)
    from sqlmodel import Session

    from core.audit_chain import verify, verify_archive
    from core.cli import message_language  # core.cli loads this module by name only: no import cycle
    from core.db import get_engine
    from core.i18n import t

    if args.archive:
        verdict = verify_archive(Path(args.archive))
    else:
        with Session(get_engine()) as session:
            verdict = verify(session)
    lang = message_language(args)
    said = t("privacy.audit.ok" if verdict.ok else "privacy.audit.tampered", lang)
    print(f"{said}: {verdict.message(lang)}", file=sys.stderr)
    if not verdict.ok and verdict.row_id is not None:
        print(verdict.row_id)
    return 0 if verdict.ok else 1


def cmd_archive(args: argparse.Namespace) -> int:
    # lazy: loaded when the command runs, so `gridwise --help` stays light (core/cli.py)
    from core.audit_jobs import archive_old_rows
    from core.db import unit_of_work

    with unit_of_work() as session:
        path = archive_old_rows(
            session,
            out_dir=Path(args.dir) if args.dir else None,
            keep_days=args.keep_days,
            by="gridwise audit archive",
        )
    print(f"archived to {path}" if path else "nothing older than the retention period", file=sys.stderr)
    return 0


def cmd_lock_down(args: argparse.Namespace) -> int:
    # lazy: loaded when the command runs, so `gridwise --help` stays light (core/cli.py)
    from core.audit_chain import lock_down
    from core.db import unit_of_work

    with unit_of_work() as session:  # a GridwiseError (not PostgreSQL) is printed by gridwise itself, exit 2
        lock_down(session, args.role)
    print(
        f"audit_log is append-only{f'; {args.role} may only insert and read it' if args.role else ''}",
        file=sys.stderr,
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="the audit trail: verify its chain, archive old rows, lock it down")
    psub = p.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    q = psub.add_parser("verify", help="check every row's hash chain; names the first row changed or removed")
    q.add_argument("--archive", help="verify an archive file instead of the table")
    q.set_defaults(func=cmd_verify)
    q = psub.add_parser("archive", help="move rows older than the retention period to a verifiable file")
    q.add_argument(
        "--dir", help="where archive files go (default GRIDWISE_AUDIT_ARCHIVE_DIR, var/audit-archive)"
    )
    q.add_argument("--keep-days", type=int, help="override GRIDWISE_AUDIT_KEEP_DAYS")
    q.set_defaults(func=cmd_archive)
    q = psub.add_parser("lock-down", help="PostgreSQL: make audit_log append-only for the application's role")
    q.add_argument("--role", help="the application's database role (gets INSERT and SELECT only)")
    q.set_defaults(func=cmd_lock_down)
