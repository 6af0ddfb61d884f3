"""Tasks other areas act on: open events, verification tasks and overdue patrols as one table, and
assignment (which records the reason shown to the worker).

A task id is a string "<kind>:<id>" (event:12, verification:3, patrol:45 for a building) so the three
kinds never collide.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import case, func
from sqlalchemy import select as sa_select  # more columns than sqlmodel's select is typed for
from sqlmodel import Session, col, select

from core.audit import record
from core.errors import GridwiseError
from core.inbox import notify
from core.models import OrgLevel, OrgUnit, Role, Worker, WorkerStatus
from core.scope import SYSTEM, ScopeError, Viewer, ensure_can_see_worker, in_scope, unit_scope_clause
from core.sql import rare, unindexed
from evaluation.field import events as ev
from evaluation.field.models import Event, EventState, RentalBuilding, VerificationTask
from evaluation.field.registry import field_now, item_lookup
from evaluation.field.rentals import buildings_frame, overdue_patrol_holders, overdue_patrol_rows
from evaluation.field.verification import assignment_notice

TASK_COLUMNS = [
    "task_id",
    "kind",
    "item_code",
    "category_code",
    "priority",
    "grid_id",
    "community_id",
    "lat",
    "lon",
    "due_at",
    "assignee_id",
    "title_zh",
    "title_en",
]
# Events still to be handled by a worker (registered and waiting, or held by one).
TASK_EVENT_STATES = [
    s.value
    for s in (
        EventState.REGISTERED,
        EventState.DISPATCHED,
        EventState.SIGNED,
        EventState.HANDLING,
        EventState.POSTPONE_PENDING,
        EventState.REOPENED,
    )
]
PATROL_PRIORITY = {"red": "urgent", "orange": "normal", "yellow": "normal", "green": "normal"}


def parse_task_id(task_id: str) -> tuple[str, int]:
    kind, _, raw = str(task_id).partition(":")
    if kind not in ("event", "verification", "patrol") or not raw.isdigit():
        raise GridwiseError("field.err.task_id", task_id=task_id)
    return kind, int(raw)


def _in_scope(viewer: Viewer, grid_col):  # noqa: ANN001, ANN202
    return grid_col.in_(select(OrgUnit.id).where(unit_scope_clause(viewer)))


def open_tasks(session: Session, viewer: Viewer, *, now: datetime | None = None) -> pd.DataFrame:
    """Open events, open verification tasks and overdue patrols in the viewer's scope (a worker: their own)."""
    at = field_now(session, now)
    worker_only = viewer.role == Role.WORKER
    # Each kind's rows are made as plain tuples in TASK_COLUMNS' order and become one frame each: built column
    # by column in pandas, a community's dozen tasks cost ~40 ms of CPU a cold read (issue #21).
    kinds: list[list[tuple[Any, ...]]] = []

    stmt = sa_select(
        col(Event.id),
        col(Event.item_code),
        col(Event.category_code),
        col(Event.priority),
        col(Event.grid_id),
        col(Event.community_id),
        col(Event.lat),
        col(Event.lon),
        col(Event.due_at),
        col(Event.assignee_id),
        col(Event.location),
    ).where(rare(col(Event.state).in_(TASK_EVENT_STATES)))
    stmt = (
        stmt.where(col(Event.assignee_id) == viewer.worker_id)
        if worker_only
        # the open states' index drives, scope filters: the grid index would read every year of history
        else stmt.where(_in_scope(viewer, unindexed(col(Event.grid_id))))
    )
    events = session.execute(stmt).all()
    if events:
        items = item_lookup()
        kinds.append(
            [
                (
                    f"event:{i}",
                    "event",
                    item,
                    category,
                    priority,
                    grid,
                    community,
                    lat,
                    lon,
                    due,
                    who,
                    f"{items.get(item, {}).get('item_zh', item)} · {where or ''}",
                    f"{items.get(item, {}).get('item_en', item)} · {where or ''}",
                )
                for i, item, category, priority, grid, community, lat, lon, due, who, where in events
            ]
        )

    vstmt: Any = sa_select(
        col(VerificationTask.id),
        col(VerificationTask.grid_id),
        col(VerificationTask.community_id),
        col(VerificationTask.lat),
        col(VerificationTask.lon),
        col(VerificationTask.due_at),
        col(VerificationTask.assignee_id),
        col(VerificationTask.title_zh),
        col(VerificationTask.title_en),
    ).where(col(VerificationTask.state) == "open")
    if worker_only:
        vstmt = vstmt.where(col(VerificationTask.assignee_id) == viewer.worker_id)
    else:
        vstmt = vstmt.where(
            col(VerificationTask.community_id).in_(select(col(OrgUnit.id)).where(unit_scope_clause(viewer)))
        )
    kinds.append(
        [
            (f"verification:{i}", "verification", None, "verification", "normal", grid, community, lat, lon)
            + (due, who, title_zh, title_en)
            for i, grid, community, lat, lon, due, who, title_zh, title_en in session.execute(vstmt)
        ]
    )

    patrols = overdue_patrol_rows(
        session,
        viewer if not worker_only else _district(viewer),
        at,
        assignee_id=viewer.worker_id if worker_only else None,
    )
    kinds.append(
        [
            (f"patrol:{i}", "patrol", None, "rental", PATROL_PRIORITY.get(grade), grid, community, lat, lon)
            + (due, who, f"出租屋巡查 · {address}", f"Rental patrol · {code}")
            for i, code, address, grid, community, lat, lon, grade, due, who in patrols
        ]
    )
    frames = [pd.DataFrame(rows, columns=TASK_COLUMNS) for rows in kinds if rows]
    if not frames:
        return pd.DataFrame(columns=TASK_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out["due_at"] = pd.to_datetime(out["due_at"])
    out["assignee_id"] = out["assignee_id"].astype("Int64")
    return out.sort_values(["due_at", "task_id"], na_position="last", kind="stable").reset_index(drop=True)


def _district(viewer: Viewer) -> Viewer:
    return replace(viewer, role=Role.MANAGER, scope_level=OrgLevel.DISTRICT, scope_unit_id=None)


def _ensure_unit_in_scope(session: Session, viewer: Viewer, unit_id: int | None) -> None:
    if not viewer.is_manager and viewer.role != Role.WORKER:
        raise ScopeError("scope.err.task_out_of_scope")
    unit = session.get(OrgUnit, unit_id) if unit_id is not None else None
    if not in_scope(viewer, unit.path if unit else None):
        raise ScopeError("scope.err.task_out_of_scope")


HAND_DISPATCH = ("管理员人工派遣", "Dispatched by a manager")  # the reason a worker reads for a hand dispatch


def act_on_event(
    session: Session,
    viewer: Viewer,
    *,
    event_id: int,
    action: str,
    worker_id: int | None = None,
    note: str | None = None,
    satisfaction: str | None = None,
    extend_hours: float | None = None,
    now: datetime | None = None,
) -> None:
    """One action on one event from the events page: ``dispatch`` hands it to ``worker_id`` (assign_task,
    with the note as the reason), any other action is the event's transition."""
    if action == "dispatch":
        if worker_id is None:
            raise GridwiseError("field.err.dispatch_needs_worker")
        assign_task(
            session,
            viewer,
            task_id=f"event:{event_id}",
            worker_id=worker_id,
            reason_zh=HAND_DISPATCH[0],
            reason_en=HAND_DISPATCH[1],
            assigned_by=viewer.user_id,
            override_reason=note or None,
            now=now,
        )
        return
    ev.transition(
        session,
        viewer,
        event_id=event_id,
        action=action,
        note=note or None,
        satisfaction=satisfaction,
        extend_hours=extend_hours,
        now=now,
    )


def assign_task(
    session: Session,
    viewer: Viewer,
    *,
    task_id: str,
    worker_id: int,
    reason_zh: str,
    reason_en: str,
    assigned_by: int,
    override_reason: str | None = None,
    now: datetime | None = None,
    recommended_worker_id: int | None = None,
) -> None:
    """Assign a task and record why (shown to the worker). An event moves to DISPATCHED with its deadlines.
    The audit trail gets the previous and new assignee, the recommended worker (when the caller ranked
    candidates) and the override reason."""
    if not viewer.is_manager:
        raise ScopeError("scope.err.manager_assign")
    at = field_now(session, now)
    worker = ensure_can_see_worker(viewer, session.get(Worker, worker_id))
    if worker.status != WorkerStatus.ACTIVE.value:
        raise GridwiseError("field.err.not_on_duty", name=worker.name, status=worker.status)
    kind, key = parse_task_id(task_id)
    reasons = {"assign_reason_zh": reason_zh[:500], "assign_reason_en": reason_en[:500]}
    if kind == "event":
        event = session.get(Event, key)
        if event is None:
            raise GridwiseError("field.err.no_event", event_id=key)
        previous = event.assignee_id
        if event.state == EventState.DISPATCHED.value:
            ev._ensure_may_act(viewer, session, event, "dispatch")
            event.assignee_id = worker_id  # re-assignment before signing: the deadlines stand
        else:
            ev.transition(
                session,
                viewer,
                event_id=key,
                action="dispatch",
                assignee_id=worker_id,
                now=at,
                note=override_reason,
            )
        for k, v in reasons.items():
            setattr(event, k, v)
        event.assigned_by, event.override_reason = assigned_by, override_reason
        session.add(event)
    elif kind == "verification":
        task = session.get(VerificationTask, key)
        if task is None or task.state != "open":
            raise GridwiseError("field.err.no_verification", task=key)
        _ensure_unit_in_scope(session, viewer, task.grid_id or task.community_id)
        previous = task.assignee_id
        task.assignee_id, task.assigned_by, task.override_reason = worker_id, assigned_by, override_reason
        task.assign_reason_zh, task.assign_reason_en = (
            reasons["assign_reason_zh"],
            reasons["assign_reason_en"],
        )
        session.add(task)
    else:
        building = session.get(RentalBuilding, key)
        if building is None:
            raise GridwiseError("field.err.no_building", building_id=key)
        _ensure_unit_in_scope(session, viewer, building.grid_id)
        previous = building.patrol_assignee_id
        building.patrol_assignee_id = worker_id
        building.patrol_reason_zh, building.patrol_reason_en = (
            reasons["assign_reason_zh"],
            reasons["assign_reason_en"],
        )
        session.add(building)
    record(
        session,
        "assign.override" if override_reason else "assign.task",
        viewer=viewer,
        entity="task",
        entity_id=task_id,
        before={"assignee_id": previous},
        after={"assignee_id": worker_id, "assignee": worker.employee_no},
        detail={"recommended_worker_id": recommended_worker_id, "override_reason": override_reason},
    )
    if previous != worker_id:  # tell the worker; 查看 opens this very task (a repeated assignment: once)
        notify(
            session, [assignment_notice(task_id, worker_id, *_task_titles(session, kind, key), at)], now=at
        )
    session.flush()


def _task_titles(session: Session, kind: str, key: int) -> tuple[str, str]:
    if kind == "event":
        event = session.get(Event, key)
        meta = item_lookup().get(event.item_code, {}) if event else {}
        where = f" · {event.location}" if event and event.location else ""
        return f"{meta.get('item_zh', '')}{where}", f"{meta.get('item_en', '')}{where}"
    if kind == "verification":
        task = session.get(VerificationTask, key)
        return (task.title_zh, task.title_en) if task else ("", "")
    building = session.get(RentalBuilding, key)
    address = building.address if building else ""
    return f"出租屋巡查 {address}".strip(), f"Rental patrol {address}".strip()


_COUNTS = ["handled", "ontime", "rework", "satisfied", "rated"]  # _performance_counts' columns


def _performance_counts() -> list[Any]:
    """handled, on time, reworks, satisfied, rated: the counts behind perf_cat, over events fed back since."""
    ontime = (col(Event.closed_at).is_not(None)) & (col(Event.feedback_at) <= col(Event.due_at))
    return [
        func.count(),
        func.sum(case((ontime, 1), else_=0)),
        func.sum(col(Event.rework_count)),
        func.sum(case((col(Event.satisfaction).in_(["satisfied", "basic"]), 1), else_=0)),
        func.count(col(Event.satisfaction)),
    ]


def category_performance(
    session: Session, *, since: date, worker_ids: Collection[int] | None = None
) -> pd.DataFrame:
    """Per worker × category since ``since`` (events whose first feedback came then): handled, on time,
    reworks, satisfied and rated — the raw counts behind perf_cat in dispatch (DOMAIN.md §7). Every worker's,
    or those of ``worker_ids``."""
    start = datetime.combine(since, datetime.min.time())
    worker: Any
    if worker_ids is None:  # every worker: read through the feedback_at index, not the assignee's
        worker = unindexed(col(Event.assignee_id))
        mine = worker.is_not(None)
    else:  # a few workers (a community's): their events through the assignee index, not a district's year
        worker = col(Event.assignee_id)
        mine = worker.in_(list(worker_ids))
    stmt = (
        sa_select(worker, col(Event.category_code), *_performance_counts())
        .where(mine, col(Event.feedback_at) >= start)
        .group_by(worker, col(Event.category_code))
    )
    return _counts_frame(session, stmt, ["worker_id", "category_code"])


def category_totals(session: Session, *, since: date) -> pd.DataFrame:
    """``category_performance`` summed over every worker, per category (the pooled rates dispatch smooths each
    worker's towards): category_code, handled, ontime, rework, satisfied, rated."""
    start = datetime.combine(since, datetime.min.time())
    worker = unindexed(col(Event.assignee_id))
    stmt = (
        sa_select(col(Event.category_code), *_performance_counts())
        .where(worker.is_not(None), col(Event.feedback_at) >= start)
        .group_by(col(Event.category_code))
    )
    return _counts_frame(session, stmt, ["category_code"])


def _counts_frame(session: Session, stmt: Any, keys: list[str]) -> pd.DataFrame:  # noqa: ANN401
    """The rows of a ``_performance_counts`` query grouped by ``keys``, the counts as whole numbers (0 for a sum
    of nothing), made in plain Python (pandas column by column: ~5 ms a read)."""
    n = len(keys)
    rows = [(*row[:n], *(int(v or 0) for v in row[n:])) for row in session.execute(stmt)]
    out = pd.DataFrame(rows, columns=[*keys, *_COUNTS])
    return out if rows else out.astype(dict.fromkeys(_COUNTS, int))


def worker_load(
    session: Session, *, now: datetime | None = None, worker_ids: Collection[int] | None = None
) -> pd.DataFrame:
    """Every active worker (or those of ``worker_ids``): tasks open now and tasks given in the last 30 days."""
    at = field_now(session, now)
    since = at - timedelta(days=30)
    ids = list(worker_ids) if worker_ids is not None else None
    active = select(Worker.id).where(col(Worker.status) == WorkerStatus.ACTIVE.value)
    workers = pd.DataFrame(
        session.exec(active.where(col(Worker.id).in_(ids)) if ids is not None else active).all(),
        columns=["worker_id"],
    )
    held = [
        s.value
        for s in (
            EventState.DISPATCHED,
            EventState.SIGNED,
            EventState.HANDLING,
            EventState.POSTPONE_PENDING,
            EventState.REOPENED,
        )
    ]
    # Read through the state and dispatched_at indexes; grouping on the assignee's index instead would read
    # every event ever dispatched (SQLite's planner prefers it to a sort).
    worker = unindexed(col(Event.assignee_id))
    mine = [col(Event.assignee_id).in_(ids)] if ids is not None else []
    ev_open = session.execute(
        sa_select(worker, func.count()).where(rare(col(Event.state).in_(held)), *mine).group_by(worker)
    ).all()
    ev_recent = session.execute(
        sa_select(worker, func.count()).where(col(Event.dispatched_at) >= since, *mine).group_by(worker)
    ).all()
    v_mine = [col(VerificationTask.assignee_id).in_(ids)] if ids is not None else []
    v_open = session.exec(
        select(VerificationTask.assignee_id, func.count())
        .where(col(VerificationTask.state) == "open", *v_mine)
        .group_by(col(VerificationTask.assignee_id))
    ).all()
    v_recent = session.exec(
        select(VerificationTask.assignee_id, func.count())
        .where(col(VerificationTask.created_at) >= since, *v_mine)
        .group_by(col(VerificationTask.assignee_id))
    ).all()
    if ids is None:
        patrols = buildings_frame(session, _district(SYSTEM), now=at)
        p_open = patrols.loc[patrols["patrol_overdue"], "patrol_assignee_id"].dropna().tolist()
    else:
        p_open = overdue_patrol_holders(session, ids, at=at)

    def counts(*parts: Iterable[tuple[Any, int]]) -> Counter[Any]:
        total: Counter[Any] = Counter()
        for rows in parts:
            for k, n in rows:
                if k is not None:
                    total[k] += n
        return total

    open_ = counts(ev_open, v_open, [(k, 1) for k in p_open])
    recent = counts(ev_recent, v_recent)
    ids_ = workers["worker_id"].tolist()
    workers["open_tasks"] = pd.Series([int(open_.get(w, 0)) for w in ids_], index=workers.index, dtype=int)
    workers["tasks_last_30d"] = pd.Series(
        [int(recent.get(w, 0)) for w in ids_], index=workers.index, dtype=int
    )
    return workers


def my_tasks(session: Session, viewer: Viewer, *, now: datetime | None = None) -> pd.DataFrame:
    """A worker's events (open ones first) with the reason they were assigned and the allowed actions."""
    at = field_now(session, now)
    if viewer.worker_id is None:
        return pd.DataFrame()
    stmt = (
        sa_select(
            col(Event.id),
            col(Event.event_no),
            col(Event.item_code),
            col(Event.priority),
            col(Event.state),
            col(Event.location),
            col(Event.due_at),
            col(Event.sign_due_at),
            col(Event.assign_reason_zh),
            col(Event.assign_reason_en),
            col(Event.result),
            col(Event.escalation),
        )
        .where(
            col(Event.assignee_id) == viewer.worker_id,
            col(Event.state).in_([s.value for s in ev.OPEN_STATES]),
        )
        .order_by(col(Event.due_at))
    )
    frame = pd.DataFrame(
        session.execute(stmt).all(),
        columns=[
            "id",
            "event_no",
            "item_code",
            "priority",
            "state",
            "location",
            "due_at",
            "sign_due_at",
            "assign_reason_zh",
            "assign_reason_en",
            "result",
            "escalation",
        ],
    )
    if frame.empty:
        frame["overdue"] = pd.Series(dtype=bool)
        frame["actions"] = pd.Series(dtype=object)
        return frame
    frame["overdue"] = ev._overdue_mask(frame, at)
    frame["actions"] = frame["state"].map(
        lambda s: [a for a in ev.allowed_actions(s, Role.WORKER) if a in ev.WORKER_ACTIONS]
    )
    frame = frame.sort_values(["overdue", "due_at"], ascending=[False, True], na_position="last")
    return frame.reset_index(drop=True)
