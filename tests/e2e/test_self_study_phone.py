"""Self-study on a phone-sized screen (390×844) to hours credited (issue #22): a worker opens the next lesson on
我的学时, is told to keep reading when they mark it done at once, and — once the lesson's minimum reading time
has passed on the server's clock — marks it done, reads 已完成 with the minutes credited, and sees the year's
total move by exactly that. In zh and en, with screenshots (self-study-phone-<step>-<lang>.png under
artifacts/screenshots/)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, col, select

from core.db import get_engine, unit_of_work
from core.i18n import t
from core.models import User
from courses.training.models import HoursEntry, Lesson, LessonProgress
from tests.e2e.conftest import PHONE, Server, screenshot, server_on_copy, sign_in, wait_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
DEMO_TODAY = date(2020, 9, 30)  # the demo database's pinned today: 我的学时 shows 2020


@pytest.fixture(scope="module")
def phone_server(demo_db_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A private server: the test finishes lessons (and moves their opening time) in its own database."""
    with server_on_copy(demo_db_template, tmp_path_factory.mktemp("self-study-phone")) as srv:
        yield srv


def _credited(page: Page, lang: str) -> float:
    metric = page.get_by_test_id("stMetric").filter(has_text=t("training.col.credited", lang))
    return float(metric.get_by_test_id("stMetricValue").inner_text().removesuffix(" h"))


def _read_for_the_minimum_time(db_url: str, worker_id: int) -> dict:
    """Let the open lesson's minimum reading time pass: its recorded opening moves that far (and 5 s) back.
    Returns the lesson's id, titles and credited minutes."""
    with unit_of_work(get_engine(db_url)) as s:
        progress = s.exec(
            select(LessonProgress).where(
                LessonProgress.worker_id == worker_id, col(LessonProgress.done_at).is_(None)
            )
        ).one()
        lesson = s.get(Lesson, progress.lesson_id)
        progress.opened_at -= timedelta(seconds=lesson.min_read_seconds + 5)
        s.add(progress)
        return lesson.model_dump(include={"id", "title_zh", "title_en", "credit_minutes"})


@pytest.mark.parametrize(("lang", "worker"), [("zh", "dp0183"), ("en", "dp0184")])
def test_a_lesson_done_on_a_phone_credits_its_minutes_to_the_years_hours(
    page: Page, phone_server: Server, lang: str, worker: str
):
    """Test that on a phone a lesson marked done too soon is refused with the seconds left, and after its
    minimum reading time is accepted with 已完成, the minutes credited and the new total, the metric moving by
    exactly the lesson's hours, and a ledger row on the demo's today (the year the page shows)."""
    server = phone_server
    with Session(get_engine(server.db_url)) as s:
        worker_id = s.exec(select(User.worker_id).where(User.username == worker)).one()
    sign_in(page, server, worker, path="my_training")
    if lang == "en":
        page.get_by_test_id("stSidebar").get_by_text("English").click()
        wait_for_run(page)
    page.set_viewport_size(PHONE)
    wait_for_run(page)
    expect(page.get_by_role("heading", name=t("training.my.title", lang))).to_be_visible()
    before = _credited(page, lang)
    expect(
        page.get_by_text(re.compile(re.escape(f"{before:.2f}") + ".*2020-09-30"))
    ).to_be_visible()  # not "today"
    screenshot(page, f"self-study-phone-hours-{lang}")

    page.get_by_role(
        "button", name=re.compile("^" + re.escape(t("training.my.open", lang, title="")))
    ).click()
    wait_for_run(page)
    done = page.get_by_role("button", name=t("training.my.done", lang))
    expect(done).to_be_visible()
    done.click()  # at once: the server has not seen the reading time pass
    wait_for_run(page)
    too_soon = re.escape(t("training.err.lesson_too_soon", lang, seconds="§")).replace("§", r"\d+")
    expect(page.get_by_text(re.compile(too_soon))).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, f"self-study-phone-lesson-{lang}")

    lesson = _read_for_the_minimum_time(server.db_url, worker_id)
    done.click()
    wait_for_run(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    hours = round(lesson["credit_minutes"] / 60, 2)
    after = round(before + hours, 2)
    title = lesson["title_zh"] if lang == "zh" else lesson["title_en"]
    message = t(
        "training.my.done_ok",
        lang,
        title=title,
        minutes=lesson["credit_minutes"],
        year=DEMO_TODAY.year,
        credited=f"{after:.2f}",
    )
    expect(page.get_by_text(message)).to_be_visible()
    screenshot(page, f"self-study-phone-done-{lang}")
    assert _credited(page, lang) == pytest.approx(after)
    page.get_by_role("heading", name=t("training.my.title", lang)).scroll_into_view_if_needed()
    screenshot(page, f"self-study-phone-total-{lang}")
    with Session(get_engine(server.db_url)) as s:
        entry = s.exec(
            select(HoursEntry).where(HoursEntry.source_ref == f"lesson:{lesson['id']}:{worker_id}")
        ).one()
    assert (entry.credited_on, entry.hours) == (DEMO_TODAY, pytest.approx(hours))
