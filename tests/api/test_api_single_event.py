"""The single-event path's cost and guarantees (issue #23): POST /events is one transaction on one pooled
connection (the key's check included), a revoked key is refused at the next post, the SLA limits it keeps
per process follow a change (at once in this process, within the copy's lifetime from another), and a
request left refused after its key was checked gives its connection back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlmodel import Session, func, select

from api.app import create_app
from api.config import ApiLimits
from core.api_clients import revoke
from core.db import make_engine
from core.models import Role
from core.models_audit import AuditEntry
from core.scope import SYSTEM
from evaluation.field import registry
from evaluation.field.models import Event
from tests.api.conftest import ApiWorld
from tests.factories import viewer


def _event(world: ApiWorld, no: str, **extra: Any) -> dict[str, Any]:
    return {
        "event_no": no,
        "item": "C03",
        "grid_code": world.org.grids_a[0].code,
        "reported_at": "2020-06-01T09:00:00",
        **extra,
    }


@pytest.fixture
def counted(api_world: ApiWorld) -> Iterator[dict[str, int]]:
    """Connections checked out of the pool and transactions committed on the world's engine."""
    seen = {"checkout": 0, "checkin": 0, "commit": 0}

    def on(name: str):  # noqa: ANN202 - an event listener
        def listener(*_: Any) -> None:
            seen[name] += 1

        return listener

    listeners = [(name, on(name)) for name in seen]
    for name, fn in listeners:
        event.listen(api_world.engine, name, fn)
    yield seen
    for name, fn in listeners:
        event.remove(api_world.engine, name, fn)


def _audit_rows(session: Session, entity_id: str) -> int:
    session.expire_all()
    return session.exec(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "api.events.write", AuditEntry.entity_id == entity_id)
    ).one()


def test_a_posted_event_is_one_transaction_on_one_connection_with_one_audit_row(
    api, api_world: ApiWorld, session: Session, counted: dict[str, int]
) -> None:
    """Test that POST /events checks the key, writes the event, its idempotency row and its audit row in
    one transaction on one pooled connection (the key was checked in a session of its own before)."""
    c = api("comm_a")
    for k in counted:
        counted[k] = 0
    r = c.post("/api/v1/events", json=_event(api_world, "ONE-1"), headers={"Idempotency-Key": "ONE-1"})
    assert r.status_code == 201, r.text
    assert counted == {"checkout": 1, "checkin": 1, "commit": 1}
    assert _audit_rows(session, "ONE-1") == 1
    again = c.post("/api/v1/events", json=_event(api_world, "ONE-1"), headers={"Idempotency-Key": "ONE-1"})
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == r.json()
    assert _audit_rows(session, "ONE-1") == 2  # the replay is a request of its own: its own row
    assert session.exec(select(func.count()).select_from(Event).where(Event.event_no == "ONE-1")).one() == 1


