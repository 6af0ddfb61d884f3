"""Per-browser-session state: the language and the keys of the signed-in viewer (restored and checked by
ui/session_cookie.py). Nothing here holds a DB session."""

from __future__ import annotations

import streamlit as st

from core.i18n import LANGUAGES, t
from core.settings import get_settings
from core.web_sessions import set_language
from ui import resources

VIEWER_KEY = "viewer"  # a cache of the signed-in session (ui/session_cookie.py), never the source of truth
LANG_KEY = "lang"
SESSION_KEY = "web_session_id"  # the id of this browser's server-side session (core.web_sessions)


def lang() -> str:
    # One session-state read (every tr() call comes here: a page makes hundreds per run).
    value = st.session_state.get(LANG_KEY)
    if value is None:
        value = st.session_state[LANG_KEY] = get_settings().default_language
    return value


def tr(key: str, /, **params: object) -> str:
    """Translate ``key`` into the session's language."""
    return t(key, lang(), **params)


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
        st.session_state[LANG_KEY] = chosen = st.session_state[f"_lang_{where}"]
        if (session_id := st.session_state.get(SESSION_KEY)) is not None:  # kept for a reload or a new tab
            with resources.unit_of_work() as session:
                set_language(session, session_id, chosen)

    current = lang()
    st.session_state[f"_lang_{where}"] = current
    st.segmented_control(
        "Language / 语言",
        options=list(LANGUAGES),
        format_func=lambda v: "中文" if v == "zh" else "English",
        key=f"_lang_{where}",
        on_change=_changed,
        label_visibility="collapsed",
    )
