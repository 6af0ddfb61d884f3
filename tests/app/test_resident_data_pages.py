"""Residents' data on the field pages (#19 item 5): a resident's record reference and the numbers written into
a hand-typed location or note are shown masked, on the screen and in what the CSV is built from."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col, select

from core.db import get_engine, unit_of_work
from core.i18n import t
from evaluation.field.models import Deregistration, Event, EventTransition
from tests.app.util import texts
from ui.data_quality_view import drill_csv

PHONE = "13812345678"


def test_the_data_quality_drill_down_masks_residents_record_references(open_page, viewer_of, app_db):
    """Test that the reversed-deregistration list shows each resident's reference as P0****23, never whole, on
    the screen and in the CSV of every row."""
    with Session(get_engine(app_db)) as s:
        refs = set(
            s.exec(select(Deregistration.person_ref).where(col(Deregistration.reversed_at).is_not(None)))
        )
    at = open_page("pages/data_quality.py", viewer_of("manager"))
    at.selectbox(key="dq_kind").set_value("reversed_dereg").run()
    assert not at.exception
    label = t("field.dq.col.person_ref", "zh")
    [table] = [df.value for df in at.dataframe if label in df.value.columns]
    shown = set(table[label])
    assert refs and shown and all("****" in r for r in shown)
    assert not shown & refs and not any(r in texts(at) for r in refs)
    csv = drill_csv(get_engine(app_db), viewer_of("manager"), "reversed_dereg", None, {}, "zh").decode(
        "utf-8-sig"
    )
    assert (
        label in csv and csv.count("****") >= len(refs) and not any(r in csv for r in refs)
    )  # the whole set


def test_the_events_page_masks_a_phone_number_typed_into_a_location_or_a_note(open_page, viewer_of, app_db):
    """Test that a resident's phone number in an event's location and in its history note shows masked in
    the queue and the event's details."""
    with unit_of_work(get_engine(app_db)) as s:
        s.execute(update(Event).values(location=f"甲路1号 业主 {PHONE}"))
        s.execute(update(EventTransition).values(note=f"已电话联系 {PHONE}"))
    at = open_page("pages/events.py", viewer_of("manager"))
    assert not at.exception
    cells = " ".join(str(v) for df in at.dataframe for v in df.value.to_numpy().ravel())
    assert "138****5678" in cells and PHONE not in cells
    assert "138****5678" in texts(at) and PHONE not in texts(at)
