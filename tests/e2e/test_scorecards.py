"""Scorecards in the real browser: the manager's ranking (300 rows, a long name), the party-member
comparison, calibration and an empty snapshot list, one worker's card; then a worker's own card on a
phone-sized screen; in Chinese and English, with screenshots under test-results/screenshots/."""

from __future__ import annotations

import re
import sqlite3

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.engine import make_url

from tests.e2e.conftest import screenshot, sign_in, wait_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
LONG_NAME = "欧阳·买买提艾力·阿不都热合曼"


def _tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    wait_for_run(page)


def test_manager_and_worker_scorecards(page: Page, server):
    """Test that a manager ranks, compares and opens cards, and a worker sees only their own card."""
    with sqlite3.connect(make_url(server.db_url).database) as db:  # a long, real-world name
        db.execute("UPDATE worker SET name = ? WHERE employee_no = 'DP0300'", (LONG_NAME,))

    sign_in(page, server, "manager")
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("link", name="考评排名", exact=True).click()
    wait_for_run(page)
    expect(page.get_by_role("heading", name="考评排名与对比")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_text(re.compile(r"共 30\d 人；排名为全区排名"))).to_be_visible()
    screenshot(page, "scorecards-ranking-zh")
    _tab(page, "党员对比")
    # the chart prints each gap in points above its bars (the article: 1–2 points)
    expect(page.get_by_text(re.compile(r"^\+1\.\d\d pp$")).first).to_be_visible()
    screenshot(page, "scorecards-party-zh")
    _tab(page, "社区对比与校准")
    expect(page.get_by_text("评分校准", exact=False).first).to_be_visible()
    screenshot(page, "scorecards-calibration-zh")
    _tab(page, "快照与通报")
    expect(page.get_by_text("还没有冻结的考评快照。")).to_be_visible()  # the empty state
    screenshot(page, "scorecards-snapshots-empty-zh")

    sidebar.get_by_text("English").click()
    wait_for_run(page)
    expect(page.get_by_role("heading", name="Scorecards and comparisons")).to_be_visible()
    _tab(page, "Party members vs all")
    expect(page.get_by_text(re.compile(r"^\+1\.\d\d pp$")).first).to_be_visible()
    screenshot(page, "scorecards-party-en")
    _tab(page, "Distribution and trend")
    expect(page.get_by_text("Score distribution", exact=True)).to_be_visible()  # the histogram's title
    screenshot(page, "scorecards-distribution-en")

    sidebar.get_by_role("link", name="Worker scorecard", exact=True).click()
    wait_for_run(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_text("Breakdown (raw figures and formula)")).to_be_visible()
    expect(page.get_by_text("What would raise the score most")).to_be_visible()
    screenshot(page, "scorecard-worker-en")

    sidebar.get_by_role("button", name=re.compile("Sign out")).click()
    wait_for_run(page)
    sign_in(page, server, "dp0001")
    page.get_by_test_id("stSidebar").get_by_role("link", name=re.compile("我的考评|My scorecard")).click()
    wait_for_run(page)
    expect(page.get_by_text(re.compile(r"你在本社区排名前 ?\d+"))).to_be_visible()
    screenshot(page, "my-scorecard-zh")
    page.get_by_test_id("stSidebar").get_by_text("English").click()
    wait_for_run(page)
    expect(page.get_by_text(re.compile(r"You are in the top \d+% of your community"))).to_be_visible()
    page.set_viewport_size({"width": 390, "height": 844})  # a phone; the sidebar folds away
    wait_for_run(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_text(re.compile(r"(你在本社区排名前|You are in the top) \d+"))).to_be_visible()
    expect(page.get_by_text(LONG_NAME)).to_have_count(0)  # no one else's name on a worker's card
    screenshot(page, "my-scorecard-phone-en")
