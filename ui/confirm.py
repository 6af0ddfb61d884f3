"""Ask before an action that cannot be undone or spends something (cancel a training session, end sign-in
sessions, give a task back): the action's button only arms a question; the action runs when the person
confirms it, on its own button beside a way back.

    if st.button(tr("x.cancel")):
        arm("cancel_session", sid)
    if (sid := confirmed("cancel_session", tr("x.cancel_sure"), yes=tr("x.cancel_yes"))) is not None:
        ...the action...
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.state import tr

_PREFIX = "gw_confirm_"


def arm(name: str, value: Any = True) -> None:
    """Ask the question ``name`` on this run and the next ones, about ``value`` (what the action acts on)."""
    st.session_state[_PREFIX + name] = value


def armed(name: str, default: Any = None) -> Any:
    """The value the question ``name`` is armed with (``default`` when it is not)."""
    return st.session_state.get(_PREFIX + name, default)


def confirmed(name: str, question: str, *, yes: str, no: str | None = None) -> Any | None:
    """Draw the question when armed; return the armed value on the run its ``yes`` is pressed, else None."""
    key = _PREFIX + name
    if key not in st.session_state:
        return None
    with st.container(border=True, key=f"gw_confirm_box_{name}"):
        st.warning(question, icon=":material/warning:")
        left, right = st.columns(2)
        go = left.button(yes, type="primary", key=f"{key}_yes", width="stretch")
        back = right.button(no or tr("common.go_back"), key=f"{key}_no", width="stretch")
    if not (go or back):
        return None
    value = st.session_state.pop(key)
    if back:
        st.rerun()
    return value
