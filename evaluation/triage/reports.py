"""Events created from what people write: a worker's report on the phone (item suggested, then confirmed
or changed by the worker), an event that arrives with text and no item (item suggested, marked
unconfirmed until a manager confirms it), the managers' confirmation, and how often suggestions are
accepted.

Idempotency: a report carries a client key made once per form on the phone (``new_report_key``); its
event number is derived from (worker, key) and inserted with ON CONFLICT DO NOTHING, so a double tap or
a retried request gives one event. A text-only event is keyed by its own event number.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import and_, case, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core.audit import record
from core.errors import GridwiseError
from core.models import OrgLevel, OrgUnit, Role, Worker, row_id
from core.scope import ScopeError, Viewer, in_scope, unit_scope_clause
from core.sql import insert_ignore, unindexed
from evaluation.field.models import Event, EventState, EventTransition
from evaluation.field.registry import field_now
from evaluation.triage.service import MAX_TEXT, item_info, suggest

MAX_REPORT = 1000


class TriageError(GridwiseError):
    prefix = "triage.err."


def new_report_key() -> str:
    """A fresh key for one report form (kept by the page until the report is sent)."""
    return secrets.token_hex(8)


def _clean_text(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise TriageError("empty_text")
    if len(text) > MAX_REPORT:
        raise TriageError("text_too_long", limit=MAX_REPORT)
    return text


def _item(code: str) -> dict[str, Any]:
    try:
        return item_info(code)
    except KeyError:
        raise TriageError("unknown_item", item=code) from None


def report_event(
    session: Session,
    viewer: Viewer,
    *,
    text: str,
    item_code: str,
    client_key: str,
    suggested_item: str | None = None,
    confidence: float | None = None,
    location: str | None = None,
    now: datetime | None = None,
) -> tuple[Event, bool]:
    """A worker reports an event in their own grid with the item they confirmed (the suggestion they saw
    is kept beside it). Returns (event, created); a repeat of the same ``client_key`` returns the first."""
    if viewer.role != Role.WORKER or viewer.worker_id is None:
        raise ScopeError("triage.err.workers_only")
    worker = session.get(Worker, viewer.worker_id)
    if worker is None:
        raise ScopeError()
    text = _clean_text(text)
    info = _item(item_code)
    if suggested_item is not None:
        _item(suggested_item)
    digest = hashlib.sha256(f"{worker.id}:{client_key}".encode()).hexdigest()[:12].upper()
    event_no = f"R{worker.id}-{digest}"
    at = field_now(session, now)
    created = insert_ignore(
        session,
        Event,
        [
            _event_row(
                event_no=event_no,
                info=info,
                grid_id=worker.grid_id,
                community_id=worker.community_id,
                at=at,
                text=text,
                suggested_item=suggested_item,
                confidence=confidence,
                confirmed=True,
                reporter_id=worker.id,
                location=(location or "").strip()[:200] or None,
            )
        ],
        ["event_no"],
    )
    event = session.exec(select(Event).where(Event.event_no == event_no)).one()
    if created:
        _submitted(session, event, at, viewer.user_id)
    return event, bool(created)


def report_from_text(
    session: Session,
    viewer: Viewer,
    *,
    event_no: str,
    grid_id: int,
    text: str,
    location: str | None = None,
    now: datetime | None = None,
) -> tuple[Event, bool]:
    """An event that arrives with text and no item (another system, the API): it takes the suggested item,
    marked unconfirmed, until a manager confirms or changes it. Idempotent by ``event_no``."""
    grid = session.get(OrgUnit, grid_id)
    if grid is None or grid.level != OrgLevel.GRID or grid.parent_id is None:
        raise TriageError("unknown_grid", grid=grid_id)
    if not in_scope(viewer, grid.path):
        raise ScopeError()
    text = _clean_text(text)
    s = suggest(text[:MAX_TEXT])
    at = field_now(session, now)
    created = insert_ignore(
        session,
        Event,
        [
            _event_row(
                event_no=event_no,
                info=_item(s["item"]),
                grid_id=grid_id,
                community_id=grid.parent_id,
                at=at,
                text=text,
                suggested_item=s["item"],
                confidence=s["confidence"],
                confirmed=False,
                reporter_id=None,
                location=(location or "").strip()[:200] or None,
            )
        ],
        ["event_no"],
    )
    event = session.exec(select(Event).where(Event.event_no == event_no)).one()
    if created:
        _submitted(session, event, at, viewer.user_id or None)
    return event, bool(created)


def _event_row(
    *,
    event_no: str,
    info: dict[str, Any],
    grid_id: int,
    community_id: int,
    at: datetime,
    text: str,
    suggested_item: str | None,
    confidence: float | None,
    confirmed: bool,
    reporter_id: int | None,
    location: str | None,
) -> dict[str, Any]:
    return {
        "event_no": event_no,
        "item_code": info["item"],
        "category_code": info["category"],
        "grid_id": grid_id,
        "community_id": community_id,
        "location": location,
        "priority": info["default_priority"],
        "state": EventState.REPORTED.value,
        "reporter_id": reporter_id,
        "discovered_at": at,
        "reported_at": at,
        "source": "app",
        "report_text": text,
        "suggested_item": suggested_item,
        "suggestion_confidence": None if confidence is None else round(float(confidence), 4),
        "item_confirmed": confirmed,
        "updated_at": at,
        "rework_count": 0,
        "reopen_count": 0,
        "return_count": 0,
        "escalation": 0,
        "postponed": False,
    }


def _submitted(session: Session, event: Event, at: datetime, user_id: int | None) -> None:
    session.add(
        EventTransition(
            event_id=row_id(event.id),
            action="submit",
            from_state=EventState.DRAFT.value,
            to_state=EventState.REPORTED.value,
            at=at,
            actor_user_id=user_id,
        )
    )
    session.flush()


def _in_scope(viewer: Viewer):  # noqa: ANN202
    return col(Event.grid_id).in_(select(col(OrgUnit.id)).where(unit_scope_clause(viewer)))


def _suggested_in_scope(viewer: Viewer):  # noqa: ANN202
    """Events that came with a suggested item, in scope: read through the partial index of those few
    (ix_field_event_suggested), the scope a filter — through the grid index it read every event kept."""
    return and_(
        col(Event.suggested_item).is_not(None),
        unindexed(col(Event.grid_id)).in_(select(col(OrgUnit.id)).where(unit_scope_clause(viewer))),
    )


def confirm_item(
    session: Session, viewer: Viewer, *, event_id: int, item_code: str, now: datetime | None = None
) -> Event:
    """A manager confirms an event's suggested item or changes it; audited (old → new item)."""
    if not viewer.is_manager:
        raise ScopeError("triage.err.managers_only")
    event = session.exec(select(Event).where(Event.id == event_id, _in_scope(viewer))).first()
    if event is None:
        raise ScopeError()
    info = _item(item_code)
    before = {"item_code": event.item_code, "item_confirmed": event.item_confirmed}
    if event.item_code != info["item"]:
        event.item_code, event.category_code = info["item"], info["category"]
        if event.state == EventState.REPORTED.value:  # not yet triaged by hand: the item's own priority
            event.priority = info["default_priority"]
    event.item_confirmed = True
    event.updated_at = field_now(session, now)
    session.add(event)
    record(
        session,
        "field.event.confirm_item",
        viewer=viewer,
        entity="event",
        entity_id=event.event_no,
        before=before,
        after={"item_code": event.item_code, "item_confirmed": True},
        detail={"suggested_item": event.suggested_item, "confidence": event.suggestion_confidence},
    )
    session.flush()
    return event


