"""Process-wide resources for the Streamlit server, created once per process (per database URL)."""

from __future__ import annotations

import streamlit as st
from sqlalchemy.engine import Engine

from core.db import get_engine
from core.scheduler import SchedulerService
from core.settings import get_settings


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    return get_engine(url)


def engine() -> Engine:
    return _engine(get_settings().database_url)


@st.cache_resource(show_spinner=False)
def _scheduler(url: str) -> SchedulerService:
    return SchedulerService(_engine(url)).start()


def scheduler() -> SchedulerService | None:
    """Start the in-process scheduler once per server (if enabled); the lock keeps it one per DB."""
    settings = get_settings()
    if not settings.scheduler_enabled:
        return None
    return _scheduler(settings.database_url)
