"""Scorecard reads cached across the three scorecard pages (keyed by database, viewer and period),
so opening a worker's card after the ranking reuses the computation instead of repeating it."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.scope import Viewer
from core.settings import get_settings
from evaluation.scoring.service import compare_party, monthly_trend, scorecards
from ui import resources


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
