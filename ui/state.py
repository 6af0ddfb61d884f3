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
LANG_KEYS = "_lang_keys"  # the keys of the widgets drawn through lang_key


def lang() -> str:
    """The session's language: the one chosen (the switch) or restored with a signed-in browser's session
    (ui/session_cookie.py), else the default — which is not stored: a page's first tr() runs before the
    session is restored, and a stored default made a reload forget the language chosen before it."""
    # One session-state read (every tr() call comes here: a page makes hundreds per run).
    return st.session_state.get(LANG_KEY) or get_settings().default_language


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


def lang_key(key: str) -> str:
    """``key``, for a keyed select box, radio, multiselect, segmented control or pills whose options are codes
    labelled in the session's language (``format_func``). The browser shows the label it was last sent: after
    a language switch a keyed select kept its value but showed its old label ("Action: 申请延期"), until the
    next click sent that stale label back. The switch sends each such value again, so the same option shows
    its label in the new language. Options that are labels themselves cannot be kept: make them codes."""
    st.session_state.setdefault(LANG_KEYS, set()).add(key)
    return key


def _resend_choices() -> None:
    """Set the value of every lang_key widget drawn on the last run again (Streamlit then sends the browser
    the value with its label in the new language); forget the keys of widgets no longer drawn."""
    keys = {k for k in st.session_state.get(LANG_KEYS, ()) if k in st.session_state}
    for k in keys:
        st.session_state[k] = st.session_state[k]
    st.session_state[LANG_KEYS] = keys


def language_switch(where: str) -> None:
    """A two-option switch; the choice sticks for the browser session."""

    def _changed() -> None:
        st.session_state[LANG_KEY] = chosen = st.session_state[f"_lang_{where}"]
        _resend_choices()
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
