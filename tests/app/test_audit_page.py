"""The audit page filters by area: the areas are listed in the user's language and choosing one shows
only that area's entries."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from core.auth import sign_in
from core.db import get_engine
from core.models import Role
from evaluation.field.registry import sla_levels, update_sla
from tests.factories import viewer

pytestmark = pytest.mark.xdist_group("apptest")


def test_area_filter_shows_only_that_areas_entries(open_page, viewer_of, app_db):
    """Test that with a time-limit edit and a failed sign-in on record, the field-data area shows the
    edit and not the sign-in, and all areas show both."""
    with Session(get_engine(app_db)) as s:
        level = sla_levels(s)["normal"]
        update_sla(s, viewer(Role.SYSADMIN), code="normal", sign_limit_hours=level.sign_limit_hours + 1)
        s.commit()
        sign_in(s, "xiasha", "wrong-password")
    at = open_page("pages/audit.py", viewer_of("auditor"), lang="zh")
    assert not at.exception
    area = at.selectbox[0]
    assert area.label == "业务范围" and "网格业务数据（事件、出租屋、指标、时限）" in area.options
    everything = set(at.dataframe[0].value["操作"])  # actions in words, not codes such as signin.failed
    assert {"修改办理时限", "登录失败（密码错误）"} <= everything
    area.set_value("field").run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert "修改办理时限" in set(shown["操作"])
    assert "登录失败（密码错误）" not in set(shown["操作"]), set(shown["操作"])
    assert "签收时限（小时）：" in shown["变更前"].iloc[0]


def test_area_labels_in_english(open_page, viewer_of):
    """Test that the area list is drawn in English for an English session."""
    at = open_page("pages/audit.py", viewer_of("auditor"), lang="en")
    assert not at.exception
    area = at.selectbox[0]
    assert area.label == "Area" and area.options[0] == "All areas"
    assert "Field data (events, rentals, metrics, time limits)" in area.options


def test_action_filter_offers_recorded_actions_in_words(open_page, viewer_of, app_db):
    """Test that the action filter lists the actions on record by their words, never their codes, and that
    choosing one (the failed sign-in) shows only its entries while the code stays underneath."""
    with Session(get_engine(app_db)) as s:
        level = sla_levels(s)["normal"]
        update_sla(s, viewer(Role.SYSADMIN), code="normal", sign_limit_hours=level.sign_limit_hours + 1)
        s.commit()
        sign_in(s, "xiasha", "wrong-password")
    for lang, sla, failed, everything in (
        ("zh", "修改办理时限", "登录失败（密码错误）", "全部操作"),
        ("en", "time limits changed", "sign-in failed (wrong password)", "All actions"),
    ):
        at = open_page("pages/audit.py", viewer_of("auditor"), lang=lang)
        assert not at.exception
        assert not at.text_input, [t.label for t in at.text_input]  # no code to type
        action = at.selectbox(key="audit_action_")
        assert action.options[0] == everything and {sla, failed} <= set(action.options), action.options
        assert not [o for o in action.options if "." in o or "_" in o], action.options
        action.set_value("signin.failed").run()
        assert not at.exception
        assert set(at.dataframe[0].value.iloc[:, 2]) == {failed}
