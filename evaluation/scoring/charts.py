"""Altair chart builders (pure: frames in, chart out; tested through ``chart.to_dict()``).

Labels are passed in already translated so this module stays free of Streamlit and i18n state.
"""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from core.charts import COUNT_AXIS

GRADE_COLORS = {"excellent": "#1a9850", "good": "#91cf60", "pass": "#fdae61", "fail": "#d73027"}


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Categoricals and Arrow strings as plain text: Vega-Lite reads dictionary-encoded columns as
    blanks when Streamlit ships the data as Arrow."""
    out = df.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def _grade_scale(grade_names: dict[str, str]) -> alt.Scale:
    codes = list(grade_names)
    return alt.Scale(
        domain=[grade_names[c] for c in codes], range=[GRADE_COLORS.get(c, "#999") for c in codes]
    )


def score_histogram(
    cards: pd.DataFrame,
    grade_names: dict[str, str],
    *,
    title: str,
    x_title: str,
    y_title: str,
    grade_title: str,
) -> alt.Chart:
    """Distribution of totals in 5-point bins, coloured by grade. The bins are counted here, so the chart
    carries one row per bin and grade (at most 20 × grades), not one per worker (20,000 in a city)."""
    df = cards[cards["scored"].astype(bool)][["total", "grade"]]
    # Vega-Lite's bins with extent [0, 100]: [0, 5), …, [95, 100] (the last one closed).
    start = np.clip(np.floor(df["total"].astype(float).to_numpy() / 5.0) * 5.0, 0.0, 95.0)
    counts = (
        pd.DataFrame({"bin": start, "grade_name": df["grade"].astype(object).map(grade_names).to_numpy()})
        .groupby(["bin", "grade_name"], as_index=False)
        .size()
        .rename(columns={"size": "n"})
    )
    counts["bin_end"] = counts["bin"] + 5.0
    return (
        alt.Chart(_plain(counts), title=title)
        .mark_bar()
        .encode(
            x=alt.X(
                "bin:Q",
                bin=alt.Bin(binned=True, step=5),
                scale=alt.Scale(domain=[0, 100]),
                title=x_title,
            ),
            x2="bin_end:Q",
            y=alt.Y("sum(n):Q", title=y_title, axis=COUNT_AXIS),
            color=alt.Color(
                "grade_name:N",
                title=grade_title,
                scale=_grade_scale(grade_names),
                legend=alt.Legend(orient="right"),
            ),
            tooltip=[alt.Tooltip("grade_name:N", title=grade_title), alt.Tooltip("sum(n):Q", title=y_title)],
        )
        # Streamlit fits the whole chart (title, axes, legend) into the height: leave room for the bars.
        .properties(height=320)
    )


def trend_chart(
    trend: pd.DataFrame, *, group: str, title: str, x_title: str, y_title: str, group_title: str
) -> alt.Chart:
    """Mean total per month and group (e.g. subdistrict), one line each."""
    df = _plain(trend.groupby(["period", group], as_index=False, observed=True)["total"].mean())
    return (
        alt.Chart(df, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("period:O", title=x_title, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("total:Q", title=y_title, scale=alt.Scale(zero=False)),
            color=alt.Color(f"{group}:N", title=group_title, legend=alt.Legend(orient="right")),
            tooltip=[
                alt.Tooltip("period:O", title=x_title),
                alt.Tooltip(f"{group}:N", title=group_title),
                alt.Tooltip("total:Q", title=y_title, format=".2f"),
            ],
        )
        .properties(height=320)
    )


def party_gap_chart(
    comparison: pd.DataFrame, *, name_col: str, party_label: str, all_label: str, title: str, y_title: str
) -> alt.LayerChart | alt.FacetChart:
    """Party members against all workers per metric (grouped bars), the gap in pp printed above."""
    comparison = _plain(comparison)
    long = comparison.melt(
        id_vars=[name_col, "gap_pp"], value_vars=["party", "all"], var_name="group", value_name="rate"
    )
    long["group"] = long["group"].map({"party": party_label, "all": all_label})
    # Bars measure from zero: a 1–2 point gap must look like one (the gap is printed above each pair).
    y_scale = alt.Scale(domain=[0, 100], clamp=True)
    bars = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X(f"{name_col}:N", title=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("group:N", sort=[party_label, all_label]),
            y=alt.Y("rate:Q", title=y_title, scale=y_scale),
            color=alt.Color(
                "group:N",
                title=None,
                scale=alt.Scale(domain=[party_label, all_label], range=["#c0392b", "#7f8c8d"]),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip(f"{name_col}:N"),
                alt.Tooltip("group:N"),
                alt.Tooltip("rate:Q", format=".2f"),
                alt.Tooltip("gap_pp:Q", format="+.2f"),
            ],
        )
    )
    top = comparison.assign(
        top=comparison[["party", "all"]].max(axis=1),
        gap_text=comparison["gap_pp"].map(lambda g: "" if pd.isna(g) else f"{g:+.2f} pp"),
    )
    labels = (
        alt.Chart(top)
        .mark_text(dy=-10, fontWeight="bold")
        .encode(x=alt.X(f"{name_col}:N"), y=alt.Y("top:Q", scale=y_scale), text="gap_text:N")
    )
    return alt.layer(bars, labels, title=title).properties(height=340)


def community_chart(
    cards: pd.DataFrame, *, community_col: str, title: str, x_title: str, y_title: str
) -> alt.Chart:
    """Mean total per community with the spread (min–max) as a rule."""
    df = (
        _plain(cards[cards["scored"].astype(bool)][[community_col, "total"]])
        .groupby(community_col, as_index=False)["total"]
        .agg(mean="mean", lo="min", hi="max", n="count")
    )
    base = alt.Chart(df, title=title).encode(y=alt.Y(f"{community_col}:N", sort="-x", title=y_title))
    return (
        base.mark_rule(color="#aaa").encode(x=alt.X("lo:Q", title=x_title), x2="hi:Q")
        + base.mark_point(filled=True, size=70).encode(
            x="mean:Q",
            tooltip=[
                alt.Tooltip(f"{community_col}:N"),
                alt.Tooltip("mean:Q", format=".2f"),
                alt.Tooltip("lo:Q", format=".2f"),
                alt.Tooltip("hi:Q", format=".2f"),
                "n:Q",
            ],
        )
    ).properties(height=alt.Step(28))  # a row per community, as the grade mix beside it: every name shown


def grade_mix_chart(
    cards: pd.DataFrame,
    grade_names: dict[str, str],
    *,
    community_col: str,
    title: str,
    x_title: str,
    grade_title: str,
) -> alt.Chart:
    """Share of each grade per community (stacked to 100%): the calibration view. Counted per community
    and grade here, so the chart carries those counts, not a row per worker."""
    s = cards[cards["scored"].astype(bool)]
    order = {name: i for i, name in enumerate(grade_names.values())}
    df = (
        pd.DataFrame(
            {
                community_col: s[community_col].astype(object).to_numpy(),
                "grade_name": s["grade"].astype(object).map(grade_names).to_numpy(),
            }
        )
        .groupby([community_col, "grade_name"], as_index=False)
        .size()
        .rename(columns={"size": "n"})
    )
    df["order"] = df["grade_name"].map(order)
    return (
        alt.Chart(_plain(df), title=title)
        .mark_bar()
        .encode(
            y=alt.Y(f"{community_col}:N", title=None),
            x=alt.X("n:Q", stack="normalize", title=x_title, axis=alt.Axis(format="%")),
            color=alt.Color(
                "grade_name:N",
                title=grade_title,
                scale=_grade_scale(grade_names),
                # Above the bars, in one row, so a chart of one community is not a hairline under a legend
                # that does not fit.
                legend=alt.Legend(orient="top", direction="horizontal", labelLimit=0, titleOrient="left"),
            ),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip(f"{community_col}:N"),
                alt.Tooltip("grade_name:N", title=grade_title),
                alt.Tooltip("n:Q"),
            ],
        )
        .properties(height=alt.Step(28))
    )


def _round2(x: float) -> float:
    """``x`` rounded to 2 places as pandas' ``round(2)`` does (numpy: ``rint(x × 100) ÷ 100``)."""
    return x if math.isnan(x) else round(x * 100) / 100  # NaN stays NaN


