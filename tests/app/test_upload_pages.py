"""The pages refuse a disguised upload by its content and name the file (AppTest uploads real bytes)."""

from __future__ import annotations

import pytest

from tests.app.util import texts

pytestmark = pytest.mark.xdist_group("apptest")

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(range(256)) * 4


def test_workers_page_refuses_a_program_named_xlsx(open_page, viewer_of):
    """Test that the roster upload shows the policy's error naming the file, and no preview."""
    at = open_page("pages/workers.py", viewer_of("manager"), lang="zh")
    at.file_uploader(key="worker_upload").upload("roster.xlsx", EXE).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("roster.xlsx" in e and "可执行程序" in e for e in errors), errors
    assert "to add" not in texts(at).lower() or not at.button  # nothing previewed


def test_field_import_page_refuses_a_binary_csv_in_chinese(open_page, viewer_of):
    """Test the field-data import page: a binary .csv is refused before any import runs, message in zh."""
    at = open_page("pages/field_import.py", viewer_of("manager"), lang="zh")
    at.file_uploader(key="upload_events").upload("事件.csv", b"a,b\n\x00\x01\x02\n").run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("事件.csv" in e and "二进制数据" in e for e in errors), errors
    assert not [m for m in at.metric if m.value not in ("", None)]  # no import summary drawn
