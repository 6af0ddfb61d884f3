"""The API process: ``create_app()`` builds the FastAPI application (tests pass their own engine)."""

from __future__ import annotations

import json
import threading
from contextlib import nullcontext
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.config import ApiLimits
from api.context import RateLimiter, admit_before_refusal, audit_refusal
from api.fields import CURRENT_LIMITS
from api.routes import router
from api.schemas import ErrorOut, Health
from core.db import is_sqlite, make_engine
from core.http_security import API_CSP, SecurityHeaders
from core.instance import check_instance
from core.settings import get_settings

DESCRIPTION = """Gridwise for other systems: events in as they happen, assignments and scores out.

Authenticate with a client key an administrator registered (page *API clients* or
`gridwise api-client add`): `Authorization: Bearer gw_….…`. A client acts within its scope (district,
subdistrict or community) and only for its allowed operations. Writes accept an `Idempotency-Key` header.
Every error has the shape `{code, message_zh, message_en, field, row}` (bulk refusals add `errors`, one per
row: `index` from 0 in the array, `row` = index + 2 as in a file whose header is row 1).

Times: every time sent carries its offset (`2020-06-01T09:00:00+08:00`, the district's zone). A time
received may carry any offset (it is converted); one without an offset is Shanghai wall-clock time. A
received time must lie between `GRIDWISE_API_EARLIEST` (2000-01-01) and now + `GRIDWISE_API_MAX_AHEAD_HOURS`
(24). Text fields refuse control characters. A record outside the client's scope is answered exactly as
one that does not exist (404).
"""


class BodyLimit:
    """Refuse a request body over ``limit`` bytes with 413, whether it declares its length or streams."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        refusal = errors.catalog_error(413, "body_too_large", "api.error.body_too_large", limit=self.limit)
        body = json.dumps(refusal.body(), ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class WithLimits:
    """Make the app's limits those of the request (api.fields reads the accepted time window there)."""

    def __init__(self, app: ASGIApp, limits: ApiLimits) -> None:
        self.app, self.limits = app, limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = CURRENT_LIMITS.set(self.limits)
        try:
            await self.app(scope, receive, send)
        finally:
            CURRENT_LIMITS.reset(token)


def _own_engine() -> Engine:
    """The API process's engine: the configured database, without a ping before each use of a pooled
    connection (a round trip on every request); a request that finds its connection dropped (a database
    restart) renews the pool and checks its key again on a new one (api.context.check_key)."""
    return make_engine(get_settings().database_url, pre_ping=False)


def create_app(engine: Engine | None = None, limits: ApiLimits | None = None) -> FastAPI:
    limits = limits or ApiLimits.from_env()
    docs = get_settings().api_docs  # the docs page and openapi.json: off unless GRIDWISE_API_DOCS is on
    app = FastAPI(
        title="Gridwise API",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_url="/api/v1/openapi.json" if docs else None,
        docs_url="/api/v1/docs" if docs else None,
        redoc_url=None,
    )
    app.state.engine = engine or _own_engine()
    check_instance(app.state.engine)  # a production API does not start beside demo accounts
    app.state.limits = limits
    app.state.limiter = RateLimiter(limits.rate_per_second, limits.burst)
    app.state.anonymous_limiter = RateLimiter(limits.refused_rate, limits.refused_burst)  # per address
    app.state.sqlite_writes = threading.Lock() if is_sqlite(app.state.engine) else nullcontext()
    errors.install(app, on_refusal=audit_refusal, before_refusal=admit_before_refusal)
    app.include_router(router)

    @app.get(
        "/api/v1/health",
        response_model=Health,
        responses={503: {"model": ErrorOut}, 500: {"model": ErrorOut}},
        tags=["meta"],
        summary="Liveness: the process answers and the database is reachable",
    )
    def health() -> dict[str, Any]:
        with app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok"}

    app.add_middleware(BodyLimit, limit=limits.max_body_bytes)
    app.add_middleware(WithLimits, limits=limits)
    app.add_middleware(SecurityHeaders, csp=API_CSP, docs_paths=("/api/v1/docs",))  # core.http_security
    return app
