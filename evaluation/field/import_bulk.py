"""Writing a large import fast, on each database's bulk path:

- SQLite: rows streamed from numpy columns into the DB-API cursor's executemany, and the secondary indexes
  of a much smaller table rebuilt once instead of kept current row by row;
- PostgreSQL: ``COPY … FROM STDIN`` (psycopg 3's ``cursor.copy()``): new rows straight into the real table,
  changed ones into a temporary staging table and then one ``INSERT … SELECT … ON CONFLICT`` — row-by-row
  executemany was 55 of 60 s of writing a million events (issue #21).

All of it runs on the caller's connection, inside the caller's transaction: a rollback undoes every row,
every index change (SQLite DDL is transactional) and the staging table (dropped at commit).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy import Row
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

_YEAR_1000 = np.datetime64("1000-01-01", "us").astype("int64")
_YEAR_10000 = np.datetime64("10000-01-01", "us").astype("int64")


def sqlite_datetimes(values: np.ndarray) -> np.ndarray:
    """datetime64 → SQLAlchemy's SQLite text "YYYY-MM-DD HH:MM:SS.ffffff" as an object array (None for NaT).

    Each distinct time is formatted once (exports record minutes: a million events hold a few hundred
    thousand distinct times per column) and rows share the string."""
    codes, uniques = pd.factorize(values.astype("datetime64[us]"))  # NaT → code -1
    uniques = np.asarray(uniques, dtype="datetime64[us]")
    text = np.datetime_as_string(uniques, unit="us")
    stamps = uniques.view("int64")
    if not len(stamps):
        return np.full(len(values), None, dtype=object)
    if stamps.min() >= _YEAR_1000 and stamps.max() < _YEAR_10000:
        # Four-digit years: every text is 26 characters with the "T" at 10, swapped in place
        # (np.char.replace was the costliest step of writing a million events).
        text = text.astype("<U26")
        text.view(np.uint32).reshape(len(text), 26)[:, 10] = ord(" ")
    else:
        text = np.char.replace(text, "T", " ")
    return np.append(text.astype(object), [None])[codes]  # code -1 picks the trailing None


def columns_for(frame: pd.DataFrame, cols: list[str], sqlite: bool) -> list[list[Any]]:
    """Column-wise Python values ready for a DB-API executemany or a COPY (None for NaN/NaT/NA).

    SQLite stores SQLAlchemy DateTime as "YYYY-MM-DD HH:MM:SS.ffffff" text; producing that text with
    numpy here skips SQLAlchemy's per-value bind processing, the dominant cost at a million rows. A text
    COPY into PostgreSQL takes the same text for a timestamp (``sqlite=True`` there too: no datetime
    objects). Numbers and flags become Python int/float/bool through numpy's ``astype(object)``, not a loop
    over values."""
    out = []
    for c in cols:
        s = frame[c]
        na = pd.isna(s).to_numpy()
        if pd.api.types.is_datetime64_any_dtype(s):
            vals = (
                sqlite_datetimes(s.to_numpy(dtype="datetime64[us]"))
                if sqlite
                else np.array(s.dt.to_pydatetime(), dtype=object)
            )
        elif pd.api.types.is_bool_dtype(s):
            vals = s.to_numpy(dtype=bool, na_value=False).astype(object)
        elif pd.api.types.is_integer_dtype(s):
            vals = s.to_numpy(dtype="int64", na_value=0).astype(object)
        elif pd.api.types.is_numeric_dtype(s):
            v = s.to_numpy(dtype="float64", na_value=np.nan)
            whole = c.endswith(("_id", "_count"))
            vals = np.where(na, 0, v).astype("int64").astype(object) if whole else v.astype(object)
        elif hasattr(
            s.array, "_pa_array"
        ):  # Arrow-backed strings: nulls → None in C, not per value in Python
            out.append(s.array._pa_array.to_pylist())
            continue
        else:
            vals = np.array(
                [v.item() if isinstance(v, np.generic) else v for v in s.to_numpy(dtype=object)], dtype=object
            )
        vals[na] = None
        out.append(vals.tolist())
    return out


def executemany(
    session: Session, table: str, cols: list[str], columns: list[list[Any]], where_id: list[int] | None = None
) -> None:
    """INSERT (or UPDATE … WHERE id = ?) with positional parameters through the connection's DB-API cursor."""
    conn = session.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA cache_size=-131072")  # 128 MB page cache for this connection's bulk work
    if where_id is None:
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join([mark] * len(cols))})"
        rows = zip(*columns, strict=True)
    else:
        sql = f"UPDATE {table} SET {', '.join(f'{c} = {mark}' for c in cols)} WHERE id = {mark}"
        rows = zip(*columns, where_id, strict=True)
    # The rows stream from the columns into the DB-API cursor of this session's connection (same
    # transaction): no list of a chunk's tuples first, which SQLAlchemy's exec_driver_sql needs.
    dbapi = conn.dialect.loaded_dbapi
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(sql, rows)  # type: ignore[arg-type]  # drivers stream an iterable; typed Sequence
    except dbapi.Error as exc:  # the error SQLAlchemy would have raised (IntegrityError, …)
        raise DBAPIError.instance(sql, None, exc, dbapi.Error, dialect=conn.dialect) from exc
    finally:
        cursor.close()


