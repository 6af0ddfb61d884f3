"""The closed loop of an event (网格事件闭环, DOMAIN.md §4.2) as a pure, table-driven state machine,
plus the database side: apply an action with its timestamp, history, overdue detection, escalation.

Deadlines: dispatch sets the sign deadline (sign limit) and a provisional handling deadline; signing
resets the handling deadline to signed + handle limit (data/sla.json: the sign limit runs from
dispatch, the handle limit from signing). An event is overdue when it sits in a handling state past
its deadline, or is still unsigned past the sign deadline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import and_, case, func, insert, or_, update
from sqlalchemy import select as sa_select  # more columns than sqlmodel's select is typed for
from sqlmodel import Session, col, select

from core.audit import changed_fields, clip, record
from core.errors import GridwiseError
from core.i18n import t
from core.models import OrgUnit, Role, Worker, row_id
from core.scope import (
    ScopeError,
    Viewer,
    ensure_can_see_worker,
    in_scope,
    unit_scope_clause,
    worker_scope_clause,
)
from core.sql import rare, unindexed
from evaluation.field.models import Event, EventState, EventTransition
from evaluation.field.registry import field_now, shipped_sla, sla_levels

S = EventState
MANAGER_ROLES = frozenset({Role.MANAGER, Role.SYSADMIN})
ANY_ROLE = frozenset({Role.WORKER, Role.MANAGER, Role.SYSADMIN})


class IllegalTransition(GridwiseError):
    """The action is not allowed from the event's current state (or by this person): a catalog key
    (``field.err.…``) whose ``action``, ``state``, ``role`` and ``legal`` parameters are shown translated
    (``field.action.*``, ``field.state.*``, ``role.*``), so a refused step reads whole in the reader's language."""

    def message(self, lang: str) -> str:
        params = dict(self.params)
        if "action" in params:
            params["action"] = t(f"field.action.{params['action']}", lang)
        if "state" in params:
            params["state"] = t(f"field.state.{params['state']}", lang)
        if "role" in params:
            params["role"] = t(f"role.{params['role']}", lang)
        if "legal" in params:
            legal = [t(f"field.action.{a}", lang) for a in str(params["legal"]).split(",") if a]
            params["legal"] = ("、" if lang == "zh" else ", ").join(legal) or t("field.err.no_legal", lang)
        return t(self.key, lang, **params)

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key, **params)
        self.args = (self.message("en"),)


@dataclass(frozen=True)
class Step:
    to: EventState
    roles: frozenset[Role]
    stamp: str | None = None  # Event column set to the action's time
    needs_note: bool = False


