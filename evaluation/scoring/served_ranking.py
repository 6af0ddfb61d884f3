"""Reads of the served scorecards sized by what a ranking page shows, not by the district.

A district of 20,000 workers holds ~17 MB of card JSON and ~135 MB of component JSON per period
(served.py keeps each worker's whole card). The ranking pages need, for every worker in scope, only what
filters, counts, charts and the order read — the served row's own columns (total, grade, scored, units)
and the roster's name, number and party membership — and whole cards only for the rows on screen, one
worker's components only when that worker's card is opened, every card and component only for an export
someone clicked. Aggregates over months (the trend) are computed in SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlalchemy.sql.elements import True_
from sqlmodel import Session, col

from core.models import Worker, row_id
from core.scope import ScopeError, Viewer, worker_scope_clause
from evaluation.scoring.compute import Scorecards
from evaluation.scoring.models_served import ServedCard, ServedScorecard
from evaluation.scoring.periods import months_between
from evaluation.scoring.served import (
    ServedView,
    _in_scope,
    _scheme_id,
    _view,
    card_rows,
    ensure_months_served,
    served_of,
    with_unit_names,
)

# The columns of ``served_ranking``: what a ranking filters, counts, charts and orders by.
RANKING_COLS = [
    "worker_id",
    "employee_no",
    "name",
    "party_member",
    "community_id",
    "subdistrict_id",
    "community_zh",
    "community_en",
    "subdistrict_zh",
    "subdistrict_en",
    "total",
    "grade",
    "scored",
]


def _scope(viewer: Viewer) -> list[Any]:
    """The scope condition on served cards, none for a district-wide viewer: ``worker_id IN (every
    worker)`` would make the database fetch each row by key instead of reading the covering index."""
    if isinstance(worker_scope_clause(viewer), True_):
        return []
    return [_in_scope(viewer)]


def served_ranking(session: Session, viewer: Viewer, period: str) -> ServedView:
    """Every worker in scope with the ranking columns (RANKING_COLS), in rank order (scored first, by total
    descending, then employee number, as the cards' ranks): one SQL query over the served rows' columns,
    no card decoded. ``cards`` of the view holds these columns, ``components`` is empty."""
    label, scheme, served = served_of(session, period)
    stmt = (
        sa_select(
            col(ServedCard.worker_id),
            col(Worker.employee_no),
            col(Worker.name),
            col(Worker.party_member),
            col(ServedCard.community_id),
            col(ServedCard.subdistrict_id),
            col(ServedCard.total),
            col(ServedCard.grade),
            col(ServedCard.scored),
        )
        .join(Worker, col(Worker.id) == col(ServedCard.worker_id))
        .where(col(ServedCard.served_id) == row_id(served.id), *_scope(viewer))
        .order_by(
            case((col(ServedCard.scored), 0), else_=1),
            col(ServedCard.total).desc(),
            col(Worker.employee_no),
        )
    )
    # The driver's tuples into columns: SQLAlchemy's Row objects and per-value processors cost ~4× the
    # query itself over 20,000 rows. Booleans come as 0/1 (SQLite) or bool (PostgreSQL): both cast below.
    result = session.connection().execute(stmt)
    rows = result.cursor.fetchall()
    result.close()
    data = list(zip(*rows, strict=True)) if rows else [()] * 9
    cards = pd.DataFrame(
        {
            "worker_id": pd.array(data[0], dtype="int64"),
            "employee_no": pd.array(data[1], dtype=object),
            "name": pd.array(data[2], dtype=object),
            "party_member": pd.array(data[3], dtype=bool),
            "community_id": pd.array(data[4], dtype="Int64"),
            "subdistrict_id": pd.array(data[5], dtype="Int64"),
            "total": pd.array(data[6], dtype="float64"),
            "grade": pd.array(data[7], dtype=object),
            "scored": pd.array(data[8], dtype=bool),
        }
    )
    cards = with_unit_names(session, cards, ("community", "subdistrict"))
    cards = cards[RANKING_COLS]
    comps = pd.DataFrame(columns=["worker_id"])
    return ServedView(
        Scorecards(label, scheme, cards, comps), cards, comps, served.scheme_id, served.computed_at
    )


def served_cards_of(
    session: Session, viewer: Viewer, period: str, worker_ids: Sequence[int], *, components: bool = False
) -> ServedView:
    """The whole cards (and, with ``components``, their components) of ``worker_ids`` in the viewer's scope
    for ``period``: the rows on screen, one opened card, or an export's workers. Workers outside the scope
    are left out, as ``served.served_view`` leaves them."""
    label, scheme, served = served_of(session, period)
    rows = card_rows(session, served, viewer, components=components, worker_ids=worker_ids)
    return _view(served, scheme, label, rows, components)


def served_card_of(
    session: Session, viewer: Viewer, period: str, worker_id: int
) -> tuple[pd.Series, pd.DataFrame]:
    """One worker's card and components (``service.worker_view`` without reading anyone else's): raises
    ScopeError when the worker has no card the viewer may see."""
    view = served_cards_of(session, viewer, period, [worker_id], components=True)
    if view.cards.empty:
        raise ScopeError("scope.err.no_scorecard")
    return view.cards.iloc[0], view.components.reset_index(drop=True)


def served_trend_summary(
    session: Session, viewer: Viewer, *, first: str, last: str, community_id: int | None = None
) -> pd.DataFrame:
    """Scored workers' totals per month and subdistrict in scope (or in one community), first..last,
    summed in SQL: period, subdistrict_id, subdistrict_zh, subdistrict_en, n, total_sum. Means per month
    (overall or per subdistrict) are total_sum ÷ n over the rows that make them."""
    months = months_between(first, last)
    sid = ensure_months_served(session, months)
    stmt = (
        sa_select(
            col(ServedScorecard.period),
            col(ServedCard.subdistrict_id),
            func.count(),
            func.sum(col(ServedCard.total)),
        )
        .join(ServedScorecard, col(ServedScorecard.id) == col(ServedCard.served_id))
        .where(
            col(ServedScorecard.period).in_(months),
            col(ServedScorecard.scheme_id) == sid,
            col(ServedCard.scored),
            *_scope(viewer),
        )
        .group_by(col(ServedScorecard.period), col(ServedCard.subdistrict_id))
        .order_by(col(ServedScorecard.period), col(ServedCard.subdistrict_id))
    )
    if community_id is not None:
        stmt = stmt.where(col(ServedCard.community_id) == community_id)
    out = pd.DataFrame.from_records(
        [tuple(r) for r in session.execute(stmt).all()],
        columns=["period", "subdistrict_id", "n", "total_sum"],
    )
    out["n"] = out["n"].astype(int)
    out["total_sum"] = out["total_sum"].astype(float)
    return with_unit_names(session, out, ("subdistrict",))


def served_worker_totals(
    session: Session, viewer: Viewer, worker_id: int, *, first: str, last: str
) -> pd.DataFrame:
    """One worker's scored totals per month, first..last (period, total), in the viewer's scope."""
    _, sid = _scheme_id(session, None)
    rows = session.execute(
        sa_select(col(ServedScorecard.period), col(ServedCard.total))
        .join(ServedScorecard, col(ServedScorecard.id) == col(ServedCard.served_id))
        .where(
            col(ServedScorecard.period).in_(months_between(first, last)),
            col(ServedScorecard.scheme_id) == sid,
            col(ServedCard.worker_id) == worker_id,
            col(ServedCard.scored),
            _in_scope(viewer),
        )
        .order_by(col(ServedScorecard.period))
    ).all()
    out = pd.DataFrame.from_records([tuple(r) for r in rows], columns=["period", "total"])
    out["total"] = out["total"].astype(float)
    return out
