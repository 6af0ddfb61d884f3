"""A worker on a phone types a report, sees the suggested item, confirms, and the event exists with it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text

from tests.e2e.conftest import PHONE, screenshot, sign_in, wait_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
REPORTS = {"zh": "12栋楼道里电动车在充电 好几辆", "en": "5号楼消防通道被私家车堵死了"}
EXPECTED = {"zh": "F02", "en": "F01"}
UI = {
    "zh": ("识别事项", "建议事项：", "确认上报", "已上报"),
    "en": ("Suggest the item", "Suggested item:", "Confirm and report", "Reported"),
}


def test_worker_reports_an_event_on_a_phone_in_both_languages(page: Page, server):
    sign_in(page, server, "dp0001", path="report_event")
    engine = create_engine(server.db_url)
    for lang in ("zh", "en"):
        suggest, suggested, send, sent = UI[lang]
        if lang == "en":
            page.set_viewport_size({"width": 1366, "height": 900})
            wait_for_run(page)
            page.get_by_test_id("stSidebar").get_by_text("English").click()
            wait_for_run(page)
        page.set_viewport_size(PHONE)
        wait_for_run(page)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        page.get_by_role("textbox").first.fill(REPORTS[lang])
        page.get_by_role("button", name=suggest).click()
        wait_for_run(page)
        expect(page.get_by_text(re.compile(f"{suggested}.*{EXPECTED[lang]}"))).to_be_visible()
        screenshot(page, f"triage-report-suggested-phone-{lang}")
        page.get_by_role("button", name=send).click()
        wait_for_run(page)
        expect(page.get_by_text(sent, exact=False).first).to_be_visible()
        expect(page.get_by_role("textbox").first).to_have_value("")  # a fresh form for the next report
        screenshot(page, f"triage-report-sent-phone-{lang}")
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT item_code, suggested_item, item_confirmed FROM field_event WHERE report_text = :t"
                ),
                {"t": REPORTS[lang]},
            ).all()
        assert [tuple(r) for r in rows] == [(EXPECTED[lang], EXPECTED[lang], 1)]
    engine.dispose()
