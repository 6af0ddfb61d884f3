"""Scorecard reads (served tables, evaluation.scoring.served) cached across the three scorecard pages, and the card parts they share (keyed by database, viewer and period),
so opening a worker's card after the ranking reuses the computation instead of repeating it."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.scope import SYSTEM, Viewer
from core.settings import get_settings
from evaluation.scoring import charts
from evaluation.scoring.served import served_party, served_trend, served_view, served_worker_card
from evaluation.scoring.served_ranking import (
    served_card_of,
    served_cards_of,
    served_ranking,
    served_trend_summary,
    served_worker_totals,
)
from evaluation.scoring.service import period_choices
from ui import resources
from ui.chart_specs import draw_chart
from ui.state import tr

# The figures come from the served tables (evaluation.scoring.served): a read by key and scope, filled once
# for everyone when a period is not served yet (so the read runs in a unit of work: it may write that fill).
# st.cache_data is a convenience on top, not what stands between a click and a recomputation.


@st.cache_data(ttl=120, show_spinner=False)
def _scorecards(db: str, who: Viewer, period: str):  # noqa: ANN202 - a ServedView
    with resources.unit_of_work() as session:
        return served_view(session, who, period)


@st.cache_data(ttl=120, show_spinner=False)
def _ranking(db: str, who: Viewer, period: str):  # noqa: ANN202 - a ServedView of the ranking columns
    with resources.unit_of_work() as session:
        return served_ranking(session, who, period)


@st.cache_data(ttl=120, show_spinner=False)
def _cards_of(db: str, who: Viewer, period: str, worker_ids: tuple[int, ...]) -> pd.DataFrame:
    with resources.unit_of_work() as session:
        return served_cards_of(session, who, period, worker_ids).cards


@st.cache_data(ttl=120, show_spinner=False)
def _card_of(db: str, who: Viewer, period: str, worker_id: int) -> tuple[pd.Series, pd.DataFrame]:
    with resources.unit_of_work() as session:
        return served_card_of(session, who, period, worker_id)


@st.cache_data(ttl=120, show_spinner=False)
def _trend_summary(db: str, who: Viewer, first: str, last: str, community_id: int | None) -> pd.DataFrame:
    with resources.unit_of_work() as session:
        return served_trend_summary(session, who, first=first, last=last, community_id=community_id)


@st.cache_data(ttl=120, show_spinner=False)
def _worker_totals(db: str, who: Viewer, worker_id: int, first: str, last: str) -> pd.DataFrame:
    with resources.unit_of_work() as session:
        return served_worker_totals(session, who, worker_id, first=first, last=last)


@st.cache_data(ttl=120, show_spinner=False)
def _worker_card(db: str, who: Viewer, period: str):  # noqa: ANN202 - a ServedView of one card
    with resources.unit_of_work() as session:
        return served_worker_card(session, who, period)


@st.cache_data(ttl=300, show_spinner=False)
def _periods(db: str) -> list[str]:
    with Session(resources.engine()) as session:
        return period_choices(session, SYSTEM)


@st.cache_data(ttl=120, show_spinner=False)
def _party(db: str, who: Viewer, period: str) -> pd.DataFrame:
    with resources.unit_of_work() as session:
        return served_party(session, who, period)


@st.cache_data(ttl=120, show_spinner=False)
def _trend(db: str, who: Viewer, first: str, last: str, names: bool) -> pd.DataFrame:
    with resources.unit_of_work() as session:
        return served_trend(session, who, first=first, last=last, names=names)


def cached_scorecards(who: Viewer, period: str):  # noqa: ANN201
    return _scorecards(get_settings().database_url, who, period)


def cached_ranking(who: Viewer, period: str):  # noqa: ANN201
    """Every worker in scope with what a ranking filters, counts and orders by; no card decoded."""
    return _ranking(get_settings().database_url, who, period)


def cached_cards_of(who: Viewer, period: str, worker_ids: list[int]) -> pd.DataFrame:
    """The whole cards of ``worker_ids`` (the rows on screen)."""
    return _cards_of(get_settings().database_url, who, period, tuple(int(w) for w in worker_ids))


def cached_card_of(who: Viewer, period: str, worker_id: int) -> tuple[pd.Series, pd.DataFrame]:
    """One worker's card and components (ScopeError outside the viewer's scope)."""
    return _card_of(get_settings().database_url, who, period, int(worker_id))


def cached_trend_summary(who: Viewer, first: str, last: str, community_id: int | None = None) -> pd.DataFrame:
    """Scored totals summed per month and subdistrict in SQL (served_ranking.served_trend_summary)."""
    return _trend_summary(get_settings().database_url, who, first, last, community_id)


def cached_worker_totals(who: Viewer, worker_id: int, first: str, last: str) -> pd.DataFrame:
    return _worker_totals(get_settings().database_url, who, int(worker_id), first, last)


def export_scorecards(who: Viewer, period: str, worker_ids: list[int]):  # noqa: ANN201 - a ServedView
    """Every card and component of ``worker_ids`` for an export someone clicked (not cached: read once)."""
    with resources.unit_of_work() as session:
        return served_cards_of(session, who, period, worker_ids, components=True)


def cached_worker_card(who: Viewer, period: str):  # noqa: ANN201
    """A worker's own served card (one row by key), for 我的考评."""
    return _worker_card(get_settings().database_url, who, period)


