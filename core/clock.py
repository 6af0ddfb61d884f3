"""Time as the app sees it.

Every stored timestamp is a naive wall-clock time in Asia/Shanghai. Gridwise serves one district in
one time zone, China has no daylight saving, and offices export local times: keeping wall-clock
time avoids a conversion at every import, every page and every report. Code that needs "now" calls
``now()`` (tests pass an explicit ``now`` instead).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import NaiveDatetime

TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """The current Asia/Shanghai wall-clock time, naive, to the second."""
    return datetime.now(TZ).replace(tzinfo=None, microsecond=0)


def today() -> date:
    """Today's date in Asia/Shanghai (the server's own date, UTC here, is a day behind from 16:00 to 24:00 UTC)."""
    return now().date()


def to_local(value: datetime) -> datetime:
    """An aware datetime as naive Asia/Shanghai wall-clock time (naive input is returned as is)."""
    if value.tzinfo is None:
        return value
    return value.astimezone(TZ).replace(tzinfo=None)


# Column type for every timestamp in the models: naive wall-clock time (see the module docstring).
# sqlmodel maps a plain ``datetime`` annotation to a UTC-aware column that rejects naive values.
LocalDateTime = NaiveDatetime
