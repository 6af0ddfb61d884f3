"""The distribution tab: the histogram of totals by grade, and the monthly trend by subdistrict with its table."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.scope import Viewer
from evaluation.scoring import charts
from evaluation.scoring.periods import parse_period
from ui.scoring_cache import cached_trend_summary
from ui.state import lang, tr


def render(
    viewer: Viewer, scored: pd.DataFrame, grade_names: dict[str, str], period: str, months: list[str]
) -> None:
    """Distribution of the scored workers' totals in `period`, then the trend over up to nine months."""
    L = lang()
    st.altair_chart(
        charts.score_histogram(
            scored,
            grade_names,
            title=tr("score.chart.distribution"),
            x_title=tr("score.col.total"),
            y_title=tr("score.col.workers"),
            grade_title=tr("score.col.grade"),
        ),
        width="stretch",
    )
    p = parse_period(period)
    first = months[min(len(months) - 1, 8)] if months else p.months[0]
    # Summed per month and subdistrict in SQL: the chart and the table read means, not every worker's month.
    trend = cached_trend_summary(viewer, min(first, p.months[0]), p.months[-1])
    if trend.empty or trend["period"].nunique() < 2:
        st.info(tr("score.trend_empty"))
        return
    trend = trend.assign(subdistrict=trend[f"subdistrict_{L}"], total=trend["total_sum"] / trend["n"])
    st.altair_chart(
        charts.trend_chart(
            trend,
            group="subdistrict",
            title=tr("score.chart.trend"),
            x_title=tr("score.period"),
            y_title=tr("score.mean_total"),
            group_title=tr("score.col.subdistrict"),
        ),
        width="stretch",
    )
    sums = trend.groupby("period")[["total_sum", "n"]].sum()
    by_month = pd.DataFrame({"mean": sums["total_sum"] / sums["n"], "count": sums["n"]})
    by_month["change"] = by_month["mean"].diff()
    st.dataframe(
        by_month.round(2)
        .reset_index()
        .rename(
            columns={
                "period": tr("score.period"),
                "mean": tr("score.mean_total"),
                "count": tr("score.col.workers"),
                "change": tr("score.col.mom_change"),
            }
        ),
        hide_index=True,
        placeholder="",
    )
