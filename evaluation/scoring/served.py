"""Scorecards served, not recomputed: write a period's results into the served tables, read them by key and scope.

Who writes (all idempotent: a period's rows are replaced in one transaction, keyed by period and scheme):
- the ``scoring.serve_current`` job (every 15 minutes): the current month, its quarter, half and year, and
  last month until it is frozen — the figures users open most, brought up to date;
- ``freeze_period`` (snapshots.py): a month frozen is served as frozen and no job recomputes it after;
- the writes that change a period (a deduction or bonus recorded: adjustments.py) refresh its month and
  drop the quarter/half/year rows that contain it, to be filled again on the next read or job run;
- a read that finds nothing served for a period (an old quarter, a new scheme version) computes it once,
  for everyone, and keeps it (``ensure_served``).

Who reads: ``served_view`` (a ranking or a manager's card: the cards in the viewer's scope, by key),
``served_worker_card`` (a worker's own card: one row), ``served_trend`` (monthly totals for a trend),
``served_party`` (the comparison of the viewer's scope unit). Each returns what the computed functions of
service.py return, so the pages do not know the difference; the tests show the served and the computed
frames equal.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core.clock import now as clock_now
from core.db import unit_of_work
from core.models import OrgLevel, OrgUnit, Role, Worker, row_id
from core.scope import SYSTEM, Viewer, worker_scope_clause
from core.sql import insert_ignore
from evaluation.scoring.compare import ARTICLE_METRICS, party_comparison_of, worker_rates
from evaluation.scoring.compute import Scorecards, ScoringInputs
from evaluation.scoring.models_scoring import ScorecardSnapshot
from evaluation.scoring.models_served import ServedCard, ServedComparison, ServedScorecard
from evaluation.scoring.periods import months_between, parse_period
from evaluation.scoring.scheme import Scheme
from evaluation.scoring.service import compare_party, district_scorecards, period_choices
from evaluation.scoring.store import active_scheme, scheme_by_id

log = logging.getLogger(__name__)


@dataclass
class ServedView:
    """A period's served scorecards for one viewer: the same attributes pages read from service.ScoreView
    (``result.scheme``, ``cards``, ``components``, ``scheme_id``) plus the time of the figures."""

    result: Scorecards
    cards: pd.DataFrame
    components: pd.DataFrame
    scheme_id: int
    computed_at: datetime
    inputs: ScoringInputs | None = None


# ---- JSON that keeps what pandas had ------------------------------------------------------------------


def _plain(v: Any) -> Any:  # noqa: ANN401 - any cell
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, datetime | date | pd.Timestamp):
        return v.isoformat()
    if isinstance(v, tuple | list | np.ndarray):
        return [_plain(x) for x in v]
    return v


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    cols = list(frame.columns)
    return [
        {c: _plain(x) for c, x in zip(cols, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


def _dumps(obj: Any) -> str:  # noqa: ANN401
    return json.dumps(obj, ensure_ascii=False, allow_nan=True)


def _dtypes(frame: pd.DataFrame) -> str:
    """Column → dtype; a categorical keeps its categories in order (they decide how it sorts)."""
    out = {}
    for c, t in frame.dtypes.items():
        if isinstance(t, pd.CategoricalDtype):
            cats = json.dumps([_plain(x) for x in t.categories], ensure_ascii=False)
            out[c] = f"category:{t.categories.dtype}:{cats}"
        else:
            out[c] = str(t)
    return json.dumps(out, ensure_ascii=False)


def _frame(rows: list[dict], dtypes_json: str) -> pd.DataFrame:
    """Records back into a frame with the stored dtypes (JSON turns dates into text, ints with gaps into floats)."""
    dtypes: dict[str, str] = json.loads(dtypes_json)
    out = (
        pd.DataFrame.from_records(rows, columns=list(dtypes)) if rows else pd.DataFrame(columns=list(dtypes))
    )
    for c, t in dtypes.items():
        try:
            if t.startswith("datetime64"):
                out[c] = pd.to_datetime(out[c])
            elif t.startswith("category:"):
                _, cat_dtype, cats = t.split(":", 2)
                out[c] = pd.Categorical(out[c], categories=pd.Index(json.loads(cats), dtype=cat_dtype))
            elif t == "bool":
                out[c] = out[c].astype(bool)
            elif t in ("int64", "int32", "float64", "Int64", "boolean") and len(out):
                out[c] = out[c].astype(t)
        except (TypeError, ValueError):  # a column that cannot be restored stays as read
            continue
    return out


def _components_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c != "worker_id"]


# ---- writing ------------------------------------------------------------------------------------------


def _compute(session: Session, period: str, scheme_id: int | None) -> tuple[Scorecards, ScoringInputs, int]:
    return district_scorecards(session, SYSTEM, period, scheme_id=scheme_id)


def _scope_units(session: Session) -> list[tuple[int, str]]:
    """Units a manager may be scoped to whose comparison is served: subdistricts and communities."""
    rows = session.exec(
        select(OrgUnit.id, OrgUnit.level).where(
            col(OrgUnit.level).in_([OrgLevel.SUBDISTRICT.value, OrgLevel.COMMUNITY.value])
        )
    ).all()
    return [(row_id(i), str(level)) for i, level in rows]


def write_served(
    session: Session,
    period: str,
    *,
    scheme_id: int | None = None,
    source: str = "job",
    now: datetime | None = None,
    result: tuple[Scorecards, ScoringInputs, int] | None = None,
) -> ServedScorecard:
    """Compute ``period`` over the district (or take ``result`` already computed) and replace its served rows."""
    p = parse_period(period)
    scorecards, inputs, sid = result or _compute(session, p.label, scheme_id)
    cards, comps = scorecards.cards, scorecards.components
    at = now or clock_now()
    head = {
        "period": p.label,
        "scheme_id": sid,
        "computed_at": at,
        "source": source,
        "workers": int(len(cards)),
        "card_dtypes": _dtypes(cards),
        "component_dtypes": _dtypes(comps),
    }
    # The unique (period, scheme) makes concurrent first fills insert one header; whoever writes then
    # replaces the rows under it, in the caller's transaction.
    insert_ignore(session, ServedScorecard, [head], ["period", "scheme_id"])
    served = session.exec(
        select(ServedScorecard).where(ServedScorecard.period == p.label, ServedScorecard.scheme_id == sid)
    ).one()
    for key, value in head.items():
        setattr(served, key, value)
    session.add(served)
    sid_row = row_id(served.id)
    session.execute(delete(ServedCard).where(col(ServedCard.served_id) == sid_row))
    session.execute(delete(ServedComparison).where(col(ServedComparison.served_id) == sid_row))
    by_worker: dict[int, list[dict]] = {}
    comp_cols = _components_columns(comps)
    for w, rec in zip(comps["worker_id"].tolist(), _records(comps[comp_cols]), strict=True):
        by_worker.setdefault(int(w), []).append(rec)
    rows = [
        {
            "served_id": sid_row,
            "worker_id": int(rec["worker_id"]),
            "community_id": rec.get("community_id"),
            "subdistrict_id": rec.get("subdistrict_id"),
            "total": None
            if rec.get("total") is None or (isinstance(rec["total"], float) and math.isnan(rec["total"]))
            else float(rec["total"]),
            "grade": str(rec.get("grade") or "")[:16],
            "scored": bool(rec.get("scored")),
            "card": _dumps(rec),
            "components": _dumps(by_worker.get(int(rec["worker_id"]), [])),
        }
        for rec in _records(cards)
    ]
    for i in range(0, len(rows), 2000):
        session.execute(insert(ServedCard), rows[i : i + 2000])
    _write_comparisons(session, sid_row, inputs, p.months)
    session.flush()
    return served


def _write_comparisons(session: Session, served_id: int, inputs: ScoringInputs, months: list[str]) -> None:
    workers = inputs.workers
    units: list[tuple[int, pd.DataFrame]] = [(0, workers)]
    for unit_id, level in _scope_units(session):
        key = "subdistrict_id" if level == OrgLevel.SUBDISTRICT.value else "community_id"
        units.append((unit_id, workers[workers[key] == unit_id]))
    rates = worker_rates(inputs.values, months, ARTICLE_METRICS)  # once: each unit takes its workers' rows
    rows = []
    for unit_id, subset in units:
        frame = party_comparison_of(rates, subset, inputs.registry, metrics=ARTICLE_METRICS)
        rows.append(
            {
                "served_id": served_id,
                "unit_id": unit_id,
                "frame": _dumps({"dtypes": _dtypes(frame), "rows": _records(frame)}),
            }
        )
    if rows:
        session.execute(insert(ServedComparison), rows)


def _served_row(session: Session, period: str, scheme_id: int) -> ServedScorecard | None:
    return session.exec(
        select(ServedScorecard).where(
            ServedScorecard.period == period, ServedScorecard.scheme_id == scheme_id
        )
    ).first()


def _scheme_id(session: Session, scheme_id: int | None) -> tuple[Scheme, int]:
    if scheme_id is None:
        scheme, row = active_scheme(session)
        return scheme, row_id(row.id)
    return scheme_by_id(session, scheme_id), scheme_id


def served_of(
    session: Session, period: str, *, scheme_id: int | None = None
) -> tuple[str, Scheme, ServedScorecard]:
    """What every read starts from: the period's label, the active (or given) scheme and the period's served
    row, computed and kept when missing (the scheme read once)."""
    label = parse_period(period).label
    scheme, sid = _scheme_id(session, scheme_id)
    row = _served_row(session, label, sid)
    if row is None:
        row = write_served(session, label, scheme_id=sid, source="read")
    return label, scheme, row


def ensure_served(session: Session, period: str, *, scheme_id: int | None = None) -> ServedScorecard:
    """The served row of ``period`` (and the active or given scheme), computed and kept when missing."""
    return served_of(session, period, scheme_id=scheme_id)[2]


def ensure_months_served(session: Session, months: list[str], *, scheme_id: int | None = None) -> int:
    """Fill the served rows of the ``months`` not served yet (each once, for everyone); the scheme's id."""
    _, sid = _scheme_id(session, scheme_id)
    have = set(
        session.exec(
            select(ServedScorecard.period).where(
                col(ServedScorecard.period).in_(months), ServedScorecard.scheme_id == sid
            )
        ).all()
    )
    for m in months:
        if m not in have:
            write_served(session, m, scheme_id=sid, source="read")
    return sid


