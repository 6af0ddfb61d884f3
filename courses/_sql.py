"""Small SQL helpers shared by the courses modules."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import Table, literal, or_, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

from core.db import retry_busy_in_session
from core.models import OrgUnit, Role
from core.scope import ScopeError, Viewer
from courses.models import TrainingSession

PARAMS_PER_STATEMENT = 30_000  # under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters


def table_of(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined]


def insert_ignore(session: Session, model: type[SQLModel], rows: Sequence[dict[str, Any]],
                  conflict: Iterable[str]) -> int:
    """INSERT the rows, skipping any that hit the unique key ``conflict``; return how many went in.

    The unique constraint decides, so two processes doing the same thing at once insert each row once.
    """
    if not rows:
        return 0
    table = table_of(model)
    dialect = session.get_bind().dialect.name
    mod = postgresql if dialect == "postgresql" else sqlite
    inserted = 0
    step = max(1, PARAMS_PER_STATEMENT // max(1, len(rows[0])))
    for i in range(0, len(rows), step):
        # RETURNING counts what went in on both backends (psycopg reports -1 as rowcount for a batch).
        stmt = (mod.insert(table).values(list(rows[i:i + step]))
                .on_conflict_do_nothing(index_elements=list(conflict)).returning(table.c.id))
        inserted += len(session.execute(stmt).fetchall())
    return inserted


def frame(session: Session, stmt, columns: list[str] | None = None) -> pd.DataFrame:  # noqa: ANN001
    result = session.execute(stmt)
    return pd.DataFrame(result.fetchall(), columns=columns or list(result.keys()))


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
