"""The worker's report page: the item is suggested from the text, the worker confirms or changes it, and
the event is created in their grid with it (once, however often the button is tapped)."""

from __future__ import annotations

from sqlmodel import Session, select

from core.db import get_engine
from core.models import Worker
from evaluation.field.models import Event
from tests.app.test_assignment_pages import open_tab
from tests.app.util import show_tab, texts


def _reported(app_db: str, worker_id: int) -> list[Event]:
    with Session(get_engine(app_db)) as s:
        return list(
            s.exec(select(Event).where(Event.reporter_id == worker_id, Event.report_text.is_not(None)))
        )


def test_worker_types_sees_the_suggestion_confirms_and_the_event_exists(open_page, viewer_of, app_db):
    me = viewer_of("dp0001")
    at = open_page("pages/report_event.py", me, lang="en")
    assert not at.exception
    at.text_area(key="report_text").input("3栋楼道里停了好几辆电动车在充电")
    at.button[0].click().run()  # suggest
    assert "Suggested item: F02" in texts(at)
    assert at.selectbox(key="report_item").value == "F02"
    at.text_input(key="report_location").input("3栋一楼")
    at.button[1].click().run()  # confirm and report
    assert not at.exception
    assert "Reported R" in texts(at)
    events = _reported(app_db, me.worker_id)
    assert len(events) == 1
    e = events[0]
    with Session(get_engine(app_db)) as s:
        grid = s.get(Worker, me.worker_id).grid_id
    assert (e.item_code, e.suggested_item, e.item_confirmed, e.grid_id, e.location) == (
        "F02",
        "F02",
        True,
        grid,
        "3栋一楼",
    )


def test_worker_changes_the_suggestion_and_an_empty_report_is_refused(open_page, viewer_of, app_db):
    me = viewer_of("dp0001")
    at = open_page("pages/report_event.py", me, lang="zh")
    at.text_area(key="report_text").input("楼下老是很吵")
    at.button[0].click().run()
    at.selectbox(key="report_item").set_value("D01")
    at.button[1].click().run()
    [event] = _reported(app_db, me.worker_id)
    assert (event.item_code, event.item_confirmed) == ("D01", True)
    assert event.suggested_item is not None  # what was suggested is kept beside what the worker chose
    at.text_area(key="report_text").input("   ")
    at.button[0].click().run()
    assert "写下情况后" in texts(at)  # nothing to suggest from blank text
    assert len(_reported(app_db, me.worker_id)) == 1


def test_manager_confirms_an_unconfirmed_suggestion_on_the_events_page(open_page, viewer_of, app_db):
    from core.db import unit_of_work
    from evaluation.triage.reports import report_from_text

    manager = viewer_of("manager")
    with unit_of_work(get_engine(app_db)) as s:
        grid_id = s.exec(select(Worker.grid_id)).first()
        report_from_text(
            s, manager, event_no="EXT-T1", grid_id=grid_id, text="市民来电反映楼下有人占道摆摊卖水果"
        )
    # zh: AppTest formats option labels in the test process, where the language is the default (zh)
    at = open_page("pages/events.py", manager, lang="zh")
    assert not at.exception
    assert any("待确认事项（1）" in t.label for t in at.tabs)
    show_tab(at, "events_tab", "待确认事项（1）")
    assert "这 1 个事件只带文字进来" in texts(at)
    assert at.selectbox(key="triage_pick").value is not None
    with Session(get_engine(app_db)) as s:
        event = s.exec(select(Event).where(Event.event_no == "EXT-T1")).one()
    assert event.suggested_item == "C02" and not event.item_confirmed
    items = at.selectbox(key=f"triage_item_{event.id}")
    assert items.value == "C02"  # preselected: the suggestion
    items.set_value("C03")
    next(b for b in at.button if b.label == "确认事项").click().run()
    assert not at.exception
    with Session(get_engine(app_db)) as s:
        event = s.exec(select(Event).where(Event.event_no == "EXT-T1")).one()
    assert (event.item_code, event.item_confirmed) == ("C03", True)
    assert "没有待确认的事项建议。" in texts(at)

    dispatch = open_tab(open_page("pages/dispatch.py", manager, lang="en"), "quality", "en")
    assert not dispatch.exception
    assert "Item suggestions accepted" in texts(dispatch)
