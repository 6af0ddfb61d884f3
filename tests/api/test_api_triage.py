"""POST /api/v1/events with text and no item: the item is suggested from the text and marked unconfirmed
until a manager confirms it; a repeat does not undo the confirmation; neither item nor text is refused."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from core.models import Role
from evaluation.field.models import Event
from evaluation.triage.reports import confirm_item
from tests.factories import viewer

TEXT = "市民来电反映楼上拉飞线下来给电瓶车充电"


def _text_only(world: Any, no: str, **extra: Any) -> dict[str, Any]:
    return {
        "event_no": no,
        "text": TEXT,
        "grid_code": world.org.grids_a[0].code,
        "reported_at": "2020-06-01T09:00:00",
        **extra,
    }


def test_text_only_event_carries_the_unconfirmed_suggestion(api, api_world, session: Session) -> None:
    c = api("comm_a")
    r = c.post("/api/v1/events", json=_text_only(api_world, "TXT-1"))
    assert r.status_code == 201, r.text
    out = r.json()["event"]
    assert (out["item_code"], out["suggested_item"], out["item_confirmed"]) == ("F03", "F03", False)
    assert 0 < out["suggestion_confidence"] <= 1

    session.expire_all()
    event = session.exec(select(Event).where(Event.event_no == "TXT-1")).one()
    assert event.report_text == TEXT
    confirm_item(session, viewer(Role.MANAGER, api_world.org.comm_a), event_id=event.id, item_code="F02")
    session.commit()
    again = c.post("/api/v1/events", json=_text_only(api_world, "TXT-1"))  # the same request, later
    assert again.status_code == 200, again.text
    assert (again.json()["event"]["item_code"], again.json()["event"]["item_confirmed"]) == ("F02", True)


def test_item_given_with_text_is_confirmed_and_neither_is_refused(api, api_world) -> None:
    c = api("comm_a")
    r = c.post("/api/v1/events", json=_text_only(api_world, "TXT-2", item="C03"))
    assert r.status_code == 201, r.text
    assert (r.json()["event"]["item_code"], r.json()["event"]["item_confirmed"]) == ("C03", True)
    bad = c.post(
        "/api/v1/events", json={k: v for k, v in _text_only(api_world, "TXT-3").items() if k != "text"}
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "item_or_text" and bad.json()["message_zh"]


def test_a_batch_of_text_only_events_carries_unconfirmed_suggestions(
    api, api_world, session: Session
) -> None:
    """Test that /events/batch treats an event with text and no item as POST /events does: the item is
    the suggestion, marked unconfirmed, the text kept; an event with an item and text is confirmed."""
    c = api("comm_a")
    batch = [_text_only(api_world, "TXB-1"), _text_only(api_world, "TXB-2", item="C03")]
    r = c.post("/api/v1/events/batch", json={"events": batch})
    assert r.status_code == 200, r.text
    assert r.json()["added"] == 2
    session.expire_all()
    got = {e.event_no: e for e in session.exec(select(Event).where(Event.event_no.startswith("TXB-")))}
    assert (got["TXB-1"].item_code, got["TXB-1"].suggested_item, got["TXB-1"].item_confirmed) == (
        "F03",
        "F03",
        False,
    )
    assert got["TXB-1"].report_text == TEXT and 0 < got["TXB-1"].suggestion_confidence <= 1
    assert (got["TXB-2"].item_code, got["TXB-2"].item_confirmed) == ("C03", True)
    neither = {k: v for k, v in _text_only(api_world, "TXB-3").items() if k != "text"}
    bad = c.post("/api/v1/events/batch", json={"events": [neither]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["row"] == 2, bad.text
    assert session.exec(select(Event).where(Event.event_no == "TXB-3")).first() is None
