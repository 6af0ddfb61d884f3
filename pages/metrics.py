"""Administrators: the metric registry (names, direction, target, in use) and the time limits per priority."""

import pandas as pd
import streamlit as st

from core.i18n import pick
from evaluation.field.registry import metric_registry, save_registry_table, save_sla_table, sla_levels
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

COLS = [
    "code",
    "name_zh",
    "name_en",
    "unit",
    "direction",
    "aggregation",
    "from_events",
    "target",
    "is_active",
]
st.subheader(tr("field.metrics.registry"))
edited = st.data_editor(
    reg[COLS],
    hide_index=True,
    width="stretch",
    key="metric_editor",
    disabled=["code", "unit", "aggregation", "from_events"],
    column_config={
        "code": st.column_config.TextColumn(tr("field.metrics.col.code")),
        "name_zh": st.column_config.TextColumn(tr("field.metrics.col.name_zh"), max_chars=100, required=True),
        "name_en": st.column_config.TextColumn(tr("field.metrics.col.name_en"), max_chars=100, required=True),
        "unit": st.column_config.TextColumn(tr("field.metrics.col.unit")),
        "direction": st.column_config.SelectboxColumn(
            tr("field.metrics.col.direction"), options=["higher", "lower"], required=True
        ),
        "aggregation": st.column_config.TextColumn(tr("field.metrics.col.aggregation")),
        "from_events": st.column_config.CheckboxColumn(tr("field.metrics.col.from_events")),
        "target": st.column_config.NumberColumn(
            tr("field.metrics.col.target"), min_value=0, max_value=100000
        ),
        "is_active": st.column_config.CheckboxColumn(tr("field.metrics.col.is_active")),
    },
)
if st.button(tr("field.metrics.save"), type="primary", key="save_metrics"):
    with refusals():
        with resources.unit_of_work() as session:
            n = save_registry_table(session, viewer, reg[COLS].set_index("code"), edited.set_index("code"))
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
sla_frame = pd.DataFrame(
    [
        {
            "code": s.code,
            "name": pick(L, s.name_zh, s.name_en),
            "report_limit_hours": s.report_limit_hours,
            "sign_limit_hours": s.sign_limit_hours,
            "handle_limit_hours": s.handle_limit_hours,
            "supervise_after_hours": s.supervise_after_hours,
        }
        for s in sla.values()
    ]
)
limits = {
    c: st.column_config.NumberColumn(tr(f"field.metrics.col.{k}"), min_value=0.1, max_value=360.0, step=0.5)
    for c, k in (
        ("report_limit_hours", "report"),
        ("sign_limit_hours", "sign"),
        ("handle_limit_hours", "handle"),
        ("supervise_after_hours", "supervise"),
    )
}
sla_edit = st.data_editor(
    sla_frame,
    hide_index=True,
    width="stretch",
    key="sla_editor",
    disabled=["code", "name"],
    column_config={"code": None, "name": st.column_config.TextColumn(tr("field.col.priority")), **limits},
)
if st.button(tr("field.metrics.save"), key="save_sla"):
    with refusals():
        with resources.unit_of_work() as session:
            save_sla_table(session, viewer, sla_edit)
        st.session_state["metrics_flash"] = tr("field.metrics.sla_saved")
        st.rerun()
