"""User accounts (core.users) and the API clients' service accounts: an "api:<name>" account is no person."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.api_clients import create_client, revoke
from core.auth import hash_password
from core.errors import GridwiseError
from core.models import Role, User
from core.scope import SYSTEM, viewer_for
from core.users import api_accounts_count, reset_password, update_user, users_frame
from tests.factories import make_user


def _service_account(session) -> User:  # noqa: ANN001
    client, _key = create_client(
        session, SYSTEM, name="city-platform", scope_unit_id=None, operations=["events.read"]
    )
    return session.get(User, client.user_id)


def test_the_users_list_leaves_out_api_service_accounts(session):
    """Test that users_frame lists people only and api_accounts_count says how many service accounts it left out."""
    admin = viewer_for(
        session, make_user(session, "boss", hash_password("right-password"), role=Role.SYSADMIN)
    )
    account = _service_account(session)
    assert account.username == "api:city-platform"
    assert list(users_frame(session, admin)["username"]) == ["boss"]
    assert api_accounts_count(session, admin) == 1


@pytest.mark.parametrize("change", ["reactivate", "promote", "rename", "reset_password"])
def test_an_api_service_account_cannot_be_reactivated_edited_or_given_a_password(session, change):
    """Test that reactivating, editing or resetting the password of an API client's account is refused with a
    message naming the account and the API clients page, and the account stays inactive without a password."""
    admin = viewer_for(
        session, make_user(session, "boss", hash_password("right-password"), role=Role.SYSADMIN)
    )
    account = _service_account(session)
    revoke(session, SYSTEM, "city-platform")
    calls = {
        "reactivate": lambda: update_user(session, admin, account.id, is_active=True),
        "promote": lambda: update_user(session, admin, account.id, role=Role.SYSADMIN),
        "rename": lambda: update_user(session, admin, account.id, display_name="Platform"),
        "reset_password": lambda: reset_password(session, admin, account.id),
    }
    with pytest.raises(
        GridwiseError, match="api:city-platform is the service account of an API client"
    ) as exc:
        calls[change]()
    assert "接口客户端" in exc.value.message("zh")
    session.expire_all()
    stored = session.exec(select(User).where(User.username == "api:city-platform")).one()
    assert (stored.is_active, stored.role, stored.password_hash) == (
        False,
        Role.MANAGER.value,
        "!api-client (no sign-in)",
    )


def test_a_persons_account_is_still_edited_and_reset(session):
    """Test that the refusal is only for service accounts: a person's account is reactivated and reset."""
    admin = viewer_for(
        session, make_user(session, "boss", hash_password("right-password"), role=Role.SYSADMIN)
    )
    _service_account(session)
    lee = make_user(session, "lee", hash_password("right-password"))
    update_user(session, admin, lee.id, is_active=False)
    assert update_user(session, admin, lee.id, is_active=True).is_active
    assert reset_password(session, admin, lee.id)
