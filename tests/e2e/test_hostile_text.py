"""Hostile text written by one user and read by another renders as text, never as markup that runs.

A course's material and description (written by a district manager, read by workers), a worker's excuse
reason and event feedback note (read by managers) and a manager's assignment / override reason (read by
the worker) all get ``<script>…</script><img src=x onerror=…>``, put in through the domain functions on
the server's database. Each page where another user reads it is opened in the browser and must leave
``window.__xss`` undefined and hold no injected <script> or <img onerror> element.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from core import clock
from core.db import get_engine
from core.models import OrgLevel, OrgUnit, Role, User, Worker
from core.scope import Viewer, viewer_for
from tests.e2e.conftest import Server, pick_option, sign_in, start_server, wait_for_run
from tests.e2e.conftest import screenshot as _screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
PAYLOAD = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
MARK = {"material": "恶意教材", "excuse": "恶意请假", "reason": "恶意派单理由", "note": "恶意反馈"}


@dataclass
class Planted:
    event_no: str  # the event assigned to dp0001 with a hostile reason and fed back with a hostile note
    course_title: str


def _viewer(s: Session, username: str) -> Viewer:
    return viewer_for(s, s.exec(select(User).where(User.username == username)).one())


def plant(db_url: str) -> Planted:
    """Write the hostile texts through the domain functions, as the users who would write them."""
    from courses.attendance import request_excuse
    from courses.catalog import save_course
    from courses.learner import my_courses
    from courses.models import Course, CourseBase
    from courses.training_sessions import upcoming_for_worker
    from evaluation.field import events as ev
    from evaluation.field.models import Event, EventState
    from evaluation.field.registry import field_now
    from evaluation.field.tasks import assign_task

    with Session(get_engine(db_url), expire_on_commit=False) as s:
        admin = Viewer(0, Role.SYSADMIN, OrgLevel.DISTRICT, None)
        worker = _viewer(s, "dp0001")
        manager = _viewer(s, "manager")
        mine = my_courses(s, worker)
        course = s.get(Course, int(mine["course_id"].iloc[0]))
        data = CourseBase.model_validate(course, from_attributes=True).model_dump()
        for lang in ("zh", "en"):
            data[f"material_md_{lang}"] = (
                f"## {MARK['material']}\n\n{PAYLOAD}\n\n[link](javascript:window.__xss=3)"
            )
            data[f"description_{lang}"] = f"{MARK['material']} {PAYLOAD}"
        save_course(s, admin, CourseBase.model_validate(data), course.id)

        now = clock.now()
        upcoming = upcoming_for_worker(s, worker, now=now, days=60)
        future = upcoming[
            (upcoming["start_at"] > now + timedelta(minutes=5)) & (upcoming["status"] == "scheduled")
        ]
        request_excuse(
            s, worker, session_id=int(future["id"].iloc[0]), reason=f"{MARK['excuse']} {PAYLOAD}", now=now
        )

        at = field_now(s)
        me = s.get(Worker, worker.worker_id)
        grid = s.get(OrgUnit, me.grid_id)
        event = Event(
            event_no="HOSTILE-1",
            item_code="C03",
            category_code="city",
            grid_id=grid.id,
            community_id=me.community_id,
            lat=grid.lat,
            lon=grid.lon,
            priority="normal",
            state=EventState.REGISTERED.value,
            reported_at=at - timedelta(hours=3),
            accepted_at=at - timedelta(hours=2),
            location="下沙一巷",
        )
        s.add(event)
        s.flush()
        assign_task(
            s,
            manager,
            task_id=f"event:{event.id}",
            worker_id=me.id,
            reason_zh=f"{MARK['reason']} {PAYLOAD}",
            reason_en=f"{MARK['reason']} {PAYLOAD}",
            assigned_by=manager.user_id,
            override_reason=f"{MARK['reason']} {PAYLOAD}",
            now=at,
        )
        for action in ("sign", "start"):
            ev.transition(s, worker, event_id=event.id, action=action, now=at)
        ev.transition(
            s, worker, event_id=event.id, action="feedback", note=f"{MARK['note']} {PAYLOAD}", now=at
        )
        s.commit()
        return Planted(event.event_no, course.title_zh)


@pytest.fixture(scope="module")
def hostile_server(
    demo_db_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Planted]]:
    tmp = tmp_path_factory.mktemp("hostile")
    db = tmp / "demo.db"
    shutil.copy(demo_db_template, db)
    planted = plant(f"sqlite:///{db}")
    get_engine(f"sqlite:///{db}").dispose()
    srv = start_server(db, tmp)
    yield srv, planted
    srv.stop()


def assert_nothing_ran(page: Page) -> None:
    page.wait_for_timeout(500)  # an <img onerror> fires once the broken image fails to load
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    scripts = page.evaluate(
        "() => [...document.querySelectorAll('script')].filter(s => s.textContent.includes('__xss')).length"
    )
    assert scripts == 0
    assert page.evaluate("() => document.querySelectorAll('img[onerror], [onerror]').length") == 0
    assert page.evaluate("() => document.querySelectorAll('a[href^=\"javascript:\"]').length") == 0


def go(page: Page, label: str) -> None:
    """Follow a sidebar link (a reload would start a new, signed-out session)."""
    page.get_by_test_id("stSidebar").get_by_role("link", name=label, exact=True).click()
    wait_for_run(page)


def screenshot(page: Page, name: str) -> Path:
    return _screenshot(page, f"hostile_{name}")


def test_worker_pages_show_hostile_material_and_reasons_as_text(page: Page, hostile_server) -> None:
    """Test that the course material and the manager's assignment reason reach the worker as text."""
    server, planted = hostile_server
    page.set_viewport_size({"width": 1366, "height": 2400})  # tall: the whole page in the screenshot
    sign_in(page, server, "dp0001")
    go(page, "我的课程")
    expanders = page.get_by_test_id("stExpander").filter(has_text=re.compile("学习材料|Material"))
    for i in range(expanders.count()):  # open every course's material (the planted one among them)
        expanders.nth(i).locator("summary").click()
    expect(page.get_by_text(MARK["material"]).first).to_be_visible()
    assert_nothing_ran(page)
    screenshot(page, "my_learning")

    go(page, "我的任务")
    expect(page.get_by_text(MARK["reason"]).first).to_be_visible()
    assert_nothing_ran(page)
    screenshot(page, "my_tasks")


