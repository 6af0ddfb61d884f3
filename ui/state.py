"""Per-browser-session state: language and the signed-in viewer. Nothing here holds a DB session."""

from __future__ import annotations

import streamlit as st

from core import clock
from core.i18n import LANGUAGES, t
from core.scope import Viewer
from core.settings import get_settings

VIEWER_KEY = "viewer"
LANG_KEY = "lang"
SEEN_KEY = "last_seen"


def lang() -> str:
    # One session-state read (every tr() call comes here: a page makes hundreds per run).
    value = st.session_state.get(LANG_KEY)
    if value is None:
        value = st.session_state[LANG_KEY] = get_settings().default_language
    return value


def tr(key: str, /, **params: object) -> str:
    """Translate ``key`` into the session's language."""
    return t(key, lang(), **params)


def current_viewer() -> Viewer | None:
    viewer = st.session_state.get(VIEWER_KEY)
    if viewer is None:
        return None
    idle = get_settings().session_idle_minutes * 60
    seen = st.session_state.get(SEEN_KEY)
    now = clock.now()
    if seen is not None and (now - seen).total_seconds() > idle:
        sign_out()
        st.session_state["signed_out_idle"] = True
        return None
    st.session_state[SEEN_KEY] = now
    return viewer


def sign_in_as(viewer: Viewer) -> None:
    st.session_state[VIEWER_KEY] = viewer
    st.session_state[SEEN_KEY] = clock.now()


def sign_out() -> None:
    """Forget everything about this browser session except the chosen language."""
    keep = st.session_state.get(LANG_KEY)
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if keep:
        st.session_state[LANG_KEY] = keep


def language_switch(where: str) -> None:
    """A two-option switch; the choice sticks for the browser session."""

    def _changed() -> None:
        st.session_state[LANG_KEY] = st.session_state[f"_lang_{where}"]

    current = lang()
    st.session_state[f"_lang_{where}"] = current
    st.segmented_control(
        "Language / 语言", options=list(LANGUAGES), format_func=lambda v: "中文" if v == "zh" else "English",
        key=f"_lang_{where}", on_change=_changed, label_visibility="collapsed",
    )
