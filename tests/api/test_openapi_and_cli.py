"""The API's own description and its command line: the OpenAPI document validates and lists exactly the
routes the application serves; `gridwise api-client` registers, lists, rotates and revokes keys."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from openapi_spec_validator import validate
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.app import create_app
from core.models_api import ApiClient


def test_the_openapi_document_validates_and_matches_the_routes(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that /api/v1/openapi.json (served when GRIDWISE_API_DOCS is on) is a valid OpenAPI 3 document
    naming every route and no other."""
    from fastapi.testclient import TestClient

    from core.settings import get_settings

    monkeypatch.setenv("GRIDWISE_API_DOCS", "true")
    get_settings.cache_clear()
    app = create_app(engine)
    get_settings.cache_clear()
    with TestClient(app) as c:
        doc = c.get("/api/v1/openapi.json").json()
        assert c.get("/api/v1/docs").status_code == 200
    validate(doc)
    served = {(r.path, m.lower()) for r in _api_routes(app.routes) for m in r.methods}
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert documented == served
    assert all(path.startswith("/api/v1/") for path, _ in served)
    assert "HTTPBearer" in doc["components"]["securitySchemes"]
    with TestClient(app) as c:  # every documented operation is routed: without a key it asks for one
        for path, method in documented - {("/api/v1/health", "get")}:
            url = (
                path.replace("{event_no}", "E1")
                .replace("{task_id}", "event:1")
                .replace("{period}", "2020-06")
                .replace("{employee_no}", "A00")
            )
            assert c.request(method, url, json={}).status_code == 401, (method, path)


def _api_routes(routes: list) -> list[APIRoute]:
    """APIRoutes, also those of included routers (FastAPI wraps an included router in one entry)."""
    out: list[APIRoute] = []
    for r in routes:
        if isinstance(r, APIRoute):
            out.append(r)
        elif hasattr(r, "original_router"):
            out += _api_routes(r.original_router.routes)
    return out


def test_the_api_client_command_registers_rotates_and_revokes(
    engine: Engine, session: Session, monkeypatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Test that `gridwise api-client add/list/rotate/revoke` print the key once and keep only its hash."""
    from core import cli
    from tests.factories import make_org

    org = make_org(session)
    monkeypatch.setattr("core.db.get_engine", lambda url=None: engine)
    assert (
        cli.main(
            [
                "api-client",
                "add",
                "platform",
                "--scope",
                org.comm_a.code,
                "--operations",
                "events.write,events.read",
            ]
        )
        == 0
    )
    key = capsys.readouterr().out.strip()
    session.expire_all()
    row = session.exec(select(ApiClient).where(ApiClient.name == "platform")).one()
    assert key.startswith(row.key_prefix + ".") and key not in (row.key_hash, row.operations)
    assert row.scope_unit_id == org.comm_a.id and row.operations == "events.read,events.write"
    assert cli.main(["api-client", "list"]) == 0
    listed = capsys.readouterr().out
    assert "platform" in listed and key not in listed
    assert cli.main(["api-client", "rotate", "platform"]) == 0
    assert capsys.readouterr().out.strip() != key
    assert cli.main(["api-client", "revoke", "platform"]) == 0
    session.expire_all()
    assert session.exec(select(ApiClient.is_active).where(ApiClient.name == "platform")).one() is False
    assert cli.main(["api-client", "add", "bad", "--operations", "events.delete"]) == 2
