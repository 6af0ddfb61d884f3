"""Managers: the event queue by state (overdue first), a map of open events, and one event's history
with the actions its state allows."""

import math

import altair as alt
import pandas as pd
import pydeck as pdk
import streamlit as st
from sqlmodel import Session, select

from core.i18n import pick, t
from core.models import OrgUnit, Worker
from core.scope import ScopeError, worker_scope_clause
from core.tabular import safe_frame
from evaluation.field import events as ev
from evaluation.field.models import Event
from evaluation.field.registry import field_now, item_lookup
from ui import resources
from ui.guard import require
from ui.state import lang, tr

viewer = require(__file__)
L = lang()
ITEMS = item_lookup()
OPEN = [s.value for s in ev.EventState if s in ev.OPEN_STATES]  # in the order of the loop

st.title(tr("field.events.title"))
st.caption(tr("field.events.caption"))

with Session(resources.engine()) as session:
    now = field_now(session)
    counts = ev.state_counts(session, viewer, now=now)
    names = dict(session.exec(select(OrgUnit.id, OrgUnit.name_zh if L == "zh" else OrgUnit.name_en)).all())

open_counts = counts[counts["state"].isin(OPEN)]
c = st.columns(4)
c[0].metric(tr("field.events.open"), f"{int(open_counts['events'].sum()):,}")
c[1].metric(tr("field.events.overdue"), f"{int(counts['overdue'].sum()):,}")
if not open_counts.empty:
    chart_data = open_counts.assign(label=open_counts["state"].map(lambda s: tr(f"field.state.{s}")))
    chart = (alt.Chart(chart_data).mark_bar()
             .encode(y=alt.Y("label:N", sort="-x", title=None, axis=alt.Axis(labelLimit=240)), x=alt.X("events:Q", title=tr("field.col.count")),
                     color=alt.condition(alt.datum.overdue > 0, alt.value("#C62828"), alt.value("#1565C0")),
                     tooltip=[alt.Tooltip("label:N", title=tr("field.col.state")),
                              alt.Tooltip("events:Q", title=tr("field.col.count")),
                              alt.Tooltip("overdue:Q", title=tr("field.events.overdue"))])
             .properties(title=tr("field.events.by_state"), height=alt.Step(24)))
    st.altair_chart(chart, width="stretch")

states = st.multiselect(tr("field.events.filter_state"), [s.value for s in ev.EventState], default=OPEN,
                        format_func=lambda s, _l=L: t(f"field.state.{s}", _l))
with Session(resources.engine()) as session:
    queue = ev.event_queue(session, viewer, states=states or None, now=now)
c[2].metric(tr("field.events.urged"), f"{int((queue['escalation'] == 1).sum()):,}")
c[3].metric(tr("field.events.supervised"), f"{int((queue['escalation'] == 2).sum()):,}")


def item_name(code: str) -> str:
    meta = ITEMS.get(code, {})
    return pick(L, meta.get("item_zh"), meta.get("item_en")) or code


