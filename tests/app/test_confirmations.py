"""Actions that cannot be undone ask first, and a create cannot be made twice by a second click (issue #22):
排课 gives way to its result and an identical session is refused; cancelling a session and ending sign-in
sessions wait for a confirmation; a cancelled session then shows as 已取消."""

from __future__ import annotations

from sqlmodel import Session, func, select

from core.db import get_engine
from core.i18n import t
from core.models_web_sessions import WebSession
from courses.models import TrainingSession
from tests.app.util import show_tab, texts


def _sessions(db_url: str) -> int:
    with Session(get_engine(db_url)) as s:
        return s.exec(select(func.count()).select_from(TrainingSession)).one()


def _button(at, key: str, lang: str = "zh"):
    return next(b for b in at.button if b.label == t(key, lang))


def test_schedule_clicked_twice_makes_one_session(open_page, viewer_of, app_db):
    """Test that after 排课 the form gives way to the result (no second click on it), and that scheduling
    the same plan again is refused with a message and creates nothing."""
    before = _sessions(app_db)
    at = show_tab(
        open_page("pages/catalog.py", viewer_of("xiasha")), "catalog_tab", t("courses.tab.schedule", "zh")
    )
    _button(at, "courses.sched.submit").click().run()
    assert not at.exception
    assert at.success and _sessions(app_db) == before + 1
    assert not [b for b in at.button if b.label == t("courses.sched.submit", "zh")]  # the button is gone
    _button(at, "courses.sched.again").click().run()
    _button(at, "courses.sched.submit").click().run()  # the same defaults: the same course, day and time
    assert not at.exception
    assert _sessions(app_db) == before + 1
    assert any("没有重复创建" in e.value for e in at.error), texts(at)


def test_cancelling_a_session_asks_first_and_then_shows_it_cancelled(open_page, viewer_of, app_db):
    """Test that 取消课次 changes nothing until confirmed, 返回 leaves the session scheduled, and after the
    confirmation the session is cancelled and listed as 已取消."""
    at = open_page("pages/catalog.py", viewer_of("manager"))
    assert not at.exception
    sid = next(s for s in at.selectbox if s.label == t("courses.edit.pick", "zh")).value
    _button(at, "courses.edit.cancel_session").click().run()
    assert any("不能恢复" in w.value for w in at.warning), texts(at)
    with Session(get_engine(app_db)) as s:
        assert s.get(TrainingSession, sid).status == "scheduled"
    _button(at, "common.go_back").click().run()
    assert not any("不能恢复" in w.value for w in at.warning)
    _button(at, "courses.edit.cancel_session").click().run()
    _button(at, "courses.edit.cancel_yes").click().run()
    assert not at.exception
    with Session(get_engine(app_db)) as s:
        assert s.get(TrainingSession, sid).status == "cancelled"
    assert t("courses.edit.cancelled", "zh") in [m.value for m in at.success]
    assert "已取消" in at.dataframe[0].value[t("courses.col.status", "zh")].tolist()


def test_ending_sign_in_sessions_asks_first(open_page, viewer_of, app_db):
    """Test that 结束所选的会话 ends nothing until confirmed."""
    manager = open_page(None, viewer_of("manager"))
    mine = manager.session_state["web_session_id"]
    at = open_page("pages/web_sessions.py", viewer_of("secadmin"))
    at.multiselect(key="sessions_pick").set_value([mine]).run()
    next(b for b in at.button if b.label == t("sessions.end_selected", "zh", n=1)).click().run()
    with Session(get_engine(app_db)) as s:
        assert s.get(WebSession, mine).revoked_at is None
    assert any("立即退出登录" in w.value for w in at.warning)
    _button(at, "sessions.end_yes").click().run()
    assert not at.exception
    with Session(get_engine(app_db)) as s:
        assert s.get(WebSession, mine).revoked_at is not None
