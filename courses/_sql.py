"""Small SQL helpers shared by the courses modules."""

from __future__ import annotations

from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Result, literal, or_, true
from sqlmodel import Session, SQLModel, col

from core.models import OrgUnit
from core.scope import ScopeError, Viewer, in_scope, path_scope_clause
from core.sql import PARAMS_PER_STATEMENT, frame, insert_ignore, table_of  # noqa: F401  (re-exported)
from courses.models import TrainingSession


def require_manager(viewer: Viewer) -> None:
    if not viewer.is_manager:
        raise ScopeError("scope.err.managers_only")


def require_district(viewer: Viewer) -> None:
    """Catalog changes affect every community: district-level managers and admins only."""
    if not viewer.is_manager or (not viewer.is_admin and viewer.scope_unit_id is not None):
        raise ScopeError("scope.err.district_catalog")


def training_session_scope_clause(viewer: Viewer, scope_path: str | None):  # noqa: ANN201
    """Sessions a manager may see: district-wide ones, those for their subtree, those for an ancestor."""
    if not viewer.is_manager:
        raise ScopeError("scope.err.worker_sessions")
    if viewer.scope_unit_id is None:
        return true()
    unit_path = col(OrgUnit.path)
    return or_(
        col(TrainingSession.unit_id).is_(None),
        path_scope_clause(viewer, unit_path),
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
    return in_scope(viewer, unit_path(session, unit_id))


M = TypeVar("M", bound=SQLModel)


def must_get(session: Session, model: type[M], key: Any) -> M:
    """The row a foreign key points to (it exists: the constraint says so); a missing one is a bug."""
    row = session.get(model, key)
    if row is None:
        raise LookupError(f"no {model.__name__} with id {key}")
    return row


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE changed (``Session.execute`` is typed as returning a plain Result)."""
    return int(cast("CursorResult[Any]", result).rowcount or 0)