# (state, action) → step. The one place the closed loop is defined; everything else reads it.
TRANSITIONS: Mapping[tuple[EventState, str], Step] = {
    (S.DRAFT, "submit"): Step(S.REPORTED, ANY_ROLE, "reported_at"),
    (S.REPORTED, "accept"): Step(S.ACCEPTED, MANAGER_ROLES, "accepted_at"),
    (S.REPORTED, "reject"): Step(S.VOIDED, MANAGER_ROLES, "voided_at", needs_note=True),
    (S.ACCEPTED, "self_resolve"): Step(S.SELF_RESOLVED, ANY_ROLE, "feedback_at", needs_note=True),
    (S.ACCEPTED, "register"): Step(S.REGISTERED, MANAGER_ROLES),
    (S.REGISTERED, "dispatch"): Step(S.DISPATCHED, MANAGER_ROLES, "dispatched_at"),
    (S.DISPATCHED, "sign"): Step(S.SIGNED, ANY_ROLE, "signed_at"),
    (S.DISPATCHED, "return"): Step(S.REGISTERED, ANY_ROLE, needs_note=True),
    (S.SIGNED, "start"): Step(S.HANDLING, ANY_ROLE, "started_at"),
    (S.REOPENED, "start"): Step(S.HANDLING, ANY_ROLE, "started_at"),
    (S.HANDLING, "request_postpone"): Step(S.POSTPONE_PENDING, ANY_ROLE, needs_note=True),
    (S.POSTPONE_PENDING, "approve_postpone"): Step(S.HANDLING, MANAGER_ROLES),
    (S.POSTPONE_PENDING, "deny_postpone"): Step(S.HANDLING, MANAGER_ROLES),
    (S.HANDLING, "feedback"): Step(S.FEEDBACK, ANY_ROLE, "feedback_at", needs_note=True),
    (S.FEEDBACK, "check_pass"): Step(S.CLOSED, MANAGER_ROLES, "closed_at"),
    (S.SELF_RESOLVED, "check_pass"): Step(S.CLOSED, MANAGER_ROLES, "closed_at"),
    (S.FEEDBACK, "check_fail"): Step(S.HANDLING, MANAGER_ROLES, needs_note=True),
    (S.SELF_RESOLVED, "check_fail"): Step(S.HANDLING, MANAGER_ROLES, needs_note=True),
    (S.CLOSED, "rate"): Step(S.EVALUATED, MANAGER_ROLES, "evaluated_at"),  # or REOPENED, see next_state
}
WORKER_ACTIONS = frozenset({"sign", "return", "start", "request_postpone", "feedback", "self_resolve"})
OPEN_STATES = frozenset(
    {
        S.REPORTED,
        S.ACCEPTED,
        S.SELF_RESOLVED,
        S.REGISTERED,
        S.DISPATCHED,
        S.SIGNED,
        S.HANDLING,
        S.POSTPONE_PENDING,
        S.FEEDBACK,
        S.REOPENED,
    }
)
# States in which the assignee holds the event and the handling deadline runs.
HANDLING_STATES = frozenset({S.SIGNED, S.HANDLING, S.POSTPONE_PENDING, S.REOPENED})
SATISFIED = ("satisfied", "basic")
SATISFACTION = ("satisfied", "basic", "unsatisfied")


def allowed_actions(state: EventState | str, role: Role | None = None) -> list[str]:
    state = EventState(state)
    return [a for (s, a), step in TRANSITIONS.items() if s == state and (role is None or role in step.roles)]


def next_state(
    state: EventState | str,
    action: str,
    *,
    role: Role = Role.MANAGER,
    satisfaction: str | None = None,
    note: str | None = None,
) -> EventState:
    """Where ``action`` takes an event in ``state``; IllegalTransition (with the reason) otherwise."""
    state = EventState(state)
    step = TRANSITIONS.get((state, action))
    if step is None:
        raise IllegalTransition(
            "field.err.illegal_state",
            action=action,
            state=state.value,
            legal=",".join(allowed_actions(state)),
        )
    if role not in step.roles:
        raise IllegalTransition("field.err.role_may_not", role=role.value, action=action)
    if step.needs_note and not (note or "").strip():
        raise IllegalTransition("field.err.needs_note", action=action)
    if action == "rate":
        if satisfaction not in SATISFACTION:
            raise IllegalTransition("field.err.rate_needs_satisfaction")
        return S.EVALUATED if satisfaction in SATISFIED else S.REOPENED
    return step.to


def is_overdue(state: str, due_at: datetime | None, sign_due_at: datetime | None, now: datetime) -> bool:
    state = EventState(state)
    if state == S.DISPATCHED:
        return sign_due_at is not None and now > sign_due_at
    return state in HANDLING_STATES and due_at is not None and now > due_at


def _ensure_may_act(viewer: Viewer, session: Session, event: Event, action: str) -> None:
    if viewer.role == Role.WORKER:
        if action not in WORKER_ACTIONS or event.assignee_id is None or event.assignee_id != viewer.worker_id:
            raise ScopeError("field.err.not_your_task")
        return
    _ensure_event_in_scope(viewer, session, event)


def _ensure_event_in_scope(viewer: Viewer, session: Session, event: Event) -> None:
    if not viewer.is_manager:  # the security and audit administrators see no events
        raise ScopeError("field.err.event_out_of_scope")
    grid = session.get(OrgUnit, event.grid_id)
    if not in_scope(viewer, grid.path if grid else None):
        raise ScopeError("field.err.event_out_of_scope")


