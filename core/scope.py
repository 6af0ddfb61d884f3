"""Who is looking: the viewer every domain query takes, and the SQL filter for their scope.

Managers see their org unit's subtree (a community or a subdistrict, or the whole district when
unscoped); a worker sees only their own records. Pages never filter after the fact: domain
functions add ``worker_scope_clause`` to their SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, true
from sqlmodel import Session, col

from core.errors import GridwiseError
from core.models import ADMIN_ROLES, OrgLevel, OrgUnit, Role, User, Worker
from core.settings import get_settings


class ScopeError(GridwiseError, PermissionError):
    """Raised when a viewer asks for something outside their scope: a catalog key (``scope.err.…``) and its
    parameters, shown in the viewer's language like every ``GridwiseError``; still a ``PermissionError``."""

    def __init__(self, key: str = "common.error_scope", **params: object) -> None:
        super().__init__(key, **params)


@dataclass(frozen=True)
class Viewer:
    user_id: int
    role: Role
    scope_level: OrgLevel  # DISTRICT when the user is unscoped
    scope_unit_id: int | None
    worker_id: int | None = None
    display_name: str = ""
    # Administrator duties held besides ``role`` (only where combined duties are allowed; see Role).
    extra_duties: frozenset[Role] = frozenset()

    @property
    def duties(self) -> frozenset[Role]:
        """Every role this viewer acts in: ``role`` and any extra administrator duties."""
        return self.extra_duties | {self.role}

    def holds(self, role: Role) -> bool:
        return role in self.duties

    @property
    def is_admin(self) -> bool:
        """The system administrator (configuration, accounts of workers and managers, the org tree)."""
        return self.holds(Role.SYSADMIN)

    @property
    def is_manager(self) -> bool:
        """Reads and manages business data in its scope. The security and audit administrators do not."""
        return self.role == Role.MANAGER or self.holds(Role.SYSADMIN)


def require_duty(viewer: Viewer, role: Role, what: str) -> None:
    """Refuse (ScopeError) unless ``viewer`` holds ``role``; ``what`` says what was refused."""
    if not viewer.holds(role):
        raise ScopeError(f"scope.err.only_{role.value}", what=what)


def parse_duties(primary: str, extra: str) -> frozenset[Role]:
    """The extra administrator duties an account's ``extra_duties`` column grants, as the settings allow:
    none unless combined duties are allowed and the account's own role is an administrator duty."""
    if not extra or not get_settings().allow_combined_admin_duties or Role(primary) not in ADMIN_ROLES:
        return frozenset()
    return frozenset(Role(d) for d in extra.split(",") if d in ADMIN_ROLES) - {Role(primary)}


def viewer_for(session: Session, user: User) -> Viewer:
    level = OrgLevel.DISTRICT
    if user.scope_unit_id is not None:
        unit = session.get(OrgUnit, user.scope_unit_id)
        if unit is not None:
            level = OrgLevel(unit.level)
    role, extra = Role(user.role), parse_duties(user.role, user.extra_duties)
    if extra:  # the first duty held in ADMIN_ROLES' order is the role: a system administrator acts as one
        role, extra = next(r for r in ADMIN_ROLES if r in extra | {role}), (extra | {role})
    return Viewer(
        user_id=user.id or 0,
        role=role,
        scope_level=level,
        scope_unit_id=user.scope_unit_id if level != OrgLevel.DISTRICT else None,
        worker_id=user.worker_id,
        display_name=user.display_name,
        extra_duties=frozenset(extra - {role}),
    )


def worker_scope_clause(
    viewer: Viewer, worker_cls: Any = Worker
) -> ColumnElement[bool]:  # Worker or aliased(Worker)
    """SQL condition on the Worker table limiting rows to what ``viewer`` may see."""
    if viewer.role == Role.WORKER:
        if viewer.worker_id is None:
            return false()
        return worker_cls.id == viewer.worker_id
    if not viewer.is_manager:  # the security and audit administrators see no worker's data
        return false()
    if viewer.scope_level == OrgLevel.DISTRICT or viewer.scope_unit_id is None:
        return true()
    if viewer.scope_level == OrgLevel.SUBDISTRICT:
        return worker_cls.subdistrict_id == viewer.scope_unit_id
    if viewer.scope_level == OrgLevel.COMMUNITY:
        return worker_cls.community_id == viewer.scope_unit_id
    return worker_cls.grid_id == viewer.scope_unit_id


# The one rule for "this org unit lies in the viewer's subtree", in Python and in SQL. A unit's ``path`` is
# its ancestors' ids and its own, "/1/4/17/"; the viewer's scope unit is in it exactly when the unit is that
# unit or below it. An unscoped viewer (the district) has every unit. Who may act at all (a manager, a
# worker for their own tasks) is checked by the caller before; these answer only "inside the subtree?".


def _marker(viewer: Viewer) -> str:
    return f"/{viewer.scope_unit_id}/"


def _no_business_data(viewer: Viewer) -> bool:
    """The security and audit administrators (unscoped, yet no org unit is theirs to see)."""
    return not viewer.is_manager and viewer.role != Role.WORKER


def in_scope(viewer: Viewer, unit_path: str | None) -> bool:
    """Whether the unit with materialised path ``unit_path`` is in ``viewer``'s subtree (None: no such unit)."""
    if _no_business_data(viewer):
        return False
    if viewer.scope_unit_id is None:
        return True
    return unit_path is not None and _marker(viewer) in unit_path


def path_scope_clause(viewer: Viewer, unit_path: Any) -> ColumnElement[bool]:
    """``in_scope`` as SQL, on any path column (``col(OrgUnit.path)``, an aliased unit's path)."""
    if _no_business_data(viewer):
        return false()
    if viewer.scope_unit_id is None:
        return true()
    return unit_path.contains(_marker(viewer))


def unit_scope_clause(viewer: Viewer) -> ColumnElement[bool]:
    """SQL condition on OrgUnit limiting the tree to the viewer's subtree (and its ancestors' ids
    are not included: a manager sees their own unit and below)."""
    if not viewer.is_manager:
        return false()
    return path_scope_clause(viewer, col(OrgUnit.path))


def can_see_worker(viewer: Viewer, worker: Worker) -> bool:
    """The same rule as ``worker_scope_clause`` for one loaded row."""
    if viewer.role == Role.WORKER:
        return viewer.worker_id == worker.id
    if not viewer.is_manager:
        return False
    if viewer.scope_unit_id is None:
        return True
    return viewer.scope_unit_id in (worker.subdistrict_id, worker.community_id, worker.grid_id)


def ensure_can_see_worker(viewer: Viewer, worker: Worker | None) -> Worker:
    if worker is None or not can_see_worker(viewer, worker):
        raise ScopeError("scope.err.worker_out_of_scope")
    return worker


# The viewer for work no person asked for: scheduled jobs, the demo, the command line. It sees the whole
# district; audit entries it writes carry user id 0. Use it only where no signed-in user is behind the call.
SYSTEM = Viewer(
    user_id=0,
    role=Role.SYSADMIN,
    scope_level=OrgLevel.DISTRICT,
    scope_unit_id=None,
    display_name="gridwise system",
)
