"""Altair charts for dispatch: where each candidate's points come from, and quality by item.

Heights are ``alt.Step`` (per band of the discrete axis), not a fixed number: Streamlit 1.67 fits a
fixed height around the title and a bottom legend, which squeezes the bands to nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd
import pydeck as pdk

from core.charts import COUNT_AXIS
from core.i18n import col, pick, t
from evaluation.assignment.rank import COMPONENTS
from evaluation.field.basemap import NO_BASEMAP
from evaluation.field.charts import zoom_to_fit

# One colour per preference, stable across charts; penalties (load, fairness) in warm tones.
COMPONENT_COLOURS = {
    "grid": "#1f77b4",
    "distance": "#17becf",
    "skill": "#2ca02c",
    "performance": "#9467bd",
    "load": "#ff7f0e",
    "fairness": "#d62728",
}


def points_rows(ranked: pd.DataFrame, lang: str, *, top: int = 10) -> pd.DataFrame:
    """The points chart's rows: per candidate of the ``top`` (label "rank. name", order) a row per preference
    with its points (code, component name in ``lang``)."""
    head = ranked.head(top)
    label = [f"{r}. {n}" for r, n in zip(head["rank"].tolist(), head["name"].tolist(), strict=True)]
    points = {c: head[f"pts_{c}"].tolist() for c in COMPONENTS}
    names = [t(f"assign.component.{c}", lang) for c in COMPONENTS]
    return pd.DataFrame(
        {
            "candidate": [lab for lab in label for _ in COMPONENTS],
            "order": [i for i in range(len(head)) for _ in COMPONENTS],
            "component": names * len(head),
            "code": list(COMPONENTS) * len(head),
            "points": [float(points[c][i]) for i in range(len(head)) for c in COMPONENTS],
        }
    )


def points_spec(lang: str, data: pd.DataFrame | None = None) -> alt.Chart:
    """Diverging stacked bars: each candidate's points per preference (penalties to the left of 0), for rows of
    ``points_rows`` (``data``; without it the chart's spec alone, which depends on the language only:
    candidates are ordered by their rank, the ``order`` field, not by a list of their names)."""
    names = [t(f"assign.component.{c}", lang) for c in COMPONENTS]
    return (
        alt.Chart(alt.Undefined if data is None else data)
        .mark_bar()
        .encode(
            y=alt.Y("candidate:N", sort=alt.EncodingSortField("order", op="min"), title=None),
            x=alt.X("sum(points):Q", title=t("assign.chart.points", lang)),
            color=alt.Color(
                "component:N",
                title=None,
                sort=names,
                scale=alt.Scale(domain=names, range=[COMPONENT_COLOURS[c] for c in COMPONENTS]),
                legend=alt.Legend(orient="bottom", labelLimit=0),
            ),
            order=alt.Order("code:N"),
            tooltip=[
                alt.Tooltip("candidate:N", title=t("assign.col.worker", lang)),
                alt.Tooltip("component:N", title=t("assign.chart.component", lang)),
                alt.Tooltip("points:Q", title=t("assign.chart.points", lang), format="+.1f"),
            ],
        )
        .properties(height=alt.Step(28), title=t("assign.chart.points_title", lang))
    )


def points_chart(ranked: pd.DataFrame, lang: str, *, top: int = 10) -> alt.Chart:
    """Where each of the ``top`` candidates' points come from (points_spec with points_rows)."""
    return points_spec(lang, data=points_rows(ranked, lang, top=top))


def quality_chart(by_item: pd.DataFrame, lang: str) -> alt.Chart:
    """首派准确率 and 超期率 per item, side by side (``by_item`` has an ``item`` label column)."""
    long = pd.concat(
        [
            pd.DataFrame(
                {
                    "item": by_item["item"],
                    "figure": t("assign.q.first_dispatch_accuracy", lang),
                    "value": by_item["first_dispatch_accuracy"],
                    "n": by_item["dispatched"],
                }
            ),
            pd.DataFrame(
                {
                    "item": by_item["item"],
                    "figure": t("assign.q.overdue_rate", lang),
                    "value": by_item["overdue_rate"],
                    "n": by_item["due"],
                }
            ),
        ],
        ignore_index=True,
    ).dropna(subset=["value"])
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("item:N", sort="-x", title=None),
            x=alt.X("value:Q", axis=alt.Axis(format="%"), title=None, scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("figure:N", title=None, legend=alt.Legend(orient="bottom", labelLimit=0)),
            yOffset="figure:N",
            tooltip=[
                alt.Tooltip("item:N", title=t("assign.col.item", lang)),
                alt.Tooltip("figure:N", title=t("assign.chart.figure", lang)),
                alt.Tooltip("value:Q", format=".1%", title=t("assign.chart.value", lang)),
                alt.Tooltip("n:Q", title=t("assign.chart.n", lang)),
            ],
        )
        .properties(height=alt.Step(16), title=t("assign.q.chart_title", lang))
    )


