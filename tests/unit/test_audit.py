"""The audit trail records sign-ins, account changes and imports in the same transaction."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import select

from core.audit import audit_frame
from core.auth import hash_password, sign_in
from core.models import Role
from core.models_audit import AuditEntry
from core.scope import ScopeError
from core.users import create_user, update_user
from core.worker_import import commit_worker_import, preview_worker_import
from tests.factories import make_org, make_user, viewer


def _actions(session) -> list[str]:
    return [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()]


def test_sign_ins_and_failures_are_recorded(session):
    """Test that a failure, an unknown user and a success each leave one entry."""
    make_user(session, "lee", hash_password("right-password"))
    sign_in(session, "lee", "wrong", now=datetime(2020, 6, 1))
    sign_in(session, "ghost", "x", now=datetime(2020, 6, 1))
    sign_in(session, "lee", "right-password", now=datetime(2020, 6, 1))
    assert _actions(session) == ["signin.failed", "signin.unknown_user", "signin.ok"]


def test_user_change_records_before_and_after_without_the_hash(session):
    """Test that a role change (the security administrator's) is audited with both values and never the
    password hash."""
    admin = viewer(Role.SYSADMIN)
    user = create_user(
        session, admin, username="mgr", display_name="M", role=Role.MANAGER, password="long-enough-1"
    )
    update_user(session, viewer(Role.SECADMIN, user_id=2), user.id, role=Role.SYSADMIN)
    session.commit()
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "user.update")).one()
    assert '"role": "manager"' in entry.before and '"role": "sysadmin"' in entry.after
    assert "argon2" not in (entry.before + entry.after)


def test_audit_rolls_back_with_the_change(session):
    """Test that an entry written in a transaction that is rolled back disappears with it."""
    admin = viewer(Role.SYSADMIN)
    create_user(session, admin, username="tmp", display_name="T", role=Role.MANAGER, password="long-enough-1")
    session.rollback()
    assert _actions(session) == []


def test_worker_import_is_audited_with_file_hash(session):
    """Test that an import entry names the file, its hash and the row counts."""
    org = make_org(session)
    admin = viewer(Role.SYSADMIN)
    data = f"工号,姓名,网格编码\nN1,李明,{org.grids_a[0].code}\n".encode("utf-8-sig")
    commit_worker_import(session, admin, preview_worker_import(session, admin, data, "roster.csv"))
    session.commit()
    frame = audit_frame(session, viewer(Role.AUDITOR), action_prefix="import")
    assert len(frame) == 1 and '"added": 1' in frame.iloc[0]["detail"] and "sha256" in frame.iloc[0]["detail"]
    for nobody_else in (Role.MANAGER, Role.SYSADMIN, Role.SECADMIN, Role.WORKER):
        with pytest.raises(ScopeError):
            audit_frame(session, viewer(nobody_else))


def test_a_worker_account_is_linked_by_employee_number(session):
    """Test that an admin links a new worker account by employee number, and an unknown number is refused by name."""
    org = make_org(session)
    admin = viewer(Role.SYSADMIN)
    user = create_user(
        session,
        admin,
        username="a01",
        display_name="",
        role=Role.WORKER,
        password="long-enough-1",
        employee_no=" A01 ",
    )
    assert user.worker_id == org.workers_a[1].id
    with pytest.raises(ValueError, match="Z99"):
        create_user(
            session,
            admin,
            username="z99",
            display_name="",
            role=Role.WORKER,
            password="long-enough-1",
            employee_no="Z99",
        )
