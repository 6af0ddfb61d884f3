"""Managers: data-quality checks — counts per community, the rows behind them, and verification tasks — read
from what the daily data-quality job (or a manager's 重新检查) found; a view runs no check."""

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.i18n import pick, t
from core.tabular import safe_frame
from evaluation.field.charts import quality_chart
from evaluation.field.findings import checked_at, run_checks, served_summary
from evaluation.field.quality import KINDS, MAX_VISITS_PER_DAY, verification_tasks
from ui import resources
from ui.cells import table_height
from ui.data_quality_view import show_drill
from ui.guard import require
from ui.options import distinct_labels
from ui.state import lang, lang_key, tr

viewer = require(__file__)
L = lang()

st.title(tr("field.dq.title"))
st.caption(tr("field.dq.caption"))

flash = st.session_state.pop("dq_flash", None)
if flash:
    st.success(flash)

with Session(resources.engine()) as session:
    summary = served_summary(session, viewer)  # the last check's figures: no check runs on a view
    at = checked_at(session, viewer)
    tasks = verification_tasks(session, viewer)

summary["community"] = [pick(L, z, e) for z, e in zip(summary["name_zh"], summary["name_en"], strict=True)]
c = st.columns(len(KINDS) + 1)
for i, kind in enumerate(KINDS):
    c[i].metric(tr(f"field.dq.kind.{kind}"), f"{int(summary[kind].sum()):,}")
c[-1].metric(tr("field.dq.open_tasks"), f"{len(tasks):,}")
if at is None:
    st.caption(tr("field.dq.never_checked"))
else:
    st.caption(tr("field.dq.checked_at", at=at.strftime("%Y-%m-%d %H:%M")))
st.caption(tr("field.dq.limit", n=MAX_VISITS_PER_DAY))

b1, b2 = st.columns(2)
# Both run the checks over the viewer's scope now and keep the results (the daily job does the district at
# night); raising tasks works from those fresh rows, so a task is never raised for a problem already fixed.
if b1.button(
    tr("field.dq.recheck"),
    icon=":material/refresh:",
    help=tr("field.dq.recheck_help"),
    disabled=not viewer.is_manager,
):
    with resources.unit_of_work() as session:
        found = run_checks(session, viewer)["found"]
    st.session_state["dq_flash"] = tr("field.dq.rechecked", n=sum(found.values()))
    st.rerun()
if b2.button(tr("field.dq.raise"), icon=":material/playlist_add_check:", disabled=not viewer.is_manager):
    with resources.unit_of_work() as session:
        made = run_checks(session, viewer, raise_tasks=True)["raised"]
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
st.dataframe(safe_frame(table), hide_index=True, width="stretch", placeholder="")

st.subheader(tr("field.dq.drill"))
d1, d2 = st.columns(2)
kind = d1.selectbox(
    tr("field.dq.kind"),
    list(KINDS),
    format_func=lambda k, _l=L: t(f"field.dq.kind.{k}", _l),
    key=lang_key("dq_kind"),
)
names = distinct_labels(dict(zip(summary["community_id"], summary["community"], strict=True)))
community = d2.selectbox(
    tr("field.dq.community"),
    [None, *summary["community_id"].tolist()],
    format_func=lambda i, _l=L: t("field.dq.all", _l) if i is None else names[i],
)
in_view = summary if community is None else summary[summary["community_id"] == community]
show_drill(viewer, kind, community, names, total=int(in_view[f"{kind}_rows"].sum()))

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
        height=table_height(len(tasks), 300),
        placeholder="",
    )