def gaps_chart(gaps: pd.DataFrame, lang: str) -> alt.Chart:
    """Open tasks per item split into 'someone qualified in the community' and 'nobody qualified'."""
    long = pd.concat(
        [
            pd.DataFrame(
                {
                    "item": gaps["item"],
                    "part": t("assign.gaps.part_gap", lang),
                    "tasks": gaps["tasks_without_qualified"],
                }
            ),
            pd.DataFrame(
                {
                    "item": gaps["item"],
                    "part": t("assign.gaps.part_ok", lang),
                    "tasks": gaps["tasks"] - gaps["tasks_without_qualified"],
                }
            ),
        ],
        ignore_index=True,
    )
    parts = [t("assign.gaps.part_gap", lang), t("assign.gaps.part_ok", lang)]
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("item:N", sort=alt.EncodingSortField("tasks", op="sum", order="descending"), title=None),
            x=alt.X("sum(tasks):Q", title=t("assign.gaps.open_tasks", lang), axis=COUNT_AXIS),
            color=alt.Color(
                "part:N",
                title=None,
                sort=parts,
                scale=alt.Scale(domain=parts, range=["#d62728", "#9ecae1"]),
                legend=alt.Legend(orient="bottom", labelLimit=0),
            ),
            order=alt.Order("part:N", sort="descending"),
            tooltip=["item:N", "part:N", "sum(tasks):Q"],
        )
        .properties(height=alt.Step(24), title=t("assign.gaps.chart_title", lang))
    )


PRIORITY_COLOURS = {
    1: [214, 39, 40, 200],
    2: [255, 127, 14, 180],
    3: [148, 103, 189, 180],
}  # urgent → complex
CENTRE = (22.59, 114.48)  # the pilot district, for a map with no task on it


def task_map(
    tasks: pd.DataFrame, workers: pd.DataFrame, lang: str, ground: Sequence[pdk.Layer] = ()
) -> pdk.Deck:
    """Open tasks (coloured by priority) over the workers in scope (blue), each labelled for its tooltip,
    zoomed to fit them all.

    ``tasks`` needs lat, lon, priority_rank, title_zh/title_en; ``workers`` lat, lon, name, grid_zh/grid_en;
    ``ground`` (evaluation.field.basemap) is drawn beneath."""
    points = tasks.dropna(subset=["lat", "lon"])
    tasks_layer = points.assign(
        colour=points["priority_rank"].map(PRIORITY_COLOURS),
        label=[pick(lang, z, e) for z, e in zip(points["title_zh"], points["title_en"], strict=True)],
    )
    people = workers.dropna(subset=["lat", "lon"])
    workers_layer = people.assign(label=people["name"] + " · " + people[col(lang, "grid")])
    both = pd.concat([points[["lat", "lon"]], people[["lat", "lon"]]])
    lat, lon = (float(both["lat"].mean()), float(both["lon"].mean())) if not both.empty else CENTRE
    zoom = (
        round(
            zoom_to_fit(
                both["lat"].min(), both["lat"].max(), both["lon"].min(), both["lon"].max(), height=520
            ),
            2,
        )
        if not both.empty
        else 11
    )
    return pdk.Deck(
        layers=[
            *ground,
            pdk.Layer(
                "ScatterplotLayer",
                workers_layer[["lon", "lat", "label"]],
                get_position="[lon, lat]",
                get_fill_color=[31, 119, 180, 140],
                get_radius=60,
                radius_min_pixels=3,
                radius_max_pixels=9,
                pickable=True,
            ),
            pdk.Layer(
                "ScatterplotLayer",
                tasks_layer[["lon", "lat", "label", "colour"]],
                get_position="[lon, lat]",
                get_fill_color="colour",
                get_radius=90,
                radius_min_pixels=4,
                radius_max_pixels=12,
                pickable=True,
            ),
        ],
        initial_view_state=pdk.ViewState(latitude=lat, longitude=lon, zoom=zoom),
        tooltip={"text": "{label}"},
        map_style=NO_BASEMAP,
        map_provider=None,
    )
