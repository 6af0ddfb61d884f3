"""Scorecard reads cached across the three scorecard pages, and the card parts they share (keyed by database, viewer and period),
so opening a worker's card after the ranking reuses the computation instead of repeating it."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.scope import Viewer
from core.settings import get_settings
from evaluation.scoring import charts
from evaluation.scoring.service import compare_party, monthly_trend, scorecards
from ui import resources
from ui.state import tr


@st.cache_data(ttl=120, show_spinner=False)
def _scorecards(db: str, who: Viewer, period: str):  # noqa: ANN202 - a ScorecardView
    with Session(resources.engine()) as session:
        return scorecards(session, who, period)


@st.cache_data(ttl=120, show_spinner=False)
def _party(db: str, who: Viewer, period: str) -> pd.DataFrame:
    view = _scorecards(db, who, period)
    with Session(resources.engine()) as session:
        return compare_party(session, who, period, inputs=view.inputs)


@st.cache_data(ttl=120, show_spinner=False)
def _trend(db: str, who: Viewer, first: str, last: str) -> pd.DataFrame:
    with Session(resources.engine()) as session:
        return monthly_trend(session, who, first=first, last=last)


def cached_scorecards(who: Viewer, period: str):  # noqa: ANN201
    return _scorecards(get_settings().database_url, who, period)


def cached_party(who: Viewer, period: str) -> pd.DataFrame:
    return _party(get_settings().database_url, who, period)


def cached_trend(who: Viewer, first: str, last: str) -> pd.DataFrame:
    return _trend(get_settings().database_url, who, first, last)


def clear_scorecards() -> None:
    """Forget cached scorecards after a change that alters them (an adjustment, a scheme edit)."""
    for fn in (_scorecards, _party, _trend):
        fn.clear()


def card_notes_and_contributions(
    card: pd.Series | dict, comps: pd.DataFrame, name_col: str, *, alert: str = "warning"
) -> None:
    """What both scorecard pages show under the total: missing data, pro-rating, then each component's
    contribution. ``alert`` is the Streamlit call for the notes ("warning" for managers, "caption" for
    the worker's own, calmer card)."""
    say = getattr(st, alert)
    if card["missing_components"]:
        missing = comps[comps["missing"].astype(bool)][name_col].tolist()
        say(tr("score.missing_note", components="、".join(missing), coverage=f"{card['coverage']:.0%}"))
    if card["prorated"]:
        say(tr("score.prorated_note", share=f"{card['active_share']:.0%}"))
    st.altair_chart(
        charts.contribution_chart(
            comps,
            name_col=name_col,
            earned_label=tr("score.earned"),
            lost_label=tr("score.lost"),
            title=tr("score.chart.contributions"),
            x_title=tr("score.points"),
        ),
        width="stretch",
    )
