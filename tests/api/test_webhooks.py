"""Webhooks out: a client subscribed to assignment decisions and frozen scorecards gets them through the
notification outbox, signed (the receiver on loopback verifies the HMAC), once, only within its scope —
and never the inbox notices of its community."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlmodel import Session, select
from werkzeug import Request, Response

from core.models import User
from core.models_inbox import Notification
from core.notify.models import NotifyDelivery
from core.notify.outbox import deliver_due
from core.scope import SYSTEM
from evaluation.webhooks import enqueue_due, subscribe
from tests.api.conftest import NOW

SECRET = "s3cret-for-the-city-platform"


@pytest.fixture
def receiver(httpserver, monkeypatch):  # noqa: ANN001, ANN201
    """A subscriber on loopback that accepts only correctly signed posts."""
    from core.settings import get_settings

    monkeypatch.setenv("GRIDWISE_SECRET_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    got: list[dict] = []

    def handle(request: Request) -> Response:
        raw, ts = request.get_data(), request.headers["X-Gridwise-Timestamp"]
        expected = "sha256=" + hmac.new(SECRET.encode(), f"{ts}.".encode() + raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("X-Gridwise-Signature", ""), expected):
            return Response("bad signature", status=401)
        got.append({**json.loads(raw), "_key": request.headers["X-Gridwise-Delivery"]})
        return Response("{}", status=200, content_type="application/json")

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handle)
    yield httpserver.url_for("/hook"), got
    monkeypatch.delenv("GRIDWISE_SECRET_KEY")
    get_settings.cache_clear()


def test_a_subscriber_gets_its_scopes_decisions_and_frozen_scorecards_signed_and_once(
    api_world, session: Session, engine, receiver
) -> None:
    """Test that community A's subscriber receives A's decision and the frozen month, verified by HMAC, once
    although the queueing job runs twice — and not B's decision."""
    url, got = receiver
    subscribe(session, SYSTEM, client="comm_a", url=url, secret=SECRET)
    session.commit()
    later = NOW + timedelta(hours=1)
    assert enqueue_due(session, now=later) == 2
    assert enqueue_due(session, now=later) == 0  # a repeated run queues nothing twice
    session.commit()
    assert deliver_due(engine, now=later)["sent"] == 2
    assert deliver_due(engine, now=later)["sent"] == 0
    by_event = {g["event"]: g for g in got}
    assert set(by_event) == {"assignment.decision", "scorecards.frozen"}
    assert by_event["assignment.decision"]["decision"]["chosen_employee_no"] == "A00"
    assert by_event["scorecards.frozen"]["period"] == "2020-05"
    assert len({g["_key"] for g in got}) == 2


def test_a_subscribers_channel_never_carries_inbox_notices(
    api_world, session: Session, engine, receiver
) -> None:
    """Test that a notice for community A's manager is not fanned out to A's API subscriber."""
    url, got = receiver
    subscribe(session, SYSTEM, client="comm_a", url=url, secret=SECRET, events=["scorecards.frozen"])
    mgr_a = session.exec(select(User.id).where(User.username == "mgr_a")).one()
    session.add(
        Notification(user_id=mgr_a, key="webhook-test:1", kind="test", title_zh="通知", created_at=NOW)
    )
    session.commit()
    deliver_due(engine, now=NOW + timedelta(minutes=1))
    keys = session.exec(select(NotifyDelivery.key)).all()
    assert not any(k.startswith("n") for k in keys), keys
    assert all(g["event"] == "scorecards.frozen" for g in got)


def test_only_an_administrator_subscribes_with_a_real_secret(api_world, session: Session, receiver) -> None:
    """Test that a short secret and an unknown event are refused with what to fix."""
    url, _ = receiver
    with pytest.raises(ValueError, match="16 characters"):
        subscribe(session, SYSTEM, client="comm_a", url=url, secret="short")
    with pytest.raises(ValueError, match="Webhook events"):
        subscribe(session, SYSTEM, client="comm_a", url=url, secret=SECRET, events=["events.created"])
