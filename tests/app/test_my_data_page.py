"""我的数据 as a worker opens it: everything held about them on screen, and the download made only when clicked."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from core import rights
from core.db import get_engine
from tests.app.util import texts


def test_the_page_shows_my_data_and_makes_the_download_only_on_click(
    open_page, viewer_of, monkeypatch: pytest.MonkeyPatch
):
    """Test that a view of 我的数据 shows the worker's record and rows without building the JSON file: the file
    (the whole history as JSON, most of a long history's cost) is made when the button is clicked, from what
    the view read."""
    made = []
    real = rights.my_data_file
    monkeypatch.setattr(rights, "my_data_file", lambda data: made.append(data) or real(data))
    at = open_page("pages/my_data.py", viewer_of("dp0001"), lang="zh")
    assert not at.exception
    assert "我的数据" in texts(at)
    assert at.expander, "the tables held about the worker"
    assert made == []


def test_a_view_reads_only_the_tables_the_worker_opens(
    open_page, viewer_of, app_db, monkeypatch: pytest.MonkeyPatch
):
    """Test that 我的数据 shows each table's row count closed and reads a table's rows only once the worker opens
    it: a view must not cost what the worker's whole history costs (issue #21)."""
    read: list[str] = []
    real = rights.my_data_rows
    monkeypatch.setattr(rights, "my_data_rows", lambda s, v, table: read.append(table) or real(s, v, table))
    me = viewer_of("dp0001")
    at = open_page("pages/my_data.py", me, lang="zh")
    assert not at.exception
    assert read == ["worker"], "only the worker's own record, for the profile"
    assert not at.dataframe, "every table closed"
    labels = [e.label for e in at.expander]
    assert any(label.startswith("事件任务") for label in labels), labels

    read.clear()
    at.session_state["my_data_open_field_event"] = True
    at.run()
    assert not at.exception
    assert read == ["worker", "field_event"]
    assert len(at.dataframe) == 1
    with Session(get_engine(app_db)) as s:
        held = len(real(s, me, "field_event"))
    assert len(at.dataframe[0].value) == held > 0
