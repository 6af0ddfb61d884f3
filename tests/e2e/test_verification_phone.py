"""A verification (核查) task from assignment to 已反馈 (issue #22): the district manager assigns one of the demo's
open house-code checks on 智能派单; the worker, on a phone-sized screen (390×844), finds the notice in 消息, its
查看 opens that very task on 我的任务 with what, where and by when, and the finding they send closes it. In zh and
en, with screenshots of each step (verification-phone-<step>-<lang>.png under artifacts/screenshots/)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from core.db import get_engine
from core.i18n import t
from core.models import OrgUnit, User
from evaluation.field.models import VerificationTask
from tests.e2e.conftest import PHONE, Server, pick_option, screenshot, server_on_copy, sign_in, wait_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
# One of the demo's open, unassigned house-code checks per language (its key, and what to type in 选择任务 to
# find it in the district's long queue).
TASK = {
    "zh": ("大鹏新区王母围中心街51号#50", "王母围中心街51号"),
    "en": ("大鹏新区鹏城村市场路60号#59", "H00000140"),
}
FINDING = {
    "zh": "门牌上两个编码,住户确认是同一套房,已请社区合并",
    "en": "Two plates on one flat; asked to merge",
}


@pytest.fixture(scope="module")
def phone_server(demo_db_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A private server: the test assigns and closes tasks the shared server's other tests may count."""
    with server_on_copy(demo_db_template, tmp_path_factory.mktemp("verification-phone")) as srv:
        yield srv


def _english(page: Page) -> None:
    page.get_by_test_id("stSidebar").get_by_text("English").click()
    wait_for_run(page)


def _choose_task(page: Page, lang: str, title: str, typed: str) -> None:
    """Pick the task in 选择任务 by typing part of its title (the district's queue is long)."""
    box = page.get_by_test_id("stSelectbox").filter(has_text=t("assign.pick_task", lang)).first
    pick_option(page, box.get_by_role("combobox"), re.compile(re.escape(title)), typed=typed)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_verification_task_goes_from_assignment_to_reported_on_a_phone(
    page: Page, browser: Browser, phone_server: Server, lang: str
):
    """Test that a task the manager assigns reaches the worker's inbox, that its 查看 opens that very task on
    我的任务 at phone width with its title, grid and community, map link, due time and overdue mark, and that
    the worker's finding closes it (已反馈 / Reported) and records the note."""
    server = phone_server
    engine = get_engine(server.db_url)
    with Session(engine) as s:
        task = s.exec(select(VerificationTask).where(VerificationTask.ref_key == TASK[lang][0])).one()
        assert task.state == "open" and task.assignee_id is None
        task_id, title = task.id, (task.title_zh if lang == "zh" else task.title_en)
        grid = s.get(OrgUnit, task.grid_id)
        community = s.get(OrgUnit, task.community_id)
        grid_name, community_name = (
            (grid.name_zh, community.name_zh) if lang == "zh" else (grid.name_en, community.name_en)
        )

    # The district manager, on a laptop: 智能派单, the task, its recommendation, 确认派单.
    page.set_viewport_size({"width": 1366, "height": 1400})
    sign_in(page, server, "manager", path="dispatch")
    if lang == "en":
        _english(page)
    expect(page.get_by_role("heading", name=t("assign.title", lang))).to_be_visible()
    _choose_task(page, lang, title, TASK[lang][1])
    expect(
        page.get_by_text(re.compile("^" + re.escape(t("assign.recommended", lang).split("{")[0])))
    ).to_be_visible()
    expect(page.get_by_role("heading", name=title)).to_be_visible()  # the chosen task, ranked
    form = page.get_by_test_id("stForm")
    screenshot(page, f"verification-phone-assign-{lang}")
    form.get_by_role("button", name=t("assign.assign_button", lang)).click()
    wait_for_run(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(
        page.get_by_text(re.compile("^" + re.escape(t("assign.done", lang).split("{")[0])))
    ).to_be_visible()
    with Session(engine) as s:
        assigned = s.get(VerificationTask, task_id)
        assert assigned.assignee_id is not None
        worker = s.exec(select(User.username).where(User.worker_id == assigned.assignee_id)).one()

    # The worker, on a phone: 消息 → the notice → 查看.
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    phone = context.new_page()
    try:
        sign_in(phone, server, worker)
        if lang == "en":
            _english(phone)
        phone.set_viewport_size(PHONE)
        wait_for_run(phone)
        phone.get_by_test_id("stExpandSidebarButton").click()
        phone.get_by_test_id("stSidebar").get_by_test_id("stPageLink-NavLink").filter(
            has_text=t("menu.inbox", lang)
        ).click()
        wait_for_run(phone)
        expect(phone.get_by_role("heading", name=t("courses.inbox.title", lang))).to_be_visible()
        notice = t("courses.inbox.kind.task_assigned", lang)
        card = (
            phone.get_by_test_id("stVerticalBlock")
            .filter(has_text=title)
            .filter(has=phone.get_by_role("link", name=t("courses.inbox.open", lang)))
            .last
        )
        expect(card).to_contain_text(notice)
        card.scroll_into_view_if_needed()
        screenshot(phone, f"verification-phone-inbox-{lang}")
        link = card.get_by_role("link", name=t("courses.inbox.open", lang))
        assert f"verification%3A{task_id}" in (link.get_attribute("href") or "").replace(":", "%3A")
        link.click()
        wait_for_run(phone)

        # 我的任务: the task from the message first, with what, where, by when and the overdue mark.
        expect(phone.get_by_role("heading", name=t("field.my.title", lang))).to_be_visible()
        expect(phone.get_by_text(t("field.my.none", lang))).to_have_count(0)
        first = phone.get_by_test_id("stForm").first
        expect(first.get_by_role("textbox", name=t("field.my.finding", lang))).to_be_visible()
        from_notice = phone.get_by_text(t("field.my.from_notice", lang))
        expect(from_notice).to_be_visible()
        expect(phone.get_by_text(title, exact=True).first).to_be_visible()
        expect(phone.get_by_text(t("field.my.overdue", lang), exact=True)).to_be_visible()
        expect(phone.get_by_text(f"{grid_name} · {community_name}").first).to_be_visible()
        expect(phone.get_by_role("link", name=t("field.my.map", lang)).first).to_have_attribute(
            "href", re.compile(r"^https://uri\.amap\.com/marker\?position=")
        )
        expect(phone.get_by_text(t("field.my.due", lang, due="06-08 09:00"))).to_be_visible()
        why = t("field.my.why", lang, reason="")  # said once, not 派给你的原因：推荐理由: / Why you: Why you:
        reason = phone.get_by_text(re.compile("^" + re.escape(why))).first.inner_text()
        assert reason.count(why) == 1 and "推荐理由" not in reason, reason
        # Nothing wider than the screen: the page does not scroll sideways.
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        phone.get_by_text(t("field.my.from_notice", lang)).scroll_into_view_if_needed()
        screenshot(phone, f"verification-phone-task-{lang}")

        first.get_by_role("textbox", name=t("field.my.finding", lang)).fill(FINDING[lang])
        first.get_by_role("button", name=t("field.my.send_finding", lang)).click()
        wait_for_run(phone)
        expect(phone.get_by_test_id("stException")).to_have_count(0)
        expect(phone.get_by_text(t("field.my.finding_sent", lang, title=title))).to_be_visible()
        screenshot(phone, f"verification-phone-reported-{lang}")
    finally:
        context.close()
    with Session(engine) as s:
        done = s.get(VerificationTask, task_id)
        assert (done.state, done.note) == ("done", FINDING[lang])
