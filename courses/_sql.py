"""Small SQL helpers shared by the courses modules."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import literal, or_, true
from sqlmodel import Session

from core.db import retry_busy_in_session
from core.models import OrgUnit, Role
from core.scope import ScopeError, Viewer
from core.sql import PARAMS_PER_STATEMENT, frame, insert_ignore, table_of  # noqa: F401  (re-exported)
from courses.models import TrainingSession


def require_manager(viewer: Viewer) -> None:
    if not viewer.is_manager:
        raise ScopeError("only managers may do this")


def require_district(viewer: Viewer) -> None:
    """Catalog changes affect every community: district-level managers and admins only."""
    if not viewer.is_manager or (viewer.role != Role.ADMIN and viewer.scope_unit_id is not None):
        raise ScopeError("only district-level managers may change the course catalog")


def session_scope_clause(viewer: Viewer, scope_path: str | None):  # noqa: ANN201
    """Sessions a manager may see: district-wide ones, those for their subtree, those for an ancestor."""
    if viewer.role == Role.WORKER:
        raise ScopeError("workers see sessions through their seats")
    if viewer.scope_unit_id is None:
        return true()
    unit_path = OrgUnit.path
    return or_(
        TrainingSession.unit_id.is_(None),
        unit_path.contains(f"/{viewer.scope_unit_id}/"),
        literal(scope_path or "").contains(unit_path),
    )


def unit_path(session: Session, unit_id: int | None) -> str | None:
    if unit_id is None:
        return None
    unit = session.get(OrgUnit, unit_id)
    return unit.path if unit else None


def can_manage_unit(session: Session, viewer: Viewer, unit_id: int | None) -> bool:
    """A manager may act for ``unit_id`` when it lies within their scope (None = the whole district)."""
    if not viewer.is_manager:
        return False
    if viewer.scope_unit_id is None:
        return True
    if unit_id is None:
        return False
    path = unit_path(session, unit_id) or ""
    return f"/{viewer.scope_unit_id}/" in path


F = TypeVar("F", bound=Callable[..., Any])
LOCK_RETRIES = 8


def retry_when_locked(fn: F) -> F:
    """Retry a unit of work the database refused as busy (``core.db.retry_busy_in_session``). The
    function's writes are idempotent (conditional UPDATEs, unique keys), so rolling back and running it
    again is safe. ``fn`` takes the Session as its first argument.
    """

    @functools.wraps(fn)
    def wrapper(session: Session, *args: Any, **kwargs: Any) -> Any:
        return retry_busy_in_session(session, lambda: fn(session, *args, **kwargs), attempts=LOCK_RETRIES)

    return wrapper  # type: ignore[return-value]
