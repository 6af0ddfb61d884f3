"""API clients: registered by an administrator with a name, a scope and allowed operations; a random key
shown once and stored hashed; rotate and revoke. An authenticated client acts as a manager ``Viewer`` of
its scope, so every domain rule and scope filter applies to it exactly as to a person.

Domain functions flush and never commit: the page, the CLI command or the API request owns the
transaction (core.db.unit_of_work).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core.api_operations import OPERATIONS
from core.audit import record
from core.clock import now as clock_now
from core.errors import GridwiseError
from core.models import OrgLevel, OrgUnit, Role, User
from core.models_api import ApiClient
from core.scope import ScopeError, Viewer
from core.sql import pipelined

KEY_PREFIX = "gw_"
_NAME = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{2,64}$")


class ApiClientError(GridwiseError):
    """A refused client registration or change, with what to fix (``core.err.api_client.…``)."""


@dataclass(frozen=True)
class Caller:
    """An authenticated client: its row's facts and the viewer it acts as."""

    client_id: int
    name: str
    operations: frozenset[str]
    viewer: Viewer


def _require_admin(viewer: Viewer) -> None:
    if not viewer.is_admin:
        raise ScopeError("scope.err.admin_api_clients")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _new_key() -> tuple[str, str]:
    """(key, prefix): "gw_<8 hex>.<43 url-safe chars>"; the prefix is the part before the dot."""
    prefix = KEY_PREFIX + secrets.token_hex(4)
    return f"{prefix}.{secrets.token_urlsafe(32)}", prefix


def _check_operations(operations: list[str] | tuple[str, ...] | set[str]) -> str:
    ops = sorted({o.strip() for o in operations if o and o.strip()})
    unknown = [o for o in ops if o not in OPERATIONS]
    if unknown:
        raise ApiClientError(
            "core.err.api_client.operations",
            unknown=", ".join(map(str, unknown)),
            known=", ".join(OPERATIONS),
        )
    if not ops:
        raise ApiClientError("core.err.api_client.no_operation")
    return ",".join(ops)


def _check_scope(session: Session, scope_unit_id: int | None) -> None:
    if scope_unit_id is None:
        return
    unit = session.get(OrgUnit, scope_unit_id)
    if unit is None or unit.level not in (OrgLevel.DISTRICT, OrgLevel.SUBDISTRICT, OrgLevel.COMMUNITY):
        raise ApiClientError("core.err.api_client.scope")


def create_client(
    session: Session,
    viewer: Viewer,
    *,
    name: str,
    scope_unit_id: int | None,
    operations: list[str] | tuple[str, ...] | set[str],
) -> tuple[ApiClient, str]:
    """Register a client; returns it and its key (shown once: only its hash is kept)."""
    _require_admin(viewer)
    name = (name or "").strip()
    if not _NAME.match(name):
        raise ApiClientError("core.err.api_client.name")
    if session.exec(select(ApiClient.id).where(ApiClient.name == name)).first() is not None:
        raise ApiClientError("core.err.api_client.exists", name=name)
    _check_scope(session, scope_unit_id)
    ops = _check_operations(operations)
    username = f"api:{name}"
    if session.exec(select(User.id).where(User.username == username)).first() is not None:
        raise ApiClientError("core.err.api_client.user_exists", username=username)
    user = User(
        username=username,
        display_name=username,
        password_hash="!api-client (no sign-in)",
        role=Role.MANAGER.value,
        scope_unit_id=scope_unit_id,
        is_active=False,
    )
    session.add(user)
    session.flush()
    key, prefix = _new_key()
    client = ApiClient(
        name=name,
        user_id=user.id or 0,
        scope_unit_id=scope_unit_id,
        operations=ops,
        key_prefix=prefix,
        key_hash=hash_key(key),
        created_by=viewer.user_id or None,
    )
    session.add(client)
    session.flush()
    record(
        session,
        "api.client.add",
        viewer=viewer,
        entity="api_client",
        entity_id=name,
        after={"scope_unit_id": scope_unit_id, "operations": ops},
    )
    return client, key


def _client(session: Session, name_or_id: str | int) -> ApiClient:
    stmt = (
        select(ApiClient).where(ApiClient.id == int(name_or_id))
        if isinstance(name_or_id, int)
        else select(ApiClient).where(ApiClient.name == str(name_or_id))
    )
    client = session.exec(stmt).first()
    if client is None:
        raise ApiClientError("core.err.api_client.none", name=name_or_id)
    return client


def rotate_key(session: Session, viewer: Viewer, client: str | int) -> str:
    """A new key for the client; the old one stops working when this transaction commits."""
    _require_admin(viewer)
    row = _client(session, client)
    if not row.is_active:
        raise ApiClientError("core.err.api_client.revoked", name=row.name)
    key, prefix = _new_key()
    row.key_prefix, row.key_hash, row.rotated_at = prefix, hash_key(key), clock_now()
    session.add(row)
    session.flush()
    record(session, "api.client.rotate", viewer=viewer, entity="api_client", entity_id=row.name)
    return key


