"""Charts of training plans (altair), built here and tested via ``to_dict()``; pages only render them."""

from __future__ import annotations

import altair as alt
import pandas as pd

from core.i18n import t
from courses.training.progress import BEHIND_SHARE


def community_completion_chart(summary: pd.DataFrame, lang: str = "zh") -> alt.LayerChart | alt.FacetChart:
    """Per community: credited ÷ required hours to date (bars, lowest first) and the 'behind' line."""
    name = "community_en" if lang == "en" else "community_zh"
    df = summary.assign(community=summary[name], pct=(summary["completion"].astype(float) * 100).round(1))
    df = df[["community", "pct", "credited", "required_to_date", "behind"]]
    y_title = t("training.col.community", lang)
    x_title = t("training.col.completion", lang) + " (%)"
    bars = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            y=alt.Y(
                "community:N",
                sort=alt.EncodingSortField("pct", order="ascending"),
                title=y_title,
                axis=alt.Axis(labelOverlap=False, labelLimit=160),
            ),
            x=alt.X("pct:Q", title=x_title),
            color=alt.condition(
                alt.datum.pct < BEHIND_SHARE * 100, alt.value("#d62728"), alt.value("#2ca02c")
            ),
            tooltip=[
                alt.Tooltip("community:N", title=y_title),
                alt.Tooltip("pct:Q", title=x_title),
                alt.Tooltip("credited:Q", title=t("training.col.credited", lang)),
                alt.Tooltip("required_to_date:Q", title=t("training.col.required_to_date", lang)),
                alt.Tooltip("behind:Q", title=t("training.col.behind", lang)),
            ],
        )
    )
    rule = alt.Chart(pd.DataFrame({"x": [BEHIND_SHARE * 100]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
    return alt.layer(bars, rule).properties(height=max(160, 24 * len(df)))
