"""The communities tab: mean total and grade mix per community, calibration flags and outlying workers."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from evaluation.scoring import charts
from evaluation.scoring.calibration import community_calibration, worker_outliers
from ui.state import tr


def render(scored: pd.DataFrame, grade_names: dict[str, str]) -> None:
    """Community comparison and calibration of the scored workers."""
    left, right = st.columns(2)
    left.altair_chart(
        charts.community_chart(
            scored,
            community_col="community",
            title=tr("score.chart.communities"),
            x_title=tr("score.col.total"),
            y_title=None,
        ),
        width="stretch",
    )
    right.altair_chart(
        charts.grade_mix_chart(
            scored,
            grade_names,
            community_col="community",
            title=tr("score.chart.grade_mix"),
            x_title=tr("score.share"),
            grade_title=tr("score.col.grade"),
        ),
        width="stretch",
    )
    st.subheader(tr("score.calibration"))
    cal = community_calibration(scored, community_col="community")
    cal["flag"] = cal["flag"].map(lambda x: tr(f"score.flag.{x}") if x else "")
    st.dataframe(
        cal.round(2).rename(
            columns={
                "community": tr("score.col.community"),
                "n": tr("score.col.workers"),
                "mean": tr("score.mean_total"),
                "std": tr("score.col.std"),
                "top_share": tr("score.col.top_share"),
                "z": "z",
                "flag": tr("score.col.flag"),
            }
        ),
        hide_index=True,
        width="stretch",
        placeholder="",
    )
    out = worker_outliers(scored, community_col="community")
    st.caption(tr("score.outliers_caption", n=len(out)))
    if len(out):
        st.dataframe(
            out[["name", "employee_no", "community", "total", "fence_low", "fence_high", "outlier"]]
            .assign(outlier=out["outlier"].map(lambda o: tr(f"score.outlier.{o}")))
            .round(2)
            .rename(
                columns={
                    "name": tr("score.col.name"),
                    "employee_no": tr("score.col.employee_no"),
                    "community": tr("score.col.community"),
                    "total": tr("score.col.total"),
                    "fence_low": tr("score.col.fence_low"),
                    "fence_high": tr("score.col.fence_high"),
                    "outlier": tr("score.col.flag"),
                }
            ),
            hide_index=True,
            width="stretch",
            placeholder="",
        )