queue_tab, map_tab = st.tabs([tr("field.events.queue"), tr("field.events.map")])
with queue_tab:
    if queue.empty:
        st.info(tr("field.events.empty"))
    else:
        st.caption(tr("field.events.shown", n=len(queue)))
        shown = pd.DataFrame({
            tr("field.col.overdue"): queue["overdue"].map({True: "⚠", False: ""}),
            tr("field.col.event_no"): queue["event_no"],
            tr("field.col.item"): queue["item_code"].map(item_name),
            tr("field.col.priority"): queue["priority"].map(lambda p: tr(f"field.priority.{p}")),
            tr("field.col.state"): queue["state"].map(lambda s: tr(f"field.state.{s}")),
            tr("field.col.community"): queue["community_id"].map(names),
            tr("field.col.location"): queue["location"],
            tr("field.col.due_at"): pd.to_datetime(queue["due_at"]),
            tr("field.col.assignee"): queue["assignee"],
            tr("field.col.escalation"): queue["escalation"].map({0: "", 1: tr("field.action.urge"),
                                                                 2: tr("field.action.supervise")}),
        })
        st.dataframe(safe_frame(shown), hide_index=True, width="stretch", height=420,
                     column_config={tr("field.col.due_at"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")})

with map_tab:
    points = queue[queue["state"].isin(OPEN) & queue["lat"].notna() & queue["lon"].notna()].copy()
    as_table = st.toggle(tr("field.events.map_table"), key="events_map_table")
    if points.empty:
        st.info(tr("field.events.empty"))
    elif as_table:
        st.dataframe(safe_frame(pd.DataFrame({
            tr("field.col.event_no"): points["event_no"], tr("field.col.item"): points["item_code"].map(item_name),
            tr("field.col.community"): points["community_id"].map(names), tr("field.col.location"): points["location"],
            tr("field.col.due_at"): pd.to_datetime(points["due_at"]), tr("field.col.overdue"): points["overdue"]})),
            hide_index=True, width="stretch",
            column_config={tr("field.col.due_at"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")})
    else:
        points["color"] = points["overdue"].map({True: [198, 40, 40, 220], False: [239, 108, 0, 190]})
        points["item"] = points["item_code"].map(item_name)
        points = points.sort_values("overdue", kind="stable")  # overdue drawn last, on top
        # Community names from our own org data: the map reads without a basemap (offline or blocked tiles).
        with Session(resources.engine()) as session:
            comms = pd.DataFrame(session.exec(
                select(OrgUnit.id, OrgUnit.name_zh if L == "zh" else OrgUnit.name_en, OrgUnit.lat, OrgUnit.lon)
                .where(OrgUnit.id.in_(points["community_id"].dropna().astype(int).unique().tolist()),
                       OrgUnit.lat.is_not(None))).all(), columns=["id", "name", "lat", "lon"])
        labels = pdk.Layer("TextLayer", data=comms, get_position="[lon, lat]", get_text="name", get_size=13,
                           get_color=[69, 90, 100, 230],
                           # pydeck sends a bare string as an expression; quoted, it stays the text itself.
                           character_set='"' + "".join(sorted(set("".join(comms["name"])) - {'"'})) + '"',
                           get_pixel_offset=[0, -18], background=True, get_background_color=[255, 255, 255, 200],
                           pickable=False)
        layer = pdk.Layer("ScatterplotLayer", data=points[["lat", "lon", "color", "event_no", "item", "location"]],
                          get_position="[lon, lat]", get_fill_color="color", get_radius=60, radius_min_pixels=4,
                          radius_max_pixels=14, stroked=True, get_line_color=[255, 255, 255], line_width_min_pixels=1,
                          pickable=True)
        # Fit the open events' box into the chart (about 800 × 460 px; Web Mercator, 512-px world at zoom 0; at most street level).
        lat0, lat1, lon0, lon1 = points["lat"].min(), points["lat"].max(), points["lon"].min(), points["lon"].max()
        mid_lat = (lat0 + lat1) / 2
        zoom = min(14.0, math.log2(800 * 360 / 512 / max(lon1 - lon0, 0.002) / 1.15),
                   math.log2(460 * 360 / 512 * math.cos(math.radians(mid_lat)) / max(lat1 - lat0, 0.002) / 1.15))
        view = pdk.ViewState(latitude=float(mid_lat), longitude=float((lon0 + lon1) / 2), zoom=round(zoom, 2))
        st.pydeck_chart(pdk.Deck(layers=[layer, labels], initial_view_state=view, map_style=None,
                                 tooltip={"text": "{event_no}\n{item}\n{location}"}), height=460)
        n_over = int(points["overdue"].sum())
        st.markdown(tr("field.events.map_legend", overdue=n_over, ontime=len(points) - n_over))

if queue.empty:  # nothing to pick: no empty "event details" heading
    st.stop()
st.subheader(tr("field.events.detail"))
choice = st.selectbox(tr("field.events.pick"), queue["id"].tolist(), key="events_pick",
                      format_func=lambda i: f"{queue.set_index('id').at[i, 'event_no']} · "
                                            f"{item_name(queue.set_index('id').at[i, 'item_code'])}")
with Session(resources.engine()) as session:
    event = session.get(Event, int(choice))
    history = ev.event_history(session, viewer, event.id)
    workers = session.exec(select(Worker.id, Worker.name, Worker.employee_no)
                           .where(worker_scope_clause(viewer), Worker.community_id == event.community_id)
                           .order_by(Worker.employee_no)).all()

left, right = st.columns([3, 2])
with left:
    st.markdown(f"**{event.event_no}** · {item_name(event.item_code)} · {tr('field.priority.' + event.priority)}")
    st.markdown(f"{tr('field.col.state')}: **{tr('field.state.' + event.state)}** · "
                f"{tr('field.col.due_at')}: {event.due_at or '—'} · {event.location or ''}")
    st.caption(tr("field.events.counts", rework=event.rework_count, reopen=event.reopen_count, ret=event.return_count))
    if event.assign_reason_zh:
        st.caption(f"{tr('field.events.reason')}: {pick(L, event.assign_reason_zh, event.assign_reason_en)}")
    st.markdown(f"**{tr('field.events.history')}**")
    if not history.empty and not history["recorded"].any():
        st.caption(tr("field.events.history_derived"))
    st.dataframe(safe_frame(pd.DataFrame({
        tr("field.col.time"): history["at"], tr("field.col.action"): history["action"].map(lambda a: tr(f"field.action.{a}")),
        tr("field.col.to"): history["to_state"].map(lambda s: tr(f"field.state.{s}")),
        tr("field.col.note"): history["note"].fillna("")})), hide_index=True, width="stretch")
with right:
    actions = ev.allowed_actions(event.state, viewer.role)
    st.markdown(f"**{tr('field.events.act')}**")
    if not actions:
        st.info(tr("field.events.no_actions"))
    else:
        with st.form("event_action"):
            action = st.selectbox(tr("field.events.action"), actions, key="events_action",
                                  format_func=lambda a, _l=L: t(f"field.action.{a}", _l))
            worker_id = st.selectbox(tr("field.events.worker"), [w.id for w in workers],
                                     format_func=lambda i: next(f"{w.name} ({w.employee_no})" for w in workers if w.id == i))
            satisfaction = st.selectbox(tr("field.events.satisfaction"), list(ev.SATISFACTION),
                                        format_func=lambda s, _l=L: t(f"field.sat.{s}", _l))
            extend = st.number_input(tr("field.events.extend"), min_value=1.0, max_value=360.0, value=24.0, step=1.0)
            note = st.text_area(tr("field.events.note"), max_chars=1000)
            submitted = st.form_submit_button(tr("field.events.submit"), type="primary", width="stretch")
        if submitted:
            try:
                with resources.unit_of_work() as session:
                    if action == "dispatch":
                        from evaluation.field.tasks import assign_task

                        assign_task(session, viewer, task_id=f"event:{event.id}", worker_id=worker_id,
                                    reason_zh="管理员人工派遣", reason_en="Dispatched by a manager",
                                    assigned_by=viewer.user_id, override_reason=note or None, now=now)
                    else:
                        ev.transition(session, viewer, event_id=event.id, action=action, note=note or None,
                                      satisfaction=satisfaction, extend_hours=extend, now=now)
                st.success(tr("field.events.done", action=tr(f"field.action.{action}")))
                st.rerun()
            except (ValueError, ScopeError) as exc:
                st.error(str(exc))
