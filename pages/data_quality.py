"""Managers: data-quality checks — counts per community, the rows behind them, and verification tasks."""

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.i18n import pick, t
from core.tabular import safe_frame
from evaluation.field.charts import quality_chart
from evaluation.field.quality import (
    KINDS,
    MAX_VISITS_PER_DAY,
    quality_results,
    quality_summary,
    raise_verification_tasks,
    verification_tasks,
)
from evaluation.field.registry import field_now
from ui import resources
from ui.audit_reads import download_button as audited_download
from ui.audit_reads import record_view
from ui.data_quality_view import drill_table
from ui.guard import require
from ui.options import distinct_labels
from ui.state import lang, tr

viewer = require(__file__)
L = lang()

st.title(tr("field.dq.title"))
st.caption(tr("field.dq.caption"))

flash = st.session_state.pop("dq_flash", None)
if flash:
    st.success(flash)

with Session(resources.engine()) as session:
    results = quality_results(session, viewer)  # each check once per view
    summary = quality_summary(session, viewer, results=results)
    tasks = verification_tasks(session, viewer)

summary["community"] = [pick(L, z, e) for z, e in zip(summary["name_zh"], summary["name_en"], strict=True)]
c = st.columns(len(KINDS) + 1)
for i, kind in enumerate(KINDS):
    c[i].metric(tr(f"field.dq.kind.{kind}"), f"{int(summary[kind].sum()):,}")
c[-1].metric(tr("field.dq.open_tasks"), f"{len(tasks):,}")
st.caption(tr("field.dq.limit", n=MAX_VISITS_PER_DAY))

if st.button(tr("field.dq.raise"), icon=":material/playlist_add_check:", disabled=not viewer.is_manager):
    with resources.unit_of_work() as session:
        made = raise_verification_tasks(session, viewer, now=field_now(session))
    st.session_state["dq_flash"] = tr("field.dq.raised", n=sum(made.values()))
    st.rerun()

st.subheader(tr("field.dq.per_community"))
chart = quality_chart(summary, L)
if chart is None:
    st.info(tr("field.dq.none"))
else:
    st.altair_chart(chart, width="stretch")
table = summary[["community", *KINDS, "total"]].rename(
    columns={
        "community": tr("field.dq.community"),
        "total": tr("field.dq.total"),
        **{k: tr(f"field.dq.kind.{k}") for k in KINDS},
    }
)
st.dataframe(safe_frame(table), hide_index=True, width="stretch")

st.subheader(tr("field.dq.drill"))
d1, d2 = st.columns(2)
kind = d1.selectbox(
    tr("field.dq.kind"), list(KINDS), format_func=lambda k, _l=L: t(f"field.dq.kind.{k}", _l), key="dq_kind"
)
names = distinct_labels(dict(zip(summary["community_id"], summary["community"], strict=True)))
community = d2.selectbox(
    tr("field.dq.community"),
    [None, *summary["community_id"].tolist()],
    format_func=lambda i, _l=L: t("field.dq.all", _l) if i is None else names[i],
)
rows = results[kind]
if community is not None:
    rows = rows[rows["community_id"] == community]
rows = drill_table(kind, rows, names)
st.caption(tr("common.rows", n=len(rows)))
record_view(viewer, "data_quality", filters={"kind": kind, "community_id": community}, rows=len(rows))
st.dataframe(safe_frame(rows), hide_index=True, width="stretch", height=360)
if len(rows):
    audited_download(
        tr("common.download_csv"),
        safe_frame(rows).to_csv(index=False).encode("utf-8-sig"),
        viewer=viewer,
        what="data_quality",
        filters={"kind": kind, "community_id": community},
        rows=len(rows),
        file_name=f"data_quality_{kind}.csv",
        mime="text/csv",
    )

if len(tasks):
    st.subheader(tr("field.dq.open_tasks"))
    st.dataframe(
        safe_frame(
            pd.DataFrame(
                {
                    tr("field.dq.kind"): tasks["kind"].map(lambda k: tr(f"field.dq.kind.{k}")),
                    tr("field.dq.community"): tasks["community_id"].map(names),
                    tr("field.col.note"): [
                        pick(L, z, e) for z, e in zip(tasks["title_zh"], tasks["title_en"], strict=True)
                    ],
                    tr("field.col.due_at"): tasks["due_at"],
                }
            )
        ),
        hide_index=True,
        width="stretch",
        height=300,
    )
