"""Managers: rental buildings (出租屋) — grades, patrol schedule and coverage, grade / re-grade with the
score breakdown."""

import json
from datetime import timedelta

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.i18n import pick
from core.tabular import safe_frame
from evaluation.field.charts import coverage_chart, grade_chart
from evaluation.field.registry import field_now
from evaluation.field.rentals import (
    buildings_frame,
    criteria,
    grade_building,
    grading_history,
    grading_standard,
    patrol_coverage,
)
from ui import resources
from ui.audit_reads import csv_download, record_view
from ui.cells import table_height
from ui.errors import refusals
from ui.guard import require
from ui.state import lang, tr

viewer = require(__file__)
L = lang()

st.title(tr("field.rentals.title"))
st.caption(tr("field.rentals.caption"))

with Session(resources.engine()) as session:
    now = field_now(session)
    frame = buildings_frame(session, viewer, now=now)
    coverage = patrol_coverage(session, viewer, start=now - timedelta(days=30), end=now, buildings=frame)

if frame.empty:
    st.info(tr("field.rentals.empty"))
    st.stop()

c = st.columns(3)
c[0].metric(tr("field.rentals.buildings"), f"{len(frame):,}")
c[1].metric(tr("field.rentals.overdue"), f"{int(frame['patrol_overdue'].sum()):,}")
c[2].metric(tr("field.rentals.avg"), f"{frame['score'].mean():.1f}")

left, right = st.columns(2)
left.altair_chart(grade_chart(frame, L), width="stretch")
if not coverage.empty:
    right.altair_chart(coverage_chart(coverage, L), width="stretch")

st.subheader(tr("field.rentals.list"))
only_overdue = st.toggle(tr("field.rentals.overdue_only"))
shown = frame[frame["patrol_overdue"]] if only_overdue else frame
table = pd.DataFrame(
    {
        tr("field.col.code"): shown["code"],
        tr("field.col.address"): shown["address"],
        tr("field.col.community"): shown[f"community_{L}"],
        tr("field.col.grade"): shown["grade"].map(
            lambda g: tr(f"field.grade.{g}") if isinstance(g, str) else "—"
        ),
        tr("field.col.score"): shown["score"],
        tr("field.col.units"): shown["units"],
        tr("field.col.interval"): shown["interval_days"],
        tr("field.col.last_patrol"): pd.to_datetime(shown["last_patrol_at"]),
        tr("field.col.next_due"): shown["next_due"],
        tr("field.col.overdue"): shown["patrol_overdue"],
    }
)
record_view(viewer, "rentals", filters={}, rows=len(table))
st.dataframe(
    safe_frame(table),
    hide_index=True,
    width="stretch",
    height=table_height(len(table), 360),
    column_config={
        tr("field.col.last_patrol"): st.column_config.DatetimeColumn(format="YYYY-MM-DD"),
        tr("field.col.next_due"): st.column_config.DatetimeColumn(format="YYYY-MM-DD"),
        tr("field.col.score"): st.column_config.ProgressColumn(format="%.0f", min_value=0, max_value=100),
    },
    placeholder="",
)
csv_download(
    tr("common.download_csv"), table, viewer=viewer, what="rentals", filters={}, file_name="rentals.csv"
)

st.subheader(tr("field.rentals.breakdown"))
labels = dict(zip(frame["id"].tolist(), (frame["code"] + " · " + frame["address"]).tolist(), strict=True))
bid = st.selectbox(tr("field.rentals.pick"), list(labels), format_func=labels.__getitem__)
building = frame.set_index("id").loc[bid]
crit = criteria()
scores = json.loads(building["scores_json"]) if isinstance(building.get("scores_json"), str) else {}
with Session(resources.engine()) as session:
    history = grading_history(session, viewer, int(bid))
if not scores and not history.empty:
    scores = json.loads(history.iloc[0]["scores_json"])
crit["score"] = crit["code"].map(scores)
crit["dim"] = [pick(L, z, e) for z, e in zip(crit["dimension_zh"], crit["dimension_en"], strict=True)]
crit["name"] = [pick(L, z, e) for z, e in zip(crit["name_zh"], crit["name_en"], strict=True)]
b1, b2 = st.columns([3, 2])
with b1:
    grade = building["grade"]
    if isinstance(grade, str):
        st.markdown(f"**{tr('field.grade.' + grade)}** · {tr('field.col.score')} {building['score']:.0f}")
    st.dataframe(
        pd.DataFrame(
            {
                tr("field.col.dimension"): crit["dim"],
                tr("field.col.criterion"): crit["name"],
                tr("field.col.score"): crit["score"],
                tr("field.col.max"): crit["max"],
            }
        ),
        hide_index=True,
        width="stretch",
        placeholder="",
    )
    if not history.empty:
        st.caption(tr("field.rentals.history"))
        st.dataframe(
            pd.DataFrame(
                {
                    tr("field.col.time"): history["graded_at"],
                    tr("field.col.grade"): history["grade"].map(lambda g: tr(f"field.grade.{g}")),
                    tr("field.col.score"): history["score"],
                }
            ),
            hide_index=True,
            width="stretch",
            placeholder="",
        )
with b2:
    with st.form("regrade"):
        st.markdown(f"**{tr('field.rentals.regrade')}**")
        entered = {}
        for r in crit.itertuples():
            entered[r.code] = st.number_input(
                f"{r.code} {r.name}",
                min_value=0.0,
                max_value=float(r.max),
                value=float(r.score) if pd.notna(r.score) else float(r.max),
                step=1.0,
            )
        vetoes = grading_standard()["veto"]
        veto = st.multiselect(
            tr("field.rentals.veto"),
            [v["code"] for v in vetoes],
            format_func=lambda c: next(pick(L, v["name_zh"], v["name_en"]) for v in vetoes if v["code"] == c),
            placeholder=tr("common.choose_many"),
        )
        save = st.form_submit_button(tr("field.rentals.save"), type="primary", width="stretch")
    if save:
        with refusals():
            with resources.unit_of_work() as session:
                b = grade_building(session, viewer, building_id=int(bid), scores=entered, veto=veto, now=now)
            st.success(tr("field.rentals.saved", grade=tr(f"field.grade.{b.grade}"), score=b.score))
