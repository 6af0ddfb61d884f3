"""我的数据 as a worker opens it: everything held about them on screen, and the download made only when clicked."""

from __future__ import annotations

import pytest

from core import rights
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
