"""Charts and maps for the field pages (events, rental buildings, data quality), built from the frames the
domain functions return; labels come from the locale catalogs in the language asked for.

Heights of charts with a discrete axis are ``alt.Step`` (per band), so long lists stay readable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import pandas as pd
import pydeck as pdk

from core.charts import COUNT_AXIS
from core.i18n import col, t
from core.taxonomy import item_name
from evaluation.field.basemap import NO_BASEMAP
from evaluation.field.quality import KINDS
from evaluation.field.rentals import GRADES, grading_standard

OVERDUE, ON_TIME = "#C62828", "#1565C0"


def state_chart(counts: pd.DataFrame, lang: str) -> alt.Chart:
    """Events per state (state, events, overdue), a bar each, red where some are overdue."""
    return state_spec(lang, data=state_rows(counts, lang))


def state_rows(counts: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The state chart's rows: ``counts`` (state, events, overdue) with each state's label in ``lang``."""
    return counts.assign(label=counts["state"].map(lambda s: t(f"field.state.{s}", lang)))


def state_spec(lang: str, data: pd.DataFrame | None = None) -> alt.Chart:
    """The state chart for rows of ``state_rows`` (``data``; without it, the chart's spec alone, which depends
    on the language only)."""
    return (
        alt.Chart(alt.Undefined if data is None else data)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort="-x", title=None, axis=alt.Axis(labelLimit=240)),
            x=alt.X("events:Q", title=t("field.col.count", lang), axis=COUNT_AXIS),
            color=alt.condition(alt.datum.overdue > 0, alt.value(OVERDUE), alt.value(ON_TIME)),
            tooltip=[
                alt.Tooltip("label:N", title=t("field.col.state", lang)),
                alt.Tooltip("events:Q", title=t("field.col.count", lang)),
                alt.Tooltip("overdue:Q", title=t("field.events.overdue", lang)),
            ],
        )
        .properties(title=t("field.events.by_state", lang), height=alt.Step(24))
    )


def zoom_to_fit(
    lat0: float, lat1: float, lon0: float, lon1: float, width: int = 800, height: int = 460
) -> float:
    """The Web Mercator zoom (512-px world at zoom 0) that fits the box into width × height px, at most
    street level (14)."""
    mid = (lat0 + lat1) / 2
    return min(
        14.0,
        math.log2(width * 360 / 512 / max(lon1 - lon0, 0.002) / 1.15),
        math.log2(height * 360 / 512 * math.cos(math.radians(mid)) / max(lat1 - lat0, 0.002) / 1.15),
    )


def event_map(
    events: pd.DataFrame, communities: pd.DataFrame, lang: str, ground: Sequence[pdk.Layer] = ()
) -> pdk.Deck:
    """Open events (red when overdue, drawn on top; orange otherwise) with their communities' names.

    ``events``: lat, lon, overdue, event_no, item_code, location, community_id. ``communities``: id, name_zh, name_en, lat,
    lon. The names come from our own org data and ``ground`` (evaluation.field.basemap) is drawn beneath, so the
    map reads without tiles (offline, blocked tiles)."""
    points = (
        events.dropna(subset=["lat", "lon"])
        .assign(
            color=lambda f: f["overdue"].map({True: [198, 40, 40, 220], False: [239, 108, 0, 190]}),
            item=lambda f: f["item_code"].map(lambda c: item_name(c, lang)),
        )
        .sort_values("overdue", kind="stable")
    )
    shown = communities[communities["id"].isin(points["community_id"]) & communities["lat"].notna()]
    names = shown.assign(name=shown[col(lang, "name")])[["name", "lat", "lon"]]
    labels = pdk.Layer(
        "TextLayer",
        data=names,
        get_position="[lon, lat]",
        get_text="name",
        get_size=13,
        get_color=[69, 90, 100, 230],
        # pydeck sends a bare string as an expression; quoted, it stays the text itself.
        character_set='"' + "".join(sorted(set("".join(names["name"])) - {'"'})) + '"',
        get_pixel_offset=[0, -18],
        background=True,
        get_background_color=[255, 255, 255, 200],
        pickable=False,
    )
    layer = pdk.Layer(
        "ScatterplotLayer",
        data=points[["lat", "lon", "color", "event_no", "item", "location"]],
        get_position="[lon, lat]",
        get_fill_color="color",
        get_radius=60,
        radius_min_pixels=4,
        radius_max_pixels=14,
        stroked=True,
        get_line_color=[255, 255, 255],
        line_width_min_pixels=1,
        pickable=True,
    )
    lat0, lat1, lon0, lon1 = (
        points["lat"].min(),
        points["lat"].max(),
        points["lon"].min(),
        points["lon"].max(),
    )
    view = pdk.ViewState(
        latitude=float((lat0 + lat1) / 2),
        longitude=float((lon0 + lon1) / 2),
        zoom=round(zoom_to_fit(lat0, lat1, lon0, lon1), 2),
    )
    return pdk.Deck(
        layers=[*ground, layer, labels],
        initial_view_state=view,
        map_style=NO_BASEMAP,
        map_provider=None,
        tooltip={"text": "{event_no}\n{item}\n{location}"},
    )


