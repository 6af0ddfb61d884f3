"""The access guard every page calls first, the sign-in form it draws, and the role menu.

Streamlit may run ``pages/x.py`` without app.py having run (see ARCHITECTURE.md, the ``pages/``
hazard), so each page begins with ``viewer = require(__file__)``: nobody signed in → the sign-in form
and stop; signed in with a role the page does not admit → a refusal and stop. It also installs, for
the run, the handler that turns a busy or unreachable database into a plain message, not a traceback.
"""

from __future__ import annotations

import streamlit as st
from sqlmodel import Session
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.auth import SignInError, sign_in
from core.db import db_fault
from core.demo import demo_accounts
from core.http_security import MENU_SCRIPT
from core.scope import Viewer, viewer_for
from core.settings import get_settings
from ui import resources
from ui.account import change_password_form
from ui.pages import PAGES, pages_for, spec_for
from ui.privacy_notice import privacy_gate
from ui.second_factor import recovery_codes_once, second_factor_step
from ui.session_cookie import (
    ENDED_KEY,
    MUST_CHANGE_KEY,
    SSO_REFUSED_KEY,
    begin_second_step,
    current_viewer,
    end,
    hand_over,
    sso_configured,
    sso_viewer,
    start,
)
from ui.state import lang, language_switch, tr

NO_SIDEBAR_CSS = "[data-testid=stSidebar], [data-testid=stExpandSidebarButton] {display: none !important}"
# Streamlit's own words that its API gives no label for, in the viewer's language where it is not English:
# the upload button and its size line (the accepted types are in each page's own help text), and the
# "Press Enter to submit form" hint under a form's text box (a Chinese office needs no such hint in English).
UPLOAD_BUTTON = "[data-testid=stFileUploaderDropzone] button [data-testid=stMarkdownContainer]"
UPLOAD_LINE = "[data-testid=stFileUploaderDropzoneInstructions] span"
STREAMLIT_WORDS_CSS = (
    UPLOAD_BUTTON
    + " p {{display: none}}\n"
    + UPLOAD_BUTTON
    + '::after {{content: "{button}"}}\n'
    + UPLOAD_LINE
    + " {{font-size: 0}}\n"
    + UPLOAD_LINE
    + '::after {{content: "{limit}"; font-size: 0.875rem}}\n'
    + "[data-testid=InputInstructions] {{display: none}}"
)


def require(file: str) -> Viewer:
    """Gate a page: return the signed-in viewer allowed on it, or draw what they need and stop."""
    spec = spec_for(file)
    _handle_db_faults()
    st.set_page_config(page_title=f"{tr(spec.label)} · Gridwise", page_icon="🧭", layout="wide")
    if (refused := resources.instance_refusal()) is not None:
        st.error(refused.message(lang()), icon=":material/block:")
        st.stop()
    resources.scheduler()
    _streamlit_words_in_language()
    viewer = current_viewer() or sso_viewer()
    hand_over()
    if viewer is None:
        # Nothing covers the sign-in form: a sidebar left open when signing out (on a phone it spans the
        # screen) is hidden with its open button while nobody is signed in (style only: goes to Streamlit's
        # event container, and is gone from the first run after signing in).
        st.html(f"<style>{NO_SIDEBAR_CSS}</style>")
        if not second_factor_step():  # a password proved, the second factor still to come
            sign_in_page()
        st.stop()
    sidebar(viewer)
    if recovery_codes_once():  # a second factor just set up: its recovery codes, shown this once
        st.stop()
    if st.session_state.get(MUST_CHANGE_KEY):
        if change_password_form(viewer, forced=True):
            st.rerun()
        st.stop()
    privacy_gate(viewer)
    if not spec.admits(viewer.duties):
        st.error(tr("guard.forbidden"), icon=":material/block:")
        st.page_link("app.py", label=tr("menu.home"), icon=":material/home:")
        st.stop()
    return viewer


def _streamlit_words_in_language() -> None:
    """Streamlit's own words on widgets (no API for them) in the viewer's language: style only, every run."""
    if lang() == "en":
        return
    css = STREAMLIT_WORDS_CSS.format(
        button=tr("common.upload_button"), limit=tr("common.upload_limit", mb=get_settings().max_upload_mb)
    )
    st.html(f"<style>{css}</style>")


