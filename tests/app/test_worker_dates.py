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


def test_my_scorecard_says_how_the_score_is_computed_and_advises_consistently(open_page, viewer_of):
    """Test that the worker's card says in plain words that some items are ranked against colleagues, and that
    no advice offers points for an item already at 100%."""
    for lang, plain in (("zh", "按你的名次给分"), ("en", "score your place")):
        at = open_page("pages/my_scorecard.py", viewer_of("dp0183"), lang=lang)
        assert not at.exception
        shown = texts(at)
        assert plain in shown
        advice = [m.value for m in at.markdown if "100.0%" in m.value]
        assert not [a for a in advice if "可多得" in a or "more point" in a], advice
