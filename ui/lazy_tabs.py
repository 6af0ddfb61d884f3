"""Tabs of which only the open one runs (issue #21: a view pays for the tab it shows, not for every tab).

``st.tabs`` runs every tab's body on every run unless the page asks each tab whether it is open
(``on_change="rerun"``: a click on a tab reruns the page with that tab open). The tabs keep the open tab's
label in session state, so a label that changes between runs — the language switched, a count in a label —
would close the tab and open the first one; here the open tab stays open under its new label.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st
from streamlit.elements.lib.mutable_tab_container import TabContainer


def lazy_tabs(key: str, labels: Mapping[str, str]) -> dict[str, TabContainer]:
    """``st.tabs`` of ``labels`` (tab code → label in the page's language) under ``key``, by code. Draw a tab's
    body only when it is open: ``if tabs[code].open: with tabs[code]: ...``."""
    codes_key = f"_{key}_codes"  # label → code of the previous run
    shown = st.session_state.get(key)
    code = st.session_state.get(codes_key, {}).get(shown)
    if shown is not None and shown not in labels.values() and code in labels:
        st.session_state[key] = labels[code]
    st.session_state[codes_key] = {label: c for c, label in labels.items()}
    tabs = st.tabs(list(labels.values()), key=key, on_change="rerun")
    return dict(zip(labels, tabs, strict=True))
