"""Altair charts for dispatch: where each candidate's points come from, and quality by item.

Heights are ``alt.Step`` (per band of the discrete axis), not a fixed number: Streamlit 1.67 fits a
fixed height around the title and a bottom legend, which squeezes the bands to nothing.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from core.i18n import t
from evaluation.assignment.rank import COMPONENTS

# One colour per preference, stable across charts; penalties (load, fairness) in warm tones.
COMPONENT_COLOURS = {"grid": "#1f77b4", "distance": "#17becf", "skill": "#2ca02c", "performance": "#9467bd",
                     "load": "#ff7f0e", "fairness": "#d62728"}


def points_chart(ranked: pd.DataFrame, lang: str, *, top: int = 10) -> alt.Chart:
    """Diverging stacked bars: each candidate's points per preference (penalties to the left of 0)."""
    head = ranked.head(top)
    label = [f"{r}. {n}" for r, n in zip(head["rank"], head["name"], strict=True)]
    long = pd.DataFrame({
        "candidate": [lab for lab in label for _ in COMPONENTS],
        "order": [i for i in range(len(head)) for _ in COMPONENTS],
        "component": [t(f"assign.component.{c}", lang) for _ in range(len(head)) for c in COMPONENTS],
        "code": [c for _ in range(len(head)) for c in COMPONENTS],
        "points": [float(head[f"pts_{c}"].iloc[i]) for i in range(len(head)) for c in COMPONENTS],
    })
    names = [t(f"assign.component.{c}", lang) for c in COMPONENTS]
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("candidate:N", sort=label, title=None),
            x=alt.X("sum(points):Q", title=t("assign.chart.points", lang)),
            color=alt.Color("component:N", title=None, sort=names,
                            scale=alt.Scale(domain=names, range=[COMPONENT_COLOURS[c] for c in COMPONENTS]),
                            legend=alt.Legend(orient="bottom", labelLimit=0)),
            order=alt.Order("code:N"),
            tooltip=[alt.Tooltip("candidate:N", title=t("assign.col.worker", lang)),
                     alt.Tooltip("component:N", title=t("assign.chart.component", lang)),
                     alt.Tooltip("points:Q", title=t("assign.chart.points", lang), format="+.1f")],
        )
        .properties(height=alt.Step(28), title=t("assign.chart.points_title", lang))
    )


def quality_chart(by_item: pd.DataFrame, lang: str) -> alt.Chart:
    """首派准确率 and 超期率 per item, side by side (``by_item`` has an ``item`` label column)."""
    long = pd.concat([
        pd.DataFrame({"item": by_item["item"], "figure": t("assign.q.first_dispatch_accuracy", lang),
                      "value": by_item["first_dispatch_accuracy"], "n": by_item["dispatched"]}),
        pd.DataFrame({"item": by_item["item"], "figure": t("assign.q.overdue_rate", lang),
                      "value": by_item["overdue_rate"], "n": by_item["due"]}),
    ], ignore_index=True).dropna(subset=["value"])
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("item:N", sort="-x", title=None),
            x=alt.X("value:Q", axis=alt.Axis(format="%"), title=None, scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("figure:N", title=None, legend=alt.Legend(orient="bottom", labelLimit=0)),
            yOffset="figure:N",
            tooltip=[alt.Tooltip("item:N", title=t("assign.col.item", lang)),
                     alt.Tooltip("figure:N", title=t("assign.chart.figure", lang)),
                     alt.Tooltip("value:Q", format=".1%", title=t("assign.chart.value", lang)),
                     alt.Tooltip("n:Q", title=t("assign.chart.n", lang))],
        )
        .properties(height=alt.Step(16), title=t("assign.q.chart_title", lang))
    )


def gaps_chart(gaps: pd.DataFrame, lang: str) -> alt.Chart:
    """Open tasks per item split into 'someone qualified in the community' and 'nobody qualified'."""
    long = pd.concat([
        pd.DataFrame({"item": gaps["item"], "part": t("assign.gaps.part_gap", lang),
                      "tasks": gaps["tasks_without_qualified"]}),
        pd.DataFrame({"item": gaps["item"], "part": t("assign.gaps.part_ok", lang),
                      "tasks": gaps["tasks"] - gaps["tasks_without_qualified"]}),
    ], ignore_index=True)
    parts = [t("assign.gaps.part_gap", lang), t("assign.gaps.part_ok", lang)]
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("item:N", sort=alt.EncodingSortField("tasks", op="sum", order="descending"), title=None),
            x=alt.X("sum(tasks):Q", title=t("assign.gaps.open_tasks", lang)),
            color=alt.Color("part:N", title=None, sort=parts,
                            scale=alt.Scale(domain=parts, range=["#d62728", "#9ecae1"]),
                            legend=alt.Legend(orient="bottom", labelLimit=0)),
            order=alt.Order("part:N", sort="descending"),
            tooltip=["item:N", "part:N", "sum(tasks):Q"],
        )
        .properties(height=alt.Step(24), title=t("assign.gaps.chart_title", lang))
    )
