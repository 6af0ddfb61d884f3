"""``Idempotency-Key``: a retried POST writes nothing twice and gets the same response.

The key is reserved (a row unique per client and key) in the request's own transaction before the work
runs, and the response is stored in that row before the transaction commits. A second request with the
key finds the stored response; one racing the first waits on the unique index and then finds it (or is
told to retry if the first is still running). A refused request stores nothing, so it may be corrected
and sent again under the same key. The same key with a different body is refused.

The reservation is ``INSERT … ON CONFLICT DO NOTHING``: a key already taken is no error, so the caller's
transaction (and whatever it wrote before) is never rolled back here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from api.errors import catalog_error
from core.clock import now as clock_now
from core.models_api import ApiIdempotency
from core.sql import Statement, pipelined

STALE_AFTER = timedelta(minutes=2)  # a reservation without a response this old: its request died; run again


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def _stored(row: ApiIdempotency) -> tuple[int, dict[str, Any]]:
    return int(row.status_code or 200), json.loads(row.response or "{}")


def run_once(
    session: Session,
    *,
    client_id: int,
    key: str | None,
    method: str,
    path: str,
    body: bytes,
    work: Callable[[], tuple[int, dict[str, Any]]],
    defer: Callable[[Statement], None] | None = None,
) -> tuple[int, dict[str, Any], bool]:
    """(status, response, replayed): ``work()``'s answer, or the answer stored for this key. ``defer``: how
    to send the write storing the response when nothing follows it that reads it (api.context.Call.defer:
    with the request's audit entry); without it, at once."""
    if key is None:
        status, response = work()
        return status, response, False
    if not (0 < len(key) <= 128) or not key.isprintable():
        raise catalog_error(
            400, "bad_idempotency_key", "api.error.bad_idempotency_key", field="Idempotency-Key"
        )
    digest = request_hash(method, path, body)

    def find() -> ApiIdempotency | None:
        return session.exec(
            select(ApiIdempotency).where(ApiIdempotency.client_id == client_id, ApiIdempotency.key == key)
        ).first()

    def replay(row: ApiIdempotency) -> tuple[int, dict[str, Any], bool] | None:
        if row.request_hash != digest:
            raise catalog_error(
                422, "idempotency_key_reused", "api.error.idempotency_key_reused", field="Idempotency-Key"
            )
        if row.status_code is not None:
            return (*_stored(row), True)
        if clock_now() - row.created_at < STALE_AFTER:
            raise catalog_error(
                409,
                "idempotency_in_progress",
                "api.error.idempotency_in_progress",
                field="Idempotency-Key",
                headers={"Retry-After": "1"},
            )
        return None

    row_id = _reserve(session, client_id=client_id, key=key, method=method, path=path, digest=digest)
    if row_id is None:
        taken = find()  # PostgreSQL: the insert waited for a racing request's transaction to end
        if taken is None:  # pragma: no cover - a reservation that was there a moment ago cannot vanish
            raise RuntimeError("idempotency key neither inserted nor found")
        answer = replay(taken)
        if answer is not None:
            return answer
        row_id = taken.id  # a stale reservation (its request died): run again under it
    status, response = work()
    store = (
        _STORE,
        {
            "row_id": row_id,
            "status_code": status,
            "response": json.dumps(response, ensure_ascii=False, default=str),
        },
    )
    if defer is not None:
        defer(store)
    else:  # Core, on the connection: the ORM's bulk-update machinery costs more
        session.connection().execute(*store)
    return status, response, False


_TABLE = ApiIdempotency.__table__  # type: ignore[attr-defined]  # SQLModel sets __table__
_STORE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"))
    .values(status_code=bindparam("status_code"), response=bindparam("response"))
)
_RESERVED = ("client_id", "key", "method", "path", "request_hash", "created_at")  # the columns bound
_RESERVE = {
    name: insert(_TABLE)
    .values({c: bindparam(c) for c in _RESERVED})
    .on_conflict_do_nothing(index_elements=["client_id", "key"])
    .returning(_TABLE.c.id)
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


def _reserve(
    session: Session, *, client_id: int, key: str, method: str, path: str, digest: str
) -> int | None:
    """Insert the key's row unless the (client, key) is taken: its id, or None when it was taken."""
    row = {"client_id": client_id, "key": key, "method": method, "path": path[:200], "request_hash": digest}
    stmt = _RESERVE[session.get_bind().dialect.name]
    found = pipelined(session, [(stmt, {**row, "created_at": clock_now()})])[0]  # core.sql: SQL compiled once
    return found[0][0] if found else None
