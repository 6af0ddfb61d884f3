"""Who is calling and the one transaction of their request.

``allow("events.write")`` is the dependency every endpoint declares: it reads the bearer key and hands the
endpoint a ``Call``, whose admission — find the client (core.api_clients.authenticate), check the operation
and the client's rate — runs in the endpoint's own worker thread when the endpoint first asks who is
calling (``call.caller``, ``call.viewer``, ``call.unit_of_work()``): one trip through the thread pool per
request, not one for the key and another for the endpoint. A request refused before that (a body or a
header the schema refuses, a batch too large) is admitted first by the error handlers
(``admit_before_refusal``), so an unknown key is still answered 401 and a refused known client's call is
audited as before. The key is checked in the request's own database session (``request_session``), and
``call.unit_of_work()`` continues that session's transaction (core.db.unit_of_work): one transaction per
request — the key's check (a revoked key is refused from the next request on, nothing about keys is
cached), the domain functions' writes and the call's audit entry ("api.<operation>", under
"api:<client>") — committed before the response is sent, or rolled back on any refusal.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.errors import catalog_error
from core.api_clients import Caller, authenticate
from core.audit import record, record_row
from core.client_address import client_address
from core.db import unit_of_work
from core.errors import InternalError
from core.sql import Statement

bearer = HTTPBearer(auto_error=False, description="The client's key: `Authorization: Bearer gw_….…`")


class RateLimiter:
    """A token bucket per client (in this process): ``rate`` requests a second, ``burst`` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[object, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, who: object) -> float:
        """0 when allowed; otherwise the seconds until the next request would be."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(who, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[who] = (tokens - 1.0, now)
                return 0.0
            self._buckets[who] = (tokens, now)
            return (1.0 - tokens) / self.rate if self.rate > 0 else 60.0


async def request_session(request: Request) -> AsyncIterator[Session]:
    """The request's database session, shared by the key's check and the request's unit of work. Closed
    when the request ends; a request refused after its key was checked but before its unit of work ran
    (a body the schema refuses) still holds the check's read transaction, which closing rolls back (in a
    worker thread: it talks to the database)."""
    session = Session(request.app.state.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


@dataclass
class Call:
    request: Request
    operation: str
    session: Session
    key: str | None = field(default=None, repr=False)
    # Writes of the request whose results nobody reads (the idempotency row's response): sent with the
    # audit entry's first round trip instead of one of their own (core.audit_chain.seal_entry).
    deferred: list[Statement] = field(default_factory=list)
    _caller: Caller | None = field(default=None, repr=False)
    checked: bool = field(default=False, repr=False)  # admission ran (admitted, or refused)

    @property
    def caller(self) -> Caller:
        """The admitted client: admitted here on first use, in the calling (worker) thread; a refusal ends
        the check's read transaction and raises."""
        if self._caller is None:
            if self.checked:  # refused already: nothing of the request runs for it
                raise InternalError("a refused call is not admitted")
            self.checked = self.request.state.checked = True
            try:
                self._caller = _admit(self.request, self.key, self.operation, self.session)
            except BaseException:
                self.session.close()  # refused: the check's read transaction ends here, in this thread
                raise
        return self._caller

    @property
    def engine(self) -> Engine:
        return self.request.app.state.engine

    @property
    def viewer(self):  # noqa: ANN201 - core.scope.Viewer
        return self.caller.viewer

    def defer(self, statement: Statement) -> None:
        self.deferred.append(statement)

    @contextmanager
    def unit_of_work(
        self, *, entity: str = "", entity_id: object = "", detail: dict | None = None
    ) -> Iterator[Session]:
        """The request's transaction, with its audit entry, which commits it (with the deferred writes,
        two round trips on PostgreSQL). On SQLite (one writer at a time) this process's writes queue on a
        lock instead of in SQLite's busy handler, which is unfair and gives up after the busy timeout;
        other processes' writers still wait in the busy handler."""
        caller = self.caller  # admitted before anything is read or written for it
        serial = self.request.app.state.sqlite_writes if self.operation.endswith(".write") else nullcontext()
        with serial, unit_of_work(session=self.session) as session:
            self.deferred.clear()
            yield session
            record_row(
                session,
                f"api.{self.operation}",
                viewer=caller.viewer,
                address=caller_address(self.request),
                entity=entity or "api",
                entity_id=entity_id,
                detail={
                    "method": self.request.method,
                    "path": self.request.url.path,
                    "client": caller.name,
                    **(detail or {}),
                },
                before_entry=self.deferred,
                commit=True,
            )


