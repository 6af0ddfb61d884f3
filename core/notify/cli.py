"""``gridwise notify …``: add a channel, send a test message, deliver what is due.

    gridwise notify channel add --kind {wecom,dingtalk,feishu,email,webhook} --name NAME --url URL \\
                                [--secret SECRET] [--community NAME_OR_CODE]
    gridwise notify test NAME        # one test message now; exit 1 and print the provider's error if refused
    gridwise notify deliver [--json] # deliver what is due now (the scheduler runs the same job)
"""

from __future__ import annotations

import argparse
import json
import sys


def _err(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)


def _channel_add(args: argparse.Namespace) -> int:
    # imported when the command runs, so that `gridwise --help` stays light (core/cli.py)
    from core.db import unit_of_work
    from core.notify.channels import KINDS, add_channel, find_unit
    from core.scope import SYSTEM

    if args.kind not in KINDS:
        _err(f"--kind must be one of {', '.join(KINDS)}")
        return 2
    try:
        with unit_of_work() as session:
            owner = find_unit(session, args.community).id if args.community else None
            channel = add_channel(
                session,
                SYSTEM,
                kind=args.kind,
                name=args.name,
                url=args.url,
                secret=args.secret,
                owner_unit_id=owner,
                keyword=args.keyword or "",
                template=args.template or "",
            )
            hint = channel.url_hint
    except ValueError as exc:  # includes a missing GRIDWISE_SECRET_KEY
        _err(str(exc))
        return 2
    print(f"channel {args.name!r} added ({args.kind}, {hint})", file=sys.stderr)
    return 0


def _test(args: argparse.Namespace) -> int:
    # imported when the command runs, so that `gridwise --help` stays light (core/cli.py)
    from core.db import unit_of_work
    from core.notify.channels import send_test
    from core.scope import SYSTEM

    try:
        with unit_of_work() as session:
            outcome = send_test(session, SYSTEM, args.name, lang=args.lang, to=args.to or "")
    except ValueError as exc:
        _err(str(exc))
        return 2
    if not outcome.ok:
        print(f"refused ({outcome.error_kind}): {outcome.error}")
        return 1
    print(f"test message sent through {args.name!r}")
    return 0


def _deliver(args: argparse.Namespace) -> int:
    # imported when the command runs, so that `gridwise --help` stays light (core/cli.py)
    from core.notify.outbox import deliver_due

    try:
        counts = deliver_due()
    except ValueError as exc:
        _err(str(exc))
        return 2
    if args.json:
        print(json.dumps(counts))
    else:
        print(", ".join(f"{k}: {v}" for k, v in counts.items()))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("notify", help="outside notifications: channels, test messages, delivery")
    nsub = p.add_subparsers(dest="notify_command", required=True, metavar="ACTION")

    c = nsub.add_parser("channel", help="notification channels")
    csub = c.add_subparsers(dest="channel_command", required=True, metavar="ACTION")
    a = csub.add_parser("add", help="add a WeCom/DingTalk/Feishu robot, an SMTP server or an HTTP gateway")
    a.add_argument("--kind", required=True, choices=["wecom", "dingtalk", "feishu", "email", "webhook"])
    a.add_argument("--name", required=True)
    a.add_argument(
        "--url",
        required=True,
        help="robot webhook URL, smtp+starttls://user@host:587?from=…, "
        "smtps://user@host:465 or the gateway's URL",
    )
    a.add_argument("--secret", help="signing secret (DingTalk, Feishu, webhook) or SMTP password")
    a.add_argument(
        "--community", help="owner: a community's (or subdistrict's) name or code; default the district"
    )
    a.add_argument("--keyword", help="a robot's keyword rule: every message will contain it")
    a.add_argument(
        "--template", help='gateway JSON body, e.g. \'{"phone": "{mobile}", "content": "{text}"}\''
    )
    a.set_defaults(func=_channel_add)

    t = nsub.add_parser("test", help="send one test message through a channel now")
    t.add_argument("name")
    t.add_argument("--lang", default="zh", choices=["zh", "en"])
    t.add_argument("--to", help="email address or mobile for an email channel or SMS gateway")
    t.set_defaults(func=_test)

    d = nsub.add_parser("deliver", help="deliver what is due now (the scheduler runs the same job)")
    d.add_argument("--json", action="store_true", help="print the counts as JSON")
    d.set_defaults(func=_deliver)