def period_options() -> list[str]:
    """The months the scorecard pages offer, newest first: the same for every viewer (period_choices reads
    no scope), so read once per process and database for everyone, not once per viewer."""
    return _periods(get_settings().database_url)


def cached_party(who: Viewer, period: str) -> pd.DataFrame:
    return _party(get_settings().database_url, who, period)


def cached_trend(who: Viewer, first: str, last: str, *, names: bool = True) -> pd.DataFrame:
    return _trend(get_settings().database_url, who, first, last, names)


def figures_caption(view) -> None:  # noqa: ANN001 - a ServedView
    """The time of the served figures, under the period picker."""
    st.caption(tr("score.figures_at", at=view.computed_at.strftime("%Y-%m-%d %H:%M")))


def clear_scorecards() -> None:
    """Forget cached scorecards after a change that alters them (an adjustment, a scheme edit)."""
    for fn in (
        _scorecards,
        _worker_card,
        _party,
        _trend,
        _ranking,
        _cards_of,
        _card_of,
        _trend_summary,
        _worker_totals,
    ):
        fn.clear()


def card_notes_and_contributions(
    card: pd.Series | dict, comps: pd.DataFrame | list[dict], name_col: str, *, alert: str = "warning"
) -> None:
    """What both scorecard pages show under the total: missing data, pro-rating, then each component's
    contribution. ``alert`` is the Streamlit call for the notes ("warning" for managers, "caption" for
    the worker's own, calmer card). ``comps``: the card's components (a frame or its records)."""
    rows = comps.to_dict("records") if isinstance(comps, pd.DataFrame) else comps
    say = getattr(st, alert)
    if card["missing_components"]:
        missing = [c[name_col] for c in rows if bool(c["missing"])]
        say(tr("score.missing_note", components="、".join(missing), coverage=f"{card['coverage']:.0%}"))
    if card["prorated"]:
        say(tr("score.prorated_note", share=f"{card['active_share']:.0%}"))
    labels = {"name_col": name_col, "earned_label": tr("score.earned"), "lost_label": tr("score.lost")}
    titles = {"title": tr("score.chart.contributions"), "x_title": tr("score.points")}
    data, names = charts.contribution_rows(rows, **labels)
    key = ("contributions", tuple(names), *labels.values(), *titles.values())
    draw_chart(data, key, lambda: charts.contribution_spec(names, **labels, **titles))