def csv_blocks(
    frame: pd.DataFrame,
    cols: list[str],
    constants: dict[str, Any] | None = None,
    rows: int = 10_000,
    order: np.ndarray | None = None,
) -> Iterator[pa.Buffer]:
    """The rows of ``frame[cols]`` (then the ``constants`` columns, one value each) as blocks of PostgreSQL
    ``COPY … (FORMAT csv)`` text of ``rows`` rows each, written by Arrow's C++ CSV writer: no Python object
    per value (psycopg's ``write_row`` over Python lists of the values was most of the client's time and
    memory at a million rows), and no copy of the frame in pandas.

    The formats agree where it matters: a null is an unquoted empty field (COPY's NULL in CSV) and every other
    value is quoted (``all_valid``: an empty string stays one; quotes, commas, tabs and newlines in a cell go
    through as they are); times are "YYYY-MM-DD HH:MM:SS.ffffff", flags true/false, floats the shortest
    text that reads back as the same double.

    ``order`` (positions into ``frame``) writes the rows in that order, a block taken at a time."""
    data = pa.Table.from_pandas(frame[cols] if list(frame.columns) != cols else frame, preserve_index=False)
    for name, value in (constants or {}).items():
        data = data.append_column(name, pa.array(np.full(len(frame), value)))
    fields = []
    for f in data.schema:
        kind = f.type
        if pa.types.is_dictionary(kind):  # a categorical column: its values, not its codes
            kind = kind.value_type
        if pa.types.is_timestamp(kind):  # PostgreSQL keeps microseconds; no time zone is written
            kind = pa.timestamp("us")
        fields.append(pa.field(f.name, kind))
    data = data.cast(pa.schema(fields), safe=False)
    options = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")
    if order is None:
        parts: Iterator[pa.RecordBatch | pa.Table] = iter(data.to_batches(max_chunksize=rows))
    else:
        parts = (data.take(pa.array(order[i : i + rows])) for i in range(0, len(order), rows))
    for part in parts:
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(part, sink, options)
        yield sink.getvalue()


def copy_frame(
    session: Session,
    table: str,
    frame: pd.DataFrame,
    cols: list[str],
    constants: dict[str, Any] | None = None,
    order: np.ndarray | None = None,
) -> None:
    """PostgreSQL: ``frame[cols]`` and the ``constants`` columns into ``table`` by ``COPY … FROM STDIN
    (FORMAT csv)`` on the session's connection, in its transaction (:func:`csv_blocks`; ``order``: the
    rows' positions in the order to write them)."""
    if frame.empty:
        return
    conn = session.connection()
    listed = ", ".join([*cols, *(constants or {})])
    sql = f"COPY {table} ({listed}) FROM STDIN (FORMAT csv, ENCODING 'UTF8')"
    dbapi = conn.dialect.loaded_dbapi
    cursor = conn.connection.cursor()
    try:
        with cursor.copy(sql) as copy:  # psycopg 3's cursor
            for block in csv_blocks(frame, cols, constants, order=order):
                copy.write(memoryview(block))
    except dbapi.Error as exc:  # the error SQLAlchemy would have raised (IntegrityError, DataError, …)
        raise DBAPIError.instance(sql, None, exc, dbapi.Error, dialect=conn.dialect) from exc
    finally:
        cursor.close()


