"""Shared builders for the courses unit tests: a mini org with accounts and the shipped courses."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from core.models import OrgUnit, Role, User, Worker
from core.scope import Viewer
from courses.catalog import load_shipped_courses
from courses.models import Course
from tests.factories import MiniOrg, make_org, viewer


@dataclass
class World:
    org: MiniOrg
    courses: dict[str, Course]
    manager: Viewer  # district
    manager_a: Viewer  # community A
    users: dict[int, int]  # worker id → user id

    def worker(self, w: Worker) -> Viewer:
        return viewer(Role.WORKER, worker=w, user_id=self.users[w.id])


def make_world(session: Session, workers_per_community: int = 3) -> World:
    org = make_org(session, workers_per_community)
    courses = {c.code: c for c in load_shipped_courses(session)}

    def user(name: str, role: Role, unit: OrgUnit | None = None, worker: Worker | None = None) -> User:
        u = User(
            username=name,
            display_name=name,
            password_hash="x",
            role=role.value,
            scope_unit_id=unit.id if unit else None,
            worker_id=worker.id if worker else None,
        )
        session.add(u)
        return u

    mgr, mgr_a = user("mgr", Role.MANAGER), user("mgr_a", Role.MANAGER, org.comm_a)
    wusers = {w.id: user(w.employee_no.lower(), Role.WORKER, worker=w) for w in org.workers_a + org.workers_b}
    session.commit()
    return World(
        org,
        courses,
        viewer(Role.MANAGER, user_id=mgr.id),
        viewer(Role.MANAGER, org.comm_a, user_id=mgr_a.id),
        {w: u.id for w, u in wusers.items()},
    )
