"""The outbox: inbox notices fan out to deliveries, and the delivery job sends what is due.

Fan-out (``fan_out``): each inbox notice not yet fanned out (and at most ``FANOUT_MAX_AGE`` old) becomes
deliveries, notice × channel × recipient, keyed ``n<notice>:c<channel>:<recipient>`` (unique: fanning out
twice adds nothing; a ``notify_fanout`` row marks the notice done). Who gets what:

- a person's own address first: their email through the nearest email channel (their community's, else
  their subdistrict's, else the district's), their mobile through the nearest SMS gateway (a webhook
  channel whose template names ``{mobile}``) — if they have them and have not switched that channel off;
- otherwise the group robots of their OWN unit (a worker's community; a manager's scope unit), @-ing them
  by mobile. A community's notices never reach another community's channels, nor a subdistrict's or the
  district's group (``test_notify_scope.py`` checks this like the authorization matrix).
- In the recipient's quiet hours (default 22:00–07:00) a delivery waits until they end, unless the notice
  is urgent (督办, a session within the hour, a cancelled session).

Sending (``deliver_due``, the scheduler's ``notify.deliver`` job and ``gridwise notify deliver``): claim,
send, record, each delivery in its own short transactions.

**The crash rule: at-least-once, claim before send, with a lease.** A runner first claims a due delivery
in a committed transaction (conditional UPDATE: ``state='sending'``, ``claimed_until = now + LEASE``,
``attempts + 1``, a fresh ``claim_token``), then calls the provider, then records the answer in a second
transaction (only if its token still holds the claim). A second runner (a job run twice, a second server)
skips claimed rows, so nothing is sent twice while the first runner lives. If the process dies between the
provider's answer and the record, the delivery stays ``sending``; once its lease expires it is due again
and is SENT AGAIN — a rare duplicate rather than a lost 督办. We chose at-least-once because (1) the
providers offer no idempotency key, so exactly-once cannot be had; (2) a missed supervision order or
session reminder costs more than a repeated one; (3) the window is one HTTP call (timeout 10 s) against a
lease of five minutes, so only a real crash can cause it; and (4) webhook receivers get the delivery key in
``X-Gridwise-Delivery`` to drop a repeat. A delivery whose lease expired ``MAX_ATTEMPTS`` times gives up.

Rate limits: a robot takes at most ``RATE_PER_MINUTE`` attempts a minute (20 for WeCom and DingTalk); the
rest stay queued for the next run. A provider's "too fast" code pauses the robot (DingTalk: 10 minutes)
and requeues the delivery without counting the attempt — never dropped. Network errors and other refusals
back off exponentially (1, 2, 4 … 60 minutes) and give up after ``MAX_ATTEMPTS``. A refused key or
signature is not retried: the delivery gives up and the channel is flagged for an administrator; the
channel's other deliveries wait until it is enabled again.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import and_, delete, func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import clock
from core.db import get_engine, unit_of_work
from core.errors import Misuse
from core.i18n import pick
from core.models import OrgUnit, User, Worker
from core.models_inbox import Notification
from core.notify import providers
from core.notify.channels import note_outcome, target_of
from core.notify.crypto import SecretKeyError
from core.notify.models import (
    ChannelKind,
    DeliveryState,
    NotifyChannel,
    NotifyDelivery,
    NotifyFanout,
    NotifyPreference,
)
from core.notify.prefs import URGENT_KINDS, quiet_until
from core.notify.providers import Message, Outcome, Target, absolute_link
from core.settings import get_settings
from core.sql import insert_ignore

log = logging.getLogger(__name__)

FANOUT_MAX_AGE = timedelta(
    days=2
)  # older notices (e.g. from before a channel existed) stay in the inbox only
FANOUT_BATCH = 5000
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
TEXT_MAX = 160  # characters of a notice's body in an outside message: short, the link has the rest


def _short(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1] + "…"


def _chain(path: str | None) -> list[int | None]:
    """A unit's id followed by its ancestors', nearest first, then None (the district-wide owner)."""
    ids: list[int | None] = [int(x) for x in reversed((path or "").strip("/").split("/")) if x]
    return [*ids, None]


@dataclass
class _Recipient:
    user_id: int
    unit_id: int | None  # a worker's community, a manager's scope unit, None for the district
    chain: list[int | None]
    mobile: str
    pref: NotifyPreference


def _recipients(session: Session, user_ids: list[int]) -> dict[int, _Recipient]:
    rows = session.exec(
        select(col(User.id), col(User.scope_unit_id), col(Worker.community_id), col(Worker.phone))
        .join(Worker, col(Worker.id) == col(User.worker_id), isouter=True)
        .where(col(User.id).in_(user_ids), col(User.is_active))
    ).all()
    prefs = {
        p.user_id: p
        for p in session.exec(
            select(NotifyPreference).where(col(NotifyPreference.user_id).in_(user_ids))
        ).all()
    }
    units = {uid: (community if community is not None else scope) for uid, scope, community, _ in rows}
    paths = dict(
        session.exec(
            select(col(OrgUnit.id), col(OrgUnit.path)).where(
                col(OrgUnit.id).in_([u for u in units.values() if u is not None])
            )
        ).all()
    )
    out: dict[int, _Recipient] = {}
    for uid, _scope, _community, phone in rows:
        if uid is None:
            continue
        pref = prefs.get(uid) or NotifyPreference(user_id=uid, language=get_settings().default_language)
        unit = units[uid]
        chain = _chain(paths.get(unit)) if unit is not None else [None]
        out[uid] = _Recipient(uid, unit, chain, pref.mobile or phone or "", pref)
    return out


def _nearest(channels: list[NotifyChannel], chain: list[int | None]) -> NotifyChannel | None:
    for owner in chain:
        found = [c for c in channels if c.owner_unit_id == owner]
        if found:
            return min(found, key=lambda c: c.id or 0)
    return None


def fan_out(session: Session, *, now: datetime | None = None) -> int:
    """Turn new inbox notices into deliveries; return how many deliveries were created. Safe to repeat."""
    at = now or clock.now()
    notices = session.exec(
        select(Notification)
        .join(NotifyFanout, col(NotifyFanout.notification_id) == col(Notification.id), isouter=True)
        .where(
            col(NotifyFanout.notification_id).is_(None), col(Notification.created_at) >= at - FANOUT_MAX_AGE
        )
        .order_by(col(Notification.id))
        .limit(FANOUT_BATCH)
    ).all()
    if not notices:
        return 0
    channels = list(session.exec(select(NotifyChannel).where(NotifyChannel.enabled)).all())
    people = _recipients(session, sorted({n.user_id for n in notices}))
    email = [c for c in channels if c.kind == "email"]
    sms, groups = [], []
    for c in channels:
        aud = providers.audience(c.kind, json.loads(c.options or "{}"))
        if c.kind == "webhook" and aud == "person":
            sms.append(c)
        elif aud == "group":
            groups.append(c)
    rows: list[dict[str, Any]] = []
    for n in notices:
        who = people.get(n.user_id)
        if who is None or not channels:
            continue
        pref = who.pref
        lang = pref.language
        message = {
            "title": pick(lang, n.title_zh, n.title_en),
            "text": _short(pick(lang, n.body_zh, n.body_en)),
            "link": absolute_link(n.link),
            "lang": lang,
        }
        quiet = None if n.kind in URGENT_KINDS else quiet_until(pref.quiet_start, pref.quiet_end, at)
        due = quiet or at

        def add(
            channel: NotifyChannel,
            recipient: str,
            to: str = "",
            mentions: tuple[str, ...] = (),
            n: Notification = n,
            message: dict = message,
            due: datetime = due,
        ) -> None:
            rows.append(
                {
                    "key": f"n{n.id}:c{channel.id}:{recipient}",
                    "notification_id": n.id,
                    "channel_id": channel.id,
                    "user_id": n.user_id,
                    "recipient": to or recipient,
                    "kind": n.kind,
                    "state": DeliveryState.PENDING.value,
                    "attempts": 0,
                    "payload": json.dumps(
                        {**message, "to": to, "mentions": list(mentions)}, ensure_ascii=False
                    ),
                    "next_attempt_at": due,
                    "created_at": at,
                    "error_kind": "",
                    "last_error": "",
                }
            )

        personal = False
        if pref.use_email and pref.email and (ch := _nearest(email, who.chain)) is not None:
            add(ch, f"u{n.user_id}", to=pref.email)
            personal = True
        if pref.use_sms and who.mobile and (ch := _nearest(sms, who.chain)) is not None:
            add(ch, f"u{n.user_id}", to=who.mobile)
            personal = True
        if not personal and pref.use_group:
            for ch in groups:
                if ch.owner_unit_id == who.unit_id:  # the recipient's own unit only
                    add(ch, "group", mentions=(who.mobile,) if who.mobile else ())
    created = insert_ignore(session, NotifyDelivery, rows, conflict=["key"])
    insert_ignore(
        session,
        NotifyFanout,
        [{"notification_id": n.id, "at": at} for n in notices],
        conflict=["notification_id"],
    )
    return created


def enqueue(
    session: Session,
    *,
    channel_id: int,
    key: str,
    data: dict[str, Any],
    kind: str = "webhook",
    now: datetime | None = None,
) -> bool:
    """Queue a ready JSON body for a channel (the API's signed webhooks: a ``webhook`` channel per
    subscriber). ``key`` is unique (e.g. ``"decision:42"``): queuing it again adds nothing; returns whether
    it was new. Sent by the delivery job like any notice, signed when the channel has a secret."""
    if len(key) > 200:
        raise Misuse(f"a delivery key is at most 200 characters: {key[:40]}…")
    at = now or clock.now()
    row = {
        "key": key,
        "notification_id": None,
        "channel_id": channel_id,
        "user_id": None,
        "recipient": "group",
        "kind": kind[:32],
        "state": DeliveryState.PENDING.value,
        "attempts": 0,
        "payload": json.dumps(
            {"title": kind, "text": "", "link": "", "lang": "en", "to": "", "mentions": [], "data": data},
            ensure_ascii=False,
            default=str,
        ),
        "next_attempt_at": at,
        "created_at": at,
        "error_kind": "",
        "last_error": "",
    }
    return insert_ignore(session, NotifyDelivery, [row], conflict=["key"]) == 1


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    token: str
    channel_id: int
    key: str
    target: Target
    message: Message


def _due_clause(at: datetime):  # noqa: ANN202 - a SQL condition
    waiting = and_(
        col(NotifyDelivery.state).in_([DeliveryState.PENDING.value, DeliveryState.FAILED.value]),
        col(NotifyDelivery.next_attempt_at) <= at,
    )
    lapsed = and_(
        col(NotifyDelivery.state) == DeliveryState.SENDING.value, col(NotifyDelivery.claimed_until) < at
    )
    return or_(waiting, lapsed)


def claim_due(session: Session, *, now: datetime | None = None, limit: int = 200) -> list[Claim]:
    """Claim up to ``limit`` due deliveries, within each channel's per-minute budget (see the crash rule).
    The caller commits before sending."""
    at = now or clock.now()
    channels = {
        c.id: c
        for c in session.exec(
            select(NotifyChannel).where(
                col(NotifyChannel.enabled),
                col(NotifyChannel.flagged).is_(False),
                or_(col(NotifyChannel.paused_until).is_(None), col(NotifyChannel.paused_until) <= at),
            )
        ).all()
    }
    if not channels:
        return []
    recent = dict(
        session.exec(
            select(col(NotifyDelivery.channel_id), func.count())
            .where(
                col(NotifyDelivery.channel_id).in_(list(channels)),
                col(NotifyDelivery.last_attempt_at) > at - timedelta(minutes=1),
            )
            .group_by(col(NotifyDelivery.channel_id))
        ).all()
    )
    budget = {
        cid: providers.RATE_PER_MINUTE.get(ChannelKind(c.kind), 60) - recent.get(cid, 0)
        for cid, c in channels.items()
        if cid is not None
    }
    due = session.exec(
        select(NotifyDelivery)
        .where(
            _due_clause(at), col(NotifyDelivery.channel_id).in_([cid for cid, b in budget.items() if b > 0])
        )
        .order_by(col(NotifyDelivery.next_attempt_at), col(NotifyDelivery.id))
        .limit(limit * 5)
    ).all()
    claims: list[Claim] = []
    targets: dict[int, Target] = {}
    for d in due:
        if len(claims) >= limit or budget.get(d.channel_id, 0) <= 0:
            continue
        if d.state == DeliveryState.SENDING.value and d.attempts >= MAX_ATTEMPTS:
            _finish(
                session,
                d.id or 0,
                d.claim_token,
                state=DeliveryState.GAVE_UP,
                error_kind="lost",
                error="the process stopped during every attempt",
                at=at,
            )
            continue
        token = uuid.uuid4().hex
        got = session.exec(
            update(NotifyDelivery)
            .where(col(NotifyDelivery.id) == d.id, _due_clause(at))
            .values(
                state=DeliveryState.SENDING.value,
                claim_token=token,
                claimed_until=at + LEASE,
                attempts=NotifyDelivery.attempts + 1,
                last_attempt_at=at,
            )
        ).rowcount
        if got != 1:
            continue  # another runner took it
        budget[d.channel_id] -= 1
        if d.channel_id not in targets:
            targets[d.channel_id] = target_of(channels[d.channel_id])
        p = json.loads(d.payload)
        message = Message(
            title=p.get("title", ""),
            text=p.get("text", ""),
            link=p.get("link", ""),
            lang=p.get("lang", "zh"),
            to=p.get("to", ""),
            mentions=tuple(p.get("mentions") or ()),
            key=d.key,
            data=p.get("data"),
        )
        claims.append(Claim(d.id or 0, token, d.channel_id, d.key, targets[d.channel_id], message))
    return claims


def _finish(session: Session, delivery_id: int, token: str | None, *, at: datetime, **values: Any) -> bool:
    if "state" in values:
        values["state"] = DeliveryState(values["state"]).value
    values.setdefault("claimed_until", None)
    values["last_error"] = str(values.pop("error", values.get("last_error", "")))[:500]
    stmt = update(NotifyDelivery).where(col(NotifyDelivery.id) == delivery_id)
    if token is not None:
        stmt = stmt.where(col(NotifyDelivery.claim_token) == token)
    return bool(session.exec(stmt.values(**values)).rowcount)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes after the 1st, 2nd, 3rd … failed attempt, at most an hour."""
    return min(BACKOFF_BASE * (2 ** max(0, attempts - 1)), BACKOFF_CAP)