def periods_containing(month: str) -> list[str]:
    """The month and the quarter, half-year and year that contain it (their labels)."""
    p = parse_period(month)
    y, m = p.start.year, p.start.month
    return [p.label, f"{y}-Q{(m - 1) // 3 + 1}", f"{y}-H{1 if m <= 6 else 2}", f"{y}"]


def refresh_after_write(session: Session, month: str, *, now: datetime | None = None) -> None:
    """A write changed ``month``'s inputs: recompute the month's served rows (unless it is frozen: a frozen
    month changes only by a new snapshot revision) and drop the longer periods containing it."""
    labels = periods_containing(month)
    ids = session.exec(select(ServedScorecard.id).where(col(ServedScorecard.period).in_(labels[1:]))).all()
    if ids:
        session.execute(delete(ServedCard).where(col(ServedCard.served_id).in_(ids)))
        session.execute(delete(ServedComparison).where(col(ServedComparison.served_id).in_(ids)))
        session.execute(delete(ServedScorecard).where(col(ServedScorecard.id).in_(ids)))
    frozen = session.exec(select(ScorecardSnapshot.id).where(ScorecardSnapshot.period == labels[0])).first()
    if frozen is None:
        write_served(session, labels[0], source="write", now=now)


def serve_current(now: datetime | None = None, engine=None) -> dict[str, int]:  # noqa: ANN001
    """Scheduler job: bring the open periods' served scorecards up to date (each in its own unit of work):
    the current month and last month (until frozen), and the quarter, half and year of the current month."""
    at = now or clock_now()
    this = f"{at.year}-{at.month:02d}"
    last = f"{at.year - 1}-12" if at.month == 1 else f"{at.year}-{at.month - 1:02d}"
    done = 0
    for period in [last, *periods_containing(this)]:
        with unit_of_work(engine) as session:
            if (
                period == last
                and session.exec(select(ScorecardSnapshot.id).where(ScorecardSnapshot.period == last)).first()
            ):
                continue  # frozen: served as frozen, never recomputed by the job
            write_served(session, period, source="job", now=at)
            done += 1
    log.info("served scorecards refreshed for %d periods", done)
    return {"refreshed": done}