def caller_address(request: Request) -> str:
    """The calling system's address for the audit trail: the peer, or the trusted proxy's header."""
    return client_address(request.client.host if request.client else "", request.headers)


def _refuse_unknown(request: Request) -> None:
    wait = request.app.state.anonymous_limiter.take(caller_address(request) or "?")
    if wait:
        raise catalog_error(
            429,
            "rate_limited",
            "api.error.anonymous_rate",
            headers={"Retry-After": f"{max(1, round(wait))}"},
            wait=f"{wait:.1f}",
        )
    raise catalog_error(
        401, "unauthenticated", "api.error.unauthenticated", headers={"WWW-Authenticate": "Bearer"}
    )


def check_key(session: Session, key: str | None) -> Caller | None:
    """The key's client (core.api_clients.authenticate), the request's first statement. The API's engine
    does not ping a pooled connection before using it (api.app): when the server dropped it (a restart
    drops them all), the pool is renewed and the key checked again on a new connection (nothing was
    written yet)."""
    try:
        return authenticate(session, key)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    bind = session.get_bind()
    session.close()
    if isinstance(bind, Engine):
        bind.dispose()  # the other pooled connections died with it: a new pool
    return authenticate(session, key)


def _admit(request: Request, key: str | None, operation: str, session: Session) -> Caller:
    caller = check_key(session, key)
    if caller is None:
        _refuse_unknown(request)
        raise AssertionError("unreachable")
    request.state.caller = caller
    request.state.operation = operation
    wait = request.app.state.limiter.take(caller.client_id)
    if wait:
        raise catalog_error(
            429,
            "rate_limited",
            "api.error.rate_limited",
            headers={"Retry-After": f"{max(1, round(wait))}"},
            rate=f"{request.app.state.limits.rate_per_second:g}",
            wait=f"{wait:.2f}",
        )
    if operation not in caller.operations:
        raise catalog_error(
            403,
            "operation_not_allowed",
            "api.error.operation_not_allowed",
            name=caller.name,
            operation=operation,
        )
    return caller


def allow(operation: str) -> Callable[..., Awaitable[Call]]:
    """The dependency for an endpoint needing ``operation`` (one of core.api_clients.OPERATIONS). A
    coroutine that touches no database: the call is admitted in the endpoint's worker thread (``Call``)."""

    async def dependency(
        request: Request,
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        session: Annotated[Session, Depends(request_session)],
    ) -> Call:
        key = creds.credentials if creds else None
        request.state.admission = (key, operation)  # plain values: the request's state holds no Call
        return Call(request, operation, session, key)

    return dependency


def _admit_alone(request: Request, key: str | None, operation: str) -> None:
    """Admit a call whose request was refused before its endpoint asked (its session is closed by now):
    in a session of its own, rolled back at once."""
    request.state.checked = True
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        _admit(request, key, operation, session)


async def admit_before_refusal(request: Request) -> None:
    """The errors' hook (api.errors.install): a request refused before its call was admitted (a body or a
    header the schema refuses, a check made before the endpoint asked who calls) is admitted first, so
    an unknown key, a client over its rate or without the operation is refused for that, as it would be
    before any other check, and a known client's refusal is audited under its name."""
    admission = getattr(request.state, "admission", None)
    if admission is not None and not getattr(request.state, "checked", False):
        await run_in_threadpool(_admit_alone, request, *admission)


def audit_refusal(request: Request, status: int, code: str) -> None:
    """Record a refused call of a known client in its own small transaction (the request's rolled back).
    Rate-limit refusals are not recorded: a flood must not turn into a flood of writes."""
    caller: Caller | None = getattr(request.state, "caller", None)
    if caller is None or status == 429:
        return
    try:
        with unit_of_work(request.app.state.engine) as session:
            record(
                session,
                f"api.{getattr(request.state, 'operation', 'call')}.refused",
                viewer=caller.viewer,
                address=caller_address(request),
                entity="api",
                detail={
                    "method": request.method,
                    "path": request.url.path,
                    "status": status,
                    "code": code,
                    "client": caller.name,
                },
            )
    except Exception:  # noqa: BLE001 - the refusal is answered even when its audit row cannot be written
        logging.getLogger("api").exception("could not audit a refused call")