def transition(
    session: Session,
    viewer: Viewer,
    *,
    event_id: int,
    action: str,
    note: str | None = None,
    satisfaction: str | None = None,
    extend_hours: float | None = None,
    assignee_id: int | None = None,
    now: datetime | None = None,
) -> Event:
    """Apply ``action`` to an event, stamping its time and recording it in the history."""
    at = field_now(session, now)
    event = session.get(Event, event_id)
    if event is None:
        raise GridwiseError("field.err.no_event", event_id=event_id)
    _ensure_may_act(viewer, session, event, action)
    if assignee_id is not None:  # dispatch only to a worker the viewer manages
        ensure_can_see_worker(viewer, session.get(Worker, assignee_id))
    before = EventState(event.state)
    after = next_state(before, action, role=viewer.role, satisfaction=satisfaction, note=note)
    step = TRANSITIONS[(before, action)]
    limits = sla_levels(session)[event.priority]
    was = {"state": event.state, "assignee_id": event.assignee_id, "due_at": event.due_at}
    if step.stamp:
        setattr(event, step.stamp, at)
    if action == "dispatch":
        if assignee_id is None and event.assignee_id is None:
            raise IllegalTransition("field.err.dispatch_needs_worker")
        if assignee_id is not None:
            event.assignee_id = assignee_id
        event.sign_due_at = at + timedelta(hours=limits.sign_limit_hours)
        event.due_at = event.sign_due_at + timedelta(hours=limits.handle_limit_hours)
        event.escalation, event.urged_at, event.supervised_at = 0, None, None
    elif action == "sign":
        event.due_at = at + timedelta(hours=limits.handle_limit_hours)
    elif action == "return":
        event.return_count += 1
        event.assignee_id = None
        event.sign_due_at = event.due_at = None
    elif action == "self_resolve":
        event.assignee_id = event.assignee_id or event.reporter_id
        event.due_at = event.due_at or at
    elif action == "approve_postpone":
        hours = float(extend_hours or limits.handle_limit_hours)
        cap = (event.reported_at or at) + timedelta(hours=float(shipped_sla()["hard_cap_hours"]))
        event.due_at = min(max(event.due_at or at, at) + timedelta(hours=hours), cap)
        event.escalation, event.urged_at, event.supervised_at = 0, None, None
    elif action == "check_fail":
        event.rework_count += 1
    elif action == "rate":
        event.satisfaction = satisfaction
        if after == S.REOPENED:
            event.reopen_count += 1
            event.closed_at = None
            event.due_at = at + timedelta(hours=limits.handle_limit_hours)
    if action in ("feedback", "self_resolve") and note:
        event.result = note[:500]
    event.state = after.value
    event.updated_at = at
    session.add(event)
    session.add(
        EventTransition(
            event_id=row_id(event.id),
            action=action,
            from_state=before.value,
            to_state=after.value,
            at=at,
            actor_user_id=viewer.user_id,
            note=note,
        )
    )
    if viewer.role != Role.WORKER:  # a manager's decision; a worker's own steps are the event history
        old, new = changed_fields(
            was, {"state": event.state, "assignee_id": event.assignee_id, "due_at": event.due_at}
        )
        said = {k: v for k, v in (("note", clip(note)), ("satisfaction", satisfaction)) if v}
        record(
            session,
            f"field.event.{action}",
            viewer=viewer,
            entity="event",
            entity_id=event.event_no,
            before=old,
            after=new,
            detail=said or None,
        )
    session.flush()
    return event


_STAMP_STEPS = [
    ("reported_at", "submit", S.REPORTED),
    ("accepted_at", "accept", S.ACCEPTED),
    ("voided_at", "reject", S.VOIDED),
    ("dispatched_at", "dispatch", S.DISPATCHED),
    ("signed_at", "sign", S.SIGNED),
    ("started_at", "start", S.HANDLING),
    ("feedback_at", "feedback", S.FEEDBACK),
    ("closed_at", "check_pass", S.CLOSED),
    ("evaluated_at", "rate", S.EVALUATED),
]


