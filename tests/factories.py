"""Small data builders for tests: an org with two communities and a few workers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from core.models import OrgLevel, OrgUnit, Role, User, Worker
from core.org import add_unit
from core.scope import Viewer


@dataclass
class MiniOrg:
    district: OrgUnit
    sub: OrgUnit
    comm_a: OrgUnit
    comm_b: OrgUnit
    grids_a: list[OrgUnit]
    grids_b: list[OrgUnit]
    workers_a: list[Worker]
    workers_b: list[Worker]


def make_org(session: Session, workers_per_community: int = 3) -> MiniOrg:
    district = add_unit(
        session, code="D", name_zh="测试新区", name_en="Test district", level=OrgLevel.DISTRICT
    )
    sub = add_unit(
        session, code="D1", name_zh="甲办事处", name_en="Sub A", level=OrgLevel.SUBDISTRICT, parent=district
    )
    comm_a = add_unit(
        session, code="D1A", name_zh="甲社区", name_en="Comm A", level=OrgLevel.COMMUNITY, parent=sub
    )
    comm_b = add_unit(
        session, code="D1B", name_zh="乙社区", name_en="Comm B", level=OrgLevel.COMMUNITY, parent=sub
    )
    grids_a = [
        add_unit(
            session,
            code=f"D1A{i}",
            name_zh=f"甲{i}",
            name_en=f"A{i}",
            level=OrgLevel.GRID,
            parent=comm_a,
            lat=22.6 + i / 100,
            lon=114.4,
            households=300,
        )
        for i in range(workers_per_community)
    ]
    grids_b = [
        add_unit(
            session,
            code=f"D1B{i}",
            name_zh=f"乙{i}",
            name_en=f"B{i}",
            level=OrgLevel.GRID,
            parent=comm_b,
            lat=22.5,
            lon=114.5 + i / 100,
            households=400,
        )
        for i in range(workers_per_community)
    ]

    def worker(no: str, grid: OrgUnit, party: bool) -> Worker:
        return Worker(
            employee_no=no,
            name=f"网格员{no}",
            grid_id=grid.id,
            community_id=grid.parent_id,
            subdistrict_id=sub.id,
            party_member=party,
            hire_date=date(2018, 1, 1),
            phone="13812345678",
        )

    workers_a = [worker(f"A{i:02d}", g, i == 0) for i, g in enumerate(grids_a)]
    workers_b = [worker(f"B{i:02d}", g, False) for i, g in enumerate(grids_b)]
    session.add_all(workers_a + workers_b)
    session.commit()
    return MiniOrg(district, sub, comm_a, comm_b, grids_a, grids_b, workers_a, workers_b)


def viewer(
    role: Role, scope_unit: OrgUnit | None = None, worker: Worker | None = None, user_id: int = 1
) -> Viewer:
    level = OrgLevel(scope_unit.level) if scope_unit is not None else OrgLevel.DISTRICT
    return Viewer(
        user_id=user_id,
        role=role,
        scope_level=level,
        scope_unit_id=scope_unit.id if scope_unit else None,
        worker_id=worker.id if worker else None,
        display_name="测试",
    )


def make_user(session: Session, username: str, password_hash: str, role: Role = Role.MANAGER, **kw) -> User:
    user = User(username=username, display_name=username, password_hash=password_hash, role=role.value, **kw)
    session.add(user)
    session.commit()
    return user
