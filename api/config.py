"""Limits of the API process, from the environment (``GRIDWISE_API_*``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime


def _num(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


@dataclass(frozen=True)
class ApiLimits:
    max_body_bytes: int = 5 * 1024 * 1024  # a request body larger than this is refused (413)
    rate_per_second: float = 20.0  # sustained requests per client per second (token bucket) …
    burst: int = 60  # … with this many at once
    refused_rate: float = 2.0  # requests/s with a refused key, per remote address …
    refused_burst: int = 20  # … with this many at once (then 429)
    max_batch: int = 5000  # events per bulk upload (larger: use the file import)
    page_limit: int = 500  # largest page of a list endpoint
    earliest: datetime = datetime(2000, 1, 1)  # a received time before this is refused (422) …
    max_ahead_hours: float = 24.0  # … and so is one more than this many hours after now

    @classmethod
    def from_env(cls) -> ApiLimits:
        return cls(
            max_body_bytes=int(_num("GRIDWISE_API_MAX_BODY_BYTES", cls.max_body_bytes)),
            rate_per_second=_num("GRIDWISE_API_RATE_PER_SECOND", cls.rate_per_second),
            burst=int(_num("GRIDWISE_API_BURST", cls.burst)),
            refused_rate=_num("GRIDWISE_API_REFUSED_RATE", cls.refused_rate),
            refused_burst=int(_num("GRIDWISE_API_REFUSED_BURST", cls.refused_burst)),
            max_batch=int(_num("GRIDWISE_API_MAX_BATCH", cls.max_batch)),
            earliest=datetime.fromisoformat(os.environ.get("GRIDWISE_API_EARLIEST") or "2000-01-01"),
            max_ahead_hours=_num("GRIDWISE_API_MAX_AHEAD_HOURS", cls.max_ahead_hours),
        )
