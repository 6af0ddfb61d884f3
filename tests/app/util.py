"""Helpers for reading what an AppTest run drew."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def texts(at: AppTest) -> str:
    """Every piece of text the run drew (markdown, headings, captions, metrics, alerts)."""
    parts: list[str] = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "info",
        "warning",
        "error",
        "success",
        "metric",
    ):
        for el in getattr(at, kind):
            parts.append(str(getattr(el, "value", "")))
            parts.append(str(getattr(el, "label", "")))
    return "\n".join(parts)


def show_tab(at: AppTest, key: str, label: str) -> AppTest:
    """Open the tab labelled ``label`` of a page's tabs under ``key`` (ui.lazy_tabs: only the open tab runs)."""
    at.session_state[key] = label
    return at.run()
