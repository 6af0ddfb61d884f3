"""The quality tab: first-dispatch accuracy, time to sign and overdue rate (overall, by item, by community),
how often managers override the recommendation, and the decision log."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.i18n import pick
from core.models import OrgLevel
from core.org import units_frame
from core.scope import Viewer
from evaluation.assignment.charts import quality_chart
from evaluation.triage.reports import suggestion_acceptance
from ui import resources
from ui.dispatch.common import PRESETS, item_label, quality_figures, quality_inputs
from ui.state import lang, lang_key, tr

PERIODS = {"all": None, "365": 365, "90": 90, "30": 30}
DEFAULT_PERIOD = "90"  # bounded by default: the figures of recent work, not of every year kept (issue #21)


def _figures(frame: pd.DataFrame, label_col: str, label: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            label: frame[label_col],
            tr("assign.q.dispatched"): frame["dispatched"],
            tr("assign.q.first_dispatch_accuracy"): frame["first_dispatch_accuracy"],
            tr("assign.q.avg_sign_hours"): frame["avg_sign_hours"].round(1),
            tr("assign.q.overdue_rate"): frame["overdue_rate"],
        }
    )


def _dispatch_figures(viewer: Viewer, start_day: date, today: date, now: datetime) -> None:
    L = lang()
    overall = quality_figures(viewer, start_day, today, None, now).iloc[0]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(
        tr("assign.q.first_dispatch_accuracy"),
        f"{overall['first_dispatch_accuracy']:.1%}",
        help=tr("assign.q.first_dispatch_help"),
    )
    c2.metric(
        tr("assign.q.avg_sign_hours"),
        "—"
        if pd.isna(overall["avg_sign_hours"])
        else tr("assign.q.hours", h=f"{overall['avg_sign_hours']:.1f}"),
        help=tr("assign.q.sign_help"),
    )
    c3.metric(
        tr("assign.q.overdue_rate"),
        "—" if pd.isna(overall["overdue_rate"]) else f"{overall['overdue_rate']:.1%}",
        help=tr("assign.q.overdue_help"),
    )
    c4.metric(tr("assign.q.dispatched"), int(overall["dispatched"]))
    by_item = quality_figures(viewer, start_day, today, "item_code", now)
    by_item["item"] = by_item["item_code"].map(lambda c: f"{c} {item_label(c)}")
    st.altair_chart(quality_chart(by_item.nlargest(15, "dispatched"), L), width="stretch")
    pct = st.column_config.NumberColumn(format="percent")
    cfg = {tr("assign.q.first_dispatch_accuracy"): pct, tr("assign.q.overdue_rate"): pct}
    st.subheader(tr("assign.q.by_item"))
    st.dataframe(
        _figures(by_item.sort_values("dispatched", ascending=False), "item", tr("assign.col.item")),
        hide_index=True,
        width="stretch",
        column_config=cfg,
        placeholder="",
    )
    by_comm = quality_figures(viewer, start_day, today, "community_id", now)
    with Session(resources.engine()) as session:
        comms = units_frame(session, viewer, OrgLevel.COMMUNITY).set_index("id")
    by_comm["community"] = by_comm["community_id"].map(
        lambda c: pick(L, comms.at[c, "name_zh"], comms.at[c, "name_en"]) if c in comms.index else str(c)
    )
    st.subheader(tr("assign.q.by_community"))
    st.dataframe(
        _figures(by_comm.sort_values("dispatched", ascending=False), "community", tr("assign.col.community")),
        hide_index=True,
        width="stretch",
        column_config=cfg,
        placeholder="",
    )


def _overrides(overrides: pd.DataFrame) -> None:
    st.subheader(tr("assign.q.overrides"))
    if overrides.empty:
        st.caption(tr("assign.q.no_decisions"))
        return
    total, over = int(overrides["decisions"].sum()), int(overrides["overrides"].sum())
    st.metric(
        tr("assign.q.override_rate"),
        f"{over / total:.0%}",
        tr("assign.q.of_decisions", n=total),
        delta_color="off",
    )
    st.dataframe(
        pd.DataFrame(
            {
                tr("assign.col.item"): [
                    f"{item} {item_label(item)}"
                    if isinstance(item, str)
                    else tr(f"assign.category.{category if isinstance(category, str) else None}")
                    for item, category in zip(overrides["item_code"], overrides["category_code"], strict=True)
                ],
                tr("assign.q.decisions"): overrides["decisions"],
                tr("assign.q.overrides_n"): overrides["overrides"],
                tr("assign.q.override_rate"): overrides["override_rate"],
            }
        ),
        hide_index=True,
        width="stretch",
        column_config={tr("assign.q.override_rate"): st.column_config.NumberColumn(format="percent")},
        placeholder="",
    )


def _decision_log(decisions: pd.DataFrame, total: int) -> None:
    """The newest ``LOG_ROWS`` decisions (all that were read) of the period's ``total``."""
    L = lang()
    with st.expander(tr("assign.q.decision_log", n=total)):
        if total > len(decisions):
            st.caption(tr("assign.q.log_newest", n=len(decisions)))
        st.dataframe(
            pd.DataFrame(
                {
                    tr("assign.q.when"): decisions["decided_at"],
                    tr("assign.col.task"): [
                        number if isinstance(number, str) else tr(f"assign.kind.{kind}")
                        for number, kind in zip(decisions["event_no"], decisions["kind"], strict=True)
                    ],
                    tr("assign.col.item"): decisions["item_code"].map(item_label),
                    tr("assign.q.recommended"): decisions["recommended_name"],
                    tr("assign.q.chosen"): decisions["chosen_name"],
                    tr("assign.override_reason"): decisions["override_reason"].fillna(""),
                    tr("assign.preset"): decisions["preset"].map(
                        lambda c: pick(L, PRESETS[c].name_zh, PRESETS[c].name_en) if c in PRESETS else c
                    ),
                    tr("assign.q.source"): decisions["source"].map(lambda s: tr(f"assign.source.{s}")),
                    tr("assign.q.by"): decisions["decided_by_name"].fillna("—"),
                }
            ),
            hide_index=True,
            width="stretch",
            placeholder="",
        )


