"""Overdue events reach people: 催办 (reminder) to the assignee, and at 督办 (supervision order) also to the
community's responsible manager(s), through the courses inbox (``courses.api.notify``).

Notices are worked out from the events' escalation state, not from what one run changed, and each carries
a unique key (event, level, the time of that escalation, recipient): the job may run twice, late or on two
servers and still sends each notice once, and an event escalated again after a re-dispatch or a postponement
(which reset its escalation) is notified again.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import select as sa_select  # more columns than sqlmodel's select is typed for
from sqlmodel import Session, col, select

from core.inbox import notify
from core.models import OrgUnit, Role, User, Worker, row_id
from evaluation.field.events import OPEN_STATES, escalate_overdue
from evaluation.field.models import Event, EventState
from evaluation.field.registry import field_now, item_lookup

URGE, SUPERVISE = "field_urge", "field_supervise"
WORKER_LINK, MANAGER_LINK = "pages/my_tasks.py", "pages/events.py"


def responsible_managers(session: Session, community_ids: list[int]) -> dict[int, list[int]]:
    """Community id → the active managers answering for it: those scoped to the community itself, else to
    the nearest unit above it that has any (subdistrict, then district-wide managers)."""
    units = dict(
        session.exec(select(OrgUnit.id, OrgUnit.path).where(col(OrgUnit.id).in_(community_ids))).all()
    )
    managers = session.exec(
        select(User.id, User.scope_unit_id, OrgUnit.path)
        .join(OrgUnit, col(OrgUnit.id) == col(User.scope_unit_id), isouter=True)
        .where(User.role == Role.MANAGER.value, User.is_active)
    ).all()
    out: dict[int, list[int]] = {}
    for cid in community_ids:
        path = units.get(cid)
        if path is None:
            continue
        # Depth of each manager's scope on this community's chain (district-wide managers: 0).
        covering = [
            (0 if scope is None else len(scope_path.strip("/").split("/")), uid)
            for uid, scope, scope_path in managers
            if scope is None or (scope_path is not None and path.startswith(scope_path))
        ]
        if covering:
            deepest = max(d for d, _ in covering)
            out[cid] = sorted(row_id(uid) for d, uid in covering if d == deepest)
    return out


def _escalated(session: Session) -> pd.DataFrame:
    open_states = [s.value for s in OPEN_STATES]
    stmt = (
        sa_select(
            col(Event.id),
            col(Event.event_no),
            col(Event.item_code),
            col(Event.location),
            col(Event.state),
            col(Event.community_id),
            col(Event.assignee_id),
            col(Worker.name),
            col(Event.escalation),
            col(Event.urged_at),
            col(Event.supervised_at),
            col(Event.sign_due_at),
            col(Event.due_at),
        )
        .join(Worker, col(Worker.id) == col(Event.assignee_id), isouter=True)
        .where(col(Event.escalation) > 0, col(Event.state).in_(open_states))
    )
    return pd.DataFrame(
        session.execute(stmt).all(),
        columns=[
            "id",
            "event_no",
            "item_code",
            "location",
            "state",
            "community_id",
            "assignee_id",
            "assignee",
            "escalation",
            "urged_at",
            "supervised_at",
            "sign_due_at",
            "due_at",
        ],
    )


def _texts(r, level: str, to_manager: bool) -> dict[str, str]:  # noqa: ANN001
    item = item_lookup().get(r.item_code, {})
    what_zh, what_en = item.get("item_zh", r.item_code), item.get("item_en", r.item_code)
    unsigned = r.state == EventState.DISPATCHED.value
    due = r.sign_due_at if unsigned else r.due_at
    late_zh = "超时未签收" if unsigned else "超时未办结"
    late_en = "not signed for in time" if unsigned else "not handled in time"
    place = f" · {r.location}" if isinstance(r.location, str) and r.location else ""
    due_txt = f"{pd.Timestamp(due):%m-%d %H:%M}" if pd.notna(due) else "—"
    who = r.assignee if isinstance(r.assignee, str) else "—"
    if level == URGE:
        return {
            "title_zh": f"催办:事件 {r.event_no} {late_zh}",
            "title_en": f"Reminder (催办): event {r.event_no} is {late_en}",
            "body_zh": f"{what_zh}{place}。时限 {due_txt},请尽快处理并反馈。",
            "body_en": f"{what_en}{place}. Deadline {due_txt}; please act on it and report back.",
        }
    urged = f"{pd.Timestamp(r.urged_at):%m-%d %H:%M}" if pd.notna(r.urged_at) else "—"
    if to_manager:
        return {
            "title_zh": f"督办:{who} 的事件 {r.event_no} 催办后仍{late_zh}",
            "title_en": f"Supervision order (督办): {who}'s event {r.event_no} still {late_en} after a reminder",
            "body_zh": f"{what_zh}{place}。时限 {due_txt},{urged} 已催办。请跟进处置或调整派单。",
            "body_en": f"{what_en}{place}. Deadline {due_txt}, reminded {urged}. Follow it up or reassign it.",
        }
    return {
        "title_zh": f"督办:事件 {r.event_no} 催办后仍{late_zh}",
        "title_en": f"Supervision order (督办): event {r.event_no} still {late_en} after a reminder",
        "body_zh": f"{what_zh}{place}。时限 {due_txt},{urged} 已催办,已通知社区负责人。",
        "body_en": f"{what_en}{place}. Deadline {due_txt}, reminded {urged}; the community's manager is informed.",
    }


def notify_escalations(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Inbox notices for every open, escalated event that has not had them yet."""
    at = field_now(session, now)
    frame = _escalated(session)
    if frame.empty:
        return {"urge_notices": 0, "supervise_notices": 0}
    managers = responsible_managers(
        session, sorted(frame["community_id"].dropna().astype(int).unique().tolist())
    )
    urge, supervise = [], []
    for r in frame.itertuples():
        if pd.notna(r.urged_at) and pd.notna(r.assignee_id):
            urge.append(
                {
                    "worker_id": int(r.assignee_id),
                    "kind": URGE,
                    "created_at": at,
                    "link": WORKER_LINK,
                    "key": f"{URGE}:{r.id}:{pd.Timestamp(r.urged_at):%Y%m%d%H%M}",
                    **_texts(r, URGE, False),
                }
            )
        if r.escalation >= 2 and pd.notna(r.supervised_at):
            stamp = f"{pd.Timestamp(r.supervised_at):%Y%m%d%H%M}"
            if pd.notna(r.assignee_id):
                supervise.append(
                    {
                        "worker_id": int(r.assignee_id),
                        "kind": SUPERVISE,
                        "created_at": at,
                        "link": WORKER_LINK,
                        "key": f"{SUPERVISE}:{r.id}:{stamp}:w",
                        **_texts(r, SUPERVISE, False),
                    }
                )
            for uid in managers.get(int(r.community_id), []):
                supervise.append(
                    {
                        "user_id": uid,
                        "kind": SUPERVISE,
                        "created_at": at,
                        "link": MANAGER_LINK,
                        "key": f"{SUPERVISE}:{r.id}:{stamp}:u{uid}",
                        **_texts(r, SUPERVISE, True),
                    }
                )
    return {"urge_notices": notify(session, urge), "supervise_notices": notify(session, supervise)}


def escalate_and_notify(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """The overdue job: 催办 / 督办 overdue events (history), then tell the people concerned (inbox)."""
    at = field_now(session, now)
    counts = escalate_overdue(session, now=at)
    session.flush()
    return {**counts, **notify_escalations(session, now=at)}