# ---- reading ------------------------------------------------------------------------------------------


def _in_scope(viewer: Viewer) -> Any:  # noqa: ANN401 - a SQL expression
    return col(ServedCard.worker_id).in_(select(Worker.id).where(worker_scope_clause(viewer)))


def card_rows(
    session: Session,
    served: ServedScorecard,
    viewer: Viewer | None,
    *,
    components: bool,
    worker_ids: Sequence[int] | None = None,
) -> list[Any]:
    """The served cards' JSON (and, with ``components``, their components') of ``served``: every worker in
    the viewer's scope in row order, or only ``worker_ids`` of them (in chunks: SQLite's parameter limit).
    ``viewer`` None reads by key without a scope condition (a worker's own card)."""
    what = [col(ServedCard.card)] + ([col(ServedCard.components)] if components else [])
    stmt = sa_select(*what).where(col(ServedCard.served_id) == row_id(served.id))
    if viewer is not None:
        stmt = stmt.where(_in_scope(viewer))
    if worker_ids is None:
        return list(session.execute(stmt.order_by(col(ServedCard.id))).all())
    ids = [int(w) for w in worker_ids]
    rows: list[Any] = []
    for i in range(0, len(ids), 900):
        rows += session.execute(stmt.where(col(ServedCard.worker_id).in_(ids[i : i + 900]))).all()
    return rows


