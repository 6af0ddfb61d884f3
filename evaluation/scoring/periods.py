"""Assessment periods: a month ("2020-06"), quarter ("2020-Q2"), half-year ("2020-H1") or year ("2020")."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from core.errors import GridwiseError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.I)
_HALF = re.compile(r"^(\d{4})-H([12])$", re.I)
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class Period:
    label: str
    kind: str  # month | quarter | half | year
    year: int
    first_month: int
    n_months: int

    @property
    def months(self) -> list[str]:
        return [f"{self.year}-{m:02d}" for m in range(self.first_month, self.first_month + self.n_months)]

    @property
    def start(self) -> date:
        return date(self.year, self.first_month, 1)

    @property
    def end(self) -> date:
        """Last day (inclusive)."""
        last = self.first_month + self.n_months - 1
        return date(self.year, last, calendar.monthrange(self.year, last)[1])

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def quarters(self) -> list[Period]:
        q0 = (self.first_month - 1) // 3
        return [parse_period(f"{self.year}-Q{q + 1}") for q in range(q0, q0 + max(1, self.n_months // 3))]

    def halves(self) -> list[Period]:
        return [parse_period(f"{self.year}-H1"), parse_period(f"{self.year}-H2")]


def parse_period(text: str) -> Period:
    """Parse a period label; raise ValueError saying which forms are accepted."""
    s = str(text).strip()
    if m := _MONTH.match(s):
        y, mo = int(m[1]), int(m[2])
        if not 1 <= mo <= 12:
            raise GridwiseError("score.err.bad_month", period=s)
        return Period(f"{y}-{mo:02d}", "month", y, mo, 1)
    if m := _QUARTER.match(s):
        q = int(m[2])
        return Period(f"{m[1]}-Q{q}", "quarter", int(m[1]), 3 * q - 2, 3)
    if m := _HALF.match(s):
        h = int(m[2])
        return Period(f"{m[1]}-H{h}", "half", int(m[1]), 1 if h == 1 else 7, 6)
    if m := _YEAR.match(s):
        return Period(s, "year", int(s), 1, 12)
    raise GridwiseError("score.err.bad_period", period=s)


def month_of(d: date) -> str:
    return f"{d.year}-{d.month:02d}"


def previous_month(label: str) -> str:
    p = parse_period(label)
    y, m = (p.year - 1, 12) if p.first_month == 1 else (p.year, p.first_month - 1)
    return f"{y}-{m:02d}"


def months_between(first: str, last: str) -> list[str]:
    a, b = parse_period(first), parse_period(last)
    out, y, m = [], a.year, a.first_month
    while (y, m) <= (b.year, b.first_month):
        out.append(f"{y}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out
