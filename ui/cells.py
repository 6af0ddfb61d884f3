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