def test_manager_pages_show_hostile_excuse_and_note_as_text(page: Page, hostile_server) -> None:
    """Test that the worker's excuse reason (attendance) and feedback note and reason (events) reach the
    manager as text."""
    server, planted = hostile_server
    page.set_viewport_size({"width": 1366, "height": 2400})
    sign_in(page, server, "manager")
    go(page, "考勤")
    expect(page.get_by_text(MARK["excuse"]).first).to_be_visible()
    assert_nothing_ran(page)
    screenshot(page, "attendance_excuse")

    go(page, "事件闭环")
    box = page.get_by_test_id("stSelectbox").filter(has_text=re.compile("选择事件|Pick an event")).first
    pick_option(
        page, box.get_by_role("combobox"), re.compile(re.escape(planted.event_no)), typed=planted.event_no
    )
    expect(page.get_by_text(MARK["reason"]).first).to_be_visible()
    assert_nothing_ran(page)
    screenshot(page, "events_note")


def test_the_probe_catches_a_real_injection(browser, hostile_server) -> None:
    """Test that the checks above can fail: markup actually inserted into the page does run and is found.

    The app's Content-Security-Policy refuses inline handlers, so the injected markup could not run at all;
    this check of the probe itself runs with the policy bypassed (the policy has its own test, test_page_tour.py)."""
    server, _ = hostile_server
    context = browser.new_context(bypass_csp=True, viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, server, "dp0001")
    page.evaluate(f"() => document.body.insertAdjacentHTML('beforeend', {PAYLOAD!r})")
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.__xss") == 2
    with pytest.raises(AssertionError):
        assert_nothing_ran(page)
    context.close()
