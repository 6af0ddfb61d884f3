"""Process-wide resources for the Streamlit server, created once per process."""

from __future__ import annotations

import streamlit as st
from sqlalchemy.engine import Engine

from core.db import get_engine
from core.scheduler import SchedulerService
from core.settings import get_settings


@st.cache_resource(show_spinner=False)
def engine() -> Engine:
    return get_engine()


@st.cache_resource(show_spinner=False)
def scheduler() -> SchedulerService | None:
    """Start the in-process scheduler once per server (if enabled); the lock keeps it one per DB."""
    if not get_settings().scheduler_enabled:
        return None
    return SchedulerService(engine()).start()