def copy_upsert(
    session: Session,
    table: str,
    frame: pd.DataFrame,
    cols: list[str],
    constants: dict[str, Any] | None = None,
    *,
    key: str,
    update: list[str],
    order_by: str | None = None,
) -> int:
    """PostgreSQL: COPY ``frame[cols]`` and the ``constants`` columns (:func:`copy_frame`) into a temporary
    staging table shaped like those columns of ``table``, then
    one ``INSERT INTO table … SELECT … FROM staging ON CONFLICT (key) DO UPDATE SET`` the ``update`` columns:
    a new key is inserted, a known one updated in place, so repeating an import never duplicates a row.
    Returns the rows written. The staging table lives in the caller's transaction (``ON COMMIT DROP``; a
    rollback removes it with everything else) and is emptied for each chunk.

    ``order_by``: a column of ``frame`` the rows are staged (and so inserted) in order of, so that the
    table's indexes on times take each chunk as a sweep over their pages rather than scattered inserts
    (measured at a million events in 50,000-row chunks, in file order vs by report time: 41.2 vs 34.9 s of
    backend CPU for the INSERTs into field_event, the sort included)."""
    conn = session.connection()
    staging = f"import_stage_{table}"
    listed = ", ".join([*cols, *(constants or {})])
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DROP AS SELECT {listed} FROM {table} WITH NO DATA"
    )
    conn.exec_driver_sql(f"TRUNCATE {staging}")
    order = None
    if order_by is not None:
        order = np.argsort(frame[order_by].to_numpy(), kind="stable")  # NaT sorts last
    copy_frame(session, staging, frame, cols, constants, order=order)
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in update)
    sql = f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {staging} ON CONFLICT ({key}) DO UPDATE SET {sets}"
    return conn.exec_driver_sql(sql).rowcount


def copy_insert_or_upsert(
    session: Session,
    table: str,
    frame: pd.DataFrame,
    cols: list[str],
    constants: dict[str, Any] | None = None,
    *,
    key: str,
    update: list[str],
    order_by: str | None = None,
) -> int:
    """PostgreSQL: rows whose ``key`` the table did not hold when they were diffed, COPYed straight into
    ``table`` under a savepoint — no staging table and no speculative insertion per row (measured at a
    million events: the staging COPY and ``INSERT … ON CONFLICT`` cost ~13 s of backend CPU over the 32 s of
    the table's own COPY).

    Another writer (the API's event stream) may have added one of these keys since: the COPY then stops on
    the unique key, the savepoint takes the chunk back, and the chunk goes through :func:`copy_upsert`
    instead, so the import still never fails or duplicates because of it. Any other error is raised."""
    order = np.argsort(frame[order_by].to_numpy(), kind="stable") if order_by is not None else None
    unique_violation = "23505"
    try:
        with session.begin_nested():
            copy_frame(session, table, frame, cols, constants, order=order)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != unique_violation:
            raise
        return copy_upsert(session, table, frame, cols, constants, key=key, update=update, order_by=order_by)
    return len(frame)


class DeferredIndexes:
    """A large events file into an SQLite table holding fewer events than the file: the secondary indexes
    of field_event are dropped once the import's transaction is open and built again from their stored
    definitions before it commits. Building an index sorts once; keeping it current costs a B-tree insert
    per row and index (measured at 1M rows: ~8 s of CPU kept vs ~4 s rebuilt, and a third less written).

    SQLite DDL is transactional, so a refused file, an exception or a crash (the WAL's uncommitted frames
    are ignored on recovery) leaves the indexes as they were. pysqlite opens the transaction only at the
    first INSERT, hence the drop waits for ``in_transaction``. PostgreSQL keeps its indexes (DROP INDEX
    would lock readers out of the table for the whole import)."""

    MIN_ROWS = 100_000

    def __init__(self, session: Session, file_rows: int | None, table: str = "field_event") -> None:
        self.session, self.table = session, table
        self.saved: Sequence[Row[str, str]] | None = None  # (index name, its CREATE INDEX sql)
        conn = session.connection()
        self.wanted = bool(
            conn.dialect.name == "sqlite"
            and file_rows
            and file_rows >= self.MIN_ROWS
            and conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one() < file_rows
        )

    def after_write(self) -> None:
        if not self.wanted or self.saved is not None:
            return
        conn = self.session.connection()
        driver = conn.connection.driver_connection
        assert driver is not None  # a checked-out connection always has its driver connection
        if not driver.in_transaction:
            return
        self.saved = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (self.table,),
        ).all()
        for name, _ in self.saved:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')

    def restore(self) -> None:
        conn = self.session.connection()
        for _, sql in self.saved or []:
            conn.exec_driver_sql(sql)
        self.saved = None
