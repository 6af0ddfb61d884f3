"""Org tree and worker data functions. Every read takes the viewer and filters in SQL."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Select, case, func
from sqlalchemy import select as sa_select  # more columns than sqlmodel's select is typed for
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from core import clock
from core.account_lifecycle import end_accounts_with_the_job
from core.audit import record
from core.errors import GridwiseError, Misuse
from core.models import OrgLevel, OrgUnit, Worker, WorkerCreate, WorkerStatus, row_id
from core.privacy import mask_phone
from core.scope import ScopeError, Viewer, unit_scope_clause, worker_scope_clause
from core.sealed import lookup_hash


def add_unit(
    session: Session,
    *,
    code: str,
    name_zh: str,
    name_en: str,
    level: OrgLevel,
    parent: OrgUnit | None = None,
    lat: float | None = None,
    lon: float | None = None,
    households: int | None = None,
) -> OrgUnit:
    """Insert an org unit under ``parent`` and fill its id path."""
    unit = OrgUnit(
        code=code,
        name_zh=name_zh,
        name_en=name_en,
        level=level.value,
        parent_id=parent.id if parent else None,
        lat=lat,
        lon=lon,
        households=households,
    )
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    session.add(unit)
    return unit


def units_frame(session: Session, viewer: Viewer, level: OrgLevel | None = None) -> pd.DataFrame:
    """Org units in the viewer's scope with their parent's name, ordered by path."""
    parent = aliased(OrgUnit)
    stmt: Select[*tuple[Any, ...]] = (
        sa_select(
            col(OrgUnit.id),
            col(OrgUnit.code),
            col(OrgUnit.name_zh),
            col(OrgUnit.name_en),
            col(OrgUnit.level),
            col(OrgUnit.parent_id),
            col(parent.name_zh).label("parent_zh"),
            col(parent.name_en).label("parent_en"),
            col(OrgUnit.households),
            col(OrgUnit.lat),
            col(OrgUnit.lon),
            col(OrgUnit.path),
        )
        .join(parent, col(parent.id) == OrgUnit.parent_id, isouter=True)
        .where(unit_scope_clause(viewer))
        .order_by(OrgUnit.code)
    )
    if level is not None:
        stmt = stmt.where(col(OrgUnit.level) == level.value)
    rows = session.execute(stmt).all()
    return pd.DataFrame(
        rows,
        columns=[
            "id",
            "code",
            "name_zh",
            "name_en",
            "level",
            "parent_id",
            "parent_zh",
            "parent_en",
            "households",
            "lat",
            "lon",
            "path",
        ],
    )


def grids_in_scope(session: Session, viewer: Viewer) -> list[OrgUnit]:
    stmt = (
        select(OrgUnit)
        .where(OrgUnit.level == OrgLevel.GRID.value, unit_scope_clause(viewer))
        .order_by(OrgUnit.code)
    )
    return list(session.exec(stmt).all())


def worker_names(session: Session, viewer: Viewer, *, status: str | None = None) -> pd.DataFrame:
    """Workers in scope to pick from: id, employee_no, name, by employee number (no contact data: nothing to
    unseal, nothing to mask)."""
    stmt = sa_select(col(Worker.id), col(Worker.employee_no), col(Worker.name)).where(
        worker_scope_clause(viewer)
    )
    if status:
        stmt = stmt.where(col(Worker.status) == status)
    rows = session.execute(stmt.order_by(Worker.employee_no)).all()
    return pd.DataFrame(rows, columns=["id", "employee_no", "name"])


def workers_frame(
    session: Session,
    viewer: Viewer,
    *,
    community_id: int | None = None,
    status: str | None = None,
    search: str | None = None,
) -> pd.DataFrame:
    """Workers in scope with grid / community / subdistrict names; phone masked."""
    grid, comm, sub = aliased(OrgUnit), aliased(OrgUnit), aliased(OrgUnit)
    stmt: Select[*tuple[Any, ...]] = (
        sa_select(
            col(Worker.id),
            col(Worker.employee_no),
            col(Worker.name),
            col(Worker.gender),
            col(Worker.party_member),
            col(Worker.hire_date),
            col(Worker.status),
            col(Worker.phone),
            col(grid.code).label("grid_code"),
            col(grid.name_zh).label("grid_zh"),
            col(comm.id).label("community_id"),
            col(comm.name_zh).label("community_zh"),
            col(comm.name_en).label("community_en"),
            col(sub.id).label("subdistrict_id"),
            col(sub.name_zh).label("subdistrict_zh"),
            col(sub.name_en).label("subdistrict_en"),
        )
        .join(grid, col(grid.id) == Worker.grid_id)
        .join(comm, col(comm.id) == Worker.community_id)
        .join(sub, col(sub.id) == Worker.subdistrict_id)
        .where(worker_scope_clause(viewer))
        .order_by(Worker.employee_no)
    )
    if community_id is not None:
        stmt = stmt.where(col(Worker.community_id) == community_id)
    if status:
        stmt = stmt.where(col(Worker.status) == status)
    if search:
        like = f"%{search.strip()}%"
        stmt = stmt.where(col(Worker.name).like(like) | col(Worker.employee_no).like(like))
    df = pd.DataFrame(
        session.execute(stmt).all(),
        columns=[
            "id",
            "employee_no",
            "name",
            "gender",
            "party_member",
            "hire_date",
            "status",
            "phone",
            "grid_code",
            "grid_zh",
            "community_id",
            "community_zh",
            "community_en",
            "subdistrict_id",
            "subdistrict_zh",
            "subdistrict_en",
        ],
    )
    df["phone"] = df["phone"].map(mask_phone)
    return df


def headcount(session: Session, viewer: Viewer) -> pd.DataFrame:
    """Active workers and party members per subdistrict and community, in scope."""
    comm, sub = aliased(OrgUnit), aliased(OrgUnit)
    party = func.sum(case((col(Worker.party_member), 1), else_=0))
    stmt = (
        sa_select(
            col(sub.name_zh),
            col(sub.name_en),
            col(comm.name_zh),
            col(comm.name_en),
            func.count(col(Worker.id)),
            party,
        )
        .join(comm, col(comm.id) == Worker.community_id)
        .join(sub, col(sub.id) == Worker.subdistrict_id)
        .where(worker_scope_clause(viewer), col(Worker.status) != WorkerStatus.LEFT.value)
        .group_by(sub.name_zh, sub.name_en, comm.name_zh, comm.name_en)
        .order_by(sub.name_zh, comm.name_zh)
    )
    df = pd.DataFrame(
        session.execute(stmt).all(),
        columns=[
            "subdistrict_zh",
            "subdistrict_en",
            "community_zh",
            "community_en",
            "workers",
            "party_members",
        ],
    )
    df["party_members"] = df["party_members"].fillna(0).astype(int)
    return df


def _grid_chain(session: Session, grid_id: int) -> tuple[OrgUnit, OrgUnit, OrgUnit]:
    grid = session.get(OrgUnit, grid_id)
    if grid is None or grid.level != OrgLevel.GRID.value:
        raise GridwiseError("core.err.no_grid", grid_id=grid_id)
    comm = session.get(OrgUnit, grid.parent_id)
    sub = session.get(OrgUnit, comm.parent_id) if comm else None
    if comm is None or sub is None:
        raise Misuse(f"grid {grid.code} is not under a community and subdistrict")
    return grid, comm, sub


def ensure_manages_grid(session: Session, viewer: Viewer, grid_id: int) -> None:
    if not viewer.is_manager:  # workers, and the security and audit administrators
        raise ScopeError("scope.err.manager_worker_records")
    grid, comm, sub = _grid_chain(session, grid_id)
    if viewer.scope_unit_id not in (None, sub.id, comm.id, grid.id):
        raise ScopeError("scope.err.grid_out_of_scope", grid=grid.code)


def save_worker(session: Session, viewer: Viewer, data: WorkerCreate) -> Worker:
    """Create a worker or update the one with the same employee number (idempotent)."""
    ensure_manages_grid(session, viewer, data.grid_id)
    grid, comm, sub = _grid_chain(session, data.grid_id)
    worker = session.exec(select(Worker).where(Worker.employee_no == data.employee_no)).first()
    before = None
    if worker is None:
        worker = Worker(**data.model_dump(), community_id=row_id(comm.id), subdistrict_id=row_id(sub.id))
    else:
        ensure_manages_grid(session, viewer, worker.grid_id)
        before = WorkerCreate.model_validate(worker, from_attributes=True).model_dump()
        for key, value in data.model_dump().items():
            setattr(worker, key, value)
        worker.community_id, worker.subdistrict_id = row_id(comm.id), row_id(sub.id)
        worker.updated_at = clock.now()
    session.add(worker)
    session.flush()
    record(
        session,
        "worker.save",
        viewer=viewer,
        entity="worker",
        entity_id=worker.employee_no,
        before=before,
        after=data.model_dump(),
    )
    if before is not None:  # left, or moved out of an account's scope: the account ends with the job
        end_accounts_with_the_job(session, viewer, [row_id(worker.id)])
    return worker


def worker_by_employee_no(session: Session, viewer: Viewer, employee_no: str) -> Worker | None:
    """The worker with this employee number if the viewer may see them (None when there is none in scope)."""
    stmt = select(Worker).where(Worker.employee_no == employee_no.strip(), worker_scope_clause(viewer))
    return session.exec(stmt).first()


def reveal_phone(session: Session, viewer: Viewer, worker_id: int) -> str:
    """A worker's phone in full, for a manager or administrator whose scope holds the worker, on their
    explicit request; the request is audited (``privacy.reveal``) in the caller's unit of work."""
    if not viewer.is_manager:  # workers, and the security and audit administrators
        raise ScopeError("scope.err.manager_phone")
    worker = session.exec(select(Worker).where(Worker.id == worker_id, worker_scope_clause(viewer))).first()
    if worker is None:
        raise ScopeError("scope.err.worker_out_of_scope")
    record(
        session,
        "privacy.reveal",
        viewer=viewer,
        entity="worker",
        entity_id=worker.employee_no,
        detail={"field": "phone", "shown": mask_phone(worker.phone)},
    )
    return worker.phone or ""


