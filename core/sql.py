"""Small SQL helpers every area uses: an idempotent bulk insert, a query into a DataFrame, two hints for
SQLite's planner (a column no index may serve, a condition true of few rows), and statements sent to
PostgreSQL in one round trip (``pipelined``, the API's single-event path)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Boolean, ColumnElement, Executable, Table, literal_column
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import Compiled
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, SQLModel

from core.errors import InternalError

PARAMS_PER_STATEMENT = 30_000  # under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters


def table_of(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined]


def insert_ignore(
    session: Session, model: type[SQLModel], rows: Sequence[dict[str, Any]], conflict: Iterable[str]
) -> int:
    """INSERT the rows, skipping any that hit the unique key ``conflict``; return how many went in.

    The unique constraint decides, so two processes doing the same thing at once insert each row once.
    """
    if not rows:
        return 0
    table = table_of(model)
    dialect = session.get_bind().dialect.name
    mod = postgresql if dialect == "postgresql" else sqlite
    inserted = 0
    step = max(1, PARAMS_PER_STATEMENT // max(1, len(rows[0])))
    for i in range(0, len(rows), step):
        # RETURNING counts what went in on both backends (psycopg reports -1 as rowcount for a batch).
        stmt = (
            mod.insert(table)
            .values(list(rows[i : i + step]))
            .on_conflict_do_nothing(index_elements=list(conflict))
            .returning(table.c.id)
        )
        inserted += len(session.execute(stmt).fetchall())
    return inserted


def frame(session: Session, stmt, columns: list[str] | None = None) -> pd.DataFrame:  # noqa: ANN001
    """The statement's rows as a DataFrame (``columns`` names them, else the statement's labels).

    The rows go in as plain tuples: pandas takes SQLAlchemy's Row (no tuple) for an array-like and asks each
    row for a ``dtype`` first, which costs ~6× the construction itself (2,000 rows: 12 ms against 2 ms)."""
    result = session.execute(stmt)
    names = columns or list(result.keys())
    return pd.DataFrame([tuple(row) for row in result.fetchall()], columns=names)


def unindexed(column: Any) -> ColumnElement[Any]:  # noqa: ANN401 - a column or col(Model.field)
    """``column + 0``: the same value, but an expression no index can serve (SQLite's documented way to keep
    a term from driving a plan; PostgreSQL plans it as a filter too). For a filter or GROUP BY column whose index the query must not be driven by: SQLite's planner
    (with ANALYZE statistics) reads a whole table through the index of a scope column (``grid_id IN (…)``) or
    of a GROUP BY column (``assignee_id``) rather than seeking the few rows a state or time index selects,
    and that whole table is every year of history (issue #21, bench/bench_growth.py)."""
    return column + literal_column("0")  # written out, not a bound parameter: the same text everywhere


class rare(FunctionElement[bool]):  # noqa: N801 - used as a function: rare(state IN (...))
    """A condition true of few rows however many the table holds, such as "the event is still open" over
    years of closed events. SQLite's statistics give each value of a column the table's average share (no
    histogram), so ten open states of fourteen read as most of the table and it scans it; on SQLite this
    renders ``likelihood(condition, 0.01)``, which keeps the condition's index in the plan. Elsewhere the
    condition as it is (PostgreSQL's statistics see the skew)."""

    type = Boolean()
    name = "rare"
    inherit_cache = True
    _is_implicitly_boolean = True  # a condition: no "= 1" after it on SQLite


@compiles(rare)
def _rare(element: rare, compiler, **kw: Any) -> str:  # noqa: ANN001
    (condition,) = element.clauses
    return compiler.process(condition, **kw)


@compiles(rare, "sqlite")
def _rare_sqlite(element: rare, compiler, **kw: Any) -> str:  # noqa: ANN001
    (condition,) = element.clauses
    return f"likelihood({compiler.process(condition, **kw)}, 0.01)"


Statement = tuple[Executable, Mapping[str, Any]]


def _pg_sql(stmt: Executable, dialect: Dialect) -> Compiled:
    """The statement compiled for ``dialect``, once (the entry keeps the statement, so its id stays its)."""
    entry = _COMPILED.get(id(stmt))
    if entry is None or entry[0] is not stmt or entry[1] is not dialect:
        if len(_COMPILED) >= _COMPILED_MAX:  # statements built per call: never more than this many kept
            _COMPILED.clear()
        entry = _COMPILED[id(stmt)] = (stmt, dialect, stmt.compile(dialect=dialect))  # type: ignore[attr-defined]
    return entry[2]


_COMPILED: dict[int, tuple[Executable, Dialect, Compiled]] = {}
_COMPILED_MAX = 512


def pipelined(session: Session, statements: Sequence[Statement]) -> list[list[Any]]:
    """Run ``statements`` (Core statements built once, at module level or cached, with their parameters)
    in order in the session's transaction; the rows of each (an empty list for a statement returning
    none). On PostgreSQL they go to the server in one round trip (psycopg's pipeline mode: the server runs
    them one after the other, each under its own snapshot as separate statements would; the first error
    aborts the rest and is raised), through the driver's cursor with SQL compiled once per statement:
    none of SQLAlchemy's per-execution work (cache key, result processing), none of the ORM's. A unit of
    work ends with its last statements in the same round trip through core.db.commit_with.
    """
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        out: list[list[Any]] = []
        for stmt, params in statements:
            result = conn.execute(stmt, dict(params))
            out.append(list(result) if result.returns_rows else [])
        return out
    dbapi: Any = conn.connection.dbapi_connection  # psycopg's Connection
    if dbapi is None:  # pragma: no cover - a connection in use has its driver connection
        raise InternalError("no driver connection")
    sql = ""
    try:
        if len(statements) == 1:  # one statement: no pipeline to open and sync
            stmt, params = statements[0]
            compiled = _pg_sql(stmt, conn.dialect)
            sql = compiled.string
            with dbapi.cursor() as cursor:
                cursor.execute(sql, compiled.construct_params(dict(params)))
                return [cursor.fetchall() if cursor.description is not None else []]
        cursors = []
        try:
            with dbapi.pipeline():
                for stmt, params in statements:
                    compiled = _pg_sql(stmt, conn.dialect)
                    sql = compiled.string
                    cursor = dbapi.cursor()
                    cursors.append(cursor)
                    cursor.execute(sql, compiled.construct_params(dict(params)))
            return [cursor.fetchall() if cursor.description is not None else [] for cursor in cursors]
        finally:
            for cursor in cursors:
                cursor.close()
    except conn.dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy would raise it (core.db.db_fault reads it)
        gone = conn.dialect.is_disconnect(exc, dbapi, None)
        if gone:
            conn.invalidate(exc)
        raise sa_exc.DBAPIError.instance(
            sql, None, exc, conn.dialect.loaded_dbapi.Error, connection_invalidated=gone, dialect=conn.dialect
        ) from exc
