"""The events import's bulk write path: values handed to the driver, errors it raises, a large file."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import exc
from sqlalchemy.dialects import sqlite

from evaluation.field.imports import _executemany, _row_hash, _sqlite_datetimes
from tests.factories import make_org

NOW = datetime(2020, 10, 1, 12, 0)


def test_sqlite_datetime_text_is_what_sqlalchemy_would_bind():
    """Test that the vectorised DateTime text equals SQLAlchemy's own SQLite bind processing, NaT as None."""
    bind = sqlite.DATETIME().bind_processor(sqlite.dialect())
    stamps = [datetime(2020, 6, 1, 8, 30), datetime(2020, 6, 1, 8, 30), datetime(2020, 12, 31, 23, 59, 59, 999999),
              None, datetime(1999, 1, 2, 3, 4, 5, 6)]
    values = pd.Series(stamps, dtype="datetime64[us]").to_numpy()
    assert _sqlite_datetimes(values).tolist() == [None if s is None else bind(s) for s in stamps]
    far = np.array(["0999-03-04T05:06:07", "2020-01-01"], dtype="datetime64[us]")  # a year of three digits
    assert _sqlite_datetimes(far).tolist()[1] == bind(datetime(2020, 1, 1))
    assert _sqlite_datetimes(far).tolist()[0].startswith("0999-03-04 05:06:07")
    assert _sqlite_datetimes(np.array(["NaT", "NaT"], dtype="datetime64[us]")).tolist() == [None, None]


def test_row_hash_is_sixteen_hex_digits_of_the_pandas_hash():
    """Test that the fingerprint stays the zero-padded hex of pandas' row hash (stored fingerprints stay valid)."""
    cols = ["item_code", "grid_id", "location", "building_code", "lat", "lon", "priority", "reporter_id",
            "assignee_id", "discovered_at", "reported_at", "accepted_at", "dispatched_at", "signed_at",
            "feedback_at", "closed_at", "result", "satisfaction", "rework_count", "postponed"]
    rows = pd.DataFrame({c: [1.5, None, 3.0, 0.0] for c in cols}, index=[7, 8, 9, 10])
    expected = [f"{v:016x}" for v in pd.util.hash_pandas_object(rows[cols], index=False).to_numpy()]
    got = _row_hash(rows)
    assert got.tolist() == expected and got.index.tolist() == [7, 8, 9, 10]
    assert all(len(h) == 16 for h in got)


def test_a_refused_bulk_write_raises_sqlalchemys_error(session):
    """Test that a constraint violation in the driver-level executemany surfaces as SQLAlchemy's IntegrityError."""
    org = make_org(session)
    grid, community = org.grids_a[0].id, org.comm_a.id
    cols = ["event_no", "item_code", "category_code", "grid_id", "community_id", "priority", "state", "source",
            "postponed", "rework_count", "reopen_count", "return_count", "escalation", "updated_at"]
    row = ["E1", "F02", "fire", grid, community, "normal", "reported", "import", False, 0, 0, 0, 0,
           "2020-06-01 00:00:00.000000" if session.get_bind().dialect.name == "sqlite" else NOW]
    with pytest.raises(exc.IntegrityError):
        _executemany(session, "field_event", cols, [[v, v] for v in row])  # the same event number twice
    session.rollback()
