"""Whose X-Forwarded-* headers are believed (core.http_security): the trusted proxy's only."""

from __future__ import annotations

from core.http_security import app_csp, client_address, over_https, streamlit_inline_script_hashes


def _scope(peer: str, **headers: str) -> dict:
    return {
        "type": "http",
        "scheme": "http",
        "client": (peer, 40000),
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
    }


def test_https_and_the_client_address_come_from_the_trusted_proxy_only():
    """Test that X-Forwarded-Proto/-For from 127.0.0.1 (the default trusted proxy) are believed, and the same
    headers from any other peer are ignored."""
    assert over_https(_scope("127.0.0.1", x_forwarded_proto="https"))
    assert not over_https(_scope("127.0.0.1", x_forwarded_proto="http"))
    assert not over_https(_scope("10.1.2.3", x_forwarded_proto="https"))
    assert client_address(_scope("127.0.0.1", x_forwarded_for="6.6.6.6, 203.0.113.9")) == "203.0.113.9"
    assert client_address(_scope("10.1.2.3", x_forwarded_for="203.0.113.9")) == "10.1.2.3"


def test_the_app_policy_allows_streamlits_inline_script_by_hash_not_any_inline_script():
    """Test that the app's CSP names the hash of Streamlit's one inline script and never 'unsafe-inline'
    for scripts, and forbids framing."""
    csp = dict(part.split(" ", 1) for part in app_csp().split("; "))
    hashes = streamlit_inline_script_hashes()
    assert hashes and all(h in csp["script-src"] for h in hashes)
    assert "'unsafe-inline'" not in csp["script-src"]
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
