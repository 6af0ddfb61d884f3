"""Chart builders of the courses pages (altair), tested through ``chart.to_dict()``.

Each takes the frame a domain read returned and the labels in the page's language; pages only render.
A chart drawn on every view of a page is also split into its rows and its spec (``calendar_rows`` and
``calendar_spec``): the spec depends on labels alone, so a page builds it once per labels (ui.chart_specs).
"""

from __future__ import annotations

from datetime import date, timedelta

import altair as alt
import pandas as pd

from core.charts import COUNT_AXIS
from courses.training_sessions import week_start

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


CALENDAR_COLUMNS = ["day", "start", "end", "course", "status", "seated"]


def calendar_rows(
    sessions: pd.DataFrame, *, week_of: date, lang: str, labels: dict[str, str]
) -> pd.DataFrame:
    """The week calendar's blocks: the sessions (``courses.training_sessions.sessions_frame``) that start in the
    week of ``week_of``, a row each — day label, start and end as times of one reference day, course title in
    ``lang`` (zh where it has none), status label, seated."""
    monday = week_start(week_of)
    if sessions.empty:
        return pd.DataFrame(columns=CALENDAR_COLUMNS)
    data = sessions[
        (sessions["start_at"] >= pd.Timestamp(monday))
        & (sessions["start_at"] < pd.Timestamp(monday + timedelta(days=7)))
    ]
    # Times on one reference day, so the y axis reads as hours of any day.
    ref = pd.Timestamp("2000-01-01")
    return pd.DataFrame(
        {
            "day": [_day_label(d, labels) for d in data["start_at"].dt.date],
            "start": ref + (data["start_at"] - data["start_at"].dt.normalize()),
            "end": ref + (data["end_at"] - data["start_at"].dt.normalize()),
            "course": data[f"course_{lang}"].where(data[f"course_{lang}"].astype(bool), data["course_zh"]),
            "status": data["status"].map(lambda s: labels.get(f"status.{s}", s)),
            "seated": data["seated"],
        }
    )


def calendar_spec(
    *, week_of: date, labels: dict[str, str], data: pd.DataFrame | None = None
) -> alt.LayerChart:
    """The week calendar for rows of ``calendar_rows`` (``data``; without it, the chart's spec alone, which
    depends on the week and the labels only): one column per day, sessions as blocks from start to end time,
    coloured by course; a cancelled session is a grey, dashed block labelled with its status (已取消).

    ``labels`` gives the axis titles and status names in the page's language."""
    monday = week_start(week_of)
    day_labels = [_day_label(monday + timedelta(days=i), labels) for i in range(7)]
    cancelled = labels.get("status.cancelled", "cancelled")
    base = alt.Chart(alt.Undefined if data is None else data).encode(
        x=alt.X(
            "day:O",
            sort=day_labels,
            scale=alt.Scale(domain=day_labels),
            title=None,
            axis=alt.Axis(labelAngle=0, orient="top"),
        ),
        # Morning at the top, as on a paper timetable; the day runs to midnight.
        y=alt.Y(
            "start:T",
            title=None,
            axis=alt.Axis(format="%H:%M", tickCount=9),
            scale=alt.Scale(domain=["2000-01-01T07:00:00", "2000-01-02T00:00:00"], reverse=True),
        ),
        xOffset=alt.XOffset("course:N"),  # sessions of different courses on one day side by side
    )
    is_cancelled = alt.datum.status == cancelled
    # A cancelled session is drawn apart from live ones: a pale grey block with a dashed outline and the
    # word 已取消 (Cancelled) on it, out of the course colours.
    blocks = base.mark_bar(cornerRadius=3, clip=True, strokeWidth=1.5).encode(
        y2="end:T",
        color=alt.condition(
            is_cancelled,
            alt.value("#e0e0e0"),
            alt.Color("course:N", title=labels.get("course", "course"), legend=alt.Legend(orient="bottom")),
        ),
        opacity=alt.condition(is_cancelled, alt.value(0.6), alt.value(0.85)),
        stroke=alt.condition(is_cancelled, alt.value("#757575"), alt.value(None)),
        strokeDash=alt.condition(is_cancelled, alt.value([4, 3]), alt.value([1, 0])),
        tooltip=[
            alt.Tooltip("course:N", title=labels.get("course", "course")),
            alt.Tooltip("day:O", title=labels.get("day", "day")),
            alt.Tooltip("start:T", format="%H:%M", title=labels.get("start", "start")),
            alt.Tooltip("end:T", format="%H:%M", title=labels.get("end", "end")),
            alt.Tooltip("status:N", title=labels.get("status", "status")),
            alt.Tooltip("seated:Q", title=labels.get("seated", "seated")),
        ],
    )
    marks = (
        base.transform_filter(is_cancelled)
        .mark_text(baseline="top", dy=4, fontSize=11, color="#616161", angle=0, clip=True)
        .encode(text="status:N")
    )
    return alt.LayerChart(layer=[blocks, marks]).properties(height=420)


def calendar_chart(
    sessions: pd.DataFrame, *, week_of: date, lang: str, labels: dict[str, str]
) -> alt.LayerChart:
    """The week calendar of ``sessions`` (``calendar_spec`` drawn with ``calendar_rows``)."""
    rows = calendar_rows(sessions, week_of=week_of, lang=lang, labels=labels)
    return calendar_spec(week_of=week_of, labels=labels, data=rows)


def _day_label(day: date, labels: dict[str, str]) -> str:
    return f"{day:%m-%d} {labels.get(f'weekday.{day.weekday()}', f'{day:%a}')}"
