"""The attendance page's second tab: attendance per worker across courses, the warning list and its CSV."""

from datetime import datetime

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.i18n import pick
from core.scope import Viewer
from courses.attendance import attendance_warnings, worker_attendance
from courses.charts import attendance_rate_chart
from ui import resources
from ui.audit_reads import csv_download, record_view
from ui.cells import table_height
from ui.state import tr


def attendance_by_worker(viewer: Viewer, L: str, now: datetime) -> None:
    """Each worker's attendance in scope, the workers below ``min_rate`` (chosen here) and a download."""
    c1, c2 = st.columns(2)
    min_rate = c1.slider(tr("courses.att.min_rate"), 0.5, 1.0, 0.8, 0.05, format="%.2f")
    min_sessions = c2.number_input(tr("courses.att.min_sessions"), 1, 50, 3)
    with Session(resources.engine()) as session:
        per_worker = worker_attendance(session, viewer, now=now)
    record_view(viewer, "attendance_by_worker", filters={}, rows=len(per_worker))
    if per_worker.empty:
        st.info(tr("courses.att.no_data"))
    else:
        warned = attendance_warnings(per_worker, min_rate=min_rate, min_sessions=int(min_sessions))
        k = st.columns(3)
        held = per_worker["held"] - per_worker["excused"]
        k[0].metric(
            tr("courses.att.overall_rate"), f"{per_worker['attended'].sum() / max(1, held.sum()):.1%}"
        )
        k[1].metric(tr("courses.att.warned"), len(warned))
        k[2].metric(
            tr("courses.att.cannot_recover"), int((~warned["can_recover"]).sum()) if len(warned) else 0
        )
        st.altair_chart(
            attendance_rate_chart(
                per_worker,
                min_rate=min_rate,
                labels={
                    "rate": tr("courses.col.rate"),
                    "workers": tr("col.workers"),
                    "title": tr("courses.att.rate_chart"),
                },
            ),
            width="stretch",
        )

        def table(df: pd.DataFrame) -> pd.DataFrame:
            out = pd.DataFrame(
                {
                    tr("col.employee_no"): df["employee_no"],
                    tr("col.name"): df["name"],
                    tr("col.community"): [
                        pick(L, z, e) for z, e in zip(df["community_zh"], df["community_en"], strict=True)
                    ],
                    tr("courses.att.held"): df["held"],
                    tr("courses.status.present"): df["attended"] - df["late"],
                    tr("courses.status.late"): df["late"],
                    tr("courses.status.excused"): df["excused"],
                    tr("courses.status.absent"): df["absent"],
                    tr("courses.col.points"): df["points"],
                    tr("courses.col.rate"): df["rate"],
                    tr("courses.att.remaining"): df["remaining"],
                }
            )
            if "best_possible_rate" in df:
                out[tr("courses.att.best")] = df["best_possible_rate"]
                out[tr("courses.att.can_recover")] = df["can_recover"]
            return out

        pct = {
            tr("courses.col.rate"): st.column_config.ProgressColumn(
                format="percent", min_value=0, max_value=1
            ),
            tr("courses.att.best"): st.column_config.NumberColumn(format="percent"),
        }
        st.markdown(f"**{tr('courses.att.warning_list')}**")
        if warned.empty:
            st.success(tr("courses.att.no_warnings"))
        else:
            st.dataframe(table(warned), hide_index=True, width="stretch", column_config=pct, placeholder="")
        st.markdown(f"**{tr('courses.att.all_workers')}**")
        full = table(per_worker)
        st.dataframe(
            full,
            hide_index=True,
            width="stretch",
            column_config=pct,
            height=table_height(len(full)),
            placeholder="",
        )
        csv_download(
            tr("common.download_csv"),
            full,
            viewer=viewer,
            what="attendance_by_worker",
            filters={},
            file_name="attendance_by_worker.csv",
            key="dl_workers",
        )
