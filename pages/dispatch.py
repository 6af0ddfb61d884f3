"""Managers: smart task assignment (智能派单) — the queue, one task's ranking with reasons, assign or
override with a reason, "assign all open" as an optimal batch, a map, and dispatch quality.

The tabs live in ui/dispatch/ (one module each); this page lays them out and loads what the open one needs.
Only the open tab runs (ui.lazy_tabs): a view of the queue reads neither the quality figures nor the map's
ground, and the quality tab reads no queue (issue #21)."""

import streamlit as st
from sqlmodel import Session

from core.i18n import pick
from evaluation.assignment.rank import COMPONENTS, preset_for_priority
from evaluation.field.registry import field_now
from ui import dispatch_cache, resources
from ui.audit_reads import record_view
from ui.dispatch import batch_tab, map_tab, quality_tab, queue_tab
from ui.dispatch.common import PRESETS, TAB_KEY, TABS, apply_preset, preset_names
from ui.guard import require
from ui.lazy_tabs import lazy_tabs
from ui.state import lang, lang_key, tr

viewer = require(__file__)
L = lang()

if "assign_preset" not in st.session_state:
    apply_preset("routine")

st.title(tr("assign.title"))
st.caption(tr("assign.caption"))

with Session(resources.engine()) as session:
    # Tasks are judged at the field clock (the demo's pinned date in a demo database), to the minute: the queue,
    # a task's ranking inputs and the scope's context are read once per minute and cached (ui/dispatch_cache.py).
    NOW = field_now(session).replace(second=0, microsecond=0)

tabs = lazy_tabs(TAB_KEY, {code: tr(f"assign.tab.{code}") for code in TABS})
tab_queue, tab_batch, tab_map, tab_quality = tabs.values()
if tab_queue.open or tab_batch.open or tab_map.open:
    queue = dispatch_cache.queue(viewer, NOW)
    record_view(
        viewer, "dispatch", filters={}, rows=len(queue)
    )  # the queue, its candidates and their figures
    # The first visit (or a task that left the queue) selects the most urgent unassigned task and its preset.
    # The chosen task is kept in "assign_current" (the select box is set from it on every run).
    if not queue.empty and st.session_state.get("assign_current") not in set(queue["task_id"]):
        st.session_state["assign_current"] = queue["task_id"].iloc[0]
        apply_preset(preset_for_priority(queue["priority"].iloc[0]).code)

# --- weights: a preset, then sliders that tune it; every change reranks at once --------------------
with st.sidebar:
    st.caption(tr("assign.weights"))
    st.segmented_control(
        tr("assign.preset"),
        list(PRESETS),
        key=lang_key("assign_preset"),
        format_func=preset_names().get,
        on_change=lambda: apply_preset(st.session_state["assign_preset"] or "routine"),
    )
    base = PRESETS[st.session_state["assign_preset"] or "routine"]
    st.caption(pick(L, base.note_zh, base.note_en))
    for c in COMPONENTS:
        st.slider(tr(f"assign.component.{c}"), 0, 60, key=f"assign_w_{c}", step=1)
preset = base.tuned(**{c: float(st.session_state[f"assign_w_{c}"]) for c in COMPONENTS})

if tab_queue.open:
    with tab_queue:
        queue_tab.render(viewer, queue, NOW, base, preset)
if tab_batch.open:
    with tab_batch:
        batch_tab.render(viewer, dispatch_cache.context(viewer, NOW))
if tab_map.open:
    with tab_map:
        map_tab.render(queue, dispatch_cache.context(viewer, NOW))
if tab_quality.open:
    with tab_quality:
        period, rows = quality_tab.render(viewer, NOW)
    # the decision log names the recommended and the chosen workers
    record_view(viewer, "dispatch", filters={"tab": "quality", "period": period}, rows=rows)
