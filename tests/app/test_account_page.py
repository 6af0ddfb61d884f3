"""The account page (every role): change my own password under the policy; a forced change first."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from core.db import get_engine, unit_of_work
from core.demo import DEMO_PASSWORD
from core.models import User
from core.settings import get_settings
from tests.app.util import texts

pytestmark = pytest.mark.xdist_group("apptest")


def _submit(at, current: str, new: str, again: str | None = None):  # noqa: ANN001, ANN202
    at.text_input(key="pw_current").input(current)
    at.text_input(key="pw_new").input(new)
    at.text_input(key="pw_again").input(new if again is None else again)
    next(b for b in at.button if b.label in ("Change password", "修改密码")).click().run()
    return at


@pytest.mark.parametrize("who", ["dp0001", "manager", "admin", "auditor"])
def test_every_role_changes_its_password_on_the_account_page(open_page, viewer_of, who):
    """Test that a weak password is refused with the policy's message and a good one is saved."""
    at = open_page("pages/account.py", viewer_of(who), lang="en")
    assert not at.exception
    _submit(at, DEMO_PASSWORD, "12345678")
    assert any("too short" in e.value for e in at.error)
    _submit(at, DEMO_PASSWORD, "Password123!")
    assert any("common passwords" in e.value for e in at.error)
    _submit(at, DEMO_PASSWORD, "Harbour-lantern-42")
    assert not at.error and any("Password changed" in s.value for s in at.success)


def test_a_forced_change_comes_before_any_page(open_page, viewer_of):
    """Test that an account that must change its password sees only the form (zh), then the page."""
    with unit_of_work(get_engine(get_settings().database_url)) as s:
        s.get(User, viewer_of("xiasha").user_id).must_change_password = True
    at = open_page("pages/workers.py", viewer_of("xiasha"), lang="zh")
    assert "请先设置您自己的密码" in texts(at) and not at.dataframe
    _submit(at, DEMO_PASSWORD, "Harbour-lantern-42")
    assert not at.exception and at.dataframe
    with Session(get_engine(get_settings().database_url)) as s:
        assert not s.get(User, viewer_of("xiasha").user_id).must_change_password