def unconfirmed_events(session: Session, viewer: Viewer, *, limit: int = 200) -> pd.DataFrame:
    """Events in scope whose item is an unconfirmed suggestion, newest first."""
    stmt = (
        sa_select(
            col(Event.id),
            col(Event.event_no),
            col(Event.report_text),
            col(Event.suggested_item),
            col(Event.suggestion_confidence),
            col(Event.item_code),
            col(Event.community_id),
            col(Event.reported_at),
        )
        # only an event that came with a suggestion is ever unconfirmed (keep_report_text)
        .where(col(Event.item_confirmed).is_(False), _suggested_in_scope(viewer))
        .order_by(col(Event.reported_at).desc(), col(Event.id).desc())
        .limit(limit)
    )
    columns = [
        "id",
        "event_no",
        "report_text",
        "suggested_item",
        "confidence",
        "item_code",
        "community_id",
        "reported_at",
    ]
    return pd.DataFrame(session.execute(stmt).all(), columns=columns)


def suggestion_acceptance(
    session: Session, viewer: Viewer, *, start: datetime | None = None, end: datetime | None = None
) -> dict[str, Any]:
    """Of the events in scope that carried a suggestion and have a confirmed item: how many kept it.
    ``rate`` is None when there is none yet."""
    stmt = sa_select(
        func.count(),
        func.sum(case((col(Event.item_code) == col(Event.suggested_item), 1), else_=0)),
    ).where(col(Event.item_confirmed).is_(True), _suggested_in_scope(viewer))
    pending = sa_select(func.count()).where(col(Event.item_confirmed).is_(False), _suggested_in_scope(viewer))
    if start is not None:
        stmt = stmt.where(col(Event.reported_at) >= start)
        pending = pending.where(col(Event.reported_at) >= start)
    if end is not None:
        stmt = stmt.where(col(Event.reported_at) < end)
        pending = pending.where(col(Event.reported_at) < end)
    confirmed, accepted = session.execute(stmt).one()
    confirmed, accepted = int(confirmed or 0), int(accepted or 0)
    return {
        "confirmed": confirmed,
        "accepted": accepted,
        "changed": confirmed - accepted,
        "pending": int(session.execute(pending).scalar_one() or 0),
        "rate": accepted / confirmed if confirmed else None,
    }


def item_for_text(session: Session, *, event_no: str, text: str) -> tuple[str, dict[str, Any]]:
    """The item an event sent with text and no item takes: the suggestion, unless a manager has already
    confirmed this event's item (a repeated request must not undo the confirmation)."""
    s = suggest(_clean_text(text)[:MAX_TEXT])
    known = session.exec(select(Event).where(Event.event_no == event_no)).first()
    if known is not None and known.item_confirmed and known.suggested_item is not None:
        return known.item_code, s
    return s["item"], s


def keep_report_text(
    session: Session, event: Event, *, text: str, suggestion: dict[str, Any] | None = None
) -> Event:
    """Keep the text an event came with; with ``suggestion`` (it came without an item) the item is that
    suggestion, marked unconfirmed until a manager confirms it (a confirmed item stays confirmed)."""
    event.report_text = _clean_text(text)
    if suggestion is not None and not (event.item_confirmed and event.suggested_item is not None):
        event.suggested_item = suggestion["item"]
        event.suggestion_confidence = round(float(suggestion["confidence"]), 4)
        event.item_confirmed = False
    session.add(event)
    session.flush()
    return event
