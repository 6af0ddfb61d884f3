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
from sqlmodel import Session, select

from core import clock
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
    return dict(session.exec(select(User.worker_id, User.id).where(User.worker_id.in_(worker_ids),
                                                                   User.is_active)).all())


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
    worker_ids = sorted({int(n["worker_id"]) for n in notices if n.get("user_id") is None and n.get("worker_id")})
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
            raise ValueError(f"a notice needs {', '.join(missing)}")
        if len(n["key"]) > 160:
            raise ValueError(f"notice key longer than 160 characters: {n['key'][:40]}…")
        row = {f: n.get(f) for f in NOTICE_FIELDS}
        row.update(user_id=int(user_id), title_en=row["title_en"] or "", body_zh=row["body_zh"] or "",
                   body_en=row["body_en"] or "", link=row["link"] or "",
                   created_at=row["created_at"] or now or clock.now())
        rows.append(row)
    return send_rows(session, rows)


def inbox(session: Session, viewer: Viewer, *, unread_only: bool = False, limit: int = 200) -> pd.DataFrame:
    stmt = (select(Notification.id, Notification.kind, Notification.title_zh, Notification.title_en,
                   Notification.body_zh, Notification.body_en, Notification.link, Notification.created_at,
                   Notification.read_at)
            .where(Notification.user_id == viewer.user_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return frame(session, stmt)


def unread_count(session: Session, viewer: Viewer) -> int:
    return int(session.exec(select(func.count()).select_from(Notification)
                            .where(Notification.user_id == viewer.user_id, Notification.read_at.is_(None))).one())


def mark_read(session: Session, viewer: Viewer, ids: list[int] | None = None, *,
              now: datetime | None = None) -> int:
    """Mark the viewer's own notices read (all of them when ``ids`` is None)."""
    stmt = update(Notification).where(Notification.user_id == viewer.user_id, Notification.read_at.is_(None))
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(ids))
    n = session.execute(stmt.values(read_at=now or clock.now())).rowcount or 0
    return n