def served_view(
    session: Session, viewer: Viewer, period: str, *, scheme_id: int | None = None, components: bool = True
) -> ServedView:
    """The period's cards (and components) for the workers ``viewer`` may see, read from the served tables
    (filled once if missing). Equal to ``service.scorecards`` for the same period and viewer."""
    label, scheme, served = served_of(session, period, scheme_id=scheme_id)
    rows = card_rows(session, served, viewer, components=components)
    return _view(served, scheme, label, rows, components)


def _view(
    served: ServedScorecard, scheme: Scheme, label: str, rows: Sequence[Any], components: bool
) -> ServedView:
    cards = _frame(json.loads("[" + ",".join(r[0] for r in rows) + "]"), served.card_dtypes)
    comps_rows: list[dict] = []
    if components:
        for worker_id, (_, comps_json) in zip(cards["worker_id"].tolist(), rows, strict=True):
            comps_rows += [{"worker_id": worker_id, **c} for c in json.loads(comps_json)]
    comps = _frame(comps_rows, served.component_dtypes)
    result = Scorecards(label, scheme, cards, comps)
    return ServedView(result, cards, comps, served.scheme_id, served.computed_at)


def served_worker_card(session: Session, viewer: Viewer, period: str) -> ServedView:
    """A worker's own card and components: one row read by key (served_id, worker_id), nothing else of the
    period (a worker's first view of 我的考评 is this read, issue #21). The frames hold the values as JSON
    kept them (numbers, flags, text; dates stay text): restoring every column's dtype costs more than the
    read, and one card sorts nothing. Empty when the worker has no card."""
    if viewer.worker_id is None:
        return served_view(session, viewer, period)
    label, scheme, served = served_of(session, period)
    rows = card_rows(session, served, None, components=True, worker_ids=[viewer.worker_id])
    card_rows_ = [json.loads(rows[0][0])] if rows else []
    comp_rows = [{"worker_id": viewer.worker_id, **c} for c in json.loads(rows[0][1])] if rows else []
    cards = pd.DataFrame.from_records(card_rows_, columns=list(json.loads(served.card_dtypes)))
    comps = pd.DataFrame.from_records(comp_rows, columns=list(json.loads(served.component_dtypes)))
    return ServedView(
        Scorecards(label, scheme, cards, comps), cards, comps, served.scheme_id, served.computed_at
    )


