"""The series behind a warning as a chart (core.charts rules: whole-number count axis, bars from zero)."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd
import pydeck as pdk

from core.charts import COUNT_AXIS
from evaluation.assignment.charts import CENTRE
from evaluation.field.basemap import NO_BASEMAP
from evaluation.field.charts import zoom_to_fit


def series_chart(series: pd.DataFrame, labels: dict[str, str]) -> alt.LayerChart | alt.FacetChart:
    """7-day counts per day (bars from zero) over the expected count (a line) and its band (shaded).

    ``series`` from evaluation.warning.service.warning_series; ``labels`` the reader's words for
    ``day``, ``week``, ``expected`` and ``band``."""
    base = alt.Chart(series).encode(  # dates as numbers: Vega's default ticks are English ("Mon 03")
        x=alt.X("day:T", title=labels["day"], axis=alt.Axis(format="%m-%d"))
    )
    band = base.mark_area(opacity=0.25, color="#9ecae1").encode(
        y=alt.Y("low:Q", axis=COUNT_AXIS, title=labels["week"]),
        y2="high:Q",
        tooltip=[alt.Tooltip("low:Q", title=labels["band"], format="d"), alt.Tooltip("high:Q", format="d")],
    )
    bars = base.mark_bar(color="#d62728", opacity=0.8).encode(
        y=alt.Y("week:Q", axis=COUNT_AXIS, title=labels["week"]),
        tooltip=[
            alt.Tooltip("day:T", title=labels["day"], format="%Y-%m-%d"),
            alt.Tooltip("week:Q", title=labels["week"]),
        ],
    )
    line = base.mark_line(color="#08519c", strokeDash=[4, 3]).encode(
        y=alt.Y("expected:Q", axis=COUNT_AXIS),
        tooltip=[alt.Tooltip("expected:Q", title=labels["expected"], format=".1f")],
    )
    return alt.layer(band, bars, line).properties(height=260)


def warning_map(warnings: pd.DataFrame, labels: list[str], ground: Sequence[pdk.Layer] = ()) -> pdk.Deck:
    """The warned communities/grids as red dots (bigger for more improbable counts) over ``ground`` (the
    offline base map, evaluation.field.basemap), zoomed to fit them; ``labels`` one tooltip per row."""
    points = warnings.assign(label=labels).dropna(subset=["lat", "lon"])
    points = points.assign(radius=120 + 40 * np.clip(-np.log10(points["score"].clip(lower=1e-30)), 3, 12))
    if points.empty:
        lat, lon, zoom = CENTRE[0], CENTRE[1], 11.0
    else:
        lat, lon = float(points["lat"].mean()), float(points["lon"].mean())
        zoom = round(
            zoom_to_fit(
                points["lat"].min(), points["lat"].max(), points["lon"].min(), points["lon"].max(), height=460
            ),
            2,
        )
    return pdk.Deck(
        layers=[
            *ground,
            pdk.Layer(
                "ScatterplotLayer",
                points[["lon", "lat", "label", "radius"]],
                get_position="[lon, lat]",
                get_fill_color=[214, 39, 40, 170],
                get_radius="radius",
                radius_min_pixels=5,
                radius_max_pixels=22,
                pickable=True,
            ),
        ],
        initial_view_state=pdk.ViewState(latitude=lat, longitude=lon, zoom=min(zoom, 14)),
        map_style=NO_BASEMAP,
        map_provider=None,
        tooltip={"text": "{label}"},
    )
