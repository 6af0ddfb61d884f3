"""The API's responses carry the security headers, its docs are off unless turned on, and HSTS is sent only
over HTTPS as the trusted proxy reports it (core.http_security, issue #18 item 7)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from core.settings import get_settings


def _headers_ok(headers) -> None:  # noqa: ANN001
    assert headers["content-security-policy"].startswith("default-src 'none'")
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_every_api_answer_has_the_headers_and_the_docs_are_off(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that a success, a refusal (no key) and an unknown path all carry the headers, and that
    /api/v1/docs and openapi.json answer 404 by default."""
    monkeypatch.delenv("GRIDWISE_API_DOCS", raising=False)
    get_settings.cache_clear()  # a test that turned the docs on may have left its settings cached
    with TestClient(create_app(engine)) as c:
        for path in ("/api/v1/health", "/api/v1/events", "/nowhere"):
            _headers_ok(c.get(path).headers)
        assert c.get("/api/v1/docs").status_code == 404
        assert c.get("/api/v1/openapi.json").status_code == 404
        assert "strict-transport-security" not in c.get("/api/v1/health").headers  # plain HTTP


def test_hsts_only_over_https_as_the_trusted_proxy_says(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that X-Forwarded-Proto: https from a trusted proxy brings HSTS, from anyone else it does not, and
    a direct HTTPS connection does."""
    app = create_app(engine)
    https = {"X-Forwarded-Proto": "https"}
    monkeypatch.setenv("GRIDWISE_TRUSTED_PROXIES", "testclient")  # not an address: trusts nobody
    get_settings.cache_clear()
    with TestClient(app) as c:
        assert "strict-transport-security" not in c.get("/api/v1/health", headers=https).headers
    with TestClient(app, base_url="https://grid.example") as c:
        assert c.get("/api/v1/health").headers["strict-transport-security"].startswith("max-age=31536000")
    get_settings.cache_clear()


def test_the_docs_page_opens_when_turned_on(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Test that with GRIDWISE_API_DOCS=true the docs page and openapi.json are served, the page with the
    policy that lets Swagger's CDN script run (and still no framing)."""
    monkeypatch.setenv("GRIDWISE_API_DOCS", "true")
    get_settings.cache_clear()
    app = create_app(engine)
    get_settings.cache_clear()
    with TestClient(app) as c:
        page = c.get("/api/v1/docs")
        assert page.status_code == 200 and c.get("/api/v1/openapi.json").status_code == 200
        assert "https://cdn.jsdelivr.net" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
