"""The map tab: open tasks by priority over the workers in scope (evaluation.assignment.charts.task_map),
or the same tasks as a table."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.i18n import col
from evaluation.assignment import service
from evaluation.assignment.charts import task_map
from ui.basemap import ground
from ui.state import lang, tr


def render(queue: pd.DataFrame, ctx: service.Context) -> None:
    points = queue.dropna(subset=["lat", "lon"])
    as_table = st.toggle(tr("assign.map.as_table"), value=points.empty, key="assign_map_table")
    if points.empty and ctx.workers.dropna(subset=["lat", "lon"]).empty:
        st.info(tr("assign.map.empty"))
    elif as_table:
        st.dataframe(
            pd.DataFrame(
                {
                    tr("assign.col.task"): points[col(lang(), "title")],
                    tr("assign.col.priority"): points["priority"].map(lambda p: tr(f"assign.priority.{p}")),
                    "lat": points["lat"].round(5),
                    "lon": points["lon"].round(5),
                    tr("assign.col.assignee"): points["assignee_name"].fillna("—"),
                }
            ),
            hide_index=True,
            width="stretch",
            placeholder="",
        )
    else:
        st.pydeck_chart(task_map(points, ctx.workers, lang(), ground()), height=520)
        st.caption(tr("assign.map.legend"))