def _suggestions(viewer: Viewer, start_day: date, today: date) -> None:
    """How often the triage suggestion was kept when a worker or a manager confirmed the item."""
    with Session(resources.engine()) as session:
        fig = suggestion_acceptance(
            session,
            viewer,
            start=datetime.combine(start_day, datetime.min.time()),
            end=datetime.combine(today + timedelta(days=1), datetime.min.time()),
        )
    st.subheader(tr("triage.q.title"))
    c1, c2, c3 = st.columns(3)
    c1.metric(
        tr("triage.q.accepted"),
        "—" if fig["rate"] is None else f"{fig['rate']:.0%}",
        tr("triage.q.of_confirmed", n=fig["confirmed"]),
        delta_color="off",
        help=tr("triage.q.help"),
    )
    c2.metric(tr("triage.q.changed"), fig["changed"])
    c3.metric(tr("triage.q.pending"), fig["pending"])


def render(viewer: Viewer, now: datetime) -> tuple[str, int]:
    """Draw the tab; return the period shown and how many decisions the log shows (for record_view)."""
    names = {p: tr(f"assign.q.period_{p}") for p in PERIODS}
    period = st.segmented_control(
        tr("assign.q.period"),
        list(PERIODS),
        default=DEFAULT_PERIOD,
        key=lang_key("assign_q_period"),
        format_func=names.get,
    )
    period = period or DEFAULT_PERIOD
    days = PERIODS.get(period)
    today = now.date()
    start_day = today - timedelta(days=days) if days else today.replace(year=2000)
    overrides, decisions, n_decisions = quality_inputs(viewer, start_day, today)
    if quality_figures(viewer, start_day, today, None, now).empty:
        st.info(tr("assign.q.empty"))
    else:
        _dispatch_figures(viewer, start_day, today, now)
    _suggestions(viewer, start_day, today)
    _overrides(overrides)
    if not decisions.empty:
        _decision_log(decisions, n_decisions)
    return period, len(decisions)
