"""Separated administrator duties (三员分立): system, security and audit administrator kept apart.

The authorization matrix (test_authz_matrix.py) has a column for each duty; these tests cover what it does
not: the migration of old ``admin`` accounts, one duty per account unless the small-office setting allows
more (and the audit trail says so), and that the audit and security duties see no business data.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from core.audit import audit_frame
from core.auth import hash_password
from core.errors import GridwiseError
from core.migrate import upgrade
from core.models import ADMIN_ROLES, Role, User
from core.models_audit import AuditEntry
from core.org import headcount
from core.scope import ScopeError, viewer_for
from core.settings import get_settings
from core.users import create_user, reset_password, set_extra_duties, unlock_user, update_user, users_frame
from tests.factories import make_org, make_user, viewer


def test_role_says_which_roles_are_administrator_duties():
    """Test that exactly the three duties count as administrators (what the second-factor rule asks)."""
    assert (
        [r for r in Role if r.is_admin] == list(ADMIN_ROLES) == [Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR]
    )
    assert not Role.MANAGER.is_admin and not Role.WORKER.is_admin


def test_old_admin_accounts_become_system_administrators(tmp_path):
    """Test that migration 0012 turns each account of the former single ``admin`` role into a system
    administrator, leaves other roles alone, and gives every account no extra duties."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0011_api_webhooks")
    eng = sa.create_engine(url)
    with eng.begin() as conn:
        for name, role in (("chief", "admin"), ("mgr", "manager")):
            conn.execute(
                sa.text(
                    "INSERT INTO app_user (username, display_name, password_hash, role, is_active, failed_logins,"
                    " must_change_password, is_demo, created_at) VALUES (:u, :u, 'x', :r, 1, 0, 0, 0, '2020-01-01')"
                ),
                {"u": name, "r": role},
            )
    upgrade(url)
    with eng.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT username, role || '|' || extra_duties FROM app_user")).all())
    eng.dispose()
    assert rows == {"chief": "sysadmin|", "mgr": "manager|"}


def test_each_duty_keeps_its_own_accounts(session: Session):
    """Test that the system administrator opens workers' and managers' accounts but no administrator's, the
    security administrator opens administrators' accounts and changes roles, and neither the system nor the
    audit administrator changes a role."""
    sysadmin, secadmin, auditor = (
        viewer(Role.SYSADMIN, user_id=1),
        viewer(Role.SECADMIN, user_id=2),
        viewer(Role.AUDITOR, user_id=3),
    )
    mgr = create_user(
        session, sysadmin, username="mgr", display_name="M", role=Role.MANAGER, password="Long-enough-1"
    )
    with pytest.raises(GridwiseError) as refused:
        create_user(
            session, sysadmin, username="aud", display_name="A", role=Role.AUDITOR, password="Long-enough-1"
        )
    assert refused.value.key == "users.err.keeper_secadmin" and "安全管理员" in refused.value.message("zh")
    aud = create_user(
        session, secadmin, username="aud", display_name="A", role=Role.AUDITOR, password="Long-enough-1"
    )
    with pytest.raises(GridwiseError) as refused:
        create_user(
            session, secadmin, username="w", display_name="W", role=Role.MANAGER, password="Long-enough-1"
        )
    assert refused.value.key == "users.err.keeper_sysadmin"
    for who in (sysadmin, auditor):
        with pytest.raises(GridwiseError) as refused:
            update_user(session, who, mgr.id, role=Role.SYSADMIN)
        assert refused.value.key == "users.err.role_by_secadmin"
    assert update_user(session, secadmin, mgr.id, role=Role.SECADMIN).role == "secadmin"
    # The audit administrator's account is the security administrator's to keep, not the system one's.
    with pytest.raises(GridwiseError):
        reset_password(session, sysadmin, aud.id)
    with pytest.raises(GridwiseError):
        update_user(session, sysadmin, aud.id, is_active=False)
    assert reset_password(session, secadmin, aud.id)
    with pytest.raises(ScopeError):
        users_frame(session, auditor)


def test_only_the_security_administrator_unlocks(session: Session):
    """Test that a locked account is unlocked by the security administrator (audited) and by nobody else."""
    from datetime import datetime

    lee = make_user(session, "lee", hash_password("right-password"), failed_logins=5)
    lee.locked_until = datetime(2099, 1, 1)
    session.add(lee)
    session.flush()
    for role in (Role.SYSADMIN, Role.AUDITOR, Role.MANAGER):
        with pytest.raises(ScopeError):
            unlock_user(session, viewer(role), lee.id)
    unlock_user(session, viewer(Role.SECADMIN, user_id=99), lee.id)
    assert (lee.failed_logins, lee.locked_until) == (0, None)
    assert session.exec(select(AuditEntry.action).where(AuditEntry.action == "user.unlock")).all()


def test_one_account_holds_one_duty_unless_the_small_office_setting_allows_more(
    session: Session, monkeypatch
):
    """Test that further duties are refused by default; with the setting the security administrator grants
    them, the audit trail records it, and the account then opens both duties' work; without the setting any
    stored extras are ignored."""
    secadmin = viewer(Role.SECADMIN, user_id=99)
    chief = make_user(session, "chief", hash_password("right-password"), role=Role.SYSADMIN)
    with pytest.raises(GridwiseError) as refused:
        set_extra_duties(session, secadmin, chief.id, [Role.AUDITOR])
    assert refused.value.key == "users.err.one_duty"
    assert chief.extra_duties == ""

    monkeypatch.setenv("GRIDWISE_ALLOW_COMBINED_ADMIN_DUTIES", "true")
    get_settings.cache_clear()
    try:
        with pytest.raises(GridwiseError):  # only administrators combine duties, never a manager
            set_extra_duties(session, secadmin, make_user(session, "m", "x").id, [Role.AUDITOR])
        set_extra_duties(session, secadmin, chief.id, [Role.AUDITOR])
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "user.duties_combined")).one()
        assert entry.entity_id == str(chief.id) and "auditor" in entry.after
        both = viewer_for(session, chief)
        assert both.role == Role.SYSADMIN and both.duties == {Role.SYSADMIN, Role.AUDITOR}
        assert len(audit_frame(session, both)) >= 1  # the audit duty reads the trail
    finally:
        get_settings.cache_clear()
    monkeypatch.delenv("GRIDWISE_ALLOW_COMBINED_ADMIN_DUTIES")
    get_settings.cache_clear()
    alone = viewer_for(session, chief)
    assert alone.duties == {Role.SYSADMIN}
    with pytest.raises(ScopeError):
        audit_frame(session, alone)


def test_security_and_audit_administrators_see_no_workers(session: Session):
    """Test that the security and audit administrators, unscoped as they are, see no worker's data (the system
    administrator sees the whole district)."""
    make_org(session)
    assert headcount(session, viewer(Role.SYSADMIN))["workers"].sum() > 0
    for role in (Role.SECADMIN, Role.AUDITOR):
        assert headcount(session, viewer(role)).empty


def test_the_demo_has_one_account_per_duty(demo_db_template):
    """Test that the demo district signs in a system (``admin``), a security and an audit administrator."""
    eng = sa.create_engine(f"sqlite:///{demo_db_template}")
    with Session(eng) as s:
        roles = dict(
            s.exec(
                select(User.username, User.role).where(User.username.in_(["admin", "secadmin", "auditor"]))
            ).all()
        )
    eng.dispose()
    assert roles == {"admin": "sysadmin", "secadmin": "secadmin", "auditor": "auditor"}
