"""Browser: a manager dispatches — opens a task, reads the ranking, overrides with a reason, runs the
batch — and the chosen worker finds the task, with the reason, in My tasks. Tasks are judged on the
demo's field "today" (2020-09-30), when its fire-safety certificates hold: a fire item has candidates."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from core.db import get_engine
from core.i18n import t
from core.models import User
from evaluation.assignment.models import AssignmentDecision
from evaluation.field.models import Event
from tests.app.test_assignment_pages import expire_certificates, prepare_dispatch_db
from tests.e2e.conftest import Server, pick_option, sign_in, start_server, wait_for_run
from tests.e2e.conftest import screenshot as _screenshot


def screenshot(page: Page, name: str) -> None:
    """Charts draw after the script run ends: the picture waits until every chart on view has drawn."""
    for chart in page.get_by_test_id("stVegaLiteChart").all():
        if chart.is_visible():
            expect(chart.locator("canvas, svg").first).to_be_visible()
    _screenshot(page, name)


pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture
def dispatch_server(demo_db_template: Path, tmp_path: Path) -> Iterator[tuple[Server, dict[str, str]]]:
    """A private server (the shared one keeps its live training session for the check-in tests)."""
    db = tmp_path / "demo.db"
    shutil.copy(demo_db_template, db)
    ids = prepare_dispatch_db(f"sqlite:///{db}")
    srv = start_server(db, tmp_path)
    yield srv, ids
    srv.stop()
    get_engine(f"sqlite:///{db}").dispose()


def choose(page: Page, label: str, option: re.Pattern | str) -> None:
    """Open the Streamlit selectbox called ``label`` and pick the option matching ``option``."""
    box = page.get_by_test_id("stSelectbox").filter(has_text=label).first
    pick_option(page, box.get_by_role("combobox"), option)


def open_tab(page: Page, name: str) -> None:
    """Click a tab and wait for the run it starts: only the open tab runs (on_change="rerun")."""
    page.get_by_role("tab", name=name).click()
    wait_for_run(page)


def test_manager_overrides_then_runs_the_batch_and_the_worker_sees_the_task(
    page: Page, browser: Browser, dispatch_server
):
    """Test the dispatch flow end to end, in the browser, across the manager and the worker."""
    server, ids = dispatch_server
    page.set_viewport_size({"width": 1366, "height": 2600})  # Streamlit scrolls inside; show the whole page
    sign_in(page, server, "xiasha", path="dispatch")
    wait_for_run(page)
    expect(page.get_by_role("heading", name="智能派单")).to_be_visible()
    choose(page, "选择任务", re.compile("消防通道堵塞占用"))
    expect(page.get_by_text(re.compile("^推荐："))).to_be_visible()
    # The top three's reason cards: each holds a valid certificate (not "no worker passes the rules").
    expect(page.get_by_role("listitem").filter(has_text=re.compile("^已持有消防安全.*证书"))).to_have_count(3)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "dispatch-fire-ranking-zh")

    choose(page, "选择任务", re.compile("乱堆物堆料"))
    expect(page.get_by_text(re.compile("^推荐："))).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "dispatch-ranking-zh")

    choose(page, "派给", re.compile("^第 2 名"))
    form = page.get_by_test_id("stForm")
    form.get_by_role("textbox", name="改派理由").fill("熟悉该楼栋业主,沟通更顺")
    form.get_by_role("button", name="确认派单").click()
    wait_for_run(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    db_url = server.db_url
    with Session(get_engine(db_url)) as s:
        decision = s.exec(select(AssignmentDecision).where(AssignmentDecision.task_id == ids["C03"])).one()
        assert decision.overridden and decision.override_reason == "熟悉该楼栋业主,沟通更顺"
        chosen = decision.chosen_worker_id
        username = s.exec(select(User.username).where(User.worker_id == chosen)).one()

    open_tab(page, "批量派单")
    page.get_by_role("button", name="生成批量派单方案").click()
    wait_for_run(page)
    expect(page.get_by_text("总得分", exact=True)).to_be_visible()
    screenshot(page, "dispatch-batch-zh")
    page.get_by_role("button", name="确认并派出").click()
    wait_for_run(page)
    expect(page.get_by_text(re.compile(r"已派出 \d+ 件"))).to_be_visible()
    with Session(get_engine(db_url)) as s:
        batch = s.exec(select(AssignmentDecision).where(AssignmentDecision.source == "batch")).all()
        event = s.get(Event, int(ids["C03"].split(":")[1]))
    assert event.assignee_id == chosen  # the batch skipped the task already assigned
    assert len(batch) == 4  # …and dispatched the other four, the two fire events included

    open_tab(page, "派单质量")
    expect(page.get_by_text("改派率", exact=True).first).to_be_visible()
    screenshot(page, "dispatch-quality-zh")
    open_tab(page, t("assign.tab.map", "zh"))
    expect(page.get_by_test_id("stDeckGlJsonChart")).to_be_visible()
    screenshot(page, "dispatch-map-zh")

    page.get_by_test_id("stSidebar").get_by_text("English").click()
    wait_for_run(page)
    open_tab(page, "Queue")
    expect(page.get_by_text("Dispatch policy and weights")).to_be_visible()
    page.get_by_text("Unassigned only").click()  # everything is assigned now: show the assigned tasks too
    wait_for_run(page)
    choose(page, "Task", re.compile("Blocked escape route or fire lane"))
    expect(page.get_by_text(re.compile("^Recommended:"))).to_be_visible()
    expect(
        page.get_by_role("listitem").filter(has_text=re.compile("^Holds the Fire.* certificate"))
    ).to_have_count(3)
    screenshot(page, "dispatch-queue-en")
    open_tab(page, t("assign.tab.batch", "en"))
    expect(page.locator(".st-key-assign_batch_propose")).to_be_visible()
    screenshot(page, "dispatch-batch-en")
    open_tab(page, t("assign.tab.map", "en"))
    expect(page.get_by_test_id("stDeckGlJsonChart")).to_be_visible()
    screenshot(page, "dispatch-map-en")
    open_tab(page, t("assign.tab.quality", "en"))
    expect(page.get_by_text(t("assign.q.override_rate", "en"), exact=True).first).to_be_visible()
    screenshot(page, "dispatch-quality-en")
    assert expire_certificates(db_url) > 0  # the demo has no gap on its field "today": make one in 下沙
    page.get_by_test_id("stSidebar").get_by_role("link", name="Skill gaps").click()
    wait_for_run(page)
    expect(page.get_by_role("heading", name="Skill gaps")).to_be_visible()
    expect(
        page.get_by_test_id("stMetric").filter(has_text="Tasks nobody qualified can take")
    ).to_contain_text("2")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "skill-gaps-en")
    page.get_by_test_id("stSidebar").get_by_text("中文").click()
    wait_for_run(page)
    expect(page.get_by_test_id("stMetric").filter(has_text="无人可派的任务")).to_contain_text("2")
    screenshot(page, "skill-gaps-zh")

    worker = browser.new_page(
        viewport={"width": 1000, "height": 1400}, locale="zh-CN"
    )  # sign_in expects the sidebar open
    sign_in(worker, server, username, path="my_tasks")
    wait_for_run(worker)
    expect(worker.get_by_text("测试路0号", exact=False)).to_be_visible()
    expect(worker.get_by_text(re.compile("管理员指派：熟悉该楼栋业主,沟通更顺"))).to_be_visible()
    screenshot(worker, "dispatch-worker-my-tasks-zh")
    worker.close()