def _handle_db_faults() -> None:
    """Make this run's uncaught busy/unreachable-database errors show ``common.db_busy`` /
    ``common.db_unavailable`` instead of Streamlit's traceback (other errors keep the default display).

    Uses the script context's ``on_script_error`` (the hook behind ``st.App(on_script_error=…)``), so
    no page has to wrap its own writes; the server log still gets the full traceback."""
    ctx = get_script_run_ctx()
    if ctx is None or getattr(ctx.on_script_error, "gridwise", False):
        return
    previous = ctx.on_script_error

    def on_error(exc: Exception) -> bool | None:
        fault = db_fault(exc)
        if fault is None:
            return previous(exc) if previous is not None else None
        st.error(tr(f"common.db_{fault}"), icon=":material/hourglass_top:")
        return True

    on_error.gridwise = True  # type: ignore[attr-defined]
    ctx.on_script_error = on_error


def sign_in_page() -> None:
    left, right = st.columns([3, 1])
    with left:
        st.title(tr("signin.title"))
        st.caption(tr("signin.subtitle"))
    with right:
        language_switch("signin")
    ended = st.session_state.pop(ENDED_KEY, None)
    if ended in ("idle", "expired", "second_factor"):
        st.info(tr(f"signin.{ended}_signed_out"))
    elif ended is not None:
        st.info(tr("signin.revoked_signed_out"))
    if sso_configured():
        single_sign_on()
    if not get_settings().password_sign_in:
        return
    with st.form("signin", border=True):
        username = st.text_input(tr("signin.username"), key="signin_username")
        password = st.text_input(tr("signin.password"), type="password", key="signin_password")
        submitted = st.form_submit_button(tr("signin.submit"), type="primary", width="stretch")
    if submitted:
        with Session(resources.engine()) as session:
            result = sign_in(session, username, password, address=resources.browser_address())
            if result.ok:
                start(result.user, viewer_for(session, result.user))
                st.rerun()
            if result.pending and result.user is not None and result.second_step is not None:
                begin_second_step(result.user, result.second_step.value, via="password")
                st.rerun()
        if result.error == SignInError.EMPTY:
            st.warning(tr("signin.error.empty"))
        elif result.error == SignInError.LOCKED:
            st.error(tr("signin.error.locked", until=result.locked_until.strftime("%H:%M")))
        elif result.error == SignInError.INACTIVE:
            st.error(tr("signin.error.inactive"))
        elif result.error == SignInError.THROTTLED:
            st.error(tr("auth.signin_throttled"))
        else:
            st.error(tr("signin.error.bad_credentials"))
    accounts = _demo_accounts(get_settings().database_url)
    if accounts:
        with st.expander(tr("signin.demo_accounts"), expanded=True):
            st.caption(tr("signin.demo_note"))
            st.dataframe(
                [
                    {
                        tr("signin.username"): a["username"],
                        tr("users.role"): tr(f"role.{a['role']}"),
                        tr("users.display_name"): a["name"],
                        tr("signin.password"): a["password"],
                    }
                    for a in accounts
                ],
                hide_index=True,
                width="stretch",
                placeholder="",
            )


@st.cache_data(ttl=600, show_spinner=False)
def _demo_accounts(db: str) -> list[dict[str, str]]:
    """The demo accounts listed on the sign-in page, read once per database (written only by seed-demo)."""
    with Session(resources.engine()) as session:
        return demo_accounts(session)


def single_sign_on() -> None:
    """The single sign-on button, or why the identity the provider gave was refused (and a way out of it)."""
    refused = st.session_state.get(SSO_REFUSED_KEY)
    if refused is not None and st.user.is_logged_in:
        st.error(tr("signin.sso_unknown", name=refused), icon=":material/no_accounts:")
        if st.button(tr("signin.sso_sign_out"), icon=":material/logout:"):
            st.session_state.pop(SSO_REFUSED_KEY, None)
            st.logout()
        return
    if st.button(
        tr("signin.sso"), icon=":material/key:", type="secondary", width="stretch", key="signin_sso"
    ):
        st.login()


def sidebar(viewer: Viewer) -> None:
    with st.sidebar:
        st.markdown(f"**{viewer.display_name}**  \n{tr('role.' + viewer.role.value)}")
        section = None
        for page in pages_for(viewer.duties):
            if not page.in_menu:
                continue
            if page.section != section:
                section = page.section
                st.caption(tr(section))
            st.page_link(page.path, label=tr(page.label), icon=page.icon)
        st.divider()
        language_switch("sidebar")
        if st.button(tr("signin.sign_out"), icon=":material/logout:", width="stretch", key="gw_sign_out"):
            end()
            st.switch_page("app.py")
        # On a phone, a choice in this menu closes it (core.http_security.MENU_SCRIPT).
        st.html(f"<script>{MENU_SCRIPT}</script>", unsafe_allow_javascript=True, width="content")


__all__ = ["PAGES", "require", "lang", "tr"]
