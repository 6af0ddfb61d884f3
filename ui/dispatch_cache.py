"""The dispatch page's reads (and the skill-gap page's), cached per database, viewer and field minute, so
that a filter or a weight change on 智能派单 does not read the queue and a task's ranking inputs again, nor
rank a task again with the same weights (bench/filter_cost.py: ~0.5 s of CPU per filter change without them),
and a choice on 能力缺口 reads no gaps again. The queue tab reads the queue and the picked task's community
(service.task_inputs); the scope's whole context (service.load_context) only the batch and map tabs do.

The page clears them after every assignment it makes (``clear()``); a change made elsewhere (a worker
signing a task, an event import) shows within ``TTL_S`` seconds or at the next field minute. Every write
reads afresh: ``service.assign`` ranks again in its own session, never from these caches.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.scope import Viewer
from core.settings import get_settings
from evaluation.assignment import service
from evaluation.assignment.one_task import TaskInputs
from evaluation.assignment.rank import Preset
from evaluation.field import api as field_api
from ui import resources

TTL_S = 60


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=50)
def _queue(db: str, who: Viewer, now: datetime) -> pd.DataFrame:
    with Session(resources.engine()) as session:
        return service.task_queue(session, who, now=now)


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=50)
def _context(db: str, who: Viewer, now: datetime) -> service.Context:
    with Session(resources.engine()) as session:
        return service.load_context(session, who, now=now)


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=20)
def _category_totals(db: str, since: date) -> pd.DataFrame:
    """Every worker's history per category (the ranking's priors): the same for every viewer and task."""
    with Session(resources.engine()) as session:
        return field_api.category_totals(session, since=since)


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=500)
def _inputs(db: str, who: Viewer, now: datetime, task_id: str, _task: pd.Series) -> TaskInputs:
    pooled = _category_totals(db, service.perf_since(now))
    with Session(resources.engine()) as session:
        return service.task_inputs(session, who, _task, now=now, pooled=pooled)


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=500)
def _recommend(db: str, who: Viewer, now: datetime, task_id: str, preset: Preset, _task: pd.Series):  # noqa: ANN202
    inputs = _inputs(db, who, now, task_id, _task)
    with Session(resources.engine()) as session:
        return service.recommend(session, who, task_id, preset, now=now, task=_task, inputs=inputs)


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=50)
def _gaps(db: str, who: Viewer, now: datetime) -> tuple[pd.DataFrame, pd.DataFrame, service.Context]:
    with Session(resources.engine()) as session:
        return service.skill_gaps(session, who, now=now)


def gaps(who: Viewer, now: datetime) -> tuple[pd.DataFrame, pd.DataFrame, service.Context]:
    """``service.skill_gaps`` in ``who``'s scope as of ``now`` (能力缺口's field minute): choosing an item, a
    course or all communities on that page reads nothing again. Enrolling changes no qualification."""
    return _gaps(get_settings().database_url, who, now)


def queue(who: Viewer, now: datetime) -> pd.DataFrame:
    """The task queue in ``who``'s scope as of ``now`` (the page's field minute)."""
    return _queue(get_settings().database_url, who, now)


def context(who: Viewer, now: datetime) -> service.Context:
    """The ranking context of ``who``'s whole scope (the batch and the map read it; the queue tab does not)."""
    return _context(get_settings().database_url, who, now)


def recommend(
    who: Viewer, now: datetime, task_id: str, preset: Preset, task: pd.Series
) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    """``service.recommend`` for one task of ``queue(who, now)`` with these weights: what it reads (its
    community's workers, their courses, history and load) is read once per task and minute, so a weight change
    only ranks again."""
    return _recommend(get_settings().database_url, who, now, task_id, preset, task)


def clear() -> None:
    """Forget the cached queue and rankings (after an assignment)."""
    _queue.clear()
    _context.clear()
    _category_totals.clear()
    _inputs.clear()
    _recommend.clear()
    _gaps.clear()