def event_history(session: Session, viewer: Viewer, event_id: int) -> pd.DataFrame:
    """Recorded transitions; for imported events (no recorded steps) the steps implied by their
    timestamps, marked ``recorded=False``. A manager sees events in scope, a worker those assigned to them."""
    target = session.get(Event, event_id)
    if target is not None:
        if viewer.role == Role.WORKER:
            if target.assignee_id is None or target.assignee_id != viewer.worker_id:
                raise ScopeError("field.err.not_your_task")
        else:
            _ensure_event_in_scope(viewer, session, target)
    rows = session.exec(
        select(EventTransition)
        .where(EventTransition.event_id == event_id)
        .order_by(col(EventTransition.at), col(EventTransition.id))
    ).all()
    cols = ["at", "action", "from_state", "to_state", "note", "recorded"]
    if rows:
        return pd.DataFrame([{**r.model_dump(), "recorded": True} for r in rows])[cols]
    event = session.get(Event, event_id)
    if event is None:
        return pd.DataFrame(columns=cols)
    out, prev = [], None
    for stamp, action, state in _STAMP_STEPS:
        at = getattr(event, stamp)
        if at is not None:
            out.append(
                {
                    "at": at,
                    "action": action,
                    "from_state": prev,
                    "to_state": state.value,
                    "note": event.result if action == "feedback" else None,
                    "recorded": False,
                }
            )
            prev = state.value
    return pd.DataFrame(out, columns=cols).sort_values("at", kind="stable")


@dataclass(frozen=True)
class EventDetail:
    """One event as the events page shows it: the record, its history, and whom it may be dispatched to."""

    event: Event
    history: pd.DataFrame
    workers: pd.DataFrame  # worker_id, name, employee_no: the viewer's workers in the event's community


def event_detail(session: Session, viewer: Viewer, event_id: int) -> EventDetail:
    """The event (in the viewer's scope, or assigned to the worker viewing it) with its history and the
    workers a manager may dispatch it to."""
    event = session.get(Event, event_id)
    if event is None:
        raise GridwiseError("field.err.no_event", event_id=event_id)
    history = event_history(session, viewer, event_id)  # checks the viewer may see it
    workers = pd.DataFrame(
        session.exec(
            select(Worker.id, Worker.name, Worker.employee_no)
            .where(worker_scope_clause(viewer), Worker.community_id == event.community_id)
            .order_by(Worker.employee_no)
        ).all(),
        columns=["worker_id", "name", "employee_no"],
    )
    return EventDetail(event, history, workers)


def _overdue_clause(at: datetime):
    return or_(
        and_(col(Event.state) == S.DISPATCHED.value, col(Event.sign_due_at) < at),
        and_(col(Event.state).in_([s.value for s in HANDLING_STATES]), col(Event.due_at) < at),
    )