def served_trend(
    session: Session,
    viewer: Viewer,
    *,
    first: str,
    last: str,
    scheme_id: int | None = None,
    names: bool = True,
) -> pd.DataFrame:
    """Monthly cards in scope, first..last: the columns a trend reads (period, worker_id, community_id,
    subdistrict_id and, with ``names``, their names; total, grade, scored), from the served rows (months
    missing are filled once)."""
    months = months_between(first, last)
    sid = ensure_months_served(session, months, scheme_id=scheme_id)
    rows = session.execute(
        sa_select(
            col(ServedScorecard.period),
            col(ServedCard.worker_id),
            col(ServedCard.community_id),
            col(ServedCard.subdistrict_id),
            col(ServedCard.total),
            col(ServedCard.grade),
            col(ServedCard.scored),
        )
        .join(ServedScorecard, col(ServedScorecard.id) == col(ServedCard.served_id))
        .where(
            col(ServedScorecard.period).in_(months), col(ServedScorecard.scheme_id) == sid, _in_scope(viewer)
        )
        .order_by(col(ServedScorecard.period), col(ServedCard.worker_id))
    ).all()
    out = pd.DataFrame.from_records(
        [tuple(r) for r in rows],
        columns=["period", "worker_id", "community_id", "subdistrict_id", "total", "grade", "scored"],
    )
    out["total"] = out["total"].astype(float)
    out["scored"] = out["scored"].astype(bool)
    if not names:
        return out
    return with_unit_names(session, out, ("community", "subdistrict"))


def with_unit_names(session: Session, frame: pd.DataFrame, kinds: Sequence[str]) -> pd.DataFrame:
    """``frame`` with ``<kind>_zh`` and ``<kind>_en`` for each ``<kind>_id`` column (community, subdistrict):
    the units' names read once and mapped by id (a few hundred names shared by thousands of rows)."""
    units = session.exec(
        select(OrgUnit.id, OrgUnit.name_zh, OrgUnit.name_en).where(
            col(OrgUnit.level).in_([OrgLevel.SUBDISTRICT.value, OrgLevel.COMMUNITY.value])
        )
    ).all()
    names = {"zh": {i: z for i, z, _ in units}, "en": {i: e for i, _, e in units}}
    for kind in kinds:
        for lang in ("zh", "en"):
            frame[f"{kind}_{lang}"] = frame[f"{kind}_id"].map(names[lang]).astype(object)
    return frame


def _party_unit(viewer: Viewer) -> int | None:
    """The served comparison a viewer reads: 0 for the district, the unit for a subdistrict or community
    manager, None otherwise (a grid-scoped manager: computed on the spot)."""
    if viewer.role == Role.WORKER:
        return None
    if viewer.scope_unit_id is None or viewer.scope_level == OrgLevel.DISTRICT:
        return 0
    if viewer.scope_level in (OrgLevel.SUBDISTRICT, OrgLevel.COMMUNITY):
        return viewer.scope_unit_id
    return None


def served_party(session: Session, viewer: Viewer, period: str) -> pd.DataFrame:
    """The article's party comparison over the viewer's scope, read by key (equal to service.compare_party)."""
    unit = _party_unit(viewer)
    _, _, served = served_of(session, period)
    if unit is not None:
        frame = session.exec(
            select(ServedComparison.frame).where(
                ServedComparison.served_id == row_id(served.id), ServedComparison.unit_id == unit
            )
        ).first()
        if frame is not None:
            data = json.loads(frame)
            return _frame(data["rows"], data["dtypes"])

    return compare_party(session, viewer, period)


def served_at(session: Session, period: str) -> datetime | None:
    """When the active scheme's served figures of ``period`` were computed (None: not served yet)."""
    _, sid = _scheme_id(session, None)
    row = _served_row(session, parse_period(period).label, sid)
    return row.computed_at if row else None


def serve_periods(
    session: Session, periods: list[str], *, source: str = "job", missing_only: bool = False
) -> int:
    """Write the served rows of ``periods`` (only those not served yet with ``missing_only``); how many."""
    _, sid = _scheme_id(session, None)
    done = 0
    for period in periods:
        if missing_only and _served_row(session, parse_period(period).label, sid) is not None:
            continue
        write_served(session, period, scheme_id=sid, source=source)
        done += 1
    return done


def seed_demo(ctx) -> None:  # noqa: ANN001 - core.demo.DemoContext
    """Demo: serve every month the pages offer (core.demo extension), so no first viewer computes one."""
    months = period_choices(ctx.session, SYSTEM)
    n = serve_periods(ctx.session, months, source="job")
    ctx.log(f"scoring: served scorecards for {n} months")
