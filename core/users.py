"""User accounts: create, edit, deactivate, reset password. Admin-only writes."""

from __future__ import annotations

import secrets

import pandas as pd
from sqlalchemy import select as sa_select  # more columns than sqlmodel's select is typed for
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from core.audit import record
from core.auth import hash_password, set_password
from core.errors import GridwiseError
from core.models import OrgUnit, Role, User, Worker
from core.models_api import ApiClient
from core.scope import ScopeError, Viewer
from core.web_sessions import revoke_user_sessions


def _public(user: User) -> dict[str, object]:
    """The audited view of an account (never the password hash)."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "scope_unit_id": user.scope_unit_id,
        "worker_id": user.worker_id,
        "is_active": user.is_active,
    }


def _require_admin(viewer: Viewer) -> None:
    if viewer.role != Role.ADMIN:
        raise ScopeError("only an administrator may manage user accounts")


def _refuse_api_account(session: Session, user: User) -> None:
    """An API client's "api:<name>" account is no person: it never signs in, and its key is managed on the
    API clients page (rotate, revoke), so it is neither edited, reactivated nor given a password here."""
    if session.exec(select(ApiClient.id).where(ApiClient.user_id == user.id)).first() is not None:
        raise GridwiseError("users.err.api_account", username=user.username)


def api_accounts_count(session: Session, viewer: Viewer) -> int:
    """How many API service accounts users_frame leaves out."""
    _require_admin(viewer)
    return len(session.exec(select(ApiClient.id)).all())


def users_frame(session: Session, viewer: Viewer) -> pd.DataFrame:
    """The people's accounts; API clients' service accounts are left out (the API clients page has them)."""
    _require_admin(viewer)
    scope = aliased(OrgUnit)
    stmt = (
        sa_select(
            col(User.id),
            col(User.username),
            col(User.display_name),
            col(User.role),
            col(scope.name_zh),
            col(scope.name_en),
            col(User.worker_id),
            col(Worker.employee_no),
            col(User.is_active),
            col(User.last_login_at),
            col(User.locked_until),
        )
        .join(scope, col(scope.id) == User.scope_unit_id, isouter=True)
        .join(Worker, col(Worker.id) == User.worker_id, isouter=True)
        .where(col(User.id).not_in(sa_select(col(ApiClient.user_id))))
        .order_by(User.role, User.username)
    )
    return pd.DataFrame(
        session.execute(stmt).all(),
        columns=[
            "id",
            "username",
            "display_name",
            "role",
            "scope_zh",
            "scope_en",
            "worker_id",
            "employee_no",
            "is_active",
            "last_login_at",
            "locked_until",
        ],
    )


def create_user(
    session: Session,
    viewer: Viewer,
    *,
    username: str,
    display_name: str,
    role: Role,
    password: str,
    scope_unit_id: int | None = None,
    worker_id: int | None = None,
    employee_no: str | None = None,
) -> User:
    """Create an account (admin only); a worker account is linked by ``worker_id`` or ``employee_no``."""
    _require_admin(viewer)
    username = username.strip()
    if not username:
        raise ValueError("username is required")
    if employee_no and employee_no.strip() and worker_id is None:
        worker = session.exec(select(Worker).where(Worker.employee_no == employee_no.strip())).first()
        if worker is None:
            raise ValueError(f"no worker has employee number {employee_no.strip()!r}")
        worker_id = worker.id
    if session.exec(select(User).where(User.username == username)).first():
        raise ValueError(f"username {username!r} is taken")
    if role == Role.WORKER and worker_id is None:
        raise ValueError("a worker account must be linked to a worker record")
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        role=role.value,
        password_hash="",
        scope_unit_id=scope_unit_id,
        worker_id=worker_id,
    )
    set_password(session, user, password)
    session.add(user)
    session.flush()
    record(session, "user.create", viewer=viewer, entity="user", entity_id=user.id, after=_public(user))
    return user


def update_user(
    session: Session,
    viewer: Viewer,
    user_id: int,
    *,
    display_name: str | None = None,
    role: Role | None = None,
    scope_unit_id: int | None = None,
    is_active: bool | None = None,
) -> User:
    _require_admin(viewer)
    user = session.get(User, user_id)
    if user is None:
        raise ValueError(f"user {user_id} does not exist")
    _refuse_api_account(session, user)
    if user.id == viewer.user_id and (is_active is False or (role and role != Role.ADMIN)):
        raise ValueError("you cannot deactivate or demote your own account")
    before = _public(user)
    if display_name is not None:
        user.display_name = display_name
    if role is not None:
        user.role = role.value
    if scope_unit_id is not None or role is not None:
        user.scope_unit_id = scope_unit_id
    if is_active is not None:
        user.is_active = is_active
    session.add(user)
    after = _public(user)
    record(
        session, "user.update", viewer=viewer, entity="user", entity_id=user.id, before=before, after=after
    )
    if not user.is_active or any(before[k] != after[k] for k in ("role", "scope_unit_id", "is_active")):
        # What the user may see changed: every signed-in browser of theirs signs in again.
        revoke_user_sessions(
            session, user.id or 0, "deactivated" if not user.is_active else "role_changed", viewer=viewer
        )
    return user


def reset_password(session: Session, viewer: Viewer, user_id: int) -> str:
    """Give the user a new random password, returned once; they must change it at next sign-in."""
    _require_admin(viewer)
    user = session.get(User, user_id)
    if user is None:
        raise ValueError(f"user {user_id} does not exist")
    _refuse_api_account(session, user)
    new_password = secrets.token_urlsafe(9)
    user.password_hash = hash_password(new_password)
    user.failed_logins, user.locked_until, user.must_change_password = 0, None, True
    session.add(user)
    record(session, "user.reset_password", viewer=viewer, entity="user", entity_id=user.id)
    revoke_user_sessions(session, user.id or 0, "password_reset", viewer=viewer)
    return new_password
