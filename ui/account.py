"""The viewer's own account: the change-password form (pages/account.py for every role, and the guard's
forced change after a first sign-in, an administrator's reset or an expired password)."""

from __future__ import annotations

import streamlit as st

from core.auth import change_own_password
from core.passwords import PasswordRefused, policy_params
from core.scope import Viewer
from ui import resources
from ui.errors import refusals
from ui.session_cookie import MUST_CHANGE_KEY
from ui.state import SESSION_KEY, tr


def change_password_form(viewer: Viewer, *, forced: bool = False) -> bool:
    """The form; True once the password has been changed (this browser stays signed in, every other one of
    the account's sessions ends)."""
    if forced:
        st.title(tr("signin.change_title"))
        st.info(tr("auth.change_required"), icon=":material/password:")
    with st.form("change_password", border=True):
        old = st.text_input(tr("signin.current_password"), type="password", key="pw_current")
        new = st.text_input(tr("auth.new_password"), type="password", key="pw_new")
        again = st.text_input(tr("signin.repeat_password"), type="password", key="pw_again")
        st.caption(tr("auth.pw_policy", **policy_params()))
        submitted = st.form_submit_button(tr("auth.change_password"), type="primary")
    if not submitted:
        return False
    if new != again:
        st.error(tr("signin.error.mismatch"))
        return False
    with refusals() as refused:
        with resources.unit_of_work() as session:
            change_own_password(
                session, viewer.user_id, old, new, keep_session=st.session_state.get(SESSION_KEY)
            )
    if refused:
        return False
    st.session_state[MUST_CHANGE_KEY] = False
    st.success(tr("auth.password_changed"))
    return True


__all__ = ["PasswordRefused", "change_password_form"]
