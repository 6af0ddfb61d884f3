"""Admin: scoring schemes — versions, the active scheme's dimensions and components, edits saved as a
new version (stored scorecards keep the version they were computed with)."""

import json

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.i18n import col, pick
from evaluation.scoring.store import (
    SHIPPED_NOTE,
    activate_version,
    active_scheme,
    metric_names,
    save_scheme_version,
    scheme_by_id,
    scheme_versions,
)
from ui import resources
from ui.errors import refusals
from ui.guard import require
from ui.options import distinct_labels
from ui.state import lang, lang_key, tr

viewer = require(__file__)
L = lang()

st.title(tr("score.schemes.title"))
st.caption(tr("score.schemes.caption"))
with resources.unit_of_work() as session:  # the first use stores the shipped scheme
    scheme, row = active_scheme(session)
    active_id = row.id
    versions = scheme_versions(session)
    metrics = metric_names(session)

labels = distinct_labels(  # a version by its name and number, never by the scheme's code
    {
        r.id: tr("score.schemes.version_label", name=pick(L, r.name_zh, r.name_en), version=r.version)
        for r in versions.itertuples()
    }
)
st.dataframe(
    pd.DataFrame(
        {
            tr("score.scheme"): versions["id"].map(labels),
            tr("score.active"): versions["is_active"].map({True: "✓", False: ""}),
            tr("score.col.reason"): versions["note"]
            .replace({SHIPPED_NOTE: tr("score.schemes.shipped_note")})
            .fillna(""),
            tr("score.col.computed_at"): versions["created_at"],
        }
    ),
    hide_index=True,
    width="stretch",
    placeholder="",
)

shown_id = st.selectbox(
    tr("score.schemes.show"),
    list(labels),
    index=list(labels).index(active_id),
    format_func=labels.get,
    key=lang_key("scheme_show"),
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
    placeholder="",
)

st.subheader(tr("score.schemes.components"))
st.caption(tr("score.schemes.edit_help"))
# Codes stay behind the labels: the component is the hidden index, the metric shows its name, and the
# method, cohort and fairness choices read as words (mapped back to their codes on save).
OPTIONS = {
    "method": {m: tr(f"score.method.{m}") for m in ("linear", "bands", "percentile")},
    "cohort": {c: tr(f"score.cohort.{c}") for c in ("community", "subdistrict", "all")},
    "fairness": {
        "": tr("score.fairness.none"),
        **{f: tr(f"score.fairness.{f}") for f in ("per_100_households", "expected_volume")},
    },
}
COLUMNS = {  # column → its header's catalog key
    name: "score.col.component_name",
    "metric": "score.col.metric",
    "weight": "score.col.weight",
    "method": "score.col.rule",
    "floor": "score.col.floor",
    "target": "score.col.target",
    "cohort": "score.col.cohort",
    "fairness": "score.col.fairness",
}
HEADER = {c: tr(k) for c, k in COLUMNS.items()}
editable = comp.set_index("component").rename_axis(None)[list(COLUMNS)]
editable["metric"] = editable["metric"].map(lambda m: pick(L, *metrics[m]) if m in metrics else m)
editable["fairness"] = editable["fairness"].fillna("")
for k, option in OPTIONS.items():
    editable[k] = editable[k].map(option)
editable = editable.rename(columns=HEADER)
edited = st.data_editor(
    editable,
    hide_index=True,
    width="stretch",
    key="scheme_editor",
    disabled=[HEADER[name], HEADER["metric"]],
    column_config={
        HEADER[k]: st.column_config.SelectboxColumn(options=list(OPTIONS[k].values()), required=True)
        for k in OPTIONS
    }
    | {HEADER["weight"]: st.column_config.NumberColumn(min_value=0.5, max_value=100, step=0.5)},
    placeholder="",
)
st.caption(tr("score.schemes.weight_sum", total=f"{edited[HEADER['weight']].sum():g}"))

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
        placeholder="",
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
        placeholder="",
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
        rows = edited.rename(columns={h: c for c, h in HEADER.items()})
        for k, option in OPTIONS.items():
            rows[k] = rows[k].map({label: code for code, label in option.items()})
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
        st.success(tr("score.schemes.saved", name=pick(L, new.name_zh, new.name_en), version=new.version))
