"""Showing a refusal to the person who asked: every expected failure is a ``core.errors.GridwiseError`` and
reaches the screen as its catalog text in the viewer's language, never as ``str(exc)`` (English).

Around an action (the unit of work inside, so the refusal rolls everything back before it is shown)::

    with refusals() as refused:
        with resources.unit_of_work() as session:
            update_user(session, viewer, user_id, display_name=name)
        st.success(tr("common.saved"))
    if refused:  # optional: the refusal has been shown; stop here, keep the form, …
        return

Anything that is not a ``GridwiseError`` is a bug and propagates (Streamlit shows it; the log keeps it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import streamlit as st

from core.errors import GridwiseError
from ui.state import lang

Level = Literal["error", "warning", "info"]


def error_text(exc: GridwiseError) -> str:
    """The refusal's text in the viewer's language (for a caption, a table cell, a toast)."""
    return exc.message(lang())


def show_error(exc: GridwiseError, *, level: Level = "error", icon: str | None = None) -> None:
    """Show one refusal in the viewer's language (``level`` picks st.error / st.warning / st.info)."""
    show = {"error": st.error, "warning": st.warning, "info": st.info}[level]
    show(error_text(exc), icon=icon)


class Refused:
    """What ``refusals()`` caught: falsy while nothing was refused; ``error`` is the refusal once shown."""

    error: GridwiseError | None = None

    def __bool__(self) -> bool:
        return self.error is not None


@contextmanager
def refusals(*, level: Level = "error", icon: str | None = None) -> Iterator[Refused]:
    """Run the block; a ``GridwiseError`` raised in it is shown in the viewer's language and stops the block."""
    refused = Refused()
    try:
        yield refused
    except GridwiseError as exc:
        refused.error = exc
        show_error(exc, level=level, icon=icon)
