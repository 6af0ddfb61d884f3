"""Signed in across reloads, tabs, reconnects and server processes: the HttpOnly session cookie.

How (Streamlit 1.67, read in its source): the server is Starlette (``streamlit/web/server/starlette``) and
``st.App(script, routes=[...])`` (``starlette_app.App``) adds HTTP routes beside Streamlit's own;
``streamlit run ui/server.py`` finds that App and serves it (``web/server/app_discovery.py``). A page script
cannot answer an HTTP request, so:

1. The sign-in form checks the password (core.auth) and opens a server-side session (core.web_sessions),
   which yields a one-time code (60 s, stored hashed). The next script run emits a tiny script that POSTs the
   code to ``/_gw/session`` (``st.html(..., unsafe_allow_javascript=True)``, public API).
2. That route redeems the code for a random token and answers ``Set-Cookie: gridwise_session=<token>;
   HttpOnly; SameSite=Lax; Path=/`` (+ ``Secure`` over HTTPS). Page JavaScript never sees the token, only
   the spent code.
3. Every new browser session (reload, new tab, another replica) reads the cookie server-side from the
   websocket handshake (``st.context.cookies``, filled from ``websocket.cookies`` in
   ``starlette_websocket.py``; HttpOnly cookies are sent with the handshake like any other) and
   restores the viewer from the session row. Every run re-checks the row, so a revocation or an idle or
   absolute timeout takes effect on the next action.
4. Sign-out revokes the row first (a copied cookie is then worthless) and POSTs to ``/_gw/signout``,
   which clears the cookie.

Streamlit's XSRF protection stays on: it guards Streamlit's own websocket and upload endpoints, and
these two routes guard themselves (POST only, ``Sec-Fetch-Site``/``Origin`` must be same-origin, so no
other site can sign a browser in or out). No private Streamlit internals are touched.
"""

from __future__ import annotations

import html
import time
from urllib.parse import urlsplit

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from streamlit.delta_generator import DeltaGenerator

from core import web_sessions
from core.auth import sso_second_step
from core.db import get_engine, unit_of_work
from core.http_security import HANDOVER_SCRIPT
from core.models import User
from core.scope import Viewer, viewer_for
from core.settings import get_settings
from ui import resources
from ui.state import LANG_KEY, SESSION_KEY, VIEWER_KEY, sign_out

REDEEM_PATH = "/_gw/session"
SIGNOUT_PATH = "/_gw/signout"
CODE_KEY = "_session_code"  # session_state: a fresh sign-in's code, handed to the browser on the next run
CLEAR_KEY = "_session_clear_cookie"  # session_state: sign-out happened; clear the cookie on the next run
MUST_CHANGE_KEY = "must_change_password"
ENDED_KEY = "session_ended"  # session_state: why the last session ended ("idle", "expired", "revoked", …)
# session_state: the identity proved (password or single sign-on) and the second step still to come, as
# {"user_id", "step" ("code" | "enrol"), "via", "at"}. No session exists until that step passes, so neither a
# reload nor the cookie can skip it; it lapses after PENDING_SECONDS (the password is asked again).
PENDING_KEY = "_second_step"
PENDING_SECONDS = 300


# ---- the browser session (Streamlit side) ---------------------------------------------------------------


def current_viewer() -> Viewer | None:
    """The signed-in viewer of this browser session, restored from the cookie on a new session; None
    (and the state cleared, with the reason in ``ENDED_KEY``) when the session has ended."""
    viewer: Viewer | None = st.session_state.get(VIEWER_KEY)
    session_id = st.session_state.get(SESSION_KEY)
    token = None if viewer is not None else resources.text(st.context.cookies.get(web_sessions.COOKIE_NAME))
    if viewer is None and not token:
        return None
    with resources.unit_of_work() as session:
        state = web_sessions.check_session(session, session_id=session_id if viewer else None, token=token)
        if not state.ok:
            reason = state.reason
        else:
            assert state.user is not None
            fresh = viewer_for(session, state.user) if viewer is None else None
            must_change = state.user.must_change_password
    if not state.ok:
        if viewer is not None or reason in ("idle", "expired"):
            sign_out()
            st.session_state[ENDED_KEY] = reason
        return None
    if fresh is not None:  # a reload, a new tab, another replica: restored from the cookie
        st.session_state[VIEWER_KEY] = viewer = fresh
        st.session_state[SESSION_KEY] = state.session_id
        if state.lang and LANG_KEY not in st.session_state:
            st.session_state[LANG_KEY] = state.lang
    st.session_state[MUST_CHANGE_KEY] = must_change
    return viewer


def begin_second_step(user: User, step: str, *, via: str) -> None:
    """The identity is proved and the account takes a second factor: ask for it (``step`` "code") or have it
    set up (``step`` "enrol") before any session opens (ui/second_factor.py draws the step)."""
    st.session_state[PENDING_KEY] = {"user_id": user.id, "step": step, "via": via, "at": time.monotonic()}


def pending_second_step() -> dict[str, object] | None:
    """The second step this browser session is in the middle of, if it has not lapsed."""
    pending = st.session_state.get(PENDING_KEY)
    if pending is None:
        return None
    if time.monotonic() - float(pending["at"]) > PENDING_SECONDS:
        st.session_state.pop(PENDING_KEY, None)
        return None
    return dict(pending)


def start(user: User, viewer: Viewer, *, via: str = "password") -> None:
    """Sign this browser session in as ``user`` (who has just proved who they are): open the server-side
    session now; its cookie is set on the next run (``hand_over``)."""
    with resources.unit_of_work() as session:
        row, code = web_sessions.open_session(
            session,
            user,
            user_agent=resources.text(st.context.headers.get("User-Agent")),
            via=via,
            lang=st.session_state.get(LANG_KEY, ""),
        )
        session_id = row.id
    st.session_state[VIEWER_KEY] = viewer
    st.session_state[SESSION_KEY] = session_id
    st.session_state[MUST_CHANGE_KEY] = user.must_change_password
    st.session_state[CODE_KEY] = code


