"""The dispatch page's reads (and the skill-gap page's), cached per database, viewer and field minute, so
that a filter or a weight change on 智能派单 does not read the queue and the ranking context again, nor rank
a task again with the same weights (bench/filter_cost.py: ~0.5 s of CPU per filter change without them),
and a choice on 能力缺口 reads no gaps again.

The page clears them after every assignment it makes (``clear()``); a change made elsewhere (a worker
signing a task, an event import) shows within ``TTL_S`` seconds or at the next field minute. Every write
reads afresh: ``service.assign`` ranks again in its own session, never from these caches.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.scope import Viewer
from core.settings import get_settings
from evaluation.assignment import service
from evaluation.assignment.rank import Preset
from ui import resources

TTL_S = 60


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=50)
def _board(db: str, who: Viewer, now: datetime) -> tuple[pd.DataFrame, service.Context]:
    with Session(resources.engine()) as session:
        return service.task_queue(session, who, now=now), service.load_context(session, who, now=now)


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=500)
def _recommend(db: str, who: Viewer, now: datetime, task_id: str, preset: Preset, _task: pd.Series):  # noqa: ANN202
    _, ctx = _board(db, who, now)
    with Session(resources.engine()) as session:
        return service.recommend(session, who, task_id, preset, ctx=ctx, task=_task)


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=50)
def _gaps(db: str, who: Viewer, now: datetime) -> tuple[pd.DataFrame, pd.DataFrame, service.Context]:
    with Session(resources.engine()) as session:
        return service.skill_gaps(session, who, now=now)


def gaps(who: Viewer, now: datetime) -> tuple[pd.DataFrame, pd.DataFrame, service.Context]:
    """``service.skill_gaps`` in ``who``'s scope as of ``now`` (能力缺口's field minute): choosing an item, a
    course or all communities on that page reads nothing again. Enrolling changes no qualification."""
    return _gaps(get_settings().database_url, who, now)


def board(who: Viewer, now: datetime) -> tuple[pd.DataFrame, service.Context]:
    """``(task queue, ranking context)`` in ``who``'s scope as of ``now`` (the page's field minute)."""
    return _board(get_settings().database_url, who, now)


def recommend(
    who: Viewer, now: datetime, task_id: str, preset: Preset, task: pd.Series
) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    """``service.recommend`` for one task of ``board(who, now)`` with these weights."""
    return _recommend(get_settings().database_url, who, now, task_id, preset, task)


def clear() -> None:
    """Forget the cached queue and rankings (after an assignment)."""
    _board.clear()
    _recommend.clear()
    _gaps.clear()
