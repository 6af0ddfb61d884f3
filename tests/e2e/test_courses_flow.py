"""The whole training path in a real browser: a manager schedules a session for a community and enrolls it →
a worker of that community sees it, checks in with the host's code, takes the quiz and sees the result →
the manager sees the attendance and the attempt. Screenshots of every courses page, zh and en."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, text

from core import clock
from tests.e2e.conftest import pick_option, screenshot, sign_in, wait_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
COURSE_ZH = "矛盾纠纷排查化解"


def _xiasha_worker_not_in_course(db_url: str) -> str:
    """A 下沙 worker's username who is not yet enrolled in the dispute-mediation course."""
    eng = create_engine(db_url)
    with eng.connect() as c:
        name = c.execute(
            text(
                "SELECT u.username FROM app_user u JOIN worker w ON w.id = u.worker_id "
                "JOIN org_unit o ON o.id = w.community_id WHERE o.name_zh = '下沙社区' AND w.id NOT IN ("
                " SELECT e.worker_id FROM course_enrollment e JOIN course c ON c.id = e.course_id"
                " WHERE c.code = 'dispute_mediation') ORDER BY u.username LIMIT 1"
            )
        ).scalar_one()
    eng.dispose()
    return name


def _nav(page: Page, label: str) -> None:
    """Open a page from the sidebar menu (a fresh URL would start a new, signed-out browser session)."""
    sidebar = page.get_by_test_id("stSidebar")
    phone = sidebar.get_attribute("data-collapsed") == "true"
    if phone:  # open the menu first
        page.get_by_test_id("stExpandSidebarButton").click()
    sidebar.get_by_role("link", name=label, exact=True).click()
    wait_for_run(page)
    if phone and sidebar.get_attribute("data-collapsed") == "false":  # the overlay would cover the page
        sidebar.get_by_test_id("stSidebarCollapseButton").locator("button").click()
        expect(sidebar).to_have_attribute("data-collapsed", "true")


