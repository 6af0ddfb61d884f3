"""Process-wide resources for the Streamlit server, created once per process (per database URL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import streamlit as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.audit import CLIENT_ADDRESS
from core.client_address import client_address
from core.db import get_engine, retry_unit_of_work
from core.db import unit_of_work as _unit_of_work
from core.instance import InstanceRefused, check_instance
from core.scheduler import SchedulerService
from core.settings import get_settings

T = TypeVar("T")


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    return get_engine(url)


def engine() -> Engine:
    return _engine(get_settings().database_url)


@st.cache_resource(show_spinner=False)
def _instance_refusal(url: str) -> InstanceRefused | None:
    try:
        check_instance(_engine(url))
    except InstanceRefused as exc:
        return exc
    return None


def instance_refusal() -> InstanceRefused | None:
    """Why this server must not serve its database (a production instance beside demo accounts), checked once
    per process: ui/server.py refuses to start then, and this covers ``streamlit run app.py``."""
    return _instance_refusal(get_settings().database_url)


@st.cache_resource(show_spinner=False)
def _scheduler(url: str) -> SchedulerService:
    return SchedulerService(_engine(url)).start()


def scheduler() -> SchedulerService | None:
    """Start the in-process scheduler once per server (if enabled); the lock keeps it one per DB."""
    settings = get_settings()
    if not settings.scheduler_enabled:
        return None
    return _scheduler(settings.database_url)


def text(value: object) -> str:
    """A cookie or header value as text ("" when absent; AppTest's stand-in client gives non-strings)."""
    return value if isinstance(value, str) else ""


def browser_address() -> str:
    """This browser's network address: the connection's peer, or the trusted proxy's header
    (core.client_address; Streamlit reports a loopback peer as None)."""
    headers = st.context.headers
    return client_address(
        text(st.context.ip_address) or "127.0.0.1", {k: text(v) for k, v in headers.items()}
    )


@contextmanager
def _from_browser() -> Iterator[None]:
    """Every audit row written inside carries this browser's address (core.audit.CLIENT_ADDRESS)."""
    token = CLIENT_ADDRESS.set(browser_address())
    try:
        yield
    finally:
        CLIENT_ADDRESS.reset(token)


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A page action's transaction on the server's engine: commit on success, roll back on any exception.
    Its audit rows carry the browser's address."""
    with _from_browser(), _unit_of_work(engine()) as session:
        yield session


def unit_of_work_retrying(fn: Callable[[Session], T]) -> T:
    """A page action that races others (check-in, starting or submitting a quiz): ``fn(session)`` in its own
    unit of work, run again in a fresh one while the database is busy (``core.db.retry_unit_of_work``)."""
    with _from_browser():
        return retry_unit_of_work(fn, engine())
