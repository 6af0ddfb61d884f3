"""What the dispatch tabs share: presets on the sidebar sliders, names of items, courses and tasks."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.i18n import pick
from core.scope import Viewer
from core.taxonomy import item_name
from evaluation.assignment import quality, service
from evaluation.assignment.rank import COMPONENTS, course_titles, item_courses, load_presets
from ui import dispatch_cache, resources
from ui.state import lang

PRESETS = load_presets()
TABS = ("queue", "batch", "map", "quality")
TAB_KEY = "assign_tab"  # the open tab's label (ui.lazy_tabs)
LOG_ROWS = 500  # the decision log shows the newest rows; the override table covers them all
ITEMS = item_courses().set_index("item_code")


def preset_names() -> dict[str, str]:
    """Preset code → name in the session's language (a dict: Streamlit may call format_func later)."""
    return {c: pick(lang(), p.name_zh, p.name_en) for c, p in PRESETS.items()}


def apply_preset(code: str) -> None:
    """Put a preset's weights on the sliders (the sliders then tune from there)."""
    st.session_state["assign_preset"] = code
    for c in COMPONENTS:
        st.session_state[f"assign_w_{c}"] = int(PRESETS[code].weight(c))


def course_title(code: object) -> str:
    titles = course_titles().set_index("code")
    if isinstance(code, str) and code in titles.index:
        return pick(lang(), titles.at[code, "title_zh"], titles.at[code, "title_en"])
    return str(code)


def item_label(code: object) -> str:
    """An item's name ("" for a task without one, e.g. a verification task)."""
    return item_name(code, lang()) if isinstance(code, str) else ""


def title(row: pd.Series) -> str:
    return pick(lang(), row["title_zh"], row["title_en"])


@st.cache_data(ttl=300, show_spinner=False)
def _quality_inputs(
    scope: tuple, start_day: date, end_day: date, _viewer: Viewer
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    start = datetime.combine(start_day, datetime.min.time())
    with Session(resources.engine()) as session:  # the log's newest rows and how many there are, not all
        return (
            service.override_report(session, _viewer, since=start),
            service.decisions_frame(session, _viewer, since=start, limit=LOG_ROWS),
            service.decision_count(session, _viewer, since=start),
        )


@st.cache_data(ttl=300, show_spinner=False)
def _quality_figures(
    scope: tuple, start_day: date, end_day: date, group: str | None, now: datetime, _viewer: Viewer
) -> pd.DataFrame:
    start = datetime.combine(start_day, datetime.min.time())
    end = datetime.combine(end_day + timedelta(days=1), datetime.min.time())
    with Session(resources.engine()) as session:  # one aggregate query: the figures, not the events
        return quality.dispatch_quality(session, _viewer, start=start, end=end, by=group, now=now)


def _scope(viewer: Viewer) -> tuple:
    return (
        resources.engine().url.render_as_string(),
        viewer.user_id,
        viewer.role.value,
        viewer.scope_level.value,
        viewer.scope_unit_id,
    )


def quality_inputs(viewer: Viewer, start_day: date, end_day: date) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Override report, the decision log's newest ``LOG_ROWS`` and the period's number of decisions, cached per scope and day and cleared
    (``forget_after_assignment``) after every assignment the page makes."""
    return _quality_inputs(_scope(viewer), start_day, end_day, viewer)


def quality_figures(
    viewer: Viewer, start_day: date, end_day: date, group: str | None, now: datetime
) -> pd.DataFrame:
    """``quality.dispatch_quality`` for the period (overall, by item, by community), aggregated in SQL."""
    return _quality_figures(_scope(viewer), start_day, end_day, group, now, viewer)


def forget_after_assignment() -> None:
    """Forget the cached queue, rankings and quality figures: the page just assigned something."""
    _quality_inputs.clear()
    _quality_figures.clear()
    dispatch_cache.clear()
