"""``gridwise privacy …``: the data inventory (and, with core.sealed, the contact-data key).

gridwise privacy inventory [--markdown]     every column and its data class (docs/DATA_INVENTORY.md)
"""

from __future__ import annotations

import argparse
import sys


def cmd_inventory(args: argparse.Namespace) -> int:
    # lazy: loaded when the command runs, so `gridwise --help` stays light (core/cli.py)
    from core.privacy import inventory, markdown, undeclared

    if args.markdown:
        sys.stdout.write(markdown())
    else:
        for r in inventory():
            dc = r.data_class.value if r.data_class else "UNDECLARED"
            print(f"{r.table}\t{r.column}\t{dc}{' contact' if r.contact else ''}")
    missing = undeclared()
    for line in missing:
        print(f"error: {line}", file=sys.stderr)
    return 1 if missing else 0


def cmd_rotate_key(args: argparse.Namespace) -> int:
    # lazy: loaded when the command runs, so `gridwise --help` stays light (core/cli.py)
    from pathlib import Path

    from cryptography.fernet import Fernet

    from core.db import unit_of_work
    from core.privacy_keys import rotate_key
    from core.sealed import _fernet, data_key, key_file
    from core.settings import get_settings

    settings = get_settings()
    old = data_key()
    new = Path(args.new_key_file).read_text(encoding="ascii").strip() if args.new_key_file else ""
    new = new or Fernet.generate_key().decode()
    _fernet(new)  # a malformed key stops here, before anything is written
    target = None if settings.data_key.strip() else key_file(settings.data_key_file, "data.key")
    pending = None
    if target is not None:
        # The new key reaches the disk before the database commits: a crash between the two leaves it in
        # data.key.new, never lost.
        pending = target.with_name(target.name + ".new")
        pending.write_text(new + "\n", encoding="ascii")
        pending.chmod(0o600)
    with unit_of_work() as session:
        counts = rotate_key(session, old_key=old, new_key=new)
    for table, n in counts.items():
        print(f"{table}: {n} rows re-sealed", file=sys.stderr)
    if pending is not None and target is not None:
        pending.replace(target)
        print(f"the new key is in {target}", file=sys.stderr)
    else:
        print("set GRIDWISE_DATA_KEY to the new key below, then start the app again:", file=sys.stderr)
        print(new)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("privacy", help="personal data: the inventory and the contact-data key")
    psub = p.add_subparsers(dest="privacy_command", required=True, metavar="ACTION")
    q = psub.add_parser("inventory", help="every column of every table and its data class")
    q.add_argument("--markdown", action="store_true", help="the docs/DATA_INVENTORY.md page")
    q.set_defaults(func=cmd_inventory)
    q = psub.add_parser(
        "rotate-key", help="re-seal contact data under a new GRIDWISE_DATA_KEY (all or nothing)"
    )
    q.add_argument("--new-key-file", help="a file holding the new Fernet key (default: generate one)")
    q.set_defaults(func=cmd_rotate_key)
