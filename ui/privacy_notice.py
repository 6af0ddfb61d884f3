"""The privacy notice gate: a signed-in user who has not accepted the current version sees it and nothing else.

One call from the guard after sign-in (``privacy_gate(viewer)``). The acceptance is stored per user and
version (core.rights.accept_notice), so a new version of data/privacy/notice.json asks everyone again.
"""

from __future__ import annotations

import streamlit as st
from sqlmodel import Session

from core.rights import accept_notice, needs_notice, notice
from core.scope import Viewer
from ui import resources
from ui.state import lang

ACCEPTED_KEY = "privacy_notice_accepted"


def _accept(viewer: Viewer, version: str) -> None:
    with resources.unit_of_work() as session:
        accept_notice(session, viewer, version=version)
    st.session_state[ACCEPTED_KEY] = (viewer.user_id, version)


def privacy_gate(viewer: Viewer) -> None:
    """Show the notice and stop the page until the user accepts the current version."""
    text = notice()
    version = text["version"]
    if st.session_state.get(ACCEPTED_KEY) == (viewer.user_id, version):
        return
    with Session(resources.engine()) as session:
        pending = needs_notice(session, viewer)
    if not pending:
        st.session_state[ACCEPTED_KEY] = (viewer.user_id, version)
        return
    body = text["en" if lang() == "en" else "zh"]
    st.title(body["title"])
    st.caption(version)
    st.markdown(body["body"])
    st.button(
        body["accept"],
        type="primary",
        width="stretch",
        on_click=_accept,
        args=(viewer, version),
        key="privacy_ok",
    )
    st.stop()