def _records(frame: pd.DataFrame | list[dict]) -> list[dict]:
    return frame.to_dict("records") if isinstance(frame, pd.DataFrame) else frame


def contribution_rows(
    components: pd.DataFrame | list[dict], *, name_col: str, earned_label: str, lost_label: str
) -> tuple[pd.DataFrame, list[str]]:
    """The contribution chart's data (one worker's dozen components: plain Python, not pandas' melt): a row per
    component with data and part (earned, then lost) — columns ``name_col``, formula, part, pts — and the
    components' names in order (the chart's sort)."""
    shown = [c for c in _records(components) if not bool(c["missing"])]
    names = [c[name_col] for c in shown]
    earned = [_round2(float(c["points"])) for c in shown]
    lost = [_round2(max(float(c["eff_weight"]) - float(c["points"]), 0.0)) for c in shown]
    n = len(shown)
    data = {
        name_col: pd.Series(names * 2, dtype=object),
        "formula": pd.Series([c["formula"] for c in shown] * 2, dtype=object),
        "part": pd.Series([earned_label] * n + [lost_label] * n, dtype=object),
        "pts": pd.Series(earned + lost, dtype=float),
    }
    return pd.DataFrame(data), names


def contribution_spec(
    names: list[str],
    *,
    name_col: str,
    earned_label: str,
    lost_label: str,
    title: str,
    x_title: str,
    data: pd.DataFrame | None = None,
) -> alt.Chart:
    """The contribution chart for rows of ``contribution_rows`` (``data``; without it, the chart's spec alone,
    which depends on the names and labels only)."""
    return (
        alt.Chart(alt.Undefined if data is None else data, title=title)
        .mark_bar()
        .encode(
            y=alt.Y(f"{name_col}:N", sort=names, title=None, axis=alt.Axis(labelLimit=220)),
            x=alt.X("pts:Q", stack="zero", title=x_title),
            color=alt.Color(
                "part:N",
                title=None,
                scale=alt.Scale(domain=[earned_label, lost_label], range=["#2e86c1", "#d5dbdb"]),
                legend=alt.Legend(orient="bottom"),
            ),
            order=alt.Order("part:N", sort="ascending"),
            tooltip=[
                alt.Tooltip(f"{name_col}:N"),
                alt.Tooltip("part:N"),
                alt.Tooltip("pts:Q", format=".2f"),
                alt.Tooltip("formula:N"),
            ],
        )
        .properties(height=alt.Step(26))
    )