def worker_by_phone(session: Session, viewer: Viewer, phone: str) -> Worker | None:
    """The worker in scope with this phone, found by its keyed hash (the stored phone is sealed)."""
    stmt = select(Worker).where(Worker.phone_hash == lookup_hash(phone), worker_scope_clause(viewer))
    return session.exec(stmt).first()


def set_worker_status(session: Session, viewer: Viewer, worker_id: int, status: WorkerStatus) -> Worker:
    worker = session.get(Worker, worker_id)
    if worker is None:
        raise GridwiseError("core.err.no_worker", worker_id=worker_id)
    ensure_manages_grid(session, viewer, worker.grid_id)
    record(
        session,
        "worker.status",
        viewer=viewer,
        entity="worker",
        entity_id=worker.employee_no,
        before={"status": worker.status},
        after={"status": status.value},
    )
    worker.status = status.value
    worker.updated_at = clock.now()
    session.add(worker)
    end_accounts_with_the_job(session, viewer, [row_id(worker.id)])  # a worker who left loses the account
    return worker


def worker_home(session: Session, viewer: Viewer) -> dict[str, object]:
    """What the signed-in worker's home page shows about their place in the org."""
    if viewer.worker_id is None:
        raise ScopeError("scope.err.not_a_worker_account")
    worker = session.get(Worker, viewer.worker_id)
    if worker is None:
        raise GridwiseError("core.err.no_worker", worker_id=viewer.worker_id)
    grid, comm, sub = _grid_chain(session, worker.grid_id)
    colleagues = session.exec(
        select(func.count(col(Worker.id))).where(
            Worker.community_id == comm.id, Worker.status != WorkerStatus.LEFT.value
        )
    ).one()
    return {
        "worker": worker,
        "grid": grid,
        "community": comm,
        "subdistrict": sub,
        "community_workers": int(colleagues),
        "years_of_service": (clock.today().year - worker.hire_date.year) if worker.hire_date else None,
    }
