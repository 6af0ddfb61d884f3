"""A worker's pages agree with the menu and with the demo's own clock (issue #22): the page is titled as its
menu entry, and 2020 certificates are judged on the demo's date (2020-09-30), not all shown 过期."""

from __future__ import annotations

from core.i18n import t
from tests.app.util import texts


def test_my_learning_is_named_as_in_the_menu_and_judges_certificates_on_the_demo_date(open_page, viewer_of):
    """Test that 我的课程 is both the menu entry and the page title, that the certificates say the date they
    are judged on, and that a certificate valid on the demo's date is shown valid."""
    at = open_page("pages/my_learning.py", viewer_of("dp0001"))
    assert not at.exception
    assert at.title[0].value == t("menu.my_learning", "zh") == "我的课程"
    assert "有效期按 2020-09-30 计算。" in texts(at)
    valid = [s.value for s in at.success if "有效" in s.value]
    assert valid, texts(at)