def contribution_chart(
    components: pd.DataFrame, *, name_col: str, earned_label: str, lost_label: str, title: str, x_title: str
) -> alt.Chart:
    """Each component's points earned and points missed out of its (shared-out) weight."""
    labels = {"name_col": name_col, "earned_label": earned_label, "lost_label": lost_label}
    data, names = contribution_rows(components, **labels)
    return contribution_spec(names, title=title, x_title=x_title, data=data, **labels)


def worker_trend_rows(
    trend: pd.DataFrame | list[dict], *, mine_label: str, community_label: str
) -> pd.DataFrame:
    """The worker trend chart's data: per series (mine, then community, the columns ``trend`` has) a row per
    month — columns period, series, total."""
    if isinstance(trend, pd.DataFrame):
        cols, rows = [c for c in ("mine", "community") if c in trend.columns], trend.to_dict("records")
    else:
        cols, rows = [c for c in ("mine", "community") if trend and c in trend[0]], trend
    label = {"mine": mine_label, "community": community_label}
    return pd.DataFrame(
        {
            "period": pd.Series([r["period"] for c in cols for r in rows], dtype=object),
            "series": pd.Series([label[c] for c in cols for _ in rows], dtype=object),
            "total": pd.Series([r[c] for c in cols for r in rows], dtype=float),
        }
    )


def worker_trend_spec(
    *, title: str, x_title: str, y_title: str, data: pd.DataFrame | None = None
) -> alt.Chart:
    """The worker trend chart for rows of ``worker_trend_rows`` (``data``; without it, the spec alone, which
    depends on the titles only)."""
    return (
        alt.Chart(alt.Undefined if data is None else data, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("period:O", title=x_title, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("total:Q", title=y_title, scale=alt.Scale(zero=False)),
            strokeDash=alt.StrokeDash("series:N", title=None, legend=alt.Legend(orient="top")),
            tooltip=[alt.Tooltip("period:O"), alt.Tooltip("series:N"), alt.Tooltip("total:Q", format=".2f")],
        )
        .properties(height=300)
    )


def worker_trend_chart(
    trend: pd.DataFrame, *, title: str, x_title: str, y_title: str, mine_label: str, community_label: str
) -> alt.Chart:
    """One worker's monthly total against their community's mean (columns: period, mine, community)."""
    data = worker_trend_rows(trend, mine_label=mine_label, community_label=community_label)
    return worker_trend_spec(title=title, x_title=x_title, y_title=y_title, data=data)
