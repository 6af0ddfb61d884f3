"""Admin: scoring schemes — versions, the active scheme's dimensions and components, edits saved as a
new version (stored scorecards keep the version they were computed with)."""

import json

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.i18n import col, pick
from evaluation.scoring.store import (
    activate_version,
    active_scheme,
    save_scheme_version,
    scheme_by_id,
    scheme_versions,
)
from ui import resources
from ui.errors import refusals
from ui.guard import require
from ui.state import lang, tr

viewer = require(__file__)
L = lang()

st.title(tr("score.schemes.title"))
st.caption(tr("score.schemes.caption"))
with resources.unit_of_work() as session:  # the first use stores the shipped scheme
    scheme, row = active_scheme(session)
    active_id = row.id
    versions = scheme_versions(session)

st.dataframe(
    versions.assign(active=versions["is_active"].map({True: "✓", False: ""}))[
        ["code", "version", col(L, "name"), "active", "note", "created_at"]
    ].rename(
        columns={
            "code": tr("score.scheme"),
            "version": tr("score.scheme_version"),
            "name_zh": tr("score.col.name"),
            "name_en": tr("score.col.name"),
            "active": tr("score.active"),
            "note": tr("score.col.reason"),
            "created_at": tr("score.col.computed_at"),
        }
    ),
    hide_index=True,
    width="stretch",
)

labels = dict(zip(versions["id"], versions["code"] + " v" + versions["version"].astype(str), strict=True))
shown_id = st.selectbox(
    tr("score.schemes.show"),
    list(labels),
    index=list(labels).index(active_id),
    format_func=labels.get,
    key="scheme_show",
)
with Session(resources.engine()) as session:
    shown = scheme_by_id(session, int(shown_id))
if int(shown_id) != active_id and st.button(tr("score.schemes.activate"), icon=":material/check:"):
    with resources.unit_of_work() as session:
        activate_version(session, viewer, int(shown_id))
    st.cache_data.clear()
    st.rerun()

name = col(L, "name")
comp = pd.DataFrame(shown.component_table())
dims = comp.groupby("dimension", sort=False).agg(name=(f"dimension_{L}", "first"), weight=("weight", "sum"))
st.subheader(tr("score.schemes.dimensions"))
st.dataframe(
    dims.reset_index(drop=True).rename(
        columns={"name": tr("score.col.dimension"), "weight": tr("score.col.weight")}
    ),
    hide_index=True,
)

st.subheader(tr("score.schemes.components"))
st.caption(tr("score.schemes.edit_help"))
editable = comp[["component", name, "metric", "weight", "method", "floor", "target", "cohort", "fairness"]]
edited = st.data_editor(
    editable,
    hide_index=True,
    width="stretch",
    key="scheme_editor",
    disabled=["component", name, "metric"],
    column_config={
        "method": st.column_config.SelectboxColumn(
            tr("score.col.rule"), options=["linear", "bands", "percentile"]
        ),
        "cohort": st.column_config.SelectboxColumn(
            tr("score.col.cohort"), options=["community", "subdistrict", "all"]
        ),
        "fairness": st.column_config.SelectboxColumn(
            tr("score.col.fairness"), options=["per_100_households", "expected_volume"]
        ),
        "weight": st.column_config.NumberColumn(
            tr("score.col.weight"), min_value=0.5, max_value=100, step=0.5
        ),
        name: tr("score.col.component_name"),
        "metric": tr("score.col.metric"),
    },
)
st.caption(tr("score.schemes.weight_sum", total=f"{edited['weight'].sum():g}"))

with st.expander(tr("score.schemes.grades_adjustments")):
    st.dataframe(
        pd.DataFrame(
            [
                {
                    tr("score.col.grade"): pick(L, g.name_zh, g.name_en),
                    tr("score.col.min_score"): g.min_score,
                    tr("score.col.max_share"): g.max_share,
                }
                for g in shown.grades
            ]
        ),
        hide_index=True,
    )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    tr("score.adjust_kind"): pick(L, a.name_zh, a.name_en),
                    tr("score.col.points_per_case"): a.points_per_case,
                    tr("score.col.cap"): a.cap,
                    tr("score.col.veto"): a.veto,
                }
                for a in shown.adjustments
            ]
        ),
        hide_index=True,
    )
    st.caption(
        tr(
            "score.schemes.year_rule",
            rule=tr(f"score.year_rule.{shown.year_rule}"),
            cap=f"{shown.bonus_cap:g}",
        )
    )

with st.form("scheme_save"):
    advanced = st.text_area(
        tr("score.schemes.json"),
        value=shown.to_json(),
        height=260,
        key="scheme_json",
        help=tr("score.schemes.json_help"),
    )
    note = st.text_input(tr("score.schemes.note"), key="scheme_note")
    use_json = st.checkbox(tr("score.schemes.use_json"), key="scheme_use_json")
    save = st.form_submit_button(tr("score.schemes.save"), type="primary")
if save:
    if use_json:
        try:
            definition = json.loads(advanced)
        except json.JSONDecodeError as exc:
            st.error(tr("score.schemes.bad_json", line=exc.lineno, col=exc.colno, msg=exc.msg))
            st.stop()
    else:
        definition = shown.to_dict()
        rows = edited.set_index("component")
        for dim in definition["dimensions"]:
            for c in dim["components"]:
                r = rows.loc[c["code"]]
                c["weight"] = float(r["weight"])
                norm = dict(c["normalisation"], method=r["method"])
                for k in ("floor", "target"):
                    norm[k] = None if pd.isna(r[k]) else float(r[k])
                norm["cohort"] = r["cohort"] or "community"
                c["normalisation"] = norm
                c["fairness"] = None if pd.isna(r["fairness"]) or not r["fairness"] else r["fairness"]
    with refusals():
        with resources.unit_of_work() as session:
            new = save_scheme_version(session, viewer, definition, note=note)
        st.cache_data.clear()
        st.success(tr("score.schemes.saved", code=new.code, version=new.version))
