"""The in-app inbox: the one place every area's notices land (courses' reminders, field escalations, …).

A leaf module: it knows users and notices, nothing about what a notice announces. Composers live with what
they announce (courses.notifications, evaluation.field.escalation) and call ``notify``.
Every notice has a unique key naming what it is about ("remind24:<session>:<worker>:<start>"), inserted
with ON CONFLICT DO NOTHING: a job that runs twice, late, or on two servers sends each notice once.
Nothing here commits: the caller's unit of work does.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import func, update
from sqlalchemy import select as sa_select  # more columns than sqlmodel's select is typed for
from sqlmodel import Session, col, select

from core import clock
from core.errors import Misuse
from core.models import User
from core.models_inbox import Notification
from core.scope import Viewer
from core.sql import frame, insert_ignore

NOTICE_FIELDS = ("key", "kind", "title_zh", "title_en", "body_zh", "body_en", "link", "created_at")


def send_rows(session: Session, rows: list[dict]) -> int:
    """Insert ready-made notification rows (``user_id`` set), skipping keys already sent."""
    return insert_ignore(session, Notification, rows, conflict=["key"])


def worker_users(session: Session, worker_ids: list[int]) -> dict[int, int]:
    if not worker_ids:
        return {}
    rows = session.exec(
        select(col(User.worker_id), col(User.id)).where(
            col(User.worker_id).in_(worker_ids), col(User.is_active)
        )
    ).all()
    return {
        worker_id: user_id for worker_id, user_id in rows if worker_id is not None and user_id is not None
    }


def notify(session: Session, notices: list[dict], *, now: datetime | None = None) -> int:
    """Put notices in people's inboxes, each once: return how many were new.

    Each notice is a dict with ``key`` (unique, at most 160 characters: what the notice is about, e.g.
    ``"field.urge:<event>:<time>"`` — a notice whose key exists is skipped), ``kind``, ``title_zh``,
    ``title_en``, optional ``body_zh``, ``body_en``, ``link`` (a page path) and ``created_at``, and its
    recipient as ``user_id`` or ``worker_id`` (a worker without an active account gets nothing).
    Does not commit: the caller's transaction decides.
    """
    if not notices:
        return 0
    worker_ids = sorted(
        {int(n["worker_id"]) for n in notices if n.get("user_id") is None and n.get("worker_id")}
    )
    users = worker_users(session, worker_ids)
    rows = []
    for n in notices:
        user_id = n.get("user_id")
        if user_id is None and n.get("worker_id") is not None:
            user_id = users.get(int(n["worker_id"]))
        if user_id is None:
            continue
        missing = [f for f in ("key", "kind", "title_zh") if not n.get(f)]
        if missing:
            raise Misuse(f"a notice needs {', '.join(missing)}")
        if len(n["key"]) > 160:
            raise Misuse(f"notice key longer than 160 characters: {n['key'][:40]}…")
        row = {f: n.get(f) for f in NOTICE_FIELDS}
        row.update(
            user_id=int(user_id),
            title_en=row["title_en"] or "",
            body_zh=row["body_zh"] or "",
            body_en=row["body_en"] or "",
            link=row["link"] or "",
            created_at=row["created_at"] or now or clock.now(),
        )
        rows.append(row)
    return send_rows(session, rows)


def inbox(session: Session, viewer: Viewer, *, unread_only: bool = False, limit: int = 200) -> pd.DataFrame:
    n = Notification
    stmt = (
        sa_select(
            col(n.id),
            col(n.kind),
            col(n.title_zh),
            col(n.title_en),
            col(n.body_zh),
            col(n.body_en),
            col(n.link),
            col(n.created_at),
            col(n.read_at),
        )
        .where(col(n.user_id) == viewer.user_id)
        .order_by(col(n.created_at).desc(), col(n.id).desc())
        .limit(limit)
    )
    if unread_only:
        stmt = stmt.where(col(n.read_at).is_(None))
    return frame(session, stmt)


def unread_count(session: Session, viewer: Viewer) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(Notification)
            .where(col(Notification.user_id) == viewer.user_id, col(Notification.read_at).is_(None))
        ).one()
    )


def mark_read(
    session: Session, viewer: Viewer, ids: list[int] | None = None, *, now: datetime | None = None
) -> int:
    """Mark the viewer's own notices read (all of them when ``ids`` is None)."""
    stmt = update(Notification).where(
        col(Notification.user_id) == viewer.user_id, col(Notification.read_at).is_(None)
    )
    if ids is not None:
        stmt = stmt.where(col(Notification.id).in_(ids))
    return session.exec(stmt.values(read_at=now or clock.now())).rowcount or 0
