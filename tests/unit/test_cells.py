"""Table cells and card figures as people read them (ui.cells)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from ui.cells import cell_number, cell_time, short_time


def test_empty_values_are_empty_cells():
    """Test that None, NaN and NaT read as an empty cell and numbers lose trailing zeros."""
    assert (
        cell_number(None)
        == cell_number(float("nan"))
        == cell_time(pd.NaT)
        == short_time(None, datetime.now())
        == ""
    )
    assert (cell_number(2.0), cell_number(1.5)) == ("2", "1.5")
    assert cell_time(datetime(2020, 1, 30, 14, 47, 12)) == "2020-01-30 14:47"


def test_a_deadline_keeps_its_year_only_when_it_is_not_this_year():
    """Test that a card's deadline is short in the current year and carries its year across a new year
    (a worker in late December reads "2021-01-05", not "01-05")."""
    now = datetime(2020, 12, 30, 9, 0)
    assert short_time(datetime(2020, 12, 31, 18, 0), now) == "12-31 18:00"
    assert short_time(pd.Timestamp("2021-01-05 18:00"), now) == "2021-01-05 18:00"
    assert short_time(datetime(2021, 1, 5, 18, 0), now, minutes=False) == "2021-01-05"
    assert short_time(datetime(2020, 5, 13, 8, 0), now, minutes=False) == "05-13"
