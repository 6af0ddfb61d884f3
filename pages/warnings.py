"""Managers: hotspot warnings (预警) in their scope — the table, the counts behind one, acknowledge it with a
note, and the map of warned places."""

import streamlit as st

from ui import warnings as parts
from ui.guard import require
from ui.options import distinct_labels
from ui.state import tr

viewer = require(__file__)
st.title(tr("warning.title"))
st.caption(tr("warning.caption"))

warnings = parts.load(viewer)
if warnings.empty:
    st.info(tr("warning.none"))
    st.stop()
if st.toggle(tr("warning.only_open"), value=False, key="warning_only_open"):
    warnings = warnings[warnings["acknowledged_at"].isna()].reset_index(drop=True)
parts.table(warnings)

if not warnings.empty:
    labels = distinct_labels(
        {
            int(r["id"]): f"{parts.place(r)} · {parts.what(r)} · {r['last_window_end']}"
            for _, r in warnings.iterrows()
        }
    )
    wanted = st.query_params.get("warning")
    ids = list(labels)
    start = ids.index(int(wanted)) if wanted and wanted.isdigit() and int(wanted) in labels else 0
    chosen = st.selectbox(tr("warning.pick"), ids, index=start, format_func=labels.get)
    row = warnings.set_index("id").loc[chosen].to_dict() | {"id": chosen}
    st.subheader(tr("warning.series.title"))
    parts.series(viewer, chosen)
    st.subheader(tr("warning.ack.title"))
    parts.acknowledge_form(viewer, row)

st.subheader(tr("warning.map.title"))
parts.warnings_map(warnings)
