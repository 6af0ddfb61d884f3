"""Field types of the API's bodies: times with their offset, text without control characters.

Times. Gridwise stores naive Asia/Shanghai wall-clock times (core.clock). Every time the API sends carries
its offset (``2020-06-01T09:00:00+08:00``). A time it receives may carry any offset and is converted to
Shanghai wall-clock; a time *without* an offset is read as Shanghai wall-clock (as an office's export
is), never as UTC. A received time must fall in the plausible window of ``api.config.ApiLimits``
(``earliest`` … now + ``max_ahead_hours``): a year-1364 or a year-5019 date is a platform's mistake.

Text. Names, numbers and notes may not hold control characters (a newline in an event number, a NUL,
an escape): they break exports, logs and the next system down the line.
"""

from __future__ import annotations

import re
import unicodedata
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from api.config import ApiLimits
from core.clock import TZ, to_local
from core.clock import now as clock_now

# The limits of the app serving the current request (set by api.app's middleware; the environment's
# limits outside a request, e.g. when a test validates a body directly).
CURRENT_LIMITS: ContextVar[ApiLimits | None] = ContextVar("gridwise_api_limits", default=None)


def limits() -> ApiLimits:
    return CURRENT_LIMITS.get() or ApiLimits.from_env()


def with_offset(value: datetime) -> datetime:
    """A stored (naive Shanghai) time as an aware one, so it is written with ``+08:00``."""
    return value.replace(tzinfo=TZ) if value.tzinfo is None else value.astimezone(TZ)


def _received(value: datetime) -> datetime:
    local = to_local(value).replace(microsecond=0) if value.tzinfo else value
    lim = limits()
    latest = clock_now() + timedelta(hours=lim.max_ahead_hours)
    if not (lim.earliest <= local <= latest):
        raise PydanticCustomError(
            "time_window",
            "{value} is outside the accepted window {earliest} to {latest} (Shanghai time)",
            {
                "value": local.isoformat(sep=" "),
                "earliest": lim.earliest.isoformat(sep=" "),
                "latest": latest.isoformat(sep=" "),
            },
        )
    return local


def _prose(value: str) -> str:
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in value):  # \r is refused too
        raise PydanticCustomError("control_characters", "contains control characters (line breaks, tabs …)")
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ]|$)")


def _iso_text(value: object) -> object:
    """A time as the document states it: ISO 8601 text. pydantic would also read a number (or numeric text)
    as seconds since 1970, which no platform means."""
    if isinstance(value, str) and not _ISO_DATE.match(value.strip()):
        raise PydanticCustomError("datetime_parsing", "is not an ISO 8601 date-time")
    if isinstance(value, int | float | bool):
        raise PydanticCustomError("datetime_type", "is not an ISO 8601 date-time")
    return value


def _filter_time(value: datetime) -> datetime:
    return to_local(value) if value.tzinfo else value


def _printable(value: str) -> str:
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise PydanticCustomError("control_characters", "contains control characters (line breaks, tabs …)")
    return value


# An output time: serialised with its +08:00 offset.
Stamp = Annotated[datetime, AfterValidator(with_offset)]
# An input time (body): converted to Shanghai wall-clock and checked against the window.
InTime = Annotated[
    datetime,
    BeforeValidator(_iso_text),
    AfterValidator(_received),
    Field(description="ISO 8601; with an offset (converted), or without one (Shanghai wall-clock)"),
]
# A filter time (query): converted, not windowed (any instant may bound a filter).
FilterTime = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_filter_time)]


# Text without control characters (give its length with ``Field(max_length=…)``).
NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f]*$"  # the same rule, stated in the OpenAPI document
NO_CONTROL_BUT_LINES = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"
Printable = Annotated[str, AfterValidator(_printable), Field(json_schema_extra={"pattern": NO_CONTROL})]
# Free text of several lines (a note, a result): line breaks and tabs allowed, other control characters not.
Prose = Annotated[str, AfterValidator(_prose), Field(json_schema_extra={"pattern": NO_CONTROL_BUT_LINES})]


# Query parameters. FastAPI ignores a parameter an operation does not declare, so a platform's typo
# (``?udpated_since=…``) would silently widen a read; every operation refuses them instead, in the one
# error shape (422 invalid_request, api.invalid.extra_forbidden naming the parameter).
_DECLARED: dict[int, frozenset[str]] = {}


def _declared_query(dependant: Dependant) -> frozenset[str]:
    names = {f.alias for f in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _declared_query(sub)
    return frozenset(names)


async def known_query_only(request: Request) -> None:
    """The router's dependency: 422 for a query parameter the operation does not declare. A coroutine: it
    does no I/O, and a plain function would cost each request a trip through the thread pool."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or not request.query_params:
        return
    declared = _DECLARED.get(id(route))
    if declared is None:
        declared = _DECLARED[id(route)] = _declared_query(dependant)
    unknown = [name for name in request.query_params if name not in declared]
    if unknown:
        raise RequestValidationError(
            [
                {
                    "type": "extra_forbidden",
                    "loc": ("query", name),
                    "msg": "Extra inputs are not permitted",
                    "input": request.query_params[name],
                }
                for name in unknown
            ]
        )