def record_outcome(session: Session, claim: Claim, outcome: Outcome, *, now: datetime | None = None) -> str:
    """Store what the provider answered for a claimed delivery; return the delivery's new state."""
    at = now or clock.now()
    d = session.get(NotifyDelivery, claim.delivery_id)
    channel = session.get(NotifyChannel, claim.channel_id)
    if d is None or channel is None or d.claim_token != claim.token:
        return "lost_claim"  # our lease lapsed and another runner took it over: its record wins
    attempts = d.attempts
    note_outcome(session, channel, outcome, at)
    if outcome.ok:
        state, values = DeliveryState.SENT, {"sent_at": at, "error_kind": "", "error": ""}
    elif outcome.error_kind == "rate_limited":
        pause = timedelta(seconds=providers.PAUSE_AFTER_LIMIT_S.get(ChannelKind(channel.kind), 60))
        channel.paused_until = at + pause
        state, values = DeliveryState.FAILED, {"next_attempt_at": at + pause, "attempts": attempts - 1}
    elif outcome.retry and attempts < MAX_ATTEMPTS:
        state, values = DeliveryState.FAILED, {"next_attempt_at": at + backoff(attempts)}
    else:
        state, values = DeliveryState.GAVE_UP, {}
    if not outcome.ok:
        values.update(error_kind=outcome.error_kind, error=outcome.error)
    session.add(channel)
    _finish(session, claim.delivery_id, claim.token, state=state, at=at, **values)
    if not outcome.ok:
        log.warning(
            "notify: delivery %s via channel %r: %s %s",
            claim.key,
            channel.name,
            outcome.error_kind,
            outcome.error[:200],
        )  # the provider's words; URLs and secrets are never logged
    return state.value


