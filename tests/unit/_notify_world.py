"""A small world for the notification tests: the two-community org with accounts, and helpers to post an
inbox notice and read deliveries back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
from cryptography.fernet import Fernet
from sqlmodel import Session, select

from core.inbox import notify
from core.models import OrgUnit, Role, User
from core.notify.models import NotifyChannel, NotifyDelivery
from core.scope import Viewer, viewer_for
from core.settings import get_settings
from tests.factories import MiniOrg, make_org

NOW = datetime(2026, 3, 2, 10, 0)  # a Monday morning, outside anyone's quiet hours
BASE_URL = "https://grid.example.org"


@pytest.fixture
def secret_key(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GRIDWISE_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("GRIDWISE_BASE_URL", BASE_URL)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@dataclass
class World:
    org: MiniOrg
    workers: dict[str, User]  # employee_no → the worker's account
    manager_a: User
    manager_b: User
    manager_sub: User
    admin: User

    def viewer(self, session: Session, user: User) -> Viewer:
        return viewer_for(session, user)


def _user(session: Session, name: str, role: Role, **kw) -> User:  # noqa: ANN003
    user = User(username=name, display_name=name, password_hash="x", role=role.value, **kw)
    session.add(user)
    return user


def make_world(session: Session) -> World:
    org = make_org(session)
    workers = {
        w.employee_no: _user(session, f"nt_w{w.employee_no}", Role.WORKER, worker_id=w.id)
        for w in org.workers_a + org.workers_b
    }
    world = World(
        org,
        workers,
        _user(session, "nt_mgr_a", Role.MANAGER, scope_unit_id=org.comm_a.id),
        _user(session, "nt_mgr_b", Role.MANAGER, scope_unit_id=org.comm_b.id),
        _user(session, "nt_mgr_sub", Role.MANAGER, scope_unit_id=org.sub.id),
        _user(session, "nt_admin", Role.SYSADMIN),
    )
    session.commit()
    return world


def post(
    session: Session,
    user: User,
    key: str,
    *,
    kind: str = "remind24",
    at: datetime = NOW,
    link: str = "pages/my_learning.py",
) -> None:
    """An inbox notice for ``user``, committed (as the composing job would)."""
    notify(
        session,
        [
            {
                "user_id": user.id,
                "key": key,
                "kind": kind,
                "title_zh": f"培训提醒 {key}",
                "title_en": f"Training reminder {key}",
                "body_zh": "明天 09:00 消防培训,请准时签到。",
                "body_en": "Fire safety training tomorrow 09:00; please check in on time.",
                "link": link,
                "created_at": at,
            }
        ],
    )
    session.commit()


def deliveries(session: Session, channel: NotifyChannel | None = None) -> list[NotifyDelivery]:
    session.expire_all()
    stmt = select(NotifyDelivery).order_by(NotifyDelivery.id)
    if channel is not None:
        stmt = stmt.where(NotifyDelivery.channel_id == channel.id)
    return list(session.exec(stmt).all())


def unit(session: Session, code: str) -> OrgUnit:
    return session.exec(select(OrgUnit).where(OrgUnit.code == code)).one()
