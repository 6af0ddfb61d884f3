"""Workers (phone first): report what you saw in your own words; the item is suggested from the text, you
confirm or change it, and the event is created in your grid with it.

Cost per click: the form is one ``st.fragment``, so typing, suggesting and choosing rerun only it; the
suggestion is the in-process triage model (≈0.05 ms). The report's form key (kept until it is sent)
makes a double tap one event.
"""

import streamlit as st

from core.i18n import pick
from evaluation.field.registry import item_lookup
from evaluation.triage.reports import new_report_key, report_event
from evaluation.triage.service import suggest
from ui import resources
from ui.errors import refusals
from ui.guard import require
from ui.state import lang, lang_key, tr

viewer = require(__file__)
L = lang()
ITEMS = item_lookup()
CODES = list(ITEMS)

st.title(tr("triage.report.title"))
if viewer.worker_id is None:
    st.warning(tr("field.my.no_worker"))
    st.stop()
st.session_state.setdefault("report_key", new_report_key())


def label(code: str) -> str:
    meta = ITEMS[code]
    return f"{code} {pick(L, meta.get('item_zh'), meta.get('item_en'))}"


def on_text() -> None:
    """The text was changed (left the field or tapped suggest): suggest its item and preselect it."""
    text = (st.session_state.get("report_text") or "").strip()
    if not text:
        st.session_state.pop("report_suggestion", None)
        return
    s = suggest(text)
    st.session_state["report_suggestion"] = {**s, "for_text": text}
    st.session_state["report_item"] = s["item"]


def on_send() -> None:
    s = st.session_state.get("report_suggestion") or {}
    with refusals() as refused:
        with resources.unit_of_work() as session:
            event, _ = report_event(
                session,
                viewer,
                text=st.session_state.get("report_text") or "",
                item_code=st.session_state.get("report_item") or s.get("item") or "",
                client_key=st.session_state["report_key"],
                suggested_item=s.get("item"),
                confidence=s.get("confidence"),
                location=st.session_state.get("report_location"),
            )
            event_no, item = event.event_no, event.item_code
    if refused:
        return
    st.session_state["report_flash"] = tr("triage.report.sent", event_no=event_no, item=label(item))
    st.session_state["report_key"] = new_report_key()
    st.session_state["report_text"] = st.session_state["report_location"] = ""  # a fresh form
    for key in ("report_suggestion", "report_item"):
        st.session_state.pop(key, None)


@st.fragment
def report_form() -> None:
    if flash := st.session_state.pop("report_flash", None):
        st.success(flash, icon=":material/task_alt:")
    st.text_area(
        tr("triage.report.text"),
        key="report_text",
        height=120,
        placeholder=tr("triage.report.placeholder"),
        on_change=on_text,
    )
    st.button(tr("triage.report.suggest"), on_click=on_text, icon=":material/auto_awesome:", width="stretch")
    s = st.session_state.get("report_suggestion")
    if not s:
        st.caption(tr("triage.report.hint"))
        return
    confidence = f"{s['confidence']:.0%}"
    if s["unsure"]:
        st.warning(tr("triage.report.unsure", confidence=confidence), icon=":material/help:")
    else:
        st.info(tr("triage.report.suggested", item=label(s["item"]), confidence=confidence))
    options = [*s["top3"], *[c for c in CODES if c not in s["top3"]]]
    st.selectbox(tr("triage.report.item"), options, key=lang_key("report_item"), format_func=label)
    st.text_input(
        tr("triage.report.location"), key="report_location", placeholder=tr("triage.report.location_hint")
    )
    st.button(
        tr("triage.report.send"), type="primary", on_click=on_send, icon=":material/send:", width="stretch"
    )


report_form()
