"""A worker's verification (核查) tasks as things to do: what, where, by when, and the report that closes one.

Raised from data-quality flags (evaluation.field.quality) and assigned by a manager (tasks.assign_task, which
also tells the worker through the inbox); the assignee reports what they found, which closes the task
(state ``done``, shown as 已反馈) with their note and the time. Reporting twice changes nothing."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import select as sa_select  # more columns than sqlmodel's select is typed for
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from core.audit import record
from core.errors import GridwiseError
from core.models import OrgUnit
from core.scope import ScopeError, Viewer
from evaluation.field.models import VerificationTask
from evaluation.field.registry import field_now

NOTE_MAX = 1000
COLUMNS = [
    "id",
    "kind",
    "ref_key",
    "title_zh",
    "title_en",
    "grid_zh",
    "grid_en",
    "community_zh",
    "community_en",
    "lat",
    "lon",
    "due_at",
    "assign_reason_zh",
    "assign_reason_en",
]


def my_verifications(session: Session, viewer: Viewer, *, now: datetime | None = None) -> pd.DataFrame:
    """The open verification tasks assigned to the viewer (a worker), overdue first, with where they are."""
    if viewer.worker_id is None:
        return pd.DataFrame(columns=[*COLUMNS, "task_id", "overdue"])
    grid, community = aliased(OrgUnit), aliased(OrgUnit)
    rows = session.execute(
        sa_select(
            col(VerificationTask.id),
            col(VerificationTask.kind),
            col(VerificationTask.ref_key),
            col(VerificationTask.title_zh),
            col(VerificationTask.title_en),
            col(grid.name_zh),
            col(grid.name_en),
            col(community.name_zh),
            col(community.name_en),
            col(VerificationTask.lat),
            col(VerificationTask.lon),
            col(VerificationTask.due_at),
            col(VerificationTask.assign_reason_zh),
            col(VerificationTask.assign_reason_en),
        )
        .join(grid, col(grid.id) == VerificationTask.grid_id, isouter=True)
        .join(community, col(community.id) == VerificationTask.community_id)
        .where(
            col(VerificationTask.assignee_id) == viewer.worker_id,
            col(VerificationTask.state) == "open",
        )
        .order_by(col(VerificationTask.due_at), col(VerificationTask.id))
    ).all()
    frame = pd.DataFrame(rows, columns=COLUMNS)
    at = field_now(session, now)
    frame["task_id"] = "verification:" + frame["id"].astype(str)
    frame["overdue"] = pd.to_datetime(frame["due_at"]).lt(pd.Timestamp(at)).fillna(False).astype(bool)
    return frame.sort_values(["overdue", "due_at"], ascending=[False, True]).reset_index(drop=True)


def report_verification(
    session: Session, viewer: Viewer, *, task_id: int, note: str, now: datetime | None = None
) -> bool:
    """The assignee reports what they found: the task is done (已反馈) with the note. Returns False when it was
    already reported (a second tap), True when this call closed it."""
    task = session.get(VerificationTask, task_id)
    if task is None or viewer.worker_id is None or task.assignee_id != viewer.worker_id:
        raise ScopeError("field.err.verification_not_yours")
    if task.state == "done":
        return False
    note = (note or "").strip()
    if not note:
        raise GridwiseError("field.err.verification_note")
    if len(note) > NOTE_MAX:
        raise GridwiseError("field.err.verification_note_long", max=NOTE_MAX)
    task.state, task.note, task.done_at = "done", note, field_now(session, now)
    session.add(task)
    record(
        session,
        "field.verification.report",
        viewer=viewer,
        entity="verification_task",
        entity_id=task_id,
        before={"state": "open"},
        after={"state": "done"},
    )
    session.flush()
    return True


def assignment_notice(task_id: str, worker_id: int, title_zh: str, title_en: str, at: datetime) -> dict:
    """The inbox notice that tells a worker a task is theirs; 查看 opens that task on 我的任务."""
    return {
        "key": f"task.assigned:{task_id}:{worker_id}",
        "kind": "task_assigned",
        "title_zh": f"新任务:{title_zh}"[:200],
        "title_en": f"New task: {title_en}"[:200],
        "link": f"pages/my_tasks.py?task={task_id}",
        "created_at": at,
        "worker_id": worker_id,
    }
