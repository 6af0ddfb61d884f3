"""The API clients page: an administrator registers a client, sees its key once, rotates and revokes it."""

from __future__ import annotations

from core.api_clients import create_client
from core.db import get_engine, unit_of_work
from core.scope import SYSTEM
from tests.app.util import texts


def _button(at, label: str):  # noqa: ANN001, ANN202
    return next(b for b in at.button if b.label == label)


def test_admin_registers_a_client_and_sees_its_key_once(open_page, viewer_of):
    """Test that registering shows the key once (a code block) and lists the client without its key."""
    at = open_page("pages/api_clients.py", viewer_of("admin"))
    assert not at.exception
    assert "还没有登记任何接口客户端。" in texts(at)
    at.text_input[0].input("city-platform")
    at.multiselect[0].set_value(["写入事件", "读取事件"])
    _button(at, "登记并生成密钥").click().run()
    assert not at.exception
    key = at.code[0].value
    assert key.startswith("gw_") and "密钥只显示这一次" in texts(at)
    at.run()  # the next run lists the client and no longer shows the key
    assert not at.code
    frame = at.dataframe[0].value
    assert list(frame["名称"]) == ["city-platform"]
    assert frame["允许的操作"].iloc[0] == "读取事件、写入事件"
    assert key not in frame.to_string()


def test_rotating_shows_a_new_key_and_revoking_lists_the_client_inactive(open_page, viewer_of):
    """Test that rotate shows a different key and revoke marks the client inactive."""
    at = open_page("pages/api_clients.py", viewer_of("admin"))
    at.text_input[0].input("会议平台")
    at.multiselect[0].set_value(["写入会议签到"])
    _button(at, "登记并生成密钥").click().run()
    first = at.code[0].value
    at.run()
    next(s for s in at.selectbox if s.label == "选择客户端").set_value("会议平台").run()
    _button(at, "更换密钥").click().run()
    assert not at.exception and at.code[0].value != first
    at.checkbox[0].check().run()
    _button(at, "停用客户端").click().run()
    assert not at.exception and "已停用“会议平台”，其密钥不再有效。" in texts(at)
    at.run()
    assert at.dataframe[0].value["有效"].tolist() == [False]


def test_the_page_lists_clients_in_english(open_page, viewer_of, app_db):
    """Test that the table names scope and operations in English."""
    with unit_of_work(get_engine(app_db)) as session:
        create_client(
            session,
            SYSTEM,
            name="city-platform",
            scope_unit_id=None,
            operations=["events.write", "decisions.read"],
        )
    at = open_page("pages/api_clients.py", viewer_of("admin"), lang="en")
    assert not at.exception, texts(at)
    assert at.dataframe, texts(at)
    frame = at.dataframe[0].value
    assert frame["Allowed operations"].iloc[0] == "Read assignment decisions, Write events"
    assert frame["Scope"].iloc[0] == "the whole district"
