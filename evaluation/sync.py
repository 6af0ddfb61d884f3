"""Incremental reads for other systems (the API's list endpoints): keyset pages in a stable order.

Each page is ordered by (time, id) and continues strictly after the last row of the previous page, so a
row inserted meanwhile lands after the rows already read (its time is later) instead of shifting the
pages, as OFFSET would. Scope is filtered in SQL, exactly as the pages' own reads do.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from core.models import OrgUnit, Role, Worker
from core.scope import ScopeError, Viewer, unit_scope_clause, worker_scope_clause
from evaluation.assignment.models import AssignmentDecision
from evaluation.field.models import Event

Key = tuple[datetime, int]


def _after(time_col, id_col, after: Key | None):  # noqa: ANN001, ANN202
    if after is None:
        return None
    at, last_id = after
    return or_(time_col > at, and_(time_col == at, id_col > last_id))


def events_page(
    session: Session,
    viewer: Viewer,
    *,
    updated_since: datetime | None = None,
    after: Key | None = None,
    limit: int = 100,
) -> list[Event]:
    """Events in the viewer's scope (a worker: assigned to them) ordered by (updated_at, id)."""
    stmt = select(Event).where(col(Event.grid_id).in_(select(OrgUnit.id).where(unit_scope_clause(viewer))))
    if viewer.role == Role.WORKER:
        stmt = select(Event).where(Event.assignee_id == viewer.worker_id)
    if updated_since is not None:
        stmt = stmt.where(Event.updated_at >= updated_since)
    if (cond := _after(Event.updated_at, Event.id, after)) is not None:
        stmt = stmt.where(cond)
    return list(session.exec(stmt.order_by(col(Event.updated_at), col(Event.id)).limit(limit)).all())


def event_by_no(session: Session, viewer: Viewer, event_no: str) -> Event | None:
    """One event by number if the viewer may see it (None when there is none); ScopeError when it is
    another scope's."""
    event = session.exec(select(Event).where(Event.event_no == event_no)).first()
    if event is None:
        return None
    visible = session.exec(
        select(Event.id).where(
            Event.id == event.id, col(Event.grid_id).in_(select(OrgUnit.id).where(unit_scope_clause(viewer)))
        )
    ).first()
    if viewer.role == Role.WORKER:
        visible = event.assignee_id is not None and event.assignee_id == viewer.worker_id
    if not visible:
        raise ScopeError("field.err.event_out_of_scope")
    return event


def decisions_page(
    session: Session,
    viewer: Viewer,
    *,
    since: datetime | None = None,
    after: Key | None = None,
    limit: int = 100,
) -> list[AssignmentDecision]:
    """Assignment decisions whose chosen worker is in scope, ordered by (decided_at, id)."""
    stmt = (
        select(AssignmentDecision)
        .join(Worker, col(Worker.id) == AssignmentDecision.chosen_worker_id)
        .where(worker_scope_clause(viewer))
    )
    if since is not None:
        stmt = stmt.where(AssignmentDecision.decided_at >= since)
    if (cond := _after(AssignmentDecision.decided_at, AssignmentDecision.id, after)) is not None:
        stmt = stmt.where(cond)
    return list(
        session.exec(
            stmt.order_by(col(AssignmentDecision.decided_at), col(AssignmentDecision.id)).limit(limit)
        ).all()
    )


def worker_by_no(session: Session, viewer: Viewer, employee_no: str) -> Worker | None:
    """A worker by employee number if in scope (None when there is none; ScopeError when outside)."""
    worker = session.exec(select(Worker).where(Worker.employee_no == employee_no)).first()
    if worker is None:
        return None
    if (
        session.exec(select(Worker.id).where(Worker.id == worker.id, worker_scope_clause(viewer))).first()
        is None
    ):
        raise ScopeError("scope.err.worker_out_of_scope")
    return worker
