"""Org tree, workers and user accounts.

The org tree is one table (district → subdistrict → community → grid). Workers carry their grid and,
denormalised, its community and subdistrict, so that every scope filter and every roll-up by
community is a plain indexed column in SQL rather than a walk up the tree.
"""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import Column, String, UniqueConstraint, event
from sqlmodel import Field, SQLModel

from core.clock import LocalDateTime, now
from core.errors import Misuse
from core.privacy import declare
from core.sealed import Sealed, lookup_hash


class OrgLevel(enum.StrEnum):
    DISTRICT = "district"  # 新区
    SUBDISTRICT = "subdistrict"  # 办事处 / 街道
    COMMUNITY = "community"  # 社区
    GRID = "grid"  # 基础网格


class Role(enum.StrEnum):
    """What an account may do. The administrator's work is split three ways (三员分立, 等保 2.0 访问控制):
    the system administrator runs the system (accounts of workers and managers, the org tree, configuration),
    the security administrator guards it (roles, administrators' accounts, signed-in sessions, unlocks,
    second-factor resets, security settings) and the audit administrator reads and exports the audit trail,
    nothing else. One account holds one of the three unless GRIDWISE_ALLOW_COMBINED_ADMIN_DUTIES is on
    (``User.extra_duties``). Accounts of the former single ``admin`` role became system administrators
    (migration 0012)."""

    WORKER = "worker"  # 网格员
    MANAGER = "manager"  # 网格管理中心 / 社区 / 办事处
    SYSADMIN = "sysadmin"  # 系统管理员
    SECADMIN = "secadmin"  # 安全管理员
    AUDITOR = "auditor"  # 审计管理员

    @property
    def is_admin(self) -> bool:
        """One of the three administrator duties (e.g. where a second factor is required)."""
        return self in ADMIN_ROLES


# The three administrator duties, in the order they are shown.
ADMIN_ROLES: tuple[Role, ...] = (Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR)


class WorkerStatus(enum.StrEnum):
    ACTIVE = "active"  # 在岗
    ON_LEAVE = "on_leave"  # 请假
    LEFT = "left"  # 离职


def row_id(value: int | None) -> int:
    """The primary key of a row that is in the database (flushed or loaded): never None there.

    Models declare ``id: int | None`` because a new row has none until it is flushed; this says to the
    type checker, and checks, that this one has it.
    """
    if value is None:
        raise Misuse("the row has no id yet: flush it first")
    return value


def _enum_col(**kw) -> Column:  # noqa: ANN003
    # Enums are stored as their string values: portable across SQLite and PostgreSQL, readable in SQL.
    return Column(String(16), **kw)


class OrgUnit(SQLModel, table=True):
    """A node of the org tree. ``path`` is the chain of ids ("/1/4/17/") for subtree filters."""

    __tablename__ = "org_unit"
    __data_classes__ = declare(
        business="code name_zh name_en level parent_id lat lon households is_active",
        technical="id path",
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=100)
    level: str = Field(sa_column=_enum_col(nullable=False, index=True))
    parent_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)
    path: str = Field(default="", max_length=200, index=True)
    # Grid geometry and size: the centre is used for distances in dispatch, households for
    # per-100-household normalisation in scorecards.
    lat: float | None = None
    lon: float | None = None
    households: int | None = None
    is_active: bool = True


class WorkerBase(SQLModel):
    employee_no: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=64)
    grid_id: int = Field(foreign_key="org_unit.id", index=True)
    party_member: bool = False
    hire_date: date | None = None
    status: str = Field(default=WorkerStatus.ACTIVE.value, max_length=16)
    phone: str | None = Field(default=None, max_length=20, sa_type=Sealed)  # stored sealed: core.sealed
    gender: str | None = Field(default=None, max_length=8)


class Worker(WorkerBase, table=True):
    """A grid worker (网格员). community_id / subdistrict_id are derived from grid_id on write."""

    __tablename__ = "worker"
    __data_classes__ = declare(
        personal="employee_no name hire_date gender",
        sensitive="party_member",
        contact="phone",
        business="grid_id status community_id subdistrict_id",
        technical="id created_at updated_at phone_hash",
    )

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="org_unit.id", index=True)
    subdistrict_id: int = Field(foreign_key="org_unit.id", index=True)
    created_at: LocalDateTime = Field(default_factory=now)
    updated_at: LocalDateTime = Field(default_factory=now)
    # The keyed hash of the phone (core.sealed.lookup_hash): find a worker by phone without opening any.
    phone_hash: str | None = Field(default=None, max_length=64, index=True)


@event.listens_for(Worker, "before_insert")
@event.listens_for(Worker, "before_update")
def _hash_phone(mapper: object, connection: object, worker: Worker) -> None:
    worker.phone_hash = lookup_hash(worker.phone)


class WorkerCreate(WorkerBase):
    """Input for creating or updating a worker (by employee number)."""


class User(SQLModel, table=True):
    """A sign-in account. Scope: an org unit (None = the whole district)."""

    __tablename__ = "app_user"
    __table_args__ = (UniqueConstraint("worker_id", name="uq_app_user_worker"),)
    __data_classes__ = declare(
        personal="username display_name worker_id failed_logins locked_until last_login_at",
        sensitive="password_hash",
        business="role extra_duties scope_unit_id is_active",
        technical="id must_change_password is_demo created_at",
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    display_name: str = Field(max_length=64)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16, index=True)
    scope_unit_id: int | None = Field(default=None, foreign_key="org_unit.id")
    worker_id: int | None = Field(default=None, foreign_key="worker.id")
    is_active: bool = True
    failed_logins: int = 0
    locked_until: LocalDateTime | None = None
    last_login_at: LocalDateTime | None = None
    must_change_password: bool = False
    is_demo: bool = False
    created_at: LocalDateTime = Field(default_factory=now)
    # Administrator duties held besides ``role`` ("secadmin,auditor"), only where
    # GRIDWISE_ALLOW_COMBINED_ADMIN_DUTIES allows one person more than one (a small office); else ignored.
    extra_duties: str = Field(default="", max_length=64)


class AppSetting(SQLModel, table=True):
    """Small key/value facts about this installation (e.g. that it holds demo data)."""

    __tablename__ = "app_setting"
    __data_classes__ = declare(
        technical="key value",
    )

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(default="", sa_column=Column(String(2000), nullable=False))