def release(session: Session, claim: Claim) -> None:
    """Hand a claimed delivery back unsent (its attempt not counted)."""
    _finish(
        session,
        claim.delivery_id,
        claim.token,
        state=DeliveryState.PENDING,
        at=clock.now(),
        attempts=NotifyDelivery.attempts - 1,
        error_kind="",
        error="",
    )


def deliver_due(
    engine: Engine | None = None, *, now: datetime | None = None, limit: int = 200
) -> dict[str, int]:
    """Fan out new notices, then send what is due: what the ``notify.deliver`` job and
    ``gridwise notify deliver`` run. Returns counts by outcome."""
    engine = engine or get_engine()
    counts = {"fanned_out": 0, "claimed": 0, "sent": 0, "failed": 0, "gave_up": 0}
    with unit_of_work(engine) as session:
        counts["fanned_out"] = fan_out(session, now=now)
    try:
        with unit_of_work(engine) as session:
            claims = claim_due(session, now=now, limit=limit)
    except SecretKeyError as exc:
        log.error("notify: cannot read channel secrets: %s", exc)
        raise
    counts["claimed"] = len(claims)
    refused: set[int] = set()
    for claim in claims:
        if claim.channel_id in refused:  # its key was refused a moment ago: wait for an administrator
            with unit_of_work(engine) as session:
                release(session, claim)
            continue
        outcome = providers.send(claim.target, claim.message)
        if outcome.error_kind == "config":
            refused.add(claim.channel_id)
        # A crash here (after the provider answered, before the record commits) is the case the
        # at-least-once rule above covers: the lease lapses and the delivery is sent again.
        with unit_of_work(engine) as session:
            state = record_outcome(session, claim, outcome, now=now)
        if state in counts:
            counts[state] += 1
    with Session(engine) as session:
        counts["queued"] = int(
            session.exec(
                select(func.count())
                .select_from(NotifyDelivery)
                .where(
                    col(NotifyDelivery.state).in_(
                        [DeliveryState.PENDING.value, DeliveryState.FAILED.value, DeliveryState.SENDING.value]
                    )
                )
            ).one()
        )
    return counts


