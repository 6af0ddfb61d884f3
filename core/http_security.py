"""Security headers on every HTTP response of the app and the API (等保 2.0 入侵防范; issue #18 item 7).

One pure ASGI middleware, ``SecurityHeaders``, used by both servers: the Streamlit app through ``st.App``'s
public ``middleware=`` argument (ui/server.py) and the FastAPI app with ``add_middleware`` (api/app.py). It
adds, to every ``http`` response that does not set them itself:

- ``Content-Security-Policy`` (the app's ``APP_CSP``, the API's ``API_CSP``; see each for why every
  source is there), with ``frame-ancestors 'none'``, and ``X-Frame-Options: DENY`` for older browsers;
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``, a ``Permissions-Policy`` that
  turns off what Gridwise never uses;
- ``Strict-Transport-Security`` only when the request came over HTTPS: the connection's own scheme, or
  ``X-Forwarded-Proto: https`` from a trusted proxy (``GRIDWISE_TRUSTED_PROXIES``; a header from anyone
  else is ignored). HSTS over plain HTTP is meaningless and would be ignored by browsers anyway.

Websocket upgrades carry no page, so they pass untouched.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import ipaddress
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.settings import get_settings

HSTS = "max-age=31536000; includeSubDomains"
# The one script a page emits (ui.session_cookie: hand the one-time sign-in code to the cookie route, or ask
# it to clear the cookie). Always the same text, so the policy allows it by its hash and never allows inline
# script in general; what it posts comes from the data-gw-post attribute beside it.
HANDOVER_SCRIPT = (
    "document.querySelectorAll('[data-gw-post]:not([data-gw-done])').forEach(function (e) {"
    " e.setAttribute('data-gw-done', '1');"
    " fetch(e.getAttribute('data-gw-post'), {method: 'POST', credentials: 'same-origin'}); });"
)
# The phone menu (ui.guard.sidebar): on a narrow screen a choice in the sidebar menu (a page, or signing out)
# also closes the sidebar, as Streamlit's own page list does (its st.page_link does not, and the open/closed
# state is kept in the browser, where st.set_page_config cannot reach it). Installed once per document; it
# presses Streamlit's own collapse button, so the closed state is remembered as if the user had pressed it.
# Fixed text too, allowed by its hash.
MENU_SCRIPT = (
    "if (!window.gwMenu) { window.gwMenu = 1;"
    " document.addEventListener('click', function (e) {"
    " var t = e.target.closest ? e.target.closest("
    "'[data-testid=stSidebar] [data-testid=stPageLink-NavLink], [data-testid=stSidebar] .st-key-gw_sign_out') : null;"
    " if (!t || !window.matchMedia('(max-width: 767.98px)').matches) return;"
    " var b = document.querySelector('[data-testid=stSidebarCollapseButton] button');"
    " if (b) b.click(); }, true); }"
)


def script_hash(body: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode() + "'"


@lru_cache(maxsize=1)
def streamlit_inline_script_hashes() -> tuple[str, ...]:
    """CSP hashes of the inline scripts in the installed Streamlit's index.html (1.67 has one:
    ``window.prerenderReady = false``), computed from the file so an upgrade cannot silently break the page."""
    spec = importlib.util.find_spec("streamlit")
    if spec is None or spec.origin is None:
        return ()
    index = Path(spec.origin).parent / "static" / "index.html"
    if not index.exists():
        return ()
    html = index.read_text(encoding="utf-8")
    return tuple(
        script_hash(body)
        for body in re.findall(r"<script(?:\s[^>]*)?>(.*?)</script>", html, re.S)
        if body.strip()
    )


def app_csp() -> str:
    """The Streamlit app's policy, the tightest under which every page works (tests/e2e/test_page_tour.py walks
    every page as each role and records no violation):

    - ``default-src 'self'``: nothing from other hosts; Streamlit serves its bundle, fonts and media itself.
    - ``script-src 'self'`` + the hashes of index.html's one inline script, of ``HANDOVER_SCRIPT`` (the
      sign-in cookie hand-over) and of ``MENU_SCRIPT`` (the phone menu closing after a choice) +
      ``'wasm-unsafe-eval'``: Streamlit's bundle compiles WebAssembly (reported as a ``wasm-eval`` violation from protobuf.js on every page without it). Not ``'unsafe-eval'``: the
      altair/Vega charts draw without it (measured on 1.67 by the test below), and not ``'unsafe-inline'``,
      so user text can never run as script.
    - ``style-src 'self' 'unsafe-inline'``: Streamlit's components style themselves at run time (emotion
      inserts <style> elements and style attributes); styles cannot run code.
    - ``img-src 'self' data: blob:``: icons and charts as data URLs, downloads and images as blob URLs.
    - ``font-src 'self' data:``: the bundled fonts, some inlined as data URLs.
    - ``connect-src 'self'``: the websocket and the app's own endpoints (CSP 3 lets 'self' match ws/wss).
    - ``worker-src 'self' blob:``: web workers created from blobs by the bundle.
    - ``frame-src 'self'``: Streamlit's own component iframes, never another site.
    - ``frame-ancestors 'none'``: no site may frame Gridwise (clickjacking); ``object-src 'none'``,
      ``base-uri 'self'``, ``form-action 'self'``.
    """
    scripts = " ".join(
        (
            "'self'",
            *streamlit_inline_script_hashes(),
            script_hash(HANDOVER_SCRIPT),
            script_hash(MENU_SCRIPT),
            "'wasm-unsafe-eval'",
        )
    )
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "frame-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
        )
    )


# The API answers JSON: nothing in a response may load or run anything, or be framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The API's interactive docs (only when GRIDWISE_API_DOCS is on): FastAPI's Swagger page loads its script and
# style from the jsDelivr CDN and starts them with an inline script.
API_DOCS_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
PERMISSIONS = "microphone=(), payment=(), usb=(), interest-cohort=()"


@lru_cache(maxsize=8)
def _proxy_networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """The trusted proxies' networks, parsed once per setting (an entry that is no network is skipped)."""
    networks = []
    for entry in proxies:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    return tuple(networks)


def _trusted(host: str | None, proxies: Iterable[str]) -> bool:
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in _proxy_networks(tuple(proxies)))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def over_https(scope: Scope) -> bool:
    """Whether the request reached the site over HTTPS: its own scheme, or the trusted proxy says so."""
    if scope.get("scheme") in ("https", "wss"):
        return True
    client = scope.get("client")
    if not _trusted(client[0] if client else None, get_settings().trusted_proxies.split(",")):
        return False
    proto = _header(scope, b"x-forwarded-proto") or ""
    return proto.split(",")[0].strip().lower() == "https"


def client_address(scope: Scope) -> str | None:
    """The client's address: the connection's peer, or, when that peer is a trusted proxy, the last address
    the proxy appended to X-Forwarded-For (a header from anyone else is ignored)."""
    client = scope.get("client")
    peer = client[0] if client else None
    if _trusted(peer, get_settings().trusted_proxies.split(",")):
        forwarded = _header(scope, b"x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[-1].strip() or peer
    return peer


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response (see the module docstring).

    ``csp`` is the policy; ``csp_for`` may return another for a path (the API's docs page)."""

    def __init__(self, app: ASGIApp, csp: str | None = None, docs_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.csp = csp or app_csp()
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = API_DOCS_CSP if scope.get("path") in self.docs_paths else self.csp
        extra = [
            (b"content-security-policy", csp.encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"permissions-policy", PERMISSIONS.encode()),
        ]
        if over_https(scope):
            extra.append((b"strict-transport-security", HSTS.encode()))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in extra if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
