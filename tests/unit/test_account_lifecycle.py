"""Accounts end with the job: a worker who leaves (or moves out of an account's scope) loses the account
and every signed-in session at once; accounts nobody uses are listed, and disabled when configured."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from core import clock
from core.account_jobs import daily_disable_unused
from core.account_lifecycle import disable_unused_accounts, unused_accounts
from core.auth import SignInError, hash_password, sign_in
from core.models import Role, User, WorkerCreate, WorkerStatus
from core.models_audit import AuditEntry
from core.org import save_worker, set_worker_status
from core.scope import ScopeError
from core.settings import get_settings
from core.web_sessions import check_session, open_session, redeem_code
from core.worker_import import commit_worker_import, preview_worker_import
from tests.factories import make_org, make_user, viewer


def _signed_in(session, user) -> str:
    row, code = open_session(session, user)
    token = redeem_code(session, code)
    assert token and check_session(session, token=token).ok
    return token


def _worker_account(session, worker, name: str, **kw) -> User:
    return make_user(
        session, name, hash_password("right-password-1"), role=Role.WORKER, worker_id=worker.id, **kw
    )


def test_a_worker_set_to_left_loses_the_account_and_every_session_at_once(session):
    """Test that marking a worker left deactivates their account and ends both their browsers in the same
    unit of work (nothing is committed in between), audited, and their sign-in is then refused."""
    org = make_org(session)
    a0 = org.workers_a[0]
    user = _worker_account(session, a0, "a00")
    tokens = [_signed_in(session, user) for _ in range(2)]
    session.commit()
    set_worker_status(session, viewer(Role.MANAGER, org.comm_a, user_id=50), a0.id, WorkerStatus.LEFT)
    # Before the caller commits, the same transaction already holds the ended account and sessions.
    assert not user.is_active
    assert [check_session(session, token=t).reason for t in tokens] == ["revoked", "revoked"]
    session.commit()
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "user.deactivate_with_job")).one()
    assert entry.entity_id == str(user.id) and "worker_left" in entry.detail
    assert sign_in(session, "a00", "right-password-1").error == SignInError.INACTIVE


def test_on_leave_keeps_the_account(session):
    """Test that a worker on leave keeps the account and sessions (only leaving ends them)."""
    org = make_org(session)
    user = _worker_account(session, org.workers_a[0], "a00")
    token = _signed_in(session, user)
    set_worker_status(session, viewer(Role.SYSADMIN), org.workers_a[0].id, WorkerStatus.ON_LEAVE)
    assert user.is_active and check_session(session, token=token).ok


def test_a_scoped_account_whose_worker_moves_out_of_the_unit_ends(session):
    """Test that an account scoped to community A, linked to a worker moved to community B, is deactivated
    and signed out; a worker's own account (no scope unit) moved within the district is kept."""
    org = make_org(session)
    a0, a1 = org.workers_a[0], org.workers_a[1]
    station = _worker_account(session, a0, "station_a", scope_unit_id=org.comm_a.id)
    station.role = Role.MANAGER.value  # a community station head who is also on the roster
    plain = _worker_account(session, a1, "a01")
    token = _signed_in(session, station)
    admin = viewer(Role.SYSADMIN)
    for w in (a0, a1):
        save_worker(
            session,
            admin,
            WorkerCreate(
                employee_no=w.employee_no, name=w.name, grid_id=org.grids_b[0].id, hire_date=w.hire_date
            ),
        )
    assert not station.is_active and check_session(session, token=token).reason == "revoked"
    assert plain.is_active
    assert (
        "worker_moved"
        in session.exec(
            select(AuditEntry.detail).where(AuditEntry.action == "user.deactivate_with_job")
        ).one()
    )


def test_a_roster_import_marking_a_worker_left_ends_the_account(session):
    """Test that the roster import (the page's, the CLI's and the API's path) ends the account of a worker
    it marks as left."""
    org = make_org(session)
    a0 = org.workers_a[0]
    user = _worker_account(session, a0, "a00")
    token = _signed_in(session, user)
    data = f"工号,姓名,网格编码,状态\n{a0.employee_no},{a0.name},{org.grids_a[0].code},离职\n".encode(
        "utf-8-sig"
    )
    admin = viewer(Role.SYSADMIN)
    preview = preview_worker_import(session, admin, data, "roster.csv")
    assert preview.ok, preview.errors
    commit_worker_import(session, admin, preview)
    assert not user.is_active and check_session(session, token=token).reason == "revoked"


@pytest.fixture
def disable_unused(monkeypatch):
    monkeypatch.setenv("GRIDWISE_ACCOUNT_DISABLE_UNUSED", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_unused_accounts_are_listed_and_the_daily_job_disables_workers_and_managers(
    session, engine, disable_unused
):
    """Test that accounts unused for 90 days are listed for review (oldest first), the job deactivates the
    workers' and managers' among them (not administrators'), signs them out, and a second run does nothing."""
    now = clock.now()
    old, recent = now - timedelta(days=120), now - timedelta(days=10)
    idle = make_user(session, "idle", "x", role=Role.MANAGER, created_at=old)
    make_user(session, "busy", "x", role=Role.MANAGER, created_at=old, last_login_at=recent)
    chief = make_user(session, "chief", "x", role=Role.SYSADMIN, created_at=old - timedelta(days=1))
    make_user(session, "new", "x", role=Role.MANAGER, created_at=recent)
    token = _signed_in(session, idle)
    session.commit()
    listed = unused_accounts(session, viewer(Role.SECADMIN), now=now)
    assert listed["username"].tolist() == ["chief", "idle"]
    for role in (Role.MANAGER, Role.AUDITOR, Role.WORKER):
        with pytest.raises(ScopeError):
            unused_accounts(session, viewer(role), now=now)
    assert daily_disable_unused(now=now, engine=engine) == 1
    assert daily_disable_unused(now=now, engine=engine) == 0  # idempotent
    session.expire_all()
    assert not session.get(User, idle.id).is_active and session.get(User, chief.id).is_active
    assert check_session(session, token=token).reason == "revoked"
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "user.deactivate_unused")).one()


def test_without_the_setting_the_job_disables_nobody(session):
    """Test that the job is off by default (accounts are only listed)."""
    make_user(session, "idle", "x", role=Role.MANAGER, created_at=clock.now() - timedelta(days=365))
    assert disable_unused_accounts(session) == 0
    assert session.exec(select(User).where(User.username == "idle")).one().is_active
