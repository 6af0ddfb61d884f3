"""Channels: add, enable/disable, send a test, list them, and read the delivery log.

A channel belongs to the district (``owner_unit_id`` None), a subdistrict or a community. An administrator
manages every channel; a manager those owned by their own unit or below it; a worker none. Each change
writes an audit entry that shows the URL and secret only masked.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
from sqlalchemy import false, or_, true, update
from sqlalchemy import select as sa_select  # more columns than sqlmodel's select is typed for
from sqlmodel import Session, col, select

from core import clock
from core.audit import record
from core.errors import GridwiseError
from core.i18n import t
from core.inbox import notify
from core.models import OrgLevel, OrgUnit, Role, User
from core.notify import providers
from core.notify.crypto import decrypt, encrypt, mask, mask_url
from core.notify.models import ChannelKind, DeliveryState, NotifyChannel, NotifyDelivery
from core.notify.providers import Message, Outcome, Target, absolute_link
from core.org import mask_phone
from core.scope import ScopeError, Viewer, in_scope, path_scope_clause
from core.sql import frame

log = logging.getLogger(__name__)

KINDS = tuple(k.value for k in ChannelKind)
FLAGGED_KIND = "notify_flagged"  # the inbox notice telling administrators a channel's key was refused


def find_unit(session: Session, name_or_code: str) -> OrgUnit:
    """The district, subdistrict or community with this code or name (zh or en)."""
    value = name_or_code.strip()
    rows = session.exec(
        select(OrgUnit).where(
            or_(col(OrgUnit.code) == value, col(OrgUnit.name_zh) == value, col(OrgUnit.name_en) == value),
            col(OrgUnit.level) != OrgLevel.GRID.value,
        )
    ).all()
    if not rows:
        raise GridwiseError("notify.err.no_unit", value=value)
    if len(rows) > 1:
        raise GridwiseError(
            "notify.err.unit_ambiguous", value=value, n=len(rows), codes=", ".join(r.code for r in rows)
        )
    return rows[0]


def _owner_clause(viewer: Viewer):  # noqa: ANN202 - a SQL condition
    """Channels the viewer may see and manage: all for an administrator or a district-wide manager, the
    subtree of a scoped manager, none for a worker."""
    if not viewer.is_manager:  # workers, the security and the audit administrator
        return false()
    if viewer.scope_unit_id is None:
        return true()
    subtree = select(col(OrgUnit.id)).where(path_scope_clause(viewer, col(OrgUnit.path)))
    return col(NotifyChannel.owner_unit_id).in_(subtree)


def _ensure_manages(session: Session, viewer: Viewer, owner_unit_id: int | None) -> None:
    if not viewer.is_manager:
        raise ScopeError("scope.err.manager_channels")
    if viewer.scope_unit_id is None:
        return
    unit = session.get(OrgUnit, owner_unit_id) if owner_unit_id is not None else None
    if not in_scope(viewer, unit.path if unit else None):
        raise ScopeError("scope.err.channel_out_of_scope")


def _validate(kind: str, url: str, options: dict[str, Any]) -> None:
    scheme = urlsplit(url).scheme
    if kind == ChannelKind.EMAIL:
        providers.smtp_settings(url)
    elif scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise GridwiseError("notify.err.channel_url", kind=kind, url=mask_url(url))
    if kind == ChannelKind.WEBHOOK:
        providers.render_template(
            str(options.get("template") or providers.DEFAULT_TEMPLATE), {"text": "test", "title": "test"}
        )


def add_channel(
    session: Session,
    viewer: Viewer,
    *,
    kind: str,
    name: str,
    url: str,
    secret: str | None = None,
    owner_unit_id: int | None = None,
    keyword: str = "",
    template: str = "",
    now: datetime | None = None,
) -> NotifyChannel:
    """Add a channel. ``url`` is the robot's webhook URL (it carries the key), an SMTP URL
    (``smtp+starttls://user@host:587?from=…``; a password in it is moved to the secret) or a gateway URL;
    ``secret`` the signing secret or SMTP password; ``keyword`` a robot's keyword rule; ``template`` a
    gateway's JSON body with ``{mobile}``, ``{email}``, ``{title}``, ``{text}``, ``{link}`` placeholders."""
    name, url, kind = name.strip(), url.strip(), kind.strip().lower()
    if kind not in KINDS:
        raise GridwiseError("notify.err.channel_kind", kinds=", ".join(KINDS), kind=kind)
    if not name or len(name) > 64:
        raise GridwiseError("notify.err.channel_name")
    _ensure_manages(session, viewer, owner_unit_id)
    if session.exec(select(col(NotifyChannel.id)).where(col(NotifyChannel.name) == name)).first() is not None:
        raise GridwiseError("notify.err.channel_exists", name=name)
    if owner_unit_id is not None:
        unit = session.get(OrgUnit, owner_unit_id)
        if unit is None or unit.level == OrgLevel.GRID.value:
            raise GridwiseError("notify.err.channel_owner")
    options: dict[str, Any] = {
        k: v for k, v in (("keyword", keyword.strip()), ("template", template.strip())) if v
    }
    _validate(kind, url, options)
    parts = urlsplit(url)
    if kind == ChannelKind.EMAIL and parts.password:
        secret = secret or parts.password
        netloc = f"{parts.username}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    at = now or clock.now()
    channel = NotifyChannel(
        name=name,
        kind=kind,
        owner_unit_id=owner_unit_id,
        url_enc=encrypt(url),
        url_hint=mask_url(url)[:300],
        secret_enc=encrypt(secret) if secret else None,
        secret_hint=mask(secret or ""),
        options=json.dumps(options, ensure_ascii=False),
        created_at=at,
        updated_at=at,
    )
    session.add(channel)
    session.flush()
    record(
        session,
        "notify.channel.add",
        viewer=viewer,
        entity="notify_channel",
        entity_id=channel.id,
        after=_public(channel),
    )
    return channel


def _public(channel: NotifyChannel) -> dict[str, Any]:
    """What an audit entry or a log line may show of a channel: never the key or the secret."""
    return {
        "name": channel.name,
        "kind": channel.kind,
        "owner_unit_id": channel.owner_unit_id,
        "url": channel.url_hint,
        "secret": channel.secret_hint,
        "enabled": channel.enabled,
        "flagged": channel.flagged,
    }


def get_channel(session: Session, viewer: Viewer, name_or_id: str | int) -> NotifyChannel:
    if isinstance(name_or_id, int):
        channel = session.get(NotifyChannel, name_or_id)
    else:
        channel = session.exec(select(NotifyChannel).where(col(NotifyChannel.name) == name_or_id)).first()
    if channel is None:
        raise GridwiseError("notify.err.no_channel", name=name_or_id)
    _ensure_manages(session, viewer, channel.owner_unit_id)
    return channel


def _resume_held(session: Session, channel: NotifyChannel, at: datetime) -> int:
    """Clear a refused-key flag and a provider's pause, and queue again (due now) the message that was
    refused for the key — it was never delivered. Its row is reused, so it is sent once, not twice; the
    channel's other held deliveries are still pending and go with the next run. Tests sent by hand are
    not repeated. Returns how many deliveries were queued again."""
    was_flagged = channel.flagged
    channel.flagged, channel.paused_until = False, None
    if not was_flagged:
        return 0
    d = NotifyDelivery
    return int(
        session.exec(
            update(d)
            .where(
                col(d.channel_id) == channel.id,
                col(d.state) == DeliveryState.GAVE_UP.value,
                col(d.error_kind) == "config",
                col(d.kind) != "test",
            )
            .values(
                state=DeliveryState.PENDING.value,
                next_attempt_at=at,
                claimed_until=None,
                claim_token=None,
                attempts=0,
            )
        ).rowcount
        or 0
    )


def set_enabled(
    session: Session, viewer: Viewer, channel_id: int, enabled: bool, *, now: datetime | None = None
) -> NotifyChannel:
    """Disable a channel (nothing more is sent through it), or enable it again — which also clears a
    refused-key flag and a provider's pause, once an administrator has fixed the cause (the refused
    message is queued again)."""
    channel = get_channel(session, viewer, channel_id)
    before = _public(channel)
    channel.enabled = enabled
    at = now or clock.now()
    if enabled:
        _resume_held(session, channel, at)
    channel.updated_at = at
    session.add(channel)
    record(
        session,
        "notify.channel.enable" if enabled else "notify.channel.disable",
        viewer=viewer,
        entity="notify_channel",
        entity_id=channel.id,
        before=before,
        after=_public(channel),
    )
    return channel


def update_channel(
    session: Session,
    viewer: Viewer,
    channel_id: int,
    *,
    name: str | None = None,
    url: str | None = None,
    secret: str | None = None,
    keyword: str | None = None,
    template: str | None = None,
    now: datetime | None = None,
) -> NotifyChannel:
    """Edit a channel. ``None`` (or an empty URL/secret) keeps a value; ``name``/``keyword``/``template``
    change when given. A new URL or secret is validated and stored encrypted; only its masked hint is ever
    shown. Changing the URL or secret of a channel flagged for a refused key clears the flag and the
    refused message goes again with the next run (see ``_resume_held``). One audit entry, secrets masked."""
    channel = get_channel(session, viewer, channel_id)
    before = _public(channel)
    options: dict[str, Any] = json.loads(channel.options or "{}")
    if name is not None:
        name = name.strip()
        if not name or len(name) > 64:
            raise GridwiseError("notify.err.channel_name")
        if (
            name != channel.name
            and session.exec(
                select(col(NotifyChannel.id)).where(
                    col(NotifyChannel.name) == name, col(NotifyChannel.id) != channel.id
                )
            ).first()
            is not None
        ):
            raise GridwiseError("notify.err.channel_exists", name=name)
        channel.name = name
    for key, value in (("keyword", keyword), ("template", template)):
        if value is not None:
            if value.strip():
                options[key] = value.strip()
            else:
                options.pop(key, None)
    new_url = (url or "").strip()
    changed_key = False
    if new_url:
        _validate(channel.kind, new_url, options)
        parts = urlsplit(new_url)
        if channel.kind == ChannelKind.EMAIL and parts.password:
            secret = secret or parts.password
            netloc = f"{parts.username}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
            new_url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        if new_url != decrypt(channel.url_enc):
            channel.url_enc, channel.url_hint = encrypt(new_url), mask_url(new_url)[:300]
            changed_key = True
    else:
        _validate(channel.kind, decrypt(channel.url_enc), options)
    if secret:
        channel.secret_enc, channel.secret_hint = encrypt(secret), mask(secret)
        changed_key = True
    channel.options = json.dumps(options, ensure_ascii=False)
    at = now or clock.now()
    resumed = _resume_held(session, channel, at) if changed_key else 0
    channel.updated_at = at
    session.add(channel)
    after = _public(channel)
    changes = {k: v for k, v in after.items() if before.get(k) != v}
    if changed_key:
        changes["key_changed"] = True
    record(
        session,
        "notify.channel.edit",
        viewer=viewer,
        entity="notify_channel",
        entity_id=channel.id,
        before=before,
        after=after,
        detail={"changed": sorted(changes), "resumed": resumed, "keyword": options.get("keyword", "")},
    )
    return channel


def target_of(channel: NotifyChannel) -> Target:
    return Target(
        kind=channel.kind,
        url=decrypt(channel.url_enc),
        secret=decrypt(channel.secret_enc) if channel.secret_enc else None,
        options=json.loads(channel.options or "{}"),
    )


def note_outcome(session: Session, channel: NotifyChannel, outcome: Outcome, at: datetime) -> None:
    """Keep a channel's last error; when its key or signature is refused, flag it and tell the
    administrators in their inbox (once per flagging)."""
    if outcome.ok:
        channel.last_sent_at = at
        return
    channel.last_error, channel.last_error_at = f"{outcome.error_kind}: {outcome.error}"[:500], at
    if outcome.error_kind == "config" and not channel.flagged:
        channel.flagged = True
        admins = session.exec(
            select(col(User.id)).where(col(User.role) == Role.SYSADMIN.value, col(User.is_active))
        ).all()
        notify(
            session,
            [
                {
                    "user_id": uid,
                    "kind": FLAGGED_KIND,
                    "created_at": at,
                    "link": "pages/notify_channels.py",
                    "key": f"{FLAGGED_KIND}:{channel.id}:{at:%Y%m%d%H%M%S}:{uid}",
                    "title_zh": t("notify.flagged.title", "zh", name=channel.name),
                    "title_en": t("notify.flagged.title", "en", name=channel.name),
                    "body_zh": t("notify.reason.config", "zh"),
                    "body_en": t("notify.reason.config", "en"),
                }
                for uid in admins
            ],
            now=at,
        )


def send_test(
    session: Session,
    viewer: Viewer,
    name_or_id: str | int,
    *,
    lang: str = "zh",
    to: str = "",
    now: datetime | None = None,
) -> Outcome:
    """Send one test message through the channel now and return the provider's answer. A refused key flags
    the channel. The attempt is in the delivery log and the audit trail."""
    channel = get_channel(session, viewer, name_or_id)
    target = target_of(channel)
    at = now or clock.now()
    if channel.kind == ChannelKind.EMAIL:
        to = (
            to
            or providers.smtp_settings(target.url)["test_to"]
            or providers.smtp_settings(target.url)["sender"]
        )
    elif providers.audience(channel.kind, target.options) == "person":
        to = to or str(target.options.get("test_to") or "")
    key = f"test:{channel.id}:{at:%Y%m%d%H%M%S}:{uuid.uuid4().hex[:8]}"
    message = Message(
        title=t("notify.msg.test_title", lang),
        text=t("notify.msg.test_text", lang, name=channel.name),
        link=absolute_link("app.py"),
        lang=lang,
        to=to,
        key=key,
    )
    outcome = providers.send(target, message)
    if not outcome.ok:  # the provider's own words, for whoever looks into it (the page says it plainly)
        log.warning(
            "test message through channel %s failed: %s: %s", channel.id, outcome.error_kind, outcome.error
        )
    note_outcome(session, channel, outcome, at)
    session.add(channel)
    session.add(
        NotifyDelivery(
            key=key,
            channel_id=channel.id or 0,
            user_id=viewer.user_id or None,
            recipient=to or "group",
            kind="test",
            payload=json.dumps(
                {
                    "title": message.title,
                    "text": message.text,
                    "link": message.link,
                    "lang": lang,
                    "to": to,
                    "mentions": [],
                },
                ensure_ascii=False,
            ),
            state=(DeliveryState.SENT if outcome.ok else DeliveryState.GAVE_UP).value,
            attempts=1,
            next_attempt_at=at,
            last_attempt_at=at,
            sent_at=at if outcome.ok else None,
            error_kind=outcome.error_kind,
            last_error=outcome.error[:500],
            created_at=at,
        )
    )
    record(
        session,
        "notify.channel.test",
        viewer=viewer,
        entity="notify_channel",
        entity_id=channel.id,
        # A failure's kind and the provider's answer; a success records only that it went through.
        detail={"ok": outcome.ok}
        if outcome.ok
        else {"ok": False, "error_kind": outcome.error_kind, "error": outcome.error[:200]},
    )
    return outcome


def channels_frame(session: Session, viewer: Viewer) -> pd.DataFrame:
    """The channels the viewer manages, with their owner's names and last error (no secrets)."""
    c = NotifyChannel
    stmt: Any = (
        sa_select(
            col(c.id),
            col(c.name),
            col(c.kind),
            col(c.owner_unit_id),
            col(OrgUnit.name_zh).label("owner_zh"),
            col(OrgUnit.name_en).label("owner_en"),
            col(c.url_hint),
            col(c.secret_hint),
            col(c.enabled),
            col(c.flagged),
            col(c.paused_until),
            col(c.last_sent_at),
            col(c.last_error),
            col(c.last_error_at),
        )
        .join(OrgUnit, col(OrgUnit.id) == col(c.owner_unit_id), isouter=True)
        .where(_owner_clause(viewer))
        .order_by(col(c.name))
    )
    out = frame(session, stmt.add_columns(col(c.options)))
    out["keyword"] = [str(json.loads(o or "{}").get("keyword", "")) for o in out["options"]]
    return out.drop(columns=["options"])


def _mask_recipient(value: str) -> str:
    if not value or value == "group" or "@" in value:
        return value
    return mask_phone(value)


def delivery_log(
    session: Session,
    viewer: Viewer,
    *,
    channel_id: int | None = None,
    state: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 1000,
) -> pd.DataFrame:
    """Deliveries through the channels the viewer manages, newest first; ``start``/``end`` bound
    ``created_at`` ([start, end)). Mobile numbers show masked."""
    d, c = NotifyDelivery, NotifyChannel
    stmt: Any = (
        sa_select(
            col(d.id),
            col(d.created_at),
            col(c.name).label("channel"),
            col(c.kind).label("channel_kind"),
            col(d.kind),
            col(d.recipient),
            col(d.state),
            col(d.attempts),
            col(d.next_attempt_at),
            col(d.sent_at),
            col(d.error_kind),
            col(d.last_error),
        )
        .join(c, col(c.id) == col(d.channel_id))
        .where(_owner_clause(viewer))
        .order_by(col(d.created_at).desc(), col(d.id).desc())
        .limit(limit)
    )
    if channel_id is not None:
        stmt = stmt.where(col(d.channel_id) == channel_id)
    if state:
        stmt = stmt.where(col(d.state) == state)
    if start is not None:
        stmt = stmt.where(col(d.created_at) >= start)
    if end is not None:
        stmt = stmt.where(col(d.created_at) < end)
    out = frame(session, stmt)
    out["recipient"] = out["recipient"].map(_mask_recipient)
    return out


def reason_text(error_kind: str, lang: str, *, now: bool = False, final: bool = False) -> str:
    """A failure in plain words, in the reader's language only: the provider's own message (often English,
    ``gaierror: [Errno -2] …`` or a gateway's ``invalid webhook url``) is never appended; it stays in the
    delivery's ``last_error``, the audit row and the log, and the delivery log shows it in its own column,
    labelled as the provider's words. ``now``: the answer to a test sent from the page, which is not retried
    (so no "稍后自动重试"). ``final``: a delivery given up (已放弃), whose reason must not promise a retry."""
    if not error_kind:
        return ""
    key = f"notify.reason.{error_kind}"
    if now and error_kind in ("network", "rate_limited"):
        key += "_now"
    elif final and error_kind in ("network", "rate_limited"):  # given up: no "稍后自动重试" beside 已放弃
        key += "_final"
    return t(key, lang)


def last_error_kind(last_error: str) -> str:
    """The kind of a channel's ``last_error`` (stored as ``"<kind>: <provider's words>"``, note_outcome)."""
    return last_error.partition(":")[0].strip() if last_error else ""
