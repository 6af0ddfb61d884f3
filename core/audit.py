"""The audit trail: who did what, when, from which address, with the values before and after (contact
data masked), and who viewed or downloaded personal data.

``record`` adds the entry to the caller's session, chained to the previous row (core.audit_chain), so it
commits (or rolls back) in the same transaction as the change it describes. The client address comes from
``address=`` or, for everything a page writes, from ``CLIENT_ADDRESS``, which the ui layer sets for the
duration of a unit of work (ui.resources.unit_of_work) from the trusted proxy header.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlmodel import Session, col, select

from core import clock
from core.audit_chain import seal_entry, seal_row
from core.models import Role
from core.models_audit import AuditEntry
from core.privacy import masked
from core.scope import Viewer, require_duty
from core.sql import Statement

# The first part of every action name (the admin page filters by it; labels are i18n "audit.area.<code>").
ACTION_AREAS = (
    "signin",
    "session",
    "user",
    "worker",
    "import",
    "attendance",
    "course",
    "field",
    "score",
    "assign",
    "training",
    "api",
    "notify",
    "backup",
    "privacy",
    "view",
    "export",
    "audit",
    "rights",
    "warning",
)


# The client address of the request being served (set by ui code and the API), "" for jobs and the CLI.
CLIENT_ADDRESS: ContextVar[str] = ContextVar("audit_client_address", default="")


def _dump(value: Any) -> str | None:
    """JSON of ``value`` with contact fields masked: an audit entry never holds a phone or an address."""
    if value is None:
        return None
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    value = masked(value)

    def default(o: Any) -> Any:
        if isinstance(o, datetime | date):
            return o.isoformat()
        if hasattr(o, "model_dump"):
            return o.model_dump()
        return str(o)

    return json.dumps(value, ensure_ascii=False, default=default, sort_keys=True)


def _values(
    action: str,
    *,
    viewer: Viewer | None,
    username: str,
    entity: str,
    entity_id: object,
    before: Any,
    after: Any,
    detail: Any,
    address: str | None,
) -> dict[str, Any]:
    return {
        "at": clock.now(),
        "user_id": (viewer.user_id or None) if viewer else None,  # 0: a job's or the CLI's system viewer
        "username": username or (viewer.display_name if viewer else ""),
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id or ""),
        "before": _dump(before),
        "after": _dump(after),
        "detail": _dump(detail),
        "address": (CLIENT_ADDRESS.get() if address is None else address)[:64],
        "prev_hash": "",
        "row_hash": "",
    }


def record(
    session: Session,
    action: str,
    *,
    viewer: Viewer | None = None,
    username: str = "",
    entity: str = "",
    entity_id: object = "",
    before: Any = None,
    after: Any = None,
    detail: Any = None,
    address: str | None = None,
    before_entry: Sequence[Statement] = (),
    commit: bool = False,
) -> AuditEntry:
    """Add the entry to the session's transaction, chained (core.audit_chain.seal_entry: ``before_entry``
    statements sent ahead of it, ``commit`` to end the transaction with it)."""
    values = _values(
        action,
        viewer=viewer,
        username=username,
        entity=entity,
        entity_id=entity_id,
        before=before,
        after=after,
        detail=detail,
        address=address,
    )
    return seal_entry(session, AuditEntry(**values), before=before_entry, commit=commit)


def record_row(
    session: Session,
    action: str,
    *,
    viewer: Viewer | None = None,
    entity: str = "",
    entity_id: object = "",
    detail: Any = None,
    address: str | None = None,
    before_entry: Sequence[Statement] = (),
    commit: bool = False,
) -> int:
    """``record`` for a caller that never reads the entry back (the API's call, once per request): the
    same row, written without building the model (which costs more than the rest of it); its id."""
    values = _values(
        action,
        viewer=viewer,
        username="",
        entity=entity,
        entity_id=entity_id,
        before=None,
        after=None,
        detail=detail,
        address=address,
    )
    return int(seal_row(session, values, before=before_entry, commit=commit)["id"])


def record_read(
    session: Session,
    viewer: Viewer,
    what: str,
    *,
    filters: dict[str, Any] | None = None,
    rows: int = 0,
    file_name: str | None = None,
    entity: str = "",
    entity_id: object = "",
    address: str | None = None,
) -> AuditEntry:
    """A view (``view.<what>``) or, with ``file_name``, a download (``export.<what>``) of personal data:
    who, which filter, how many rows, which file."""
    detail: dict[str, Any] = {"filter": filters or {}, "rows": rows}
    if file_name is not None:
        detail["file"] = file_name
    return record(
        session,
        f"{'export' if file_name is not None else 'view'}.{what}",
        viewer=viewer,
        entity=entity or what,
        entity_id=entity_id,
        detail=detail,
        address=address,
    )


def clip(value: Any, max_chars: int = 120) -> Any:
    """A long text shortened to its start and length (an entry says that it changed, not all of it)."""
    if isinstance(value, str) and len(value) > max_chars:
        return f"{value[:max_chars]}… ({len(value)} chars)"
    return value


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields whose value differs, as (before, after), long texts clipped, so an entry names
    what changed and stays small. A field on one side only shows as None on the other."""
    keys = [k for k in {**before, **after} if before.get(k) != after.get(k)]
    return {k: clip(before.get(k)) for k in keys}, {k: clip(after.get(k)) for k in keys}


def audit_frame(
    session: Session,
    viewer: Viewer,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    action_prefix: str | None = None,
    action: str | None = None,
    limit: int = 5000,
) -> pd.DataFrame:
    """Audit entries, newest first (administrators only); ``action`` keeps one action, ``action_prefix``
    a family of them (``signin.`` → every sign-in entry)."""
    require_duty(
        viewer, Role.AUDITOR, "read the audit trail"
    )  # nobody else, managers and other admins included
    stmt = select(AuditEntry).order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc()).limit(limit)
    if start is not None:
        stmt = stmt.where(AuditEntry.at >= start)
    if end is not None:
        stmt = stmt.where(AuditEntry.at < end)
    if action_prefix:
        stmt = stmt.where(col(AuditEntry.action).startswith(action_prefix))
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    rows = [e.model_dump() for e in session.exec(stmt).all()]
    return pd.DataFrame(
        rows,
        columns=[
            "id",
            "at",
            "user_id",
            "username",
            "action",
            "entity",
            "entity_id",
            "before",
            "after",
            "detail",
            "address",
        ],
    )


def audit_actions(
    session: Session, viewer: Viewer, *, start: datetime | None = None, end: datetime | None = None
) -> list[str]:
    """The actions on record in the period, sorted (auditors only): the choices of the audit page's filter."""
    require_duty(viewer, Role.AUDITOR, "read the audit trail")
    stmt = select(AuditEntry.action).distinct()
    if start is not None:
        stmt = stmt.where(AuditEntry.at >= start)
    if end is not None:
        stmt = stmt.where(AuditEntry.at < end)
    return sorted(session.exec(stmt).all())
