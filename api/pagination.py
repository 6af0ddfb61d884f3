"""Opaque cursors for keyset pages: base64url of JSON [time, id] of the last row returned."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from api.errors import catalog_error


def encode(at: datetime, row_id: int) -> str:
    raw = json.dumps([at.isoformat(), int(row_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, row_id = json.loads(raw)
        return datetime.fromisoformat(at), int(row_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise catalog_error(400, "bad_cursor", "api.error.bad_cursor", field="cursor") from exc
