"""User accounts: create, edit, deactivate, reset password, roles, unlock.

Who does what (三员分立, see core.models.Role):
- the system administrator opens and keeps the accounts of workers and managers (create with one of those
  two roles, name, scope, active, password reset);
- the security administrator decides roles (any account's role, every administrator duty), keeps the
  administrators' own accounts (create, deactivate, password reset), and unlocks locked accounts;
- nobody changes their own role or deactivates their own account;
- an account holds one administrator duty, or several only where GRIDWISE_ALLOW_COMBINED_ADMIN_DUTIES is
  on; every grant of more than one is written to the audit trail as ``user.duties_combined``.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select as sa_select  # more columns than sqlmodel's select is typed for
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from core.audit import record
from core.auth import set_password
from core.errors import GridwiseError
from core.models import ADMIN_ROLES, OrgUnit, Role, User, Worker, row_id
from core.models_api import ApiClient
from core.passwords import temporary_password
from core.scope import ScopeError, Viewer, require_duty
from core.settings import get_settings
from core.totp import remove as remove_second_factor
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
        "extra_duties": user.extra_duties,
    }


def _require_admin(viewer: Viewer) -> None:
    """Reading the accounts list: the system and the security administrator."""
    if not (viewer.holds(Role.SYSADMIN) or viewer.holds(Role.SECADMIN)):
        raise ScopeError("scope.err.only_sysadmin_or_secadmin")


def _require_keeper(viewer: Viewer, role: str | Role) -> None:
    """Keeping an account of ``role``: a worker's or manager's is the system administrator's, an
    administrator's the security administrator's."""
    keeper = Role.SECADMIN if Role(role) in ADMIN_ROLES else Role.SYSADMIN
    if not viewer.holds(keeper):
        raise ScopeError(f"users.err.keeper_{keeper.value}", role=Role(role).value)


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
            col(User.failed_logins),
            col(User.extra_duties),
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
            "failed_logins",
            "extra_duties",
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
    """Create an account; a worker account is linked by ``worker_id`` or ``employee_no``. Workers' and
    managers' accounts are the system administrator's to open, administrators' the security administrator's."""
    _require_keeper(viewer, role)
    username = username.strip()
    if not username:
        raise GridwiseError("core.err.username_required")
    if employee_no and employee_no.strip() and worker_id is None:
        worker = session.exec(select(Worker).where(Worker.employee_no == employee_no.strip())).first()
        if worker is None:
            raise GridwiseError("core.err.no_employee_no", employee_no=employee_no.strip())
        worker_id = worker.id
    if session.exec(select(User).where(User.username == username)).first():
        raise GridwiseError("core.err.username_taken", username=username)
    if role == Role.WORKER and worker_id is None:
        raise GridwiseError("core.err.worker_account_needs_worker")
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        role=role.value,
        password_hash="",
        scope_unit_id=scope_unit_id,
        worker_id=worker_id,
    )
    user.must_change_password = True  # the administrator knows this password: the user chooses their own
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
    """Edit an account. Its keeper (see ``_require_keeper``) edits name, scope and active; a change of role
    is the security administrator's alone."""
    user = session.get(User, user_id)
    if user is None:
        raise GridwiseError("core.err.no_user", user_id=user_id)
    _refuse_api_account(session, user)
    role_changes = role is not None and role.value != user.role
    if role_changes:
        if not viewer.holds(Role.SECADMIN):
            raise ScopeError("users.err.role_by_secadmin")
    else:
        _require_keeper(viewer, user.role)
    if user.id == viewer.user_id and (is_active is False or role_changes):
        raise GridwiseError("core.err.own_account")
    before = _public(user)
    if display_name is not None:
        user.display_name = display_name
    if role is not None:
        user.role = role.value
        if role not in ADMIN_ROLES:
            user.extra_duties = ""  # extra administrator duties go with the administrator role
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
    """Give the user a new random password, returned once; they must change it at next sign-in (the
    account's keeper: the system administrator for workers and managers, the security administrator for
    administrators)."""
    user = session.get(User, user_id)
    if user is None:
        raise GridwiseError("core.err.no_user", user_id=user_id)
    _require_keeper(viewer, user.role)
    _refuse_api_account(session, user)
    new_password = temporary_password()
    set_password(session, user, new_password)
    user.must_change_password = True
    session.add(user)
    record(session, "user.reset_password", viewer=viewer, entity="user", entity_id=user.id)
    revoke_user_sessions(session, user.id or 0, "password_reset", viewer=viewer)
    return new_password


def unlock_user(session: Session, viewer: Viewer, user_id: int) -> User:
    """End a lockout after failed sign-ins (the security administrator's)."""
    require_duty(viewer, Role.SECADMIN, "unlock")
    user = session.get(User, user_id)
    if user is None:
        raise GridwiseError("core.err.no_user", user_id=user_id)
    before = {"failed_logins": user.failed_logins, "locked_until": user.locked_until}
    user.failed_logins, user.locked_until = 0, None
    session.add(user)
    record(
        session,
        "user.unlock",
        viewer=viewer,
        entity="user",
        entity_id=user.id,
        before=before,
        after={"failed_logins": 0, "locked_until": None},
    )
    return user


def reset_second_factor(session: Session, viewer: Viewer, user_id: int) -> None:
    """Forget an account's authenticator and recovery codes (a lost phone): the security administrator's,
    never on their own account. Every signed-in browser of the account ends; its next sign-in sets a new
    one up (required roles) or signs in with the password alone (others). Audited: who, whose."""
    require_duty(viewer, Role.SECADMIN, "reset second factor")
    user = session.get(User, user_id)
    if user is None:
        raise GridwiseError("core.err.no_user", user_id=user_id)
    if user.id == viewer.user_id:
        raise GridwiseError("users.err.own_second_factor")
    if not remove_second_factor(session, row_id(user.id)):
        raise GridwiseError("users.err.no_second_factor", username=user.username)
    record(
        session,
        "user.reset_second_factor",
        viewer=viewer,
        entity="user",
        entity_id=user.id,
        detail={"account": user.username},
    )
    revoke_user_sessions(session, row_id(user.id), "second_factor_reset", viewer=viewer)


def set_extra_duties(session: Session, viewer: Viewer, user_id: int, duties: list[Role]) -> User:
    """Give an administrator account further administrator duties besides its role (the security
    administrator's, never on their own account), only where GRIDWISE_ALLOW_COMBINED_ADMIN_DUTIES is on.
    Holding more than one duty is recorded in the audit trail as ``user.duties_combined``."""
    if not viewer.holds(Role.SECADMIN):
        raise ScopeError("users.err.role_by_secadmin")
    user = session.get(User, user_id)
    if user is None:
        raise GridwiseError("core.err.no_user", user_id=user_id)
    if user.id == viewer.user_id:
        raise GridwiseError("core.err.own_duties")
    extra = sorted({Role(d) for d in duties} - {Role(user.role)}, key=ADMIN_ROLES.index)
    if extra and (not get_settings().allow_combined_admin_duties or Role(user.role) not in ADMIN_ROLES):
        raise GridwiseError("users.err.one_duty", username=user.username)
    before = user.extra_duties
    user.extra_duties = ",".join(r.value for r in extra)
    session.add(user)
    action = "user.duties_combined" if extra else "user.duties_separated"
    record(
        session,
        action,
        viewer=viewer,
        entity="user",
        entity_id=user.id,
        before={"role": user.role, "extra_duties": before},
        after={"role": user.role, "extra_duties": user.extra_duties},
    )
    revoke_user_sessions(session, user.id or 0, "role_changed", viewer=viewer)
    return user
