"""The second factor on screen (core.totp, core.auth): the sign-in step after the password (a code or a
recovery code), the set-up panel (QR code, the key as text, a first code to confirm) shared by the sign-in of a
required role and pages/account.py, and the recovery codes, shown once."""

from __future__ import annotations

import streamlit as st
from sqlmodel import Session

from core.auth import SignInError, second_factor_enrolled, second_factor_sign_in
from core.models import User, row_id
from core.scope import Viewer, viewer_for
from core.totp import (
    begin_enrolment,
    confirm,
    enrolled,
    otpauth_uri,
    pending_secret,
    qr_png,
    recovery_codes_left,
)
from core.web_sessions import MFA_SUFFIX, mark_second_factor
from ui import resources
from ui.errors import refusals
from ui.session_cookie import PENDING_KEY, pending_second_step, start
from ui.state import SESSION_KEY, tr

RECOVERY_KEY = "_recovery_codes"  # session_state: the codes just made, shown once on the next run


def second_factor_step() -> bool:
    """Draw the second step of a sign-in in progress (False: none in progress, draw the sign-in form)."""
    pending = pending_second_step()
    if pending is None:
        return False
    user_id, via = int(str(pending["user_id"])), str(pending["via"])
    with Session(resources.engine()) as session:
        user = session.get(User, user_id)
        username = user.username if user else ""
    if user is None:
        st.session_state.pop(PENDING_KEY, None)
        return False
    if pending["step"] == "enrol":
        st.title(tr("auth.mfa_enrol_title"))
        st.info(tr("auth.mfa_enrol_required"), icon=":material/security:")
        if enrolment_panel(user_id, username, signing_in_via=via):
            st.rerun()
    else:
        _code_form(user_id, via)
    if st.button(tr("auth.mfa_cancel"), icon=":material/arrow_back:", key="mfa_cancel"):
        st.session_state.pop(PENDING_KEY, None)
        st.rerun()
    return True


def _code_form(user_id: int, via: str) -> None:
    st.title(tr("auth.mfa_title"))
    with st.form("second_factor", border=True):
        st.caption(tr("auth.mfa_code_prompt"))
        code = st.text_input(tr("auth.mfa_code"), key="mfa_code", max_chars=20, autocomplete="one-time-code")
        submitted = st.form_submit_button(tr("auth.mfa_verify"), type="primary", width="stretch")
    if not submitted:
        return
    with Session(resources.engine()) as session:
        result = second_factor_sign_in(session, user_id, code, address=resources.browser_address())
        if result.ok and result.user is not None:
            _open(result.user, session, via)
            st.rerun()
    if result.error == SignInError.LOCKED and result.locked_until is not None:
        st.error(tr("signin.error.locked", until=result.locked_until.strftime("%H:%M")))
    elif result.error == SignInError.THROTTLED:
        st.error(tr("auth.signin_throttled"))
    elif result.error == SignInError.INACTIVE:
        st.error(tr("signin.error.inactive"))
    else:
        st.error(tr("auth.mfa_bad_code"))


def _open(user: User, session: Session, via: str) -> None:
    """The second step passed: open the signed-in session (marked as having passed it)."""
    st.session_state.pop(PENDING_KEY, None)
    start(user, viewer_for(session, user), via=via + MFA_SUFFIX)


def enrolment_panel(user_id: int, username: str, *, signing_in_via: str | None = None) -> bool:
    """The QR code and key of a new authenticator and the form for its first code. True once confirmed: the
    recovery codes wait in ``RECOVERY_KEY``; at sign-in (``signing_in_via``) the session opens, on the account
    page the current session is marked as having passed the second factor."""
    with resources.unit_of_work() as session:
        secret = pending_secret(session, user_id) or begin_enrolment(session, user_id)
    left, right = st.columns([1, 2], vertical_alignment="top")
    with left:
        st.image(qr_png(otpauth_uri(secret, username)), width=220)
    with right:
        st.markdown(tr("auth.mfa_enrol_steps"))
        st.caption(tr("auth.mfa_secret"))
        st.code(" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)), language=None)
        with st.form("mfa_enrol", border=True):
            code = st.text_input(tr("auth.mfa_first_code"), key="mfa_first_code", max_chars=8)
            submitted = st.form_submit_button(tr("auth.mfa_confirm"), type="primary", width="stretch")
    if not submitted:
        return False
    with refusals() as refused:
        with resources.unit_of_work() as session:
            codes = confirm(session, user_id, code)
            if signing_in_via is not None:
                second_factor_enrolled(session, user_id, address=resources.browser_address())
            elif (web_session_id := st.session_state.get(SESSION_KEY)) is not None:
                mark_second_factor(session, web_session_id)
    if refused:
        return False
    if signing_in_via is not None:
        with Session(resources.engine()) as session:
            user = session.get(User, user_id)
            assert user is not None
            _open(user, session, signing_in_via)
    st.session_state[RECOVERY_KEY] = codes
    return True


def recovery_codes_once() -> bool:
    """Show the recovery codes just made, once, until the user says they have kept them (True: shown)."""
    codes = st.session_state.get(RECOVERY_KEY)
    if not codes:
        return False
    st.title(tr("auth.mfa_recovery_title"))
    st.success(tr("auth.mfa_enabled"), icon=":material/verified_user:")
    st.warning(tr("auth.mfa_recovery_once"), icon=":material/key:")
    st.code("\n".join(codes), language=None)
    st.button(
        tr("auth.mfa_continue"),
        type="primary",
        key="mfa_codes_kept",
        on_click=lambda: st.session_state.pop(RECOVERY_KEY, None),
    )
    return True


def second_factor_settings(viewer: Viewer) -> None:
    """The account page's part: on (with recovery codes left), or a way to set it up."""
    with Session(resources.engine()) as session:
        on = enrolled(session, viewer.user_id)
        left = recovery_codes_left(session, viewer.user_id) if on else 0
        in_progress = not on and pending_secret(session, viewer.user_id) is not None
    if on:
        st.success(tr("auth.mfa_status_on", left=left), icon=":material/verified_user:")
        st.caption(tr("auth.mfa_lost_phone"))
        return
    st.info(tr("auth.mfa_status_off"), icon=":material/phonelink_lock:")
    if in_progress or st.session_state.get("mfa_setting_up"):
        st.session_state["mfa_setting_up"] = True
        if enrolment_panel(viewer.user_id, _username(viewer)):
            st.session_state.pop("mfa_setting_up", None)
            st.rerun()
    elif st.button(tr("auth.mfa_start"), icon=":material/qr_code_2:", key="mfa_start"):
        st.session_state["mfa_setting_up"] = True
        st.rerun()


def _username(viewer: Viewer) -> str:
    with Session(resources.engine()) as session:
        user = session.get(User, row_id(viewer.user_id))
        return user.username if user else ""