def escalate_overdue(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """催办 every overdue event not yet reminded, then 督办 those still overdue ``supervise_after_hours``
    after the reminder. Idempotent: the escalation level on the event decides, so a repeated or late
    run does the right thing."""
    at = field_now(session, now)
    limits = {code: lvl.supervise_after_hours for code, lvl in sla_levels(session).items()}
    due = session.execute(
        sa_select(
            col(Event.id), col(Event.state), col(Event.escalation), col(Event.urged_at), col(Event.priority)
        ).where(_overdue_clause(at), col(Event.escalation) < 2)
    ).all()
    frame = pd.DataFrame(due, columns=["id", "state", "escalation", "urged_at", "priority"])
    if frame.empty:
        return {"urged": 0, "supervised": 0}
    wait = pd.to_timedelta(frame["priority"].map(limits).fillna(24), unit="h")
    urge = frame[frame["escalation"] == 0]
    supervise = frame[(frame["escalation"] == 1) & (pd.to_datetime(frame["urged_at"]) + wait <= at)]
    conn = session.connection()
    for ids, level, column, action in (
        (urge, 1, "urged_at", "urge"),
        (supervise, 2, "supervised_at", "supervise"),
    ):
        if ids.empty:
            continue
        id_list = ids["id"].astype(int).tolist()
        conn.execute(
            update(Event)
            .where(col(Event.id).in_(id_list), col(Event.escalation) < level)
            .values({"escalation": level, column: at, "updated_at": at})
        )
        conn.execute(
            insert(EventTransition),
            [
                {
                    "event_id": i,
                    "action": action,
                    "from_state": s,
                    "to_state": s,
                    "at": at,
                    "actor_user_id": None,
                    "note": None,
                }
                for i, s in zip(id_list, ids["state"], strict=True)
            ],
        )
    return {"urged": len(urge), "supervised": len(supervise)}


def event_queue(
    session: Session,
    viewer: Viewer,
    *,
    states: list[str] | None = None,
    now: datetime | None = None,
    limit: int = 2000,
) -> pd.DataFrame:
    """Events in scope, overdue first then by deadline, with the assignee's name. Open states only (the
    page's default) are read through the (state, due_at) index with the scope as a filter, so a long
    history of closed events is never read; other states through the grid index of the scope."""
    at = field_now(session, now)
    open_only = bool(states) and set(states or ()) <= {s.value for s in OPEN_STATES}
    grid = unindexed(col(Event.grid_id)) if open_only else col(Event.grid_id)
    stmt = (
        sa_select(
            col(Event.id),
            col(Event.event_no),
            col(Event.item_code),
            col(Event.category_code),
            col(Event.priority),
            col(Event.state),
            col(Event.grid_id),
            col(Event.community_id),
            col(Event.location),
            col(Event.lat),
            col(Event.lon),
            col(Event.reported_at),
            col(Event.sign_due_at),
            col(Event.due_at),
            col(Event.assignee_id),
            col(Worker.name).label("assignee"),
            col(Event.escalation),
            col(Event.rework_count),
            col(Event.reopen_count),
        )
        .join(Worker, col(Worker.id) == col(Event.assignee_id), isouter=True)
        .where(grid.in_(select(col(OrgUnit.id)).where(unit_scope_clause(viewer))))
    )
    if viewer.role == Role.WORKER:
        stmt = stmt.where(col(Event.assignee_id) == viewer.worker_id)
    if states:
        stmt = stmt.where(rare(col(Event.state).in_(states)) if open_only else col(Event.state).in_(states))
    stmt = stmt.order_by(_overdue_clause(at).desc(), col(Event.due_at).is_(None), col(Event.due_at)).limit(
        limit
    )
    frame = pd.DataFrame(
        session.execute(stmt).all(),
        columns=[
            "id",
            "event_no",
            "item_code",
            "category_code",
            "priority",
            "state",
            "grid_id",
            "community_id",
            "location",
            "lat",
            "lon",
            "reported_at",
            "sign_due_at",
            "due_at",
            "assignee_id",
            "assignee",
            "escalation",
            "rework_count",
            "reopen_count",
        ],
    )
    frame["overdue"] = _overdue_mask(frame, at)
    return frame


def _overdue_mask(frame: pd.DataFrame, at: datetime) -> pd.Series:
    if frame.empty:
        return pd.Series([], dtype=bool)
    sign_due = pd.to_datetime(frame["sign_due_at"])
    due = pd.to_datetime(frame["due_at"])
    handling = frame["state"].isin([s.value for s in HANDLING_STATES])
    return ((frame["state"] == S.DISPATCHED.value) & (sign_due < at)) | (handling & (due < at))


def state_counts(session: Session, viewer: Viewer, *, now: datetime | None = None) -> pd.DataFrame:
    """Open events per state in scope, with how many are overdue. Only open states are read (through the
    (state, due_at) index): closed events, nearly all of a long history, are never scanned (issue #21)."""
    at = field_now(session, now)
    stmt = (
        select(
            col(Event.state),
            func.count().label("events"),
            func.sum(case((_overdue_clause(at), 1), else_=0)).label("overdue"),
        )
        .where(
            rare(col(Event.state).in_(sorted(s.value for s in OPEN_STATES))),
            unindexed(col(Event.grid_id)).in_(select(col(OrgUnit.id)).where(unit_scope_clause(viewer))),
        )
        .group_by(col(Event.state))
    )
    return pd.DataFrame(session.exec(stmt).all(), columns=["state", "events", "overdue"])
