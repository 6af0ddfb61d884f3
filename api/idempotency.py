"""``Idempotency-Key``: a retried POST writes nothing twice and gets the same response.

The key is reserved (a row unique per client and key) in the request's own transaction before the work
runs, and the response is stored in that row before the transaction commits. A second request with the
key finds the stored response; one racing the first waits on the unique index and then finds it (or is
told to retry if the first is still running). A refused request stores nothing, so it may be corrected
and sent again under the same key. The same key with a different body is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from api.errors import ApiError
from core.clock import now as clock_now
from core.models_api import ApiIdempotency

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
) -> tuple[int, dict[str, Any], bool]:
    """(status, response, replayed): ``work()``'s answer, or the answer stored for this key."""
    if key is None:
        status, response = work()
        return status, response, False
    if not (0 < len(key) <= 128) or not key.isprintable():
        raise ApiError(
            400,
            "bad_idempotency_key",
            "Idempotency-Key must be 1–128 printable characters",
            "Idempotency-Key 须为 1–128 个可打印字符",
            field="Idempotency-Key",
        )
    digest = request_hash(method, path, body)

    def find() -> ApiIdempotency | None:
        return session.exec(
            select(ApiIdempotency).where(ApiIdempotency.client_id == client_id, ApiIdempotency.key == key)
        ).first()

    def replay(row: ApiIdempotency) -> tuple[int, dict[str, Any], bool] | None:
        if row.request_hash != digest:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request; use a new key",
                "该 Idempotency-Key 已用于另一个不同的请求，请换一个新的键",
                field="Idempotency-Key",
            )
        if row.status_code is not None:
            return (*_stored(row), True)
        if clock_now() - row.created_at < STALE_AFTER:
            raise ApiError(
                409,
                "idempotency_in_progress",
                "a request with this Idempotency-Key is still running; retry shortly",
                "使用该 Idempotency-Key 的请求仍在处理中，请稍后重试",
                field="Idempotency-Key",
                headers={"Retry-After": "1"},
            )
        return None

    row = find()
    if row is not None:
        answer = replay(row)
        if answer is not None:
            return answer
    else:
        row = ApiIdempotency(
            client_id=client_id, key=key, method=method, path=path[:200], request_hash=digest
        )
        session.add(row)
        try:
            session.flush()  # PostgreSQL: waits here while another transaction holds the same key
        except IntegrityError:
            session.rollback()
            row = find()
            if row is None:
                raise
            answer = replay(row)
            if answer is not None:
                return answer
    status, response = work()
    row.status_code, row.response = status, json.dumps(response, ensure_ascii=False, default=str)
    session.add(row)
    session.flush()
    return status, response, False
