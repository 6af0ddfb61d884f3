"""Accounts end with the job (等保 2.0 访问控制: 及时删除或停用多余的、过期的账户).

- A worker set to left loses every account linked to their record, and a linked account scoped to an org unit
  loses it when the worker moves out of that unit: the account is deactivated and every signed-in browser
  of it signed out, in the same unit of work as the change of status or grid (``end_accounts_with_the_job``
  is called by ``core.org.set_worker_status``, ``core.org.save_worker`` and
  ``core.worker_import.commit_worker_import``, so pages, the command line and the API all inherit it).
  Audited as ``user.deactivate_with_job`` with the reason. Coming back (status active again) does not
  reopen an account: its keeper reactivates it on the users page.
- Accounts nobody has signed in to for ``GRIDWISE_ACCOUNT_UNUSED_DAYS`` (default 90) days are listed for
  review on the users page; with ``GRIDWISE_ACCOUNT_DISABLE_UNUSED=true`` the daily ``accounts.disable_unused``
  job deactivates them (administrators' accounts and API clients' service accounts are listed, never
  disabled by the job: a district must not lose its last administrator to a holiday).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core import clock
from core.audit import record
from core.models import ADMIN_ROLES, Role, User, Worker, WorkerStatus
from core.models_api import ApiClient
from core.scope import ScopeError, Viewer
from core.settings import get_settings
from core.web_sessions import revoke_user_sessions


def end_accounts_with_the_job(session: Session, viewer: Viewer | None, worker_ids: Iterable[int]) -> int:
    """Deactivate the active accounts linked to these workers that the job no longer backs (left, or moved
    out of the account's scope unit) and sign each out everywhere; returns how many. Flushes, never commits."""
    ids = sorted({int(i) for i in worker_ids})
    if not ids:
        return 0
    session.flush()  # the caller's change of status or grid is what is judged
    rows = session.exec(
        select(User, Worker)
        .join(Worker, col(Worker.id) == User.worker_id)
        .where(col(User.worker_id).in_(ids), col(User.is_active))
    ).all()
    ended = 0
    for user, worker in rows:
        if worker.status == WorkerStatus.LEFT.value:
            reason = "worker_left"
        elif user.scope_unit_id is not None and user.scope_unit_id not in (
            worker.grid_id,
            worker.community_id,
            worker.subdistrict_id,
        ):
            reason = "worker_moved"
        else:
            continue
        user.is_active = False
        session.add(user)
        record(
            session,
            "user.deactivate_with_job",
            viewer=viewer,
            entity="user",
            entity_id=user.id,
            before={"is_active": True},
            after={"is_active": False},
            detail={"reason": reason, "worker": worker.employee_no, "scope_unit_id": user.scope_unit_id},
        )
        revoke_user_sessions(session, user.id or 0, reason[:32], viewer=viewer)
        ended += 1
    session.flush()
    return ended


def _unused_stmt(cutoff: datetime):  # noqa: ANN202 - a select
    last_used = func.coalesce(col(User.last_login_at), col(User.created_at))
    return (
        sa_select(
            col(User.id),
            col(User.username),
            col(User.display_name),
            col(User.role),
            col(User.last_login_at),
            col(User.created_at),
        )
        .where(
            col(User.is_active),
            last_used < cutoff,
            col(User.id).not_in(sa_select(col(ApiClient.user_id))),
        )
        .order_by(last_used, col(User.id))
    )


def unused_accounts(session: Session, viewer: Viewer, *, now: datetime | None = None) -> pd.DataFrame:
    """Active accounts nobody has signed in to (or, never used, that were created) more than
    ``account_unused_days`` ago, oldest first, for review (the system and the security administrator)."""
    if not (viewer.holds(Role.SYSADMIN) or viewer.holds(Role.SECADMIN)):
        raise ScopeError("scope.err.only_sysadmin_or_secadmin")
    cutoff = (now or clock.now()) - timedelta(days=get_settings().account_unused_days)
    return pd.DataFrame(
        session.execute(_unused_stmt(cutoff)).all(),
        columns=["id", "username", "display_name", "role", "last_login_at", "created_at"],
    )


def disable_unused_accounts(session: Session, *, now: datetime | None = None) -> int:
    """Deactivate the unused accounts of workers and managers (administrators' are only listed) and sign
    them out; idempotent (only active accounts are judged). Nothing unless ``account_disable_unused``."""
    settings = get_settings()
    if not settings.account_disable_unused:
        return 0
    at = now or clock.now()
    cutoff = at - timedelta(days=settings.account_unused_days)
    ids = [
        r.id
        for r in session.execute(_unused_stmt(cutoff)).all()
        if r.role not in {d.value for d in ADMIN_ROLES}
    ]
    for user in session.exec(select(User).where(col(User.id).in_(ids))).all():
        user.is_active = False
        session.add(user)
        record(
            session,
            "user.deactivate_unused",
            entity="user",
            entity_id=user.id,
            username="",
            before={"is_active": True},
            after={"is_active": False},
            detail={"days": settings.account_unused_days, "last_login_at": user.last_login_at},
        )
        revoke_user_sessions(session, user.id or 0, "unused", now=at)
    return len(ids)