def grade_chart(buildings: pd.DataFrame, lang: str) -> alt.Chart:
    """Rental buildings per grade, in the standard's order and colours."""
    colours = {g["code"]: g["colour"] for g in grading_standard()["grades"]}
    by_grade = (
        buildings["grade"]
        .value_counts()
        .reindex(list(GRADES), fill_value=0)
        .rename_axis("grade")
        .reset_index(name="n")
    )
    by_grade["label"] = by_grade["grade"].map(lambda g: t(f"field.grade.{g}", lang))
    return (
        alt.Chart(by_grade)
        .mark_bar()
        .encode(
            x=alt.X(
                "label:N",
                sort=[t(f"field.grade.{g}", lang) for g in GRADES],
                title=None,
                axis=alt.Axis(labelAngle=0),
            ),
            y=alt.Y("n:Q", title=t("field.rentals.buildings", lang), axis=COUNT_AXIS),
            color=alt.Color(
                "grade:N",
                scale=alt.Scale(domain=list(GRADES), range=[colours[g] for g in GRADES]),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("label:N", title=t("field.col.grade", lang)),
                alt.Tooltip("n:Q", title=t("field.col.count", lang)),
            ],
        )
        .properties(title=t("field.rentals.by_grade", lang), height=240)
    )


def coverage_chart(coverage: pd.DataFrame, lang: str) -> alt.Chart:
    """Patrols made against patrols due, per community (rentals.patrol_coverage), as a percentage."""
    cov = coverage.assign(community=coverage[col(lang, "community")])
    return (
        alt.Chart(cov)
        .mark_bar(color=ON_TIME)
        .encode(
            y=alt.Y("community:N", sort="x", title=None, axis=alt.Axis(labelLimit=200)),
            x=alt.X("rate:Q", title=t("field.col.rate", lang) + " %", scale=alt.Scale(domain=[0, 100])),
            tooltip=[
                alt.Tooltip("community:N", title=t("field.col.community", lang)),
                alt.Tooltip("due:Q", title=t("field.col.due", lang)),
                alt.Tooltip("made:Q", title=t("field.col.made", lang)),
                alt.Tooltip("rate:Q", title=t("field.col.rate", lang), format=".1f"),
            ],
        )
        .properties(title=t("field.rentals.coverage", lang), height=alt.Step(22))
    )


def quality_chart(summary: pd.DataFrame, lang: str) -> alt.Chart | None:
    """Flagged problems per community, stacked by check (quality.quality_summary); None when there are none."""
    named = summary.assign(community=summary[col(lang, "name")])
    long = named.melt(
        id_vars=["community_id", "community"], value_vars=list(KINDS), var_name="kind", value_name="n"
    )
    long = long[long["n"] > 0].assign(label=lambda d: d["kind"].map(lambda k: t(f"field.dq.kind.{k}", lang)))
    if long.empty:
        return None
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("community:N", sort="-x", title=None, axis=alt.Axis(labelLimit=200)),
            x=alt.X("sum(n):Q", title=t("field.col.count", lang), axis=COUNT_AXIS),
            color=alt.Color("label:N", title=t("field.dq.kind", lang), legend=alt.Legend(orient="bottom")),
            tooltip=[
                alt.Tooltip("community:N", title=t("field.dq.community", lang)),
                alt.Tooltip("label:N", title=t("field.dq.kind", lang)),
                alt.Tooltip("n:Q", title=t("field.col.count", lang)),
            ],
        )
        .properties(height=alt.Step(20))
    )
