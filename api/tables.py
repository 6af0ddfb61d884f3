"""JSON items → the CSV the file importers read, so an API batch passes through exactly the importer's
checks (core.tabular: types, choices, lengths, duplicate keys; then the area's lookups and rules) and
gets the same row errors. Columns are the schema's keys, which core.tabular accepts as headers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from core.clock import to_local


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        local = to_local(value) if value.tzinfo is not None else value  # an offset → Shanghai wall clock
        return local.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_csv(items: Iterable[dict[str, Any]], columns: Sequence[str]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for item in items:
        writer.writerow([_cell(item.get(c)) for c in columns])
    return buf.getvalue().encode("utf-8")