def _phone(browser: Browser, server, username: str, lang: str = "zh") -> Page:
    """A worker signed in on a phone-sized screen (signing in needs the sidebar, so shrink afterwards)."""
    phone = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    sign_in(phone, server, username)
    if lang == "en":
        phone.get_by_test_id("stSidebar").get_by_text("English").click()
        wait_for_run(phone)
    phone.set_viewport_size({"width": 412, "height": 915})
    # Streamlit collapses the sidebar at phone width with an animation; let it finish before anyone reads
    # data-collapsed or clicks a link in it (a link in a sliding sidebar is never "stable").
    expect(phone.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
    phone.wait_for_timeout(500)
    return phone


def _segments(scope, label: str, parts: dict[str, int]) -> None:
    """Type into Streamlit 1.67's segmented date/time fields (react-aria spinbuttons, one per part; their
    aria-labels follow the browser's locale, so find them by data-type inside the labelled widget)."""
    widget = scope.locator("[data-testid=stDateInput], [data-testid=stTimeInput]").filter(
        has_text=re.compile("^" + re.escape(label))
    )
    for kind, value in parts.items():
        seg = widget.locator(f"[role=spinbutton][data-type={kind}]")
        seg.click()
        seg.press_sequentially(f"{value:02d}" if kind != "year" else str(value))
    seg.press("Escape")  # close the calendar popover


def _pick(page: Page, scope, label: str, option: str) -> None:
    # The list is virtualised: filter it first.
    pick_option(page, scope.get_by_label(label, exact=True), option, typed=option)


def test_schedule_enroll_check_in_quiz_and_review(page: Page, browser: Browser, server):
    """Test the manager → worker → manager path across the courses pages."""
    username = _xiasha_worker_not_in_course(server.db_url)
    now = clock.now()
    start = (now + timedelta(minutes=15 - now.minute % 15)).replace(second=0, microsecond=0)
    # One hour, but never past midnight: the form takes one date for start and end.
    end = min(start + timedelta(hours=1), start.replace(hour=23, minute=59))

    # Manager schedules a session of 矛盾纠纷排查化解 for 下沙社区 and enrolls the community.
    sign_in(page, server, "manager")
    _nav(page, "云课程")
    screenshot(page, "courses-calendar-zh")
    page.get_by_role("tab", name="排课").click()
    wait_for_run(page)  # only the open tab runs: the click reruns the page
    form = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name="排课"))
    _pick(page, form, "课程", COURSE_ZH)
    _segments(form, "日期（首次）", {"year": start.year, "month": start.month, "day": start.day})
    for label, value in (("开始", start), ("结束", end)):
        _segments(form, label, {"hour": value.hour, "minute": value.minute})
    form.get_by_label("会议链接").fill("https://meeting.tencent.com/dm/e2e-test")
    _pick(page, form, "参训范围", "下沙社区")
    form.get_by_text("同时为参训范围内全部网格员报名").click()
    screenshot(page, "courses-schedule-zh")
    form.get_by_role("button", name="排课").click()
    wait_for_run(page)
    expect(page.get_by_text(re.compile(r"已排 1 次课，共 \d+ 个学员席位"))).to_be_visible()

    # The worker sees it, checks in with the code the host shows, takes the quiz.
    host_page = page
    worker = _phone(browser, server, username)
    _nav(worker, "我的课程")
    # the innermost block holding the course and a check-in link is the session's card
    card = (
        worker.get_by_test_id("stVerticalBlock")
        .filter(has_text=COURSE_ZH)
        .filter(has=worker.get_by_role("link", name="立即签到"))
        .last
    )
    expect(card).to_be_visible()
    screenshot(worker, "my-learning-zh")

    _nav(host_page, "考勤")
    pick_option(
        host_page,
        host_page.get_by_label("课次", exact=True),
        re.compile(rf"^{start:%Y-%m-%d %H:%M} · {COURSE_ZH}"),
    )
    wait_for_run(host_page)
    code_el = host_page.locator("div").filter(has_text=re.compile(r"^\d{6}$")).last
    expect(code_el).to_be_visible()
    code = code_el.inner_text().strip()
    screenshot(host_page, "attendance-host-zh")

    card.get_by_role("link", name="立即签到").click()
    wait_for_run(worker)
    pick_option(worker, worker.get_by_label("课次", exact=True), re.compile(COURSE_ZH))
    worker.get_by_role("textbox", name="六位签到码").fill(code)
    worker.get_by_role("button", name="签到", exact=True).click()
    wait_for_run(worker)
    expect(worker.get_by_text(re.compile("签到成功"))).to_be_visible()
    screenshot(worker, "checkin-zh")

    _nav(worker, "我的课程")
    worker.get_by_test_id("stVerticalBlock").filter(has_text=COURSE_ZH).filter(
        has=worker.get_by_role("link", name=re.compile("开始测验"))
    ).last.get_by_role("link", name=re.compile("开始测验")).click()
    wait_for_run(worker)
    worker.get_by_role("button", name="开始答题").click()
    wait_for_run(worker)
    expect(worker.get_by_text(re.compile(r"第 1/\d+ 题"))).to_be_visible()
    screenshot(worker, "quiz-question-zh")
    total = int(
        re.search(r"第 1/(\d+) 题", worker.get_by_text(re.compile(r"第 1/\d+ 题")).inner_text()).group(1)
    )
    for i in range(total):
        radios = worker.get_by_test_id("stRadio")
        # the question's heading can arrive before its options: wait for one kind of option first
        expect(radios.or_(worker.get_by_test_id("stCheckbox")).first).to_be_visible()
        if radios.count():
            radios.get_by_role("radio").first.check(force=True)
        else:
            worker.get_by_test_id("stCheckbox").first.click()
        wait_for_run(worker)
        if i < total - 1:
            worker.get_by_role("button", name="下一题").click()
            wait_for_run(worker)
            expect(worker.get_by_text(re.compile(rf"第 {i + 2}/{total} 题"))).to_be_visible()
    worker.get_by_role("button", name="交卷").click()
    wait_for_run(worker)
    expect(worker.get_by_test_id("stMetric").filter(has_text="得分")).to_be_visible()
    screenshot(worker, "quiz-result-zh")
    _nav(worker, "消息")
    screenshot(worker, "inbox-zh")

    # The manager sees the check-in in the register and the attempt in the results.
    _nav(host_page, "考勤")
    pick_option(
        host_page,
        host_page.get_by_label("课次", exact=True),
        re.compile(rf"^{start:%Y-%m-%d %H:%M} · {COURSE_ZH}"),
    )
    wait_for_run(host_page)
    present = host_page.get_by_test_id("stMetric").filter(has_text="出勤").first
    late = host_page.get_by_test_id("stMetric").filter(has_text="迟到").first
    attended = int(present.get_by_test_id("stMetricValue").inner_text()) + int(
        late.get_by_test_id("stMetricValue").inner_text()
    )
    assert attended == 1
    screenshot(host_page, "attendance-register-zh")
    _nav(host_page, "测验结果")
    _pick(host_page, host_page, "课程", COURSE_ZH)
    wait_for_run(host_page)
    _segments(host_page, "起", {"year": now.year, "month": now.month, "day": now.day})
    host_page.keyboard.press("Tab")
    wait_for_run(host_page)
    attempts = host_page.get_by_test_id("stMetric").filter(has_text="答卷数").get_by_test_id("stMetricValue")
    expect(attempts).to_have_text("1")
    screenshot(host_page, "quiz-results-zh")
    worker.close()


