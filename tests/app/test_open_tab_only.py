"""Only the open tab runs on 课程与排课, 考勤, 事件闭环 and 考评排名 (ui.lazy_tabs, issue #21): st.tabs runs every tab's body
on every view unless the page draws only the open one, so a view of the calendar paid for the enrolment lists
and the course editor, a register for everyone's attendance rates, the event queue for the map."""

from __future__ import annotations

import core.tabular
import evaluation.field.charts
import ui.attendance_workers
import ui.basemap
import ui.scoring_cache
from core.i18n import t
from tests.app.util import show_tab, texts
from ui import triage_review
from ui.course_admin import catalog_tab, enroll_tab, schedule_tab
from ui.scorecards import communities_tab, party_tab, snapshots_tab, trend_tab


def _refuse(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("run by a tab that is not open")


def _tabs(at) -> list[str]:  # noqa: ANN001 - an AppTest
    return [tab.label for tab in at.tabs]


def test_the_calendar_runs_no_other_tab_of_the_courses_page(open_page, viewer_of, monkeypatch):
    """Test that a view of 课程与排课 draws the week calendar and runs neither the schedule form, the enrolment
    lists nor the course editor, and that opening 报名 then draws the enrolment and no calendar."""
    for tab in (schedule_tab, enroll_tab, catalog_tab):
        monkeypatch.setattr(tab, "render", _refuse)
    at = open_page("pages/catalog.py", viewer_of("manager"), lang="zh")
    assert not at.exception, [e.value for e in at.exception]
    assert _tabs(at) == [t(f"courses.tab.{c}", "zh") for c in ("calendar", "schedule", "enroll", "catalog")]
    assert at.get("vega_lite_chart")  # the week calendar
    monkeypatch.undo()
    show_tab(at, "catalog_tab", t("courses.tab.enroll", "zh"))
    assert not at.exception, [e.value for e in at.exception]
    assert t("courses.enroll.by_hand", "zh") in texts(at) and not at.get("vega_lite_chart")


def test_a_register_runs_no_attendance_per_worker_and_writes_no_template(open_page, viewer_of, monkeypatch):
    """Test that a view of 考勤 shows the register and the template's download button without computing every
    worker's attendance or writing the Excel template (written when it is downloaded), and that opening the
    per-worker tab then shows the warning list."""
    monkeypatch.setattr(ui.attendance_workers, "attendance_by_worker", _refuse)
    monkeypatch.setattr(core.tabular, "template_bytes", _refuse)
    at = open_page("pages/attendance.py", viewer_of("xiasha"), lang="zh")
    assert not at.exception, [e.value for e in at.exception]
    assert t("courses.col.seated", "zh") in [m.label for m in at.metric]
    assert t("courses.att.template", "zh") in [b.proto.label for b in at.get("download_button")]
    monkeypatch.undo()
    show_tab(at, "attendance_tab", t("courses.att.tab_workers", "zh"))
    assert not at.exception, [e.value for e in at.exception]
    assert t("courses.att.warning_list", "zh") in texts(at)
    assert t("courses.col.seated", "zh") not in [m.label for m in at.metric]


def test_the_event_queue_draws_no_map_and_no_review(open_page, viewer_of, monkeypatch):
    """Test that a view of 事件闭环 lists the queue and the chosen event's details without reading the map's
    ground, building the map or the review of suggestions, and that opening the map tab then draws it."""
    monkeypatch.setattr(ui.basemap, "ground", _refuse)
    monkeypatch.setattr(evaluation.field.charts, "event_map", _refuse)
    monkeypatch.setattr(triage_review, "review", _refuse)
    at = open_page("pages/events.py", viewer_of("manager"), lang="zh")
    assert not at.exception, [e.value for e in at.exception]
    assert (
        t("field.events.history", "zh") in texts(at) and len(at.dataframe) >= 2
    )  # the queue and the event's history
    monkeypatch.undo()
    show_tab(at, "events_tab", t("field.events.map", "zh"))
    assert not at.exception, [e.value for e in at.exception]
    assert at.get("deck_gl_json_chart")


def _tabs_with_a_count() -> None:
    import streamlit as st

    from core.i18n import t
    from ui.lazy_tabs import lazy_tabs

    lang, n = st.session_state["lang"], st.session_state["n"]
    tabs = lazy_tabs(
        "demo_tab",
        {"queue": t("field.events.queue", lang), "triage": t("triage.review.tab", lang, n=n)},
    )
    for code, tab in tabs.items():
        if tab.open:
            tab.write(f"open: {code}")


def test_the_open_tab_stays_open_when_its_label_changes() -> None:
    """Test that the open tab stays open when the count in its label changes (a suggestion confirmed) and when
    the language is switched, instead of the first tab opening in its place."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_tabs_with_a_count, default_timeout=30)
    at.session_state["lang"], at.session_state["n"] = "zh", 2
    at.run()
    assert [m.value for m in at.markdown] == ["open: queue"]
    show_tab(at, "demo_tab", t("triage.review.tab", "zh", n=2))
    assert [m.value for m in at.markdown] == ["open: triage"]
    at.session_state["n"] = 1
    at.run()
    assert [m.value for m in at.markdown] == ["open: triage"]
    assert at.session_state["demo_tab"] == t("triage.review.tab", "zh", n=1)
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception
    assert [m.value for m in at.markdown] == ["open: triage"]
    assert at.session_state["demo_tab"] == t("triage.review.tab", "en", n=1)


def test_the_ranking_reads_no_party_comparison_and_draws_no_other_tab(open_page, viewer_of, monkeypatch):
    """Test that a view of 考评排名 shows the ranking without reading the party comparison or running the
    distribution, community and snapshot tabs, and that opening the party tab then reads and draws it."""
    for tab in (trend_tab, party_tab, communities_tab, snapshots_tab):
        monkeypatch.setattr(tab, "render", _refuse)
    monkeypatch.setattr(ui.scoring_cache, "cached_party", _refuse)
    at = open_page("pages/scorecards.py", viewer_of("xiasha"), lang="zh")
    assert not at.exception, [e.value for e in at.exception]
    codes = ("ranking", "distribution", "party", "communities", "snapshots")
    assert _tabs(at) == [t(f"score.tab.{c}", "zh") for c in codes]
    assert at.dataframe and not at.get("vega_lite_chart")
    monkeypatch.undo()
    show_tab(at, "score_tab", t("score.tab.party", "zh"))
    assert not at.exception, [e.value for e in at.exception]
    assert any(t("score.col.gap_pp", "zh") in d.value.columns for d in at.dataframe)
