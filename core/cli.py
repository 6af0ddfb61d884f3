"""The ``gridwise`` command: the same domain functions the pages use, for scripts and operators.

Areas add their own subcommands through ``CLI_EXTENSIONS`` (``module:register`` taking the
argparse sub-parsers), imported lazily so that core does not depend on them.

Start-up stays light (``gridwise --help`` in well under half a second, bench/bench_cli.py): this module and
every ``register`` import only argparse-level things at module top; a command imports the database, pandas
and the domain when it runs (tests/unit/test_cli_startup.py checks ``--help`` loads none of them).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence

from core.errors import GridwiseError
from core.i18n import LANGUAGES, t
from core.plugins import provided

CLI_EXTENSIONS: tuple[str, ...] = (
    "courses.cli:register",
    "courses.training.cli:register",
    "evaluation.cli:register",
    "api.cli:register",
    "core.notify.cli:register",
    "core.privacy_cli:register",
    "core.audit_cli:register",
)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr)


def cmd_migrate(args: argparse.Namespace) -> int:
    # imported when the command runs, so that `gridwise --help` stays light (module docstring)
    from core.migrate import upgrade

    upgrade(revision=args.revision)
    _log("database is at the latest schema")
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    # imported when the command runs, so that `gridwise --help` stays light (module docstring)
    from sqlmodel import select

    from core.db import unit_of_work
    from core.demo import demo_accounts, seed_demo
    from core.instance import InstanceRefused, refuse_seed_outside_demo
    from core.models import Worker

    try:
        refuse_seed_outside_demo()
    except InstanceRefused as exc:
        _log(f"error: {exc}")
        return 2
    with unit_of_work() as session:
        if session.exec(select(Worker.id).limit(1)).first() is not None:
            if args.if_empty:
                _log("the database already holds data; not seeding")
                if args.json:
                    print(json.dumps(demo_accounts(session), ensure_ascii=False, indent=2))
                return 0
            _log("error: the database already holds workers; seed-demo only fills an empty database")
            return 2
        accounts = seed_demo(session, seed=args.seed, scale=args.scale, log=_log)
    if args.json:
        print(json.dumps(accounts, ensure_ascii=False, indent=2))
    else:
        _log(f"demo district seeded; {len(accounts)} demo accounts listed on the sign-in page")
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    """Bootstrap the first administrator of a real (non-demo) installation; they choose a new password at
    their first sign-in (the one typed here has passed through a terminal, a script or a colleague)."""
    # imported when the command runs, so that `gridwise --help` stays light (module docstring)
    from sqlmodel import select

    from core.auth import set_password
    from core.db import unit_of_work
    from core.models import Role, User

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("password: ")
    with unit_of_work() as session:
        if session.exec(select(User).where(User.username == args.username)).first():
            _log(f"error: user {args.username!r} exists")
            return 2
        user = User(
            username=args.username,
            display_name=args.name or args.username,
            password_hash="",
            role=Role(getattr(args, "role", "sysadmin")).value,
            must_change_password=True,
        )
        try:
            set_password(session, user, password)
        except ValueError as exc:
            _log(f"error: {exc}")
            return 2
        session.add(user)
    _log(f"administrator {args.username!r} created ({user.role})")
    return 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    # imported when the command runs, so that `gridwise --help` stays light (module docstring)
    from core.scheduler import run_forever

    return run_forever()


def cmd_backup(args: argparse.Namespace) -> int:
    """``backup [FILE]``, ``backup verify FILE`` (the restore drill) and ``backup keygen``."""
    # imported when the command runs, so that `gridwise --help` stays light (module docstring)
    from pathlib import Path

    from core.backup import BackupError, backup_dir, drill, generate_key, record_backup_action, write_backup
    from core.clock import now
    from core.db import get_engine

    words = list(args.words)
    if words[:1] == ["keygen"]:
        print(generate_key())
        return 0
    try:
        if words[:1] == ["verify"]:
            if len(words) != 2:
                _log("usage: gridwise backup verify FILE")
                return 2
            checked = drill(Path(words[1]))
            record_backup_action(
                get_engine(), "backup.verify", file=Path(words[1]).name, ok=checked.ok, rows=checked.rows
            )
            _log(
                f"restore drill into a {checked.scratch}: {checked.tables} tables, {checked.rows} rows, "
                f"audit chain {checked.audit}, {checked.seconds:.1f} s"
            )
            for table, (expected, found) in sorted(checked.mismatches.items()):
                _log(f"  {table}: backup has {expected} rows, restored {found}")
            _log("backup verified" if checked.ok else "error: the restored copy differs from the backup")
            return 0 if checked.ok else 1
        if len(words) > 1:
            _log("usage: gridwise backup [FILE] | backup verify FILE | backup keygen")
            return 2
        target = Path(words[0]) if words else backup_dir() / f"gridwise-{now():%Y%m%d-%H%M%S}.gwbak"
        result = write_backup(get_engine(), target)
        record_backup_action(
            get_engine(), "backup.create", file=target.name, bytes=result.bytes, rows=result.rows
        )
    except BackupError as exc:
        _log(f"error: {exc}")
        return 2
    _log(
        f"backup written to {result.path}: {result.tables} tables, {result.rows} rows, {result.bytes} bytes, "
        f"{result.seconds:.1f} s"
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    # imported when the command runs, so that `gridwise --help` stays light (module docstring)
    from pathlib import Path

    from core.backup import BackupError, record_backup_action, restore_into
    from core.db import get_engine
    from core.settings import get_settings

    url = get_settings().database_url
    try:
        loaded = restore_into(url, Path(args.file))
    except BackupError as exc:
        _log(f"error: {exc}")
        return 2
    get_engine().dispose()
    record_backup_action(get_engine(), "backup.restore", file=Path(args.file).name, rows=sum(loaded.values()))
    _log(f"database restored ({len(loaded)} tables, {sum(loaded.values())} rows); start the app again")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gridwise", description="Gridwise 网格员学习考评平台")
    parser.add_argument(
        "--lang",
        dest="message_lang",
        choices=LANGUAGES,
        help="language of error messages (default: $GRIDWISE_LANG, else the configured default language)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("migrate", help="apply database migrations (Alembic)")
    p.add_argument("--revision", default="head")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("seed-demo", help="fill an empty database with the demo district")
    p.add_argument("--seed", type=int, default=2020, help="random seed (deterministic output)")
    p.add_argument(
        "--scale", type=float, default=1.0, help="fraction of the article's field-data volumes (1.0 = full)"
    )
    p.add_argument("--json", action="store_true", help="print the demo accounts as JSON")
    p.add_argument("--if-empty", action="store_true", help="do nothing (exit 0) when data exists")
    p.set_defaults(func=cmd_seed_demo)

    p = sub.add_parser("create-admin", help="create an administrator account")
    p.add_argument("username")
    p.add_argument("--name")
    p.add_argument("--password-stdin", action="store_true")
    p.add_argument(
        "--role",
        choices=["sysadmin", "secadmin", "auditor"],
        default="sysadmin",
        help="which administrator duty (三员分立): system (default), security or audit administrator",
    )
    p.set_defaults(func=cmd_create_admin)

    p = sub.add_parser("scheduler", help="run the job scheduler as its own process")
    p.set_defaults(func=cmd_scheduler)

    p = sub.add_parser(
        "backup",
        help="encrypted backup of the database (SQLite or PostgreSQL) to FILE or backup_dir; "
        "'backup verify FILE' restores it into a scratch database and checks it; 'backup keygen' prints a key",
    )
    p.add_argument("words", nargs="*", metavar="FILE | verify FILE | keygen")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="replace the database with an encrypted backup (stop the app first)")
    p.add_argument("file")
    p.set_defaults(func=cmd_restore)

    for spec in CLI_EXTENSIONS:
        provided(spec)(sub)
    return parser


def message_language(args: argparse.Namespace | None = None) -> str:
    """The language the CLI speaks refusals in: ``--lang``, then ``$GRIDWISE_LANG``, then the settings' default."""
    chosen = getattr(args, "message_lang", None) or os.environ.get("GRIDWISE_LANG")
    if chosen in LANGUAGES:
        return chosen
    # imported only when a refusal is printed without a chosen language (pydantic is not start-up cost)
    from core.settings import get_settings

    return get_settings().default_language


def fail(exc: GridwiseError, args: argparse.Namespace | None = None) -> int:
    """Print a refusal on stderr in the chosen language; the exit status for it (2)."""
    lang = message_language(args)
    _log(f"{t('cli.error', lang)}: {exc.message(lang)}")
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GridwiseError as exc:  # an expected refusal: its catalog text, exit non-zero, no traceback
        return fail(exc, args)
    finally:
        # a command that never touched the database has not imported it: nothing to close, nothing to load
        db = sys.modules.get("core.db")
        if db is not None:
            db.get_engine().dispose()


if __name__ == "__main__":
    sys.exit(main())