MANAGER_MENU = {
    "zh": ("云课程", "考勤", "测验结果", "消息"),
    "en": ("Courses", "Attendance", "Quiz results", "Inbox"),
}
WORKER_MENU = {"zh": ("我的课程", "消息"), "en": ("My learning", "Inbox")}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_screenshots_of_the_courses_pages(page: Page, browser: Browser, server, lang):
    """Test that the courses pages' tabs render without an exception for a manager, and the worker's pages on a
    phone (screenshots for review; each page's first view, for every role, is in test_page_tour.py)."""
    sign_in(page, server, "manager")
    if lang == "en":
        page.get_by_test_id("stSidebar").get_by_text("English").click()
        wait_for_run(page)
    _nav(page, MANAGER_MENU[lang][0])
    for tab, name in (("^(排课|Schedule)$", "schedule"), ("^(课程目录|Catalog)$", "catalog")):
        page.get_by_role("tab", name=re.compile(tab)).click()
        wait_for_run(page)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        screenshot(page, f"manager-courses-{name}-{lang}")
    _nav(page, MANAGER_MENU[lang][1])
    page.get_by_role("tab", name=re.compile("按网格员|By worker")).click()
    wait_for_run(page)
    expect(page.get_by_text(re.compile("出勤预警名单|Attendance warning list")).first).to_be_visible()
    screenshot(page, f"manager-attendance-workers-{lang}")
    worker = _phone(browser, server, "dp0002", lang)
    for label in WORKER_MENU[lang]:
        _nav(worker, label)
        expect(worker.get_by_test_id("stException")).to_have_count(0)
        screenshot(worker, f"worker-{label}-{lang}")
    _nav(worker, WORKER_MENU[lang][0])
    worker.get_by_role("link", name=re.compile("开始测验|Start the quiz|继续答题|Resume")).first.click()
    wait_for_run(worker)
    expect(worker.get_by_test_id("stException")).to_have_count(0)
    screenshot(worker, f"worker-quiz-{lang}")
    worker.close()


def test_the_attendance_template_is_written_when_downloaded(page: Page, server):
    """Test that 下载模板 on 考勤 (written when clicked, not on every view of the page) downloads the meeting
    platform's Excel template with its header in the page's language."""
    import io

    import openpyxl

    from courses.attendance_import import PLATFORM_SCHEMA

    sign_in(page, server, "manager")
    _nav(page, "考勤")
    page.get_by_text("导入会议平台考勤").click()
    with page.expect_download() as info:
        page.get_by_role("button", name="下载模板").click()
    assert info.value.suggested_filename == "meeting_attendance.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(open(info.value.path(), "rb").read()))
    header = [c.value for c in next(book.active.iter_rows(max_row=1))]
    assert header == [c.label("zh") for c in PLATFORM_SCHEMA.columns]
    expect(page.get_by_test_id("stException")).to_have_count(0)
