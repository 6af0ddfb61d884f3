"""Workers (phone first): my events with why they came to me and the next step, my patrols and checks."""

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.i18n import pick
from core.privacy import mask_text
from evaluation.field import events as ev
from evaluation.field.registry import field_now, item_lookup
from evaluation.field.rentals import record_patrol
from evaluation.field.tasks import my_tasks, open_tasks
from evaluation.field.verification import my_verifications
from ui import my_verifications as verification_cards
from ui import resources
from ui.cells import short_time
from ui.confirm import arm, confirmed
from ui.errors import refusals
from ui.guard import require
from ui.state import lang, tr

viewer = require(__file__)
L = lang()
ITEMS = item_lookup()
NEEDS_NOTE = {"feedback", "request_postpone", "return", "self_resolve"}

st.title(tr("field.my.title"))
if viewer.worker_id is None:
    st.warning(tr("field.my.no_worker"))
    st.stop()

with Session(resources.engine()) as session:
    now = field_now(session)
    events = my_tasks(session, viewer, now=now)
    others = open_tasks(session, viewer, now=now)
    checks = my_verifications(session, viewer, now=now)
patrols = others[others["kind"] == "patrol"]
focus = st.query_params.get("task")  # 查看 in a message opens that very task

flash = st.session_state.pop("my_tasks_flash", None)
if flash:
    st.success(flash, icon=":material/task_alt:")


def act(event_id: int, action: str, note: str, *, sure: bool = False) -> None:
    if action in NEEDS_NOTE and not note.strip():
        st.session_state["my_tasks_flash"] = None
        st.error(tr("field.my.note_needed"))
        return
    if action == "return" and not sure:  # giving a task back asks first (it leaves the worker's hands)
        arm(f"return_{event_id}", note)
        return
    with refusals() as refused:
        with resources.unit_of_work() as session:
            ev.transition(session, viewer, event_id=event_id, action=action, note=note or None, now=now)
    if refused:
        return
    st.session_state["my_tasks_flash"] = tr("field.my.done", action=tr(f"field.action.{action}"))
    st.rerun()


if events.empty and patrols.empty and checks.empty:
    st.info(tr("field.my.none"))
if len(checks):
    verification_cards.render(checks, viewer, now, focus)
if len(events):
    st.subheader(f"{tr('field.my.events')} ({len(events)})")
for row in events.itertuples():
    meta = ITEMS.get(row.item_code, {})
    with st.container(border=True):
        badge = f" :red-badge[{tr('field.my.overdue')}]" if row.overdue else ""
        st.markdown(f"**{pick(L, meta.get('item_zh'), meta.get('item_en'))}**{badge}")
        st.markdown(
            f":material/location_on: {mask_text(row.location) or '—'}  \n"
            f"{tr('field.priority.' + row.priority)} · {tr('field.state.' + row.state)}"
        )
        due = row.sign_due_at if row.state == "dispatched" else row.due_at
        if due is not None and not pd.isna(due):
            st.caption(tr("field.my.due", due=short_time(due, now)))
        if row.escalation:
            st.caption(
                tr(
                    "field.my.escalated",
                    level=tr("field.action.urge" if row.escalation == 1 else "field.action.supervise"),
                )
            )
        reason = pick(L, row.assign_reason_zh, row.assign_reason_en)
        if reason:
            st.caption(tr("field.my.why", reason=reason))
        if row.actions:
            note = ""
            if any(a in NEEDS_NOTE for a in row.actions):
                note = st.text_area(tr("field.my.note"), key=f"note_{row.id}", height=80)
            for action in row.actions:
                primary = action in ("sign", "start", "feedback")
                if st.button(
                    tr(f"field.action.{action}"),
                    key=f"{action}_{row.id}",
                    width="stretch",
                    type="primary" if primary else "secondary",
                ):
                    act(int(row.id), action, note)
            given_back = confirmed(
                f"return_{row.id}", tr("field.my.return_sure"), yes=tr("field.my.return_yes")
            )
            if given_back is not None:
                act(int(row.id), "return", given_back, sure=True)

if len(patrols):
    st.subheader(f"{tr('field.my.patrols')} ({len(patrols)})")
    for row in patrols.itertuples():
        with st.container(border=True):
            st.markdown(f"**{pick(L, row.title_zh, row.title_en)}**")
            st.caption(tr("field.my.due", due=short_time(row.due_at, now, minutes=False)))
            if st.button(
                tr("field.my.record_patrol"), key=f"patrol_{row.task_id}", width="stretch", type="primary"
            ):
                with resources.unit_of_work() as session:
                    record_patrol(session, viewer, building_id=int(row.task_id.split(":")[1]), visited_at=now)
                st.session_state["my_tasks_flash"] = tr("field.my.patrol_recorded")
                st.rerun()
