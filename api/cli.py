"""``gridwise api`` (serve) and ``gridwise api-client add|list|rotate|revoke`` (the administrator's side;
the same core.api_clients functions as the API clients page)."""

from __future__ import annotations

import argparse
import json
import sys

from core.api_operations import OPERATIONS


def _log(msg: str) -> None:
    print(msg, file=sys.stderr)


def _serve(args: argparse.Namespace) -> int:
    # imported when the command runs, so that `gridwise --help` stays light (core/cli.py)
    from api.__main__ import serve

    return serve(args.host, args.port, args.workers)


def _scope_id(session, code: str | None) -> int | None:  # noqa: ANN001
    # imported when the command runs, so that `gridwise --help` stays light (core/cli.py)
    from sqlmodel import select

    from core.models import OrgUnit

    if not code:
        return None
    unit_id = session.exec(select(OrgUnit.id).where(OrgUnit.code == code)).first()
    if unit_id is None:
        raise ValueError(f"no org unit with code {code!r}")
    return unit_id


def _client(args: argparse.Namespace) -> int:
    # imported when the command runs, so that `gridwise --help` stays light (core/cli.py)
    from core import api_clients as ac
    from core.db import unit_of_work
    from core.scope import SYSTEM

    if args.action != "list" and not args.name:
        _log(f"error: api-client {args.action} needs the client's name")
        return 2
    try:
        with unit_of_work() as session:
            if args.action == "add":
                ops = args.operations.split(",") if args.operations else list(ac.OPERATIONS)
                client, key = ac.create_client(
                    session,
                    SYSTEM,
                    name=args.name,
                    scope_unit_id=_scope_id(session, args.scope),
                    operations=ops,
                )
                _log(f"API client {client.name!r} registered; its key is shown only now:")
                print(key)
            elif args.action == "rotate":
                key = ac.rotate_key(session, SYSTEM, args.name)
                _log(f"new key for {args.name!r} (the old one stops working now):")
                print(key)
            elif args.action == "webhook":
                from evaluation.webhooks import EVENTS, subscribe

                events = args.events.split(",") if args.events else list(EVENTS)
                subscribe(
                    session,
                    SYSTEM,
                    client=args.name,
                    url=args.url or "",
                    secret=args.secret or "",
                    events=events,
                )
                _log(f"{args.name!r} subscribed to {', '.join(events)} at {args.url}")
            elif args.action == "revoke":
                ac.revoke(session, SYSTEM, args.name)
                _log(f"API client {args.name!r} revoked")
            else:
                frame = ac.clients_frame(session, SYSTEM)
                print(
                    json.dumps(
                        frame.drop(columns=["scope_zh"]).to_dict("records"),
                        ensure_ascii=False,
                        default=str,
                        indent=2,
                    )
                )
    except ValueError as exc:
        _log(f"error: {exc}")
        return 2
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("api", help="run the JSON API server (FastAPI + uvicorn)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8600)
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(func=_serve)

    p = sub.add_parser("api-client", help="register, list, rotate or revoke API clients")
    p.add_argument("action", choices=["add", "list", "rotate", "revoke", "webhook"])
    p.add_argument("name", nargs="?", default="")
    p.add_argument(
        "--scope", help="org unit code of the client's district, subdistrict or community (default: district)"
    )
    p.add_argument("--operations", help="comma-separated; default: all of " + ",".join(OPERATIONS))
    p.add_argument("--url", help="webhook: the receiver's HTTPS URL")
    p.add_argument("--secret", help="webhook: the shared HMAC secret (≥16 characters)")
    p.add_argument("--events", help="webhook: assignment.decision,scorecards.frozen (default: both)")
    p.set_defaults(func=_client)