def test_a_posted_event_takes_one_trip_through_the_thread_pool(
    api, api_world: ApiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that POST /events checks the key and does its work in one worker-thread trip (the call is
    admitted in the endpoint's thread, api.context.Call), not one for the key and one for the work."""
    trips: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counting(func: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - anyio's signature
        trips.append(getattr(func, "__name__", repr(func)))
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    c = api("comm_a")
    r = c.post("/api/v1/events", json=_event(api_world, "HOP-1"), headers={"Idempotency-Key": "HOP-1"})
    assert r.status_code == 201, r.text
    assert len(trips) == 1, trips


def test_an_unknown_key_refused_with_a_bad_body_takes_one_token_of_its_address(
    api_world: ApiWorld,
) -> None:
    """Test that a request with an unknown key is refused 401 before its body is looked at, and spends
    one token of its address's refusal bucket, also when the schema would refuse its body (the
    refusal's handler admits it, once)."""
    c = api_world.client(
        None, limits=ApiLimits(rate_per_second=1000, burst=1000, refused_rate=0.001, refused_burst=3)
    )
    bad = {"Authorization": "Bearer gw_deadbeef.nope"}
    with c:
        for body in ({"event_no": "X"}, _event(api_world, "X-2"), {"event_no": "X"}):
            assert c.post("/api/v1/events", json=body, headers=bad).status_code == 401
        assert c.post("/api/v1/events", json={"event_no": "X"}, headers=bad).status_code == 429


def test_a_revoked_key_is_refused_at_the_next_post_of_the_same_process(
    api, api_world: ApiWorld, session: Session
) -> None:
    """Test that nothing about a key outlives its revocation: the process that just accepted it refuses
    it on the next request and writes nothing."""
    c = api("comm_a")
    assert c.post("/api/v1/events", json=_event(api_world, "REV-1")).status_code == 201
    revoke(session, SYSTEM, "comm_a")
    session.commit()
    r = c.post("/api/v1/events", json=_event(api_world, "REV-2"))
    assert r.status_code == 401, r.text
    session.expire_all()
    assert session.exec(select(Event.id).where(Event.event_no == "REV-2")).first() is None


def test_a_body_refused_after_the_key_check_gives_the_connection_back(
    api, api_world: ApiWorld, counted: dict[str, int]
) -> None:
    """Test that a request whose key passed but whose body the schema refuses (422) returns its connection
    to the pool (its read transaction rolled back), and that a missing key is still answered 401 first."""
    c = api("comm_a")
    for k in counted:
        counted[k] = 0
    r = c.post("/api/v1/events", json={"event_no": "BAD-1"})
    assert r.status_code == 422, r.text
    assert counted["checkout"] == counted["checkin"] == 2  # the request, and its refusal's audit row
    assert api(None).post("/api/v1/events", json={"event_no": "BAD-2"}).status_code == 401


def _due_hours(session: Session, event_no: str) -> float:
    session.expire_all()
    e = session.exec(select(Event).where(Event.event_no == event_no)).one()
    assert e.due_at is not None and e.reported_at is not None
    return (e.due_at - e.reported_at).total_seconds() / 3600


def test_time_limits_kept_per_process_follow_a_change(
    api, api_world: ApiWorld, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that the single-event path's copy of the SLA limits follows update_sla in this process at
    once, and a change written by another process once the copy is older than REFERENCE_TTL_SECONDS."""
    c = api("comm_a")
    assert c.post("/api/v1/events", json=_event(api_world, "SLA-1")).status_code == 201
    priority = session.exec(select(Event.priority).where(Event.event_no == "SLA-1")).one()
    shipped = _due_hours(session, "SLA-1")
    registry.update_sla(session, viewer(Role.SYSADMIN), code=priority, handle_limit_hours=7)
    session.commit()
    assert c.post("/api/v1/events", json=_event(api_world, "SLA-2")).status_code == 201
    assert _due_hours(session, "SLA-2") == 7 != shipped
    # as the app or the CLI would write it: another process, nothing tells this one
    session.execute(text("UPDATE field_sla SET handle_limit_hours = 5 WHERE code = :c"), {"c": priority})
    session.commit()
    assert c.post("/api/v1/events", json=_event(api_world, "SLA-3")).status_code == 201
    assert _due_hours(session, "SLA-3") == 7  # the copy, still young
    monkeypatch.setattr(registry, "REFERENCE_TTL_SECONDS", 0.0)
    assert c.post("/api/v1/events", json=_event(api_world, "SLA-4")).status_code == 201
    assert _due_hours(session, "SLA-4") == 5


def test_a_post_after_postgresql_dropped_the_apis_connections_succeeds(api_world: ApiWorld, engine) -> None:  # noqa: ANN001
    """Test that the API's engine, which does not ping a pooled connection before each use (a round trip
    per request), still answers the first request after PostgreSQL dropped its connections (a restart):
    the key's check finds the connection dead, the pool is renewed and the request runs on a new one."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL drops connections; SQLite has none to drop")
    name = f"gw_api_drop_{uuid.uuid4().hex[:8]}"
    url = engine.url.set(query={"application_name": name}).render_as_string(hide_password=False)
    bare = make_engine(url, pre_ping=False)
    try:
        c = TestClient(create_app(bare, ApiLimits(rate_per_second=1000, burst=1000)))
        c.headers["Authorization"] = f"Bearer {api_world.keys['comm_a']}"
        with c:
            assert c.post("/api/v1/events", json=_event(api_world, "DROP-1")).status_code == 201
            with engine.connect() as conn:
                killed = conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = :app AND pid <> pg_backend_pid()"
                    ),
                    {"app": name},
                ).scalar()
            assert killed >= 1
            r = c.post("/api/v1/events", json=_event(api_world, "DROP-2"))
            assert r.status_code == 201, r.text
    finally:
        bare.dispose()
