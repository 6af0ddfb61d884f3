"""Browser: the manager's map of open events (pydeck) in Chinese and English — the deck canvas draws
(headless Chromium has software WebGL), the legend counts the dots, the table fallback shows the same
events, and nothing raises. Screenshots under artifacts/screenshots/event-map-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from core.db import get_engine
from core.i18n import t
from evaluation.field import events as ev
from evaluation.field.models import Event
from tests.e2e.conftest import screenshot as _screenshot
from tests.e2e.conftest import sign_in, wait_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

TEXT = {
    lang: {"tab": t("field.events.map", lang), "table": t("field.events.map_table", lang), "legend": legend}
    for lang, legend in (
        ("zh", re.compile(r"超期 (\d+) 件.*未超期 (\d+) 件")),
        ("en", re.compile(r"overdue (\d+).*within the deadline (\d+)")),
    )
}


def screenshot(page: Page, name: str) -> None:
    _screenshot(page, name)


def _open_events_with_position(db_url: str) -> int:
    with Session(get_engine(db_url)) as s:
        return len(
            s.exec(
                select(Event.id).where(
                    Event.state.in_([x.value for x in ev.OPEN_STATES]),
                    Event.lat.is_not(None),
                    Event.lon.is_not(None),
                )
            ).all()
        )


# True when deck.gl's canvas holds the red dots of overdue events, read back through WebGL.
CANVAS_HAS_DOTS = """() => {
        const canvases = [...document.querySelectorAll('[data-testid=stDeckGlJsonChart] canvas')];
        for (const c of canvases) {
            const gl = c.getContext('webgl2', {preserveDrawingBuffer: true}) || c.getContext('webgl');
            if (!gl || !c.width || !c.height) continue;
            const px = new Uint8Array(c.width * c.height * 4);
            gl.readPixels(0, 0, c.width, c.height, gl.RGBA, gl.UNSIGNED_BYTE, px);
            let red = 0;
            for (let i = 0; i < px.length; i += 4) if (px[i] > 150 && px[i + 1] < 140 && px[i + 3] > 0) red++;
            if (red > 0) return true;
        }
        return false;
    }"""


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_event_map_draws_and_falls_back_to_a_table(page: Page, server, lang):
    """Test the map tab as the district manager: a deck canvas, a legend whose counts add up to the open
    events with a position, no exception; then the table toggle lists them instead."""
    page.set_viewport_size({"width": 1366, "height": 1500})
    sign_in(page, server, "manager", path="events")
    if lang == "en":
        page.get_by_test_id("stSidebar").get_by_text("English").click()
        wait_for_run(page)
    words = TEXT[lang]
    expect(page.get_by_test_id("stVegaLiteChart")).to_be_visible()  # the events per state, above the queue
    expect(page.get_by_test_id("stDeckGlJsonChart")).to_have_count(0)  # only the open tab (the queue) runs
    screenshot(page, f"events-queue-{lang}")
    if lang == "en":  # the event picked before the switch reads in English too (its value is the input's)
        pick = page.get_by_test_id("stSelectbox").filter(has_text="Pick an event").locator("input")
        expect(pick).not_to_have_value(re.compile("[\u4e00-\u9fff]"))
        expect(pick).to_have_value(re.compile(r"^D[PW]\d+ · [A-Za-z]"))
    page.get_by_role("tab", name=words["tab"]).click()
    wait_for_run(page)
    deck = page.get_by_test_id("stDeckGlJsonChart")
    expect(deck).to_be_visible()
    expect(deck.locator("canvas").first).to_be_attached()
    legend = page.get_by_text(words["legend"])
    expect(legend).to_be_visible()
    overdue, ontime = (int(x) for x in words["legend"].search(legend.inner_text()).groups())
    assert overdue > 0 and overdue + ontime == _open_events_with_position(server.db_url)
    # Headless Chromium draws WebGL in software; if it ever cannot, the toggle below is the way to read it.
    # deck.gl draws after the script run has finished: wait for the dots, not for a fixed time.
    webgl = page.evaluate("() => !!document.createElement('canvas').getContext('webgl')")
    if webgl:
        page.wait_for_function(CANVAS_HAS_DOTS, timeout=15_000)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    deck.scroll_into_view_if_needed()
    screenshot(page, f"event-map-{lang}")

    page.get_by_text(words["table"]).click()
    wait_for_run(page)
    expect(page.get_by_test_id("stDeckGlJsonChart")).to_have_count(0)
    table = page.get_by_role("tabpanel", name=words["tab"]).get_by_test_id("stDataFrame")
    expect(table).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, f"event-map-table-{lang}")
