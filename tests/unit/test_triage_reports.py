"""Events from report text: a worker's confirmed report (idempotent), a text-only event carrying an
unconfirmed suggestion, a manager's confirmation (scoped, audited), and the acceptance figure."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import select

from core.models import Role
from core.models_audit import AuditEntry
from core.scope import ScopeError
from evaluation.field.models import Event, EventTransition
from evaluation.field.registry import ensure_reference_data
from evaluation.triage.reports import (
    TriageError,
    confirm_item,
    report_event,
    report_from_text,
    suggestion_acceptance,
    unconfirmed_events,
)
from tests.factories import make_org, viewer

T0 = datetime(2020, 6, 1, 8, 0)


@pytest.fixture
def org(session):
    ensure_reference_data(session)
    return make_org(session)


def test_worker_report_is_created_in_their_grid_once_per_form(session, org):
    worker = org.workers_a[1]
    me = viewer(Role.WORKER, worker=worker)
    kwargs = dict(
        text="12栋楼道电动车在充电",
        item_code="F02",
        client_key="k1",
        suggested_item="F02",
        confidence=0.9,
        now=T0,
    )
    event, created = report_event(session, me, **kwargs)
    again, created_again = report_event(session, me, **kwargs)  # a double tap
    assert created and not created_again and again.id == event.id
    assert (event.grid_id, event.community_id, event.reporter_id) == (
        worker.grid_id,
        org.comm_a.id,
        worker.id,
    )
    assert (event.item_code, event.category_code, event.priority, event.state) == (
        "F02",
        "fire",
        "urgent",
        "reported",
    )
    assert event.item_confirmed and event.suggested_item == "F02" and event.report_text.startswith("12栋")
    assert len(session.exec(select(Event)).all()) == 1
    assert len(session.exec(select(EventTransition)).all()) == 1
    other, created = report_event(session, me, **{**kwargs, "client_key": "k2"})
    assert created and other.id != event.id


def test_worker_may_change_the_suggestion_and_the_change_counts_against_acceptance(session, org):
    me = viewer(Role.WORKER, worker=org.workers_a[0])
    report_event(
        session, me, text="消防通道堵了", item_code="F01", client_key="a", suggested_item="F01", now=T0
    )
    report_event(
        session, me, text="门口乱停车", item_code="C06", client_key="b", suggested_item="F01", now=T0
    )
    figures = suggestion_acceptance(session, viewer(Role.MANAGER))
    assert figures == {"confirmed": 2, "accepted": 1, "changed": 1, "pending": 0, "rate": 0.5}


@pytest.mark.parametrize(
    ("text", "item", "key"),
    [
        ("   ", "F01", "empty_text"),
        ("x" * 1001, "F01", "text_too_long"),
        ("消防通道堵了", "Z99", "unknown_item"),
    ],
)
def test_bad_reports_are_refused_with_a_catalog_message(session, org, text, item, key):
    with pytest.raises(TriageError) as caught:
        report_event(
            session,
            viewer(Role.WORKER, worker=org.workers_a[0]),
            text=text,
            item_code=item,
            client_key="k",
            now=T0,
        )
    assert caught.value.key == key and caught.value.message("zh") != caught.value.message("en")
    assert session.exec(select(Event)).all() == []


def test_only_workers_report_on_the_phone(session, org):
    with pytest.raises(ScopeError):
        report_event(session, viewer(Role.MANAGER), text="消防通道堵了", item_code="F01", client_key="k")


def test_text_only_event_carries_an_unconfirmed_suggestion_until_a_manager_confirms(session, org):
    system = viewer(Role.SYSADMIN)
    event, created = report_from_text(
        session,
        system,
        event_no="EXT-1",
        grid_id=org.grids_a[0].id,
        text="市民来电反映楼上拉飞线给电瓶车充电",
        now=T0,
    )
    _, again = report_from_text(
        session,
        system,
        event_no="EXT-1",
        grid_id=org.grids_a[0].id,
        text="市民来电反映楼上拉飞线给电瓶车充电",
        now=T0,
    )
    assert created and not again
    assert event.item_code == event.suggested_item == "F03" and event.item_confirmed is False
    assert 0 < event.suggestion_confidence <= 1

    manager_a, manager_b = viewer(Role.MANAGER, org.comm_a), viewer(Role.MANAGER, org.comm_b)
    assert unconfirmed_events(session, manager_a)["event_no"].tolist() == ["EXT-1"]
    assert unconfirmed_events(session, manager_b).empty
    assert suggestion_acceptance(session, manager_a)["pending"] == 1
    with pytest.raises(ScopeError):
        confirm_item(session, manager_b, event_id=event.id, item_code="F03")
    with pytest.raises(ScopeError):
        confirm_item(
            session, viewer(Role.WORKER, worker=org.workers_a[0]), event_id=event.id, item_code="F03"
        )

    confirm_item(session, manager_a, event_id=event.id, item_code="F02")
    session.refresh(event)
    assert (event.item_code, event.category_code, event.item_confirmed) == ("F02", "fire", True)
    assert unconfirmed_events(session, manager_a).empty
    assert suggestion_acceptance(session, manager_a) == {
        "confirmed": 1,
        "accepted": 0,
        "changed": 1,
        "pending": 0,
        "rate": 0.0,
    }
    audit = session.exec(select(AuditEntry).where(AuditEntry.action == "field.event.confirm_item")).one()
    assert audit.entity_id == "EXT-1"


def test_text_only_event_outside_the_callers_scope_is_refused(session, org):
    with pytest.raises(ScopeError):
        report_from_text(
            session,
            viewer(Role.MANAGER, org.comm_b),
            event_no="EXT-2",
            grid_id=org.grids_a[0].id,
            text="消防通道堵了",
        )
    assert session.exec(select(Event)).all() == []