def purge_old(session: Session, *, now: datetime | None = None, keep_days: int | None = None) -> int:
    """Remove sent and given-up deliveries created more than ``keep_days`` (the ``notify_keep_days``
    setting, default 90) days ago; pending, failed and sending ones stay whatever their age. Returns how
    many were removed; a second run removes nothing more."""
    days = get_settings().notify_keep_days if keep_days is None else keep_days
    if days < 1:
        raise Misuse(f"notify_keep_days must be at least 1, not {days}")
    cutoff = (now or clock.now()) - timedelta(days=days)
    return int(
        session.exec(
            delete(NotifyDelivery).where(
                col(NotifyDelivery.state).in_([DeliveryState.SENT.value, DeliveryState.GAVE_UP.value]),
                col(NotifyDelivery.created_at) < cutoff,
            )
        ).rowcount
        or 0
    )


def queue_frame(session: Session) -> pd.DataFrame:
    """Deliveries by channel and state (for the CLI's --json and the admin page's summary)."""
    rows = session.exec(
        select(col(NotifyChannel.name), col(NotifyDelivery.state), func.count())
        .join(NotifyChannel, col(NotifyChannel.id) == col(NotifyDelivery.channel_id))
        .group_by(col(NotifyChannel.name), col(NotifyDelivery.state))
    ).all()
    return pd.DataFrame(rows, columns=["channel", "state", "n"])
