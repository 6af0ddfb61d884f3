"""Table cells as people read them: an empty value is an empty cell, never 'None', 'nan' or 'NaT'."""

from __future__ import annotations

from typing import Any

import pandas as pd


def cell_number(value: Any) -> str:
    """A number without trailing zeros (2.0 → "2", 1.5 → "1.5"); "" when there is none."""
    return "" if value is None or pd.isna(value) else f"{float(value):g}"


def cell_time(value: Any) -> str:
    """A timestamp to the minute ("2020-01-30 14:47"); "" when there is none."""
    return "" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d %H:%M}"


def short_time(value: Any, now: Any, *, minutes: bool = True) -> str:
    """A deadline as a phone card shows it: "05-13 18:00" in ``now``'s year, "2021-01-05 18:00" in another
    (a date without its year is ambiguous across a new year); "" when there is none."""
    if value is None or pd.isna(value):
        return ""
    at = pd.Timestamp(value)
    day = "%m-%d" if at.year == pd.Timestamp(now).year else "%Y-%m-%d"
    return at.strftime(f"{day} %H:%M" if minutes else day)


def table_height(rows: int, most: int = 420) -> int:
    """A st.dataframe's height in pixels that fits ``rows`` rows under the header (one row's height when
    there are none), scrolling above ``most``: a fixed height would draw empty rows under a short table."""
    return min(most, 38 + 35 * max(rows, 1))
