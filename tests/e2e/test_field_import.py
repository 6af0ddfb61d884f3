"""A manager imports a GB18030 CSV of monthly figures through the page: preview, then the committed rows."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text

from tests.e2e.conftest import screenshot, sign_in, wait_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

CSV = (
    "工号,统计月份,指标,分子,分母\r\n"
    "DP0001,2020年10月,采集率,412,436\r\n"
    "DP0002,2020/10,准确率,37,40\r\n"
    "DP0003,2020-10,未注销率,88,90\r\n"
).encode("gb18030")


def test_manager_imports_figures_sees_preview_then_committed_rows(page: Page, server, tmp_path):
    """Test the import page end to end: upload, preview counts and rows, write, rows in the database."""
    sign_in(page, server, "manager")
    page.get_by_test_id("stSidebar").get_by_role("link", name="数据导入").click()
    wait_for_run(page)
    expect(page.get_by_role("heading", name="导入采集数据")).to_be_visible()
    path = tmp_path / "十月指标.csv"
    path.write_bytes(CSV)
    page.locator("input[type=file]").first.set_input_files(str(path))
    wait_for_run(page)
    metrics = page.get_by_test_id("stMetric")
    expect(metrics.filter(has_text="读取行数")).to_contain_text("3")
    expect(metrics.filter(has_text="将新增")).to_contain_text("3")
    expect(metrics.filter(has_text="被拒绝")).to_contain_text("0")
    expect(page.get_by_text("将写入的记录（前 3 条）")).to_be_visible()
    screenshot(page, "field-import-preview-zh")
    page.get_by_role("button", name="确认写入").click()
    wait_for_run(page)
    expect(page.get_by_text("已写入：新增 3 条，更新 0 条。")).to_be_visible()
    expect(page.get_by_text("刚写入的记录")).to_be_visible()
    screenshot(page, "field-import-committed-zh")
    # The nightly checks have not seen the new rows: the page says how to check them now, and links there.
    expect(
        page.get_by_text("数据质量检查每晚运行一次；要马上检查刚写入的数据，打开数据质量，点“重新检查”。")
    ).to_be_visible()
    page.get_by_test_id("stMain").get_by_role("link", name="数据质量").click()
    wait_for_run(page)
    expect(page.get_by_role("button", name="重新检查")).to_be_visible()
    engine = create_engine(server.db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT w.employee_no, v.metric, v.numerator, v.denominator FROM field_metric_value v "
                "JOIN worker w ON w.id = v.worker_id WHERE v.period = '2020-10' AND v.source = 'import' "
                "ORDER BY w.employee_no"
            )
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("DP0001", "collection_rate", 412, 436),
        ("DP0002", "accuracy_rate", 37, 40),
        ("DP0003", "retention_rate", 88, 90),
    ]


def _after(page: Page, selector: str) -> str:
    """The text a ::after rule puts after the first element matching ``selector`` (quoted, as CSS gives it)."""
    return page.locator(selector).first.evaluate("e => getComputedStyle(e, '::after').content")


def test_the_upload_widget_speaks_the_pages_language(page: Page, server):
    """Test that Streamlit's own upload button and size line (no API labels them) read in Chinese on a Chinese
    page — the English words hidden — and stay Streamlit's English on an English page."""
    sign_in(page, server, "manager", path="field_import")
    zone = page.get_by_test_id("stFileUploaderDropzone").first
    expect(zone.get_by_text("Upload", exact=True)).to_be_hidden()
    button = "[data-testid=stFileUploaderDropzone] button [data-testid=stMarkdownContainer]"
    assert _after(page, button) == '"上传文件"'
    assert _after(page, "[data-testid=stFileUploaderDropzoneInstructions] span") == '"单个文件不超过 50 MB"'
    screenshot(page, "upload-widget-zh")
    page.get_by_test_id("stSidebar").get_by_text("English").click()
    wait_for_run(page)
    expect(zone.get_by_text("Upload", exact=True)).to_be_visible()
    assert _after(page, button) in ("none", "normal")
    screenshot(page, "upload-widget-en")