def revoke(session: Session, viewer: Viewer, client: str | int) -> ApiClient:
    """Switch the client off for good (its key is refused from the next request on)."""
    _require_admin(viewer)
    row = _client(session, client)
    if row.is_active:
        row.is_active, row.revoked_at = False, clock_now()
        session.add(row)
        session.flush()
        record(session, "api.client.revoke", viewer=viewer, entity="api_client", entity_id=row.name)
    return row


def update_operations(
    session: Session, viewer: Viewer, client: str | int, operations: list[str] | tuple[str, ...] | set[str]
) -> ApiClient:
    _require_admin(viewer)
    row = _client(session, client)
    ops = _check_operations(operations)
    if ops != row.operations:
        record(
            session,
            "api.client.update",
            viewer=viewer,
            entity="api_client",
            entity_id=row.name,
            before={"operations": row.operations},
            after={"operations": ops},
        )
        row.operations = ops
        session.add(row)
        session.flush()
    return row


def clients_frame(session: Session, viewer: Viewer) -> pd.DataFrame:
    """Every client with its scope's name (never a key or its hash)."""
    _require_admin(viewer)
    cols: list[Any] = [
        ApiClient.id,
        ApiClient.name,
        ApiClient.scope_unit_id,
        OrgUnit.name_zh,
        OrgUnit.name_en,
        ApiClient.operations,
        ApiClient.key_prefix,
        ApiClient.is_active,
        ApiClient.created_at,
        ApiClient.rotated_at,
        ApiClient.revoked_at,
    ]
    rows = session.execute(
        sa_select(*cols)
        .join(OrgUnit, col(OrgUnit.id) == ApiClient.scope_unit_id, isouter=True)
        .order_by(ApiClient.name)
    ).all()
    return pd.DataFrame(
        rows,
        columns=[
            "id",
            "name",
            "scope_unit_id",
            "scope_zh",
            "scope_en",
            "operations",
            "key_prefix",
            "is_active",
            "created_at",
            "rotated_at",
            "revoked_at",
        ],
    )


def client_viewer(session: Session, client: ApiClient) -> Viewer:
    """The manager viewer a client acts as: its scope, its "api:<name>" account (audit entries, who marked …)."""
    level, unit_id = OrgLevel.DISTRICT, None
    if client.scope_unit_id is not None:
        unit = session.get(OrgUnit, client.scope_unit_id)
        if unit is None:
            raise ScopeError("scope.err.client_scope_gone")
        level = OrgLevel(unit.level)
        unit_id = unit.id if level != OrgLevel.DISTRICT else None
    return Viewer(
        user_id=client.user_id,
        role=Role.MANAGER,
        scope_level=level,
        scope_unit_id=unit_id,
        display_name=f"api:{client.name}",
    )


def authenticate(session: Session, key: str | None) -> Caller | None:
    """The active client holding ``key``, or None (unknown, malformed, rotated away or revoked). One query:
    the client's row by its key's prefix, with its scope unit's level (the viewer it acts as)."""
    if not key or not key.startswith(KEY_PREFIX) or "." not in key or len(key) > 200:
        return None
    prefix = key.split(".", 1)[0]
    found = pipelined(session, [(_BY_PREFIX, {"prefix": prefix})])[0]
    if not found:
        return None
    client_id, name, user_id, scope_unit_id, operations, is_active, key_hash, unit_level = found[0]
    if not is_active or not hmac.compare_digest(key_hash, hash_key(key)):
        return None
    if scope_unit_id is not None and unit_level is None:
        raise ScopeError("scope.err.client_scope_gone")
    level = OrgLevel(unit_level) if unit_level is not None else OrgLevel.DISTRICT
    viewer = Viewer(
        user_id=user_id,
        role=Role.MANAGER,
        scope_level=level,
        scope_unit_id=scope_unit_id if level != OrgLevel.DISTRICT else None,
        display_name=f"api:{name}",
    )
    ops = frozenset(o for o in operations.split(",") if o)
    return Caller(client_id or 0, name, ops, viewer)


# The client holding a key, by the key's prefix, with its scope unit's level: built once (core.sql.pipelined).
_BY_PREFIX = (
    sa_select(
        col(ApiClient.id),
        col(ApiClient.name),
        col(ApiClient.user_id),
        col(ApiClient.scope_unit_id),
        col(ApiClient.operations),
        col(ApiClient.is_active),
        col(ApiClient.key_hash),
        col(OrgUnit.level),
    )
    .join(OrgUnit, col(OrgUnit.id) == ApiClient.scope_unit_id, isouter=True)
    .where(col(ApiClient.key_prefix) == bindparam("prefix"))
)
