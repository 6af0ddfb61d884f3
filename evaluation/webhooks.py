"""Webhooks out: an API client subscribed to assignment decisions or frozen scorecards gets each one pushed
through the notification outbox (core.notify.outbox.enqueue → the delivery job: retries with backoff, an
``X-Gridwise-Signature`` HMAC the receiver verifies, ``X-Gridwise-Delivery`` to drop a repeat), never inline
in a request.

``enqueue_due`` (the ``api.webhooks`` job, every minute) queues what each subscriber may see — its scope, as
the API's own reads — from the last ``LOOKBACK`` days; the delivery key (client, decision or period and
revision) is unique, so a repeated or late run queues nothing twice.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from core import clock
from core.api_clients import ApiClientError, client_viewer
from core.audit import record
from core.db import unit_of_work
from core.models import Worker
from core.models_api import ApiClient, ApiWebhook
from core.notify.channels import add_channel
from core.notify.outbox import enqueue
from core.scope import ScopeError, Viewer
from evaluation.scoring.models_scoring import ScorecardSnapshot
from evaluation.sync import decisions_page

EVENTS = ("assignment.decision", "scorecards.frozen")
LOOKBACK = timedelta(days=7)


def subscribe(
    session: Session,
    viewer: Viewer,
    *,
    client: str,
    url: str,
    secret: str,
    events: list[str] | tuple[str, ...] = EVENTS,
) -> ApiWebhook:
    """Push ``events`` to ``url`` for the client, signed with ``secret`` (administrators only)."""
    if not viewer.is_admin:
        raise ScopeError("scope.err.admin_webhooks")
    row = session.exec(select(ApiClient).where(ApiClient.name == client)).first()
    if row is None or not row.is_active:
        raise ApiClientError("core.err.api_client.not_active", name=client)
    wanted = sorted({e.strip() for e in events if e.strip()})
    if not wanted or set(wanted) - set(EVENTS):
        raise ApiClientError("core.err.api_client.webhook_events", known=", ".join(EVENTS))
    if len(secret or "") < 16:
        raise ApiClientError("core.err.api_client.webhook_secret")
    if session.exec(select(ApiWebhook.id).where(ApiWebhook.client_id == row.id)).first() is not None:
        raise ApiClientError("core.err.api_client.subscribed", name=client)
    channel = add_channel(
        session,
        viewer,
        kind="webhook",
        name=f"api:{row.name}",
        url=url,
        secret=secret,
        owner_unit_id=row.scope_unit_id,
    )
    channel.options = json.dumps({"subscriber": f"api:{row.name}"})
    session.add(channel)
    hook = ApiWebhook(client_id=row.id or 0, channel_id=channel.id or 0, events=",".join(wanted))
    session.add(hook)
    session.flush()
    record(
        session,
        "api.client.webhook",
        viewer=viewer,
        entity="api_client",
        entity_id=row.name,
        after={"events": hook.events, "channel": channel.name},
    )
    return hook


def enqueue_due(session: Session, *, now: datetime | None = None) -> int:
    """Queue every decision and frozen scorecard revision of the last LOOKBACK a subscriber may see;
    returns how many deliveries were new."""
    at = now or clock.now()
    since = at - LOOKBACK
    subs = session.exec(
        select(ApiWebhook, ApiClient)
        .join(ApiClient, col(ApiClient.id) == ApiWebhook.client_id)
        .where(col(ApiClient.is_active))
    ).all()
    new = 0
    for hook, client in subs:
        viewer = client_viewer(session, client)
        events = set(hook.events.split(","))
        if "assignment.decision" in events:
            decisions = decisions_page(session, viewer, since=since, limit=100_000)
            numbers = (
                dict(
                    session.exec(
                        select(Worker.id, Worker.employee_no).where(
                            col(Worker.id).in_({d.chosen_worker_id for d in decisions})
                        )
                    ).all()
                )
                if decisions
                else {}
            )
            for d in decisions:
                body = {
                    "event": "assignment.decision",
                    "decision": {
                        **json.loads(d.model_dump_json()),
                        "chosen_employee_no": numbers.get(d.chosen_worker_id),
                    },
                }
                new += enqueue(
                    session,
                    channel_id=hook.channel_id,
                    key=f"api{client.id}:decision:{d.id}",
                    data=body,
                    now=at,
                )
        if "scorecards.frozen" in events:
            snaps = session.exec(
                select(ScorecardSnapshot.period, ScorecardSnapshot.revision).where(
                    col(ScorecardSnapshot.computed_at) >= since
                )
            ).all()
            for period, revision in snaps:
                frozen = {
                    "event": "scorecards.frozen",
                    "period": period,
                    "revision": revision,
                    "scorecards": f"/api/v1/scorecards/{period}",
                }
                new += enqueue(
                    session,
                    channel_id=hook.channel_id,
                    key=f"api{client.id}:scorecards:{period}:r{revision}",
                    data=frozen,
                    now=at,
                )
    return new


def run(now: datetime | None = None) -> int:
    """The scheduler's job: queue what is due, in one unit of work."""
    with unit_of_work() as session:
        return enqueue_due(session, now=now)
