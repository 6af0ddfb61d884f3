"""Chart builders of the courses pages (altair), tested through ``chart.to_dict()``.

Each takes the frame a domain read returned and the labels in the page's language; pages only render.
The week calendar is ``courses.training_sessions.calendar_chart``.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from core.charts import COUNT_AXIS

PASSED_COLOUR, FAILED_COLOUR, FLAG_COLOUR, PLAIN_COLOUR = "#2ca02c", "#d62728", "#d62728", "#1f77b4"


def attendance_rate_chart(
    per_worker: pd.DataFrame, *, min_rate: float, labels: dict[str, str]
) -> alt.LayerChart:
    """How many workers have which attendance rate (5-point bins), with the warning threshold as a rule.

    ``per_worker``: ``courses.attendance.worker_attendance``; labels: rate, workers, title."""
    bars = (
        alt.Chart(per_worker.dropna(subset=["rate"])[["worker_id", "rate"]])
        .mark_bar()
        .encode(
            x=alt.X("rate:Q", bin=alt.Bin(step=0.05), title=labels["rate"], axis=alt.Axis(format="%")),
            y=alt.Y("count():Q", title=labels["workers"], axis=COUNT_AXIS),
        )
        .properties(height=180, title=labels["title"])
    )
    rule = (
        alt.Chart(pd.DataFrame({"x": [min_rate]}))
        .mark_rule(color=FLAG_COLOUR, strokeDash=[4, 3])
        .encode(x="x:Q")
    )
    return bars + rule


def score_histogram(attempts: pd.DataFrame, *, pass_mark: float, labels: dict[str, str]) -> alt.LayerChart:
    """Attempts per 10-point score band, passed and failed in their colours, the pass mark as a rule.

    ``attempts``: ``courses.results.attempts_frame``; labels: score, attempts, passed, failed."""
    outcome = pd.DataFrame(
        {
            "score": attempts["score"],
            "result": attempts["passed"].map({True: labels["passed"], False: labels["failed"]}),
        }
    )
    bars = (
        alt.Chart(outcome)
        .mark_bar()
        .encode(
            x=alt.X("score:Q", bin=alt.Bin(step=10, extent=[0, 100]), title=labels["score"]),
            y=alt.Y("count():Q", title=labels["attempts"], axis=COUNT_AXIS),
            color=alt.Color(
                "result:N",
                title=None,
                legend=alt.Legend(orient="top"),
                scale=alt.Scale(
                    domain=[labels["passed"], labels["failed"]], range=[PASSED_COLOUR, FAILED_COLOUR]
                ),
            ),
        )
        .properties(height=200)
    )
    rule = alt.Chart(pd.DataFrame({"x": [pass_mark]})).mark_rule(strokeDash=[4, 3]).encode(x="x:Q")
    return bars + rule


def item_map(items: pd.DataFrame, *, weak: float, labels: dict[str, str]) -> alt.LayerChart:
    """Each question by facility (x) and discrimination (y), those needing review in red, the weak
    discrimination line as a rule. ``items``: ``courses.results.item_analysis`` with a ``question`` column
    (its text in the page's language); labels: facility, discrimination, needs_review, question."""
    shown = items.dropna(subset=["discrimination"])[
        ["code", "question", "facility", "discrimination", "n", "needs_review"]
    ]
    points = (
        alt.Chart(shown)
        .mark_circle(size=90)
        .encode(
            x=alt.X("facility:Q", title=labels["facility"], scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("discrimination:Q", title=labels["discrimination"]),
            color=alt.Color(
                "needs_review:N",
                title=labels["needs_review"],
                scale=alt.Scale(domain=[True, False], range=[FLAG_COLOUR, PLAIN_COLOUR]),
            ),
            tooltip=[
                "code:N",
                alt.Tooltip("question:N", title=labels["question"]),
                alt.Tooltip("facility:Q", format=".2f"),
                alt.Tooltip("discrimination:Q", format=".2f"),
                "n:Q",
            ],
        )
        .properties(height=260)
    )
    band = alt.Chart(pd.DataFrame({"y": [weak]})).mark_rule(strokeDash=[4, 3]).encode(y="y:Q")
    return points + band
