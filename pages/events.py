"""Managers: the event queue by state (overdue first), a map of open events, and one event's history
with the actions its state allows."""

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.i18n import col, pick, t
from core.models import OrgLevel
from core.org import units_frame
from core.privacy import mask_text
from core.tabular import safe_frame
from core.taxonomy import item_name
from evaluation.field import events as ev
from evaluation.field.charts import event_map, state_rows, state_spec
from evaluation.field.registry import field_now
from evaluation.field.tasks import act_on_event
from ui import resources, triage_review
from ui.audit_reads import record_view
from ui.basemap import ground
from ui.cells import table_height
from ui.chart_specs import draw_chart
from ui.errors import refusals
from ui.guard import require
from ui.lazy_tabs import lazy_tabs
from ui.options import distinct_labels
from ui.state import lang, lang_key, tr

viewer = require(__file__)
L = lang()
OPEN = [s.value for s in ev.EventState if s in ev.OPEN_STATES]  # in the order of the loop
DUE = {tr("field.col.due_at"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")}

st.title(tr("field.events.title"))
if flash := st.session_state.pop("events_flash", None):  # set by the last action, shown after its rerun
    st.success(flash)
st.caption(tr("field.events.caption"))

with Session(resources.engine()) as session:
    now = field_now(session)
    counts = ev.state_counts(session, viewer, now=now)
    communities = units_frame(session, viewer, OrgLevel.COMMUNITY)
names = dict(zip(communities["id"], communities[col(L, "name")], strict=True))

open_counts = counts[counts["state"].isin(OPEN)]
c = st.columns(4)
c[0].metric(tr("field.events.open"), f"{int(open_counts['events'].sum()):,}")
c[1].metric(tr("field.events.overdue"), f"{int(counts['overdue'].sum()):,}")
if not open_counts.empty:
    draw_chart(
        state_rows(open_counts, L), ("event_states", L), lambda: state_spec(L)
    )  # spec once per language

states = st.multiselect(
    tr("field.events.filter_state"),
    [s.value for s in ev.EventState],
    default=OPEN,
    format_func=lambda s, _l=L: t(f"field.state.{s}", _l),
    placeholder=tr("common.choose_many"),
)
with Session(resources.engine()) as session:
    queue = ev.event_queue(session, viewer, states=states or None, now=now)
queue["location"] = queue["location"].map(mask_text)  # typed by hand: residents' numbers in it masked
record_view(viewer, "events", filters={"states": sorted(states)}, rows=len(queue))
c[2].metric(tr("field.events.urged"), f"{int((queue['escalation'] == 1).sum()):,}")
c[3].metric(tr("field.events.supervised"), f"{int((queue['escalation'] == 2).sum()):,}")


def item(code: str) -> str:
    return item_name(code, L)


tabs = lazy_tabs(  # only the open tab runs (ui.lazy_tabs): a view of the queue draws no map
    "events_tab",
    {
        "queue": tr("field.events.queue"),
        "map": tr("field.events.map"),
        "triage": tr("triage.review.tab", n=len(triage_review.pending(viewer))),
    },
)
if tabs["triage"].open:
    with tabs["triage"]:
        triage_review.review(viewer)
if tabs["queue"].open:
    with tabs["queue"]:
        if queue.empty:
            st.info(tr("field.events.empty"))
        else:
            st.caption(tr("field.events.shown", n=len(queue)))
            shown = pd.DataFrame(
                {
                    tr("field.col.overdue"): queue["overdue"].map({True: "⚠", False: ""}),
                    tr("field.col.event_no"): queue["event_no"],
                    tr("field.col.item"): queue["item_code"].map(item),
                    tr("field.col.priority"): queue["priority"].map(lambda p: tr(f"field.priority.{p}")),
                    tr("field.col.state"): queue["state"].map(lambda s: tr(f"field.state.{s}")),
                    tr("field.col.community"): queue["community_id"].map(names),
                    tr("field.col.location"): queue["location"],
                    tr("field.col.due_at"): pd.to_datetime(queue["due_at"]),
                    tr("field.col.assignee"): queue["assignee"].fillna(""),
                    tr("field.col.escalation"): queue["escalation"].map(
                        {0: "", 1: tr("field.action.urge"), 2: tr("field.action.supervise")}
                    ),
                }
            )
            st.dataframe(
                safe_frame(shown),
                hide_index=True,
                width="stretch",
                height=table_height(len(shown)),
                column_config=DUE,
                placeholder="",
            )

if tabs["map"].open:
    with tabs["map"]:
        points = queue[queue["state"].isin(OPEN) & queue["lat"].notna() & queue["lon"].notna()]
        as_table = st.toggle(tr("field.events.map_table"), key="events_map_table")
        if points.empty:
            st.info(tr("field.events.empty"))
        elif as_table:
            st.dataframe(
                safe_frame(
                    pd.DataFrame(
                        {
                            tr("field.col.event_no"): points["event_no"],
                            tr("field.col.item"): points["item_code"].map(item),
                            tr("field.col.community"): points["community_id"].map(names),
                            tr("field.col.location"): points["location"],
                            tr("field.col.due_at"): pd.to_datetime(points["due_at"]),
                            tr("field.col.overdue"): points["overdue"],
                        }
                    )
                ),
                hide_index=True,
                width="stretch",
                column_config=DUE,
                placeholder="",
            )
        else:
            st.pydeck_chart(event_map(points, communities, L, ground()), height=460)
            n_over = int(points["overdue"].sum())
            st.markdown(tr("field.events.map_legend", overdue=n_over, ontime=len(points) - n_over))

if queue.empty:  # nothing to pick: no empty "event details" heading
    st.stop()
st.subheader(tr("field.events.detail"))
labels = {int(r.id): f"{r.event_no} · {item(r.item_code)}" for r in queue.itertuples(index=False)}
choice = st.selectbox(
    tr("field.events.pick"), list(labels), key=lang_key("events_pick"), format_func=labels.get
)
with Session(resources.engine()) as session:
    detail = ev.event_detail(session, viewer, int(choice))
event, history, workers = detail.event, detail.history, detail.workers
record_view(viewer, "event", filters={}, rows=len(history), entity_id=event.event_no)

left, right = st.columns([3, 2])
with left:
    st.markdown(f"**{event.event_no}** · {item(event.item_code)} · {tr('field.priority.' + event.priority)}")
    st.markdown(
        f"{tr('field.col.state')}: **{tr('field.state.' + event.state)}** · "
        f"{tr('field.col.due_at')}: {event.due_at or '—'} · {mask_text(event.location)}"
    )
    st.caption(
        tr(
            "field.events.counts",
            rework=event.rework_count,
            reopen=event.reopen_count,
            ret=event.return_count,
        )
    )
    if event.assign_reason_zh:
        st.caption(f"{tr('field.events.reason')}: {pick(L, event.assign_reason_zh, event.assign_reason_en)}")
    st.markdown(f"**{tr('field.events.history')}**")
    if not history.empty and not history["recorded"].any():
        st.caption(tr("field.events.history_derived"))
    st.dataframe(
        safe_frame(
            pd.DataFrame(
                {
                    tr("field.col.time"): history["at"],
                    tr("field.col.action"): history["action"].map(lambda a: tr(f"field.action.{a}")),
                    tr("field.col.to"): history["to_state"].map(lambda s: tr(f"field.state.{s}")),
                    tr("field.col.note"): history["note"].map(mask_text),
                }
            )
        ),
        hide_index=True,
        width="stretch",
        placeholder="",
    )
with right:
    actions = ev.allowed_actions(event.state, viewer.role)
    st.markdown(f"**{tr('field.events.act')}**")
    if not actions:
        st.info(tr("field.events.no_actions"))
    else:
        people = distinct_labels(
            {int(w.worker_id): f"{w.name} ({w.employee_no})" for w in workers.itertuples(index=False)}
        )
        with st.form("event_action"):
            action = st.selectbox(
                tr("field.events.action"),
                actions,
                key=lang_key("events_action"),
                format_func=lambda a, _l=L: t(f"field.action.{a}", _l),
            )
            worker_id = st.selectbox(tr("field.events.worker"), list(people), format_func=people.get)
            satisfaction = st.selectbox(
                tr("field.events.satisfaction"),
                list(ev.SATISFACTION),
                format_func=lambda s, _l=L: t(f"field.sat.{s}", _l),
            )
            extend = st.number_input(
                tr("field.events.extend"), min_value=1.0, max_value=360.0, value=24.0, step=1.0
            )
            note = st.text_area(tr("field.events.note"), max_chars=1000)
            submitted = st.form_submit_button(tr("field.events.submit"), type="primary", width="stretch")
        if submitted:
            with refusals():
                with resources.unit_of_work() as session:
                    act_on_event(
                        session,
                        viewer,
                        event_id=event.id,
                        action=action,
                        worker_id=worker_id,
                        note=note,
                        satisfaction=satisfaction,
                        extend_hours=extend,
                        now=now,
                    )
                st.session_state["events_flash"] = tr(
                    "field.events.done", action=tr(f"field.action.{action}")
                )
                st.rerun()
