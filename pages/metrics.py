"""Administrators: the metric registry (names, direction, target, in use) and the time limits per priority."""

import pandas as pd
import streamlit as st

from core.i18n import pick
from evaluation.field.registry import (
    LIMIT_NAMES,
    metric_registry,
    save_registry_table,
    save_sla_table,
    sla_levels,
)
from ui import resources
from ui.errors import refusals
from ui.guard import require
from ui.state import lang, tr

viewer = require(__file__)
L = lang()

st.title(tr("field.metrics.title"))
st.caption(tr("field.metrics.caption"))
flash = st.session_state.pop("metrics_flash", None)
if flash:
    st.success(flash)

with resources.unit_of_work() as session:
    reg = metric_registry(session)
    sla = sla_levels(session)

# The registry as the reader reads it: the code is the hidden index, codes carry their labels, and the name is
# the reader's language's (the other language's name is edited with the page in that language).
NAME = f"name_{L}"
FIELDS = {  # shown column → its label's catalog key
    NAME: f"field.metrics.col.{NAME}",
    "unit": "field.metrics.col.unit",
    "direction": "field.metrics.col.direction",
    "aggregation": "field.metrics.col.aggregation",
    "from_events": "field.metrics.col.from_events",
    "target": "field.metrics.col.target",
    "is_active": "field.metrics.col.is_active",
}
LABEL = {field: tr(key) for field, key in FIELDS.items()}
direction_label = {d: tr(f"field.metrics.direction.{d}") for d in ("higher", "lower")}
direction_of = {label: d for d, label in direction_label.items()}
registry = reg.set_index("code")
view = registry[list(FIELDS)].assign(
    unit=registry["unit"].map(lambda u: tr("field.metrics.unit.count") if u == "count" else u),
    direction=registry["direction"].map(direction_label),
    aggregation=registry["aggregation"].map(lambda a: tr(f"field.metrics.aggregation.{a}")),
)
view = view.rename(columns=LABEL).rename_axis(None)
st.subheader(tr("field.metrics.registry"))
edited = st.data_editor(
    view,
    hide_index=True,
    width="stretch",
    key="metric_editor",
    disabled=[LABEL["unit"], LABEL["aggregation"], LABEL["from_events"]],
    column_config={
        LABEL[NAME]: st.column_config.TextColumn(max_chars=100, required=True),
        LABEL["direction"]: st.column_config.SelectboxColumn(options=list(direction_of), required=True),
        LABEL["target"]: st.column_config.NumberColumn(min_value=0, max_value=100000),
    },
    placeholder="",
)
if st.button(tr("field.metrics.save"), type="primary", key="save_metrics"):
    EDITED = [NAME, "direction", "target", "is_active"]
    after = edited.rename(columns={label: field for field, label in LABEL.items()})[EDITED]
    after["direction"] = after["direction"].map(direction_of)
    with refusals():
        with resources.unit_of_work() as session:
            n = save_registry_table(session, viewer, registry[EDITED], after)
        st.session_state["metrics_flash"] = tr("field.metrics.saved", n=n)
        st.rerun()

with st.expander(tr("field.metrics.formula")):
    for r in reg.itertuples():
        st.markdown(
            f"**{pick(L, r.name_zh, r.name_en)}** ({tr('field.metrics.direction.' + r.direction)}) — "
            f"{tr('field.metrics.from_events') if r.from_events else tr('field.metrics.imported')}"
        )
        st.markdown(f"- {tr('field.metrics.numerator')}: {pick(L, r.numerator_zh, r.numerator_en)}")
        if isinstance(r.denominator_zh, str) and r.denominator_zh:  # a count metric has none (NaN)
            st.markdown(f"- {tr('field.metrics.denominator')}: {pick(L, r.denominator_zh, r.denominator_en)}")
        st.caption(f"{tr('field.metrics.source')}: {pick(L, r.source_zh, r.source_en)}")

st.subheader(tr("field.metrics.sla"))
st.caption(tr("field.metrics.sla_caption"))
LIMITS = LIMIT_NAMES  # column → its label's catalog key
PRIORITY = tr("field.col.priority")
sla_frame = pd.DataFrame(  # the priority's code is the hidden index; its name is shown
    [
        {PRIORITY: pick(L, s.name_zh, s.name_en), **{tr(k): getattr(s, c) for c, k in LIMITS.items()}}
        for s in sla.values()
    ],
    index=list(sla),
)
sla_edit = st.data_editor(
    sla_frame,
    hide_index=True,
    width="stretch",
    key="sla_editor",
    disabled=[PRIORITY],
    column_config={
        tr(k): st.column_config.NumberColumn(min_value=0.1, max_value=360.0, step=0.5)
        for k in LIMITS.values()
    },
    placeholder="",
)
if st.button(tr("field.metrics.save"), key="save_sla"):
    limits = sla_edit.rename(columns={tr(k): c for c, k in LIMITS.items()})[list(LIMITS)]
    with refusals():
        with resources.unit_of_work() as session:
            save_sla_table(session, viewer, limits.rename_axis("code").reset_index())
        st.session_state["metrics_flash"] = tr("field.metrics.sla_saved")
        st.rerun()
