"""Small SQL helpers every area uses: an idempotent bulk insert and a query into a DataFrame."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

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
    result = session.execute(stmt)
    return pd.DataFrame(result.fetchall(), columns=columns or list(result.keys()))
