"""``gridwise privacy …``: the data inventory (and, with core.sealed, the contact-data key).

gridwise privacy inventory [--markdown]     every column and its data class (docs/DATA_INVENTORY.md)
"""

from __future__ import annotations

import argparse
import sys


def cmd_inventory(args: argparse.Namespace) -> int:
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


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("privacy", help="personal data: the inventory and the contact-data key")
    psub = p.add_subparsers(dest="privacy_command", required=True, metavar="ACTION")
    q = psub.add_parser("inventory", help="every column of every table and its data class")
    q.add_argument("--markdown", action="store_true", help="the docs/DATA_INVENTORY.md page")
    q.set_defaults(func=cmd_inventory)