def end() -> None:
    """Sign-out: revoke the server-side session, forget this browser session, clear the cookie next run (and
    sign out of single sign-on too, so the identity provider's cookie does not sign the browser in again)."""
    session_id = st.session_state.get(SESSION_KEY)
    if session_id is not None:
        with resources.unit_of_work() as session:
            web_sessions.end_session(session, session_id)
    sign_out()
    st.session_state[CLEAR_KEY] = True
    if sso_configured() and st.user.is_logged_in:
        st.logout()


# ---- single sign-on (st.login; [auth] in .streamlit/secrets.toml) -----------------------------------------

SSO_FRESH_SECONDS = 300  # an identity this recent (its ID token's iat) may open a Gridwise session
SSO_REFUSED_KEY = "sso_refused"  # session_state: the claim value of an identity that matches no user
SSO_TRIED_KEY = "_sso_tried"  # session_state: the iat already tried in this browser session


def sso_configured() -> bool:
    """Is single sign-on set up ([auth] in the secrets)?"""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all  # noqa: BLE001
        return False


def sso_viewer() -> Viewer | None:
    """The viewer for a browser the identity provider has just signed in (``st.login``) and Gridwise has not:
    the identity is mapped to an active user (core.web_sessions.user_for_identity) and a session opened, like a
    password sign-in. Only a fresh identity counts (signed in at the provider within ``SSO_FRESH_SECONDS``), so
    Streamlit's long-lived identity cookie cannot revive a session that was signed out, ended or revoked."""
    if not sso_configured() or not st.user.is_logged_in:
        return None
    claims = st.user.to_dict()
    issued = claims.get("iat")
    if not isinstance(issued, int | float) or time.time() - issued > SSO_FRESH_SECONDS:
        return None
    if st.session_state.get(SSO_TRIED_KEY) == issued:
        return None
    st.session_state[SSO_TRIED_KEY] = issued
    with resources.unit_of_work() as session:
        user = web_sessions.user_for_identity(session, claims)
        viewer = viewer_for(session, user) if user is not None else None
        step, via = sso_second_step(session, user, claims) if user is not None else (None, "sso")
    if user is None or viewer is None:
        st.session_state[SSO_REFUSED_KEY] = str(
            claims.get(get_settings().sso_claim) or claims.get("sub") or "?"
        )
        return None
    if step is not None:
        begin_second_step(user, step, via="sso")
        return None
    start(user, viewer, via=via)
    return viewer


def hand_over() -> None:
    """Emit, once, the browser-side step that sets or clears the cookie (see the module docstring).

    Every run draws the same empty slot here, and the script goes inside it when there is one: an element
    that appeared in one run only would shift everything after it, and Streamlit would then rebuild those
    elements — the open tab of a page fell back to the first one on the first click after signing in."""
    slot = st.empty()
    code = st.session_state.pop(CODE_KEY, None)
    if code is not None:
        _post(slot, f"{REDEEM_PATH}?code={code}")
    elif st.session_state.pop(CLEAR_KEY, False):
        _post(slot, SIGNOUT_PATH)


def _post(slot: DeltaGenerator, url: str) -> None:
    # The script is always the same text (the Content-Security-Policy allows it by its hash, never inline
    # script in general); the URL it posts to travels in the attribute beside it.
    slot.html(
        f'<span data-gw-post="{html.escape(url, quote=True)}"></span><script>{HANDOVER_SCRIPT}</script>',
        unsafe_allow_javascript=True,
        width="content",
    )


# ---- the two HTTP routes (served by ui/server.py) -------------------------------------------------------


def _same_origin(request: Request) -> bool:
    """Refuse requests another site makes the browser send (login/logout CSRF)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return False
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


def _cookie_attrs(request: Request) -> dict[str, object]:
    https = request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"
    return {"path": "/", "httponly": True, "samesite": "lax", "secure": https}


def _redeem(code: str) -> str | None:
    with unit_of_work(get_engine()) as session:
        return web_sessions.redeem_code(session, code)


def _end_by_token(token: str) -> None:
    with unit_of_work(get_engine()) as session:
        session_id = web_sessions.session_for_token(session, token)
        if session_id is not None:
            web_sessions.end_session(session, session_id)


async def redeem(request: Request) -> Response:
    """POST /_gw/session?code=…: set the HttpOnly cookie for a just-opened session."""
    if not _same_origin(request):
        return Response("cross-site request refused", status_code=403)
    token = await run_in_threadpool(_redeem, request.query_params.get("code", ""))
    if token is None:
        return Response("unknown or spent code", status_code=400)
    response = Response(status_code=204)
    response.set_cookie(
        web_sessions.COOKIE_NAME,
        token,
        max_age=get_settings().session_max_hours * 3600,
        **_cookie_attrs(request),
    )  # type: ignore[arg-type]
    return response


async def signout(request: Request) -> Response:
    """POST /_gw/signout: end the cookie's session (if the page has not already) and clear the cookie."""
    if not _same_origin(request):
        return Response("cross-site request refused", status_code=403)
    token = request.cookies.get(web_sessions.COOKIE_NAME)
    if token:
        await run_in_threadpool(_end_by_token, token)
    response = Response(status_code=204)
    response.delete_cookie(web_sessions.COOKIE_NAME, **_cookie_attrs(request))  # type: ignore[arg-type]
    return response


def routes() -> list[Route]:
    return [Route(REDEEM_PATH, redeem, methods=["POST"]), Route(SIGNOUT_PATH, signout, methods=["POST"])]
