"""What other tools and the 预警 page ask of early warning: the warnings for a date as plain records
(``gridwise field hotspots``), the stored warnings in a viewer's scope, the series behind one, and the
acknowledgement."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
from scipy.stats import poisson
from sqlalchemy import select as sa_select
from sqlalchemy import update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from core.audit import record
from core.clock import now as clock_now
from core.errors import GridwiseError
from core.models import OrgUnit
from core.scope import ScopeError, Viewer, in_scope, path_scope_clause
from core.sql import frame
from evaluation.field.models import Event
from evaluation.field.registry import field_now
from evaluation.warning.hotspots import BASELINE_DAYS, WINDOW_DAYS, daily_counts, hotspots
from evaluation.warning.models import HotspotWarning


class WarningError(GridwiseError):
    prefix = "warning.err."


def parse_as_of(value: str) -> date:
    """An ISO date (``2020-09-30``) or a refusal in the reader's language."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise WarningError("bad_date", value=value) from None


def hotspot_records(session: Session, as_of: date) -> list[dict]:
    """The warnings for the 7 days ending ``as_of``, computed from the events (nothing stored, nothing sent):
    ``community`` and ``grid`` (org codes; ``grid`` None for a community-level warning) with their zh/en
    names, ``item`` (a taxonomy item code) or ``category`` (a category code), ``observed`` (events in the 7
    days), ``expected`` (what the unit's history predicts), ``score`` (the Poisson upper-tail probability of
    seeing that many; smaller is more improbable), most improbable first."""
    found = hotspots(session, as_of)
    if found.empty:
        return []
    ids = {int(c) for c in found["community_id"]} | {int(g) for g in found["grid_id"].dropna()}
    units = {u.id: u for u in session.exec(select(OrgUnit).where(col(OrgUnit.id).in_(sorted(ids)))).all()}
    out = []
    for r in found.to_dict("records"):
        community = units[int(r["community_id"])]
        grid = units.get(int(r["grid_id"])) if pd.notna(r["grid_id"]) else None
        out.append(
            {
                "community": community.code,
                "community_zh": community.name_zh,
                "community_en": community.name_en,
                "grid": grid.code if grid else None,
                "grid_zh": grid.name_zh if grid else None,
                "grid_en": grid.name_en if grid else None,
                r["kind"]: r["code"],
                "observed": int(r["observed"]),
                "expected": float(r["expected"]),
                "score": float(r["score"]),
            }
        )
    return out


def warned_events(session: Session, event_ids: list[int], *, now: datetime | None = None) -> set[int]:
    """Which of ``event_ids`` belong to a current warning: same community (and grid, for a grid-level
    warning), its item (or an item of its category), reported since its first window began. A warning is
    current while it was last warned within ``WINDOW_DAYS`` of the field area's "now" (acknowledged ones
    too: acknowledging says someone has seen it, not that it is over). Dispatch ranks these first."""
    if not event_ids:
        return set()
    today = field_now(session, now).date()
    # A handful of warnings against a queue's events: matched row by row, not through a pandas merge (its
    # fixed cost was ~40 % of reading 智能派单's queue, issue #21).
    warnings = session.execute(
        sa_select(
            col(HotspotWarning.community_id),
            col(HotspotWarning.grid_id),
            col(HotspotWarning.kind),
            col(HotspotWarning.code),
            col(HotspotWarning.window_end),
        ).where(col(HotspotWarning.last_window_end) >= today - timedelta(days=WINDOW_DAYS))
    ).all()
    if not warnings:
        return set()
    by_community: dict[int, list[tuple]] = {}
    for community, grid, kind, code, window_end in warnings:
        since = pd.Timestamp(window_end) - pd.Timedelta(days=WINDOW_DAYS - 1)
        by_community.setdefault(community, []).append((grid, kind, code, since))
    events = session.execute(
        sa_select(
            col(Event.id),
            col(Event.community_id),
            col(Event.grid_id),
            col(Event.item_code),
            col(Event.category_code),
            col(Event.reported_at),
        ).where(col(Event.id).in_(event_ids), col(Event.community_id).in_(list(by_community)))
    ).all()
    return {
        int(event_id)
        for event_id, community, grid, item, category, reported_at in events
        for warned_grid, kind, code, since in by_community[community]
        if warned_grid is not None
        and (warned_grid == 0 or warned_grid == grid)
        and code == (item if kind == "item" else category)
        and reported_at is not None
        and pd.Timestamp(reported_at) >= since
    }


WARNING_COLUMNS = [
    "id", "community_id", "grid_id", "kind", "code", "window_end", "last_window_end", "observed", "peak",
    "expected", "score", "acknowledged_at", "ack_note", "community_zh", "community_en", "grid_zh", "grid_en",
    "lat", "lon",
]  # fmt: skip


def warnings_in_scope(session: Session, viewer: Viewer, *, since: date | None = None) -> pd.DataFrame:
    """Stored warnings whose community is in the viewer's scope (last warned on or after ``since``), newest
    first, with the community's and grid's names and a place for the map (the grid's centre, else the mean
    of the community's grids)."""
    community = aliased(OrgUnit)
    stmt = (
        sa_select(
            *(col(getattr(HotspotWarning, c)) for c in WARNING_COLUMNS[:13]),
            col(community.name_zh),
            col(community.name_en),
        )
        .join(community, col(community.id) == col(HotspotWarning.community_id))
        .where(path_scope_clause(viewer, col(community.path)))
        .order_by(col(HotspotWarning.last_window_end).desc(), col(HotspotWarning.score))
    )
    if since is not None:
        stmt = stmt.where(col(HotspotWarning.last_window_end) >= since)
    w = frame(session, stmt, WARNING_COLUMNS[:15])
    if w.empty:
        return pd.DataFrame(columns=WARNING_COLUMNS)
    grids = frame(
        session,
        sa_select(col(OrgUnit.id), col(OrgUnit.parent_id), col(OrgUnit.name_zh), col(OrgUnit.name_en),
                  col(OrgUnit.lat), col(OrgUnit.lon))
        .where(col(OrgUnit.parent_id).in_(sorted({int(c) for c in w["community_id"]}))),
        ["id", "community_id", "name_zh", "name_en", "lat", "lon"],
    )  # fmt: skip
    by_grid = grids.set_index("id")
    centre = grids.groupby("community_id")[["lat", "lon"]].mean()
    has_grid = w["grid_id"] > 0
    w["grid_zh"] = w["grid_id"].map(by_grid["name_zh"]).where(has_grid)
    w["grid_en"] = w["grid_id"].map(by_grid["name_en"]).where(has_grid)
    for c in ("lat", "lon"):
        w[c] = w["grid_id"].map(by_grid[c]).where(has_grid).fillna(w["community_id"].map(centre[c]))
    return w[WARNING_COLUMNS]


def _one(session: Session, viewer: Viewer, warning_id: int) -> HotspotWarning:
    warning = session.get(HotspotWarning, warning_id)
    unit = session.get(OrgUnit, warning.community_id) if warning is not None else None
    if warning is None or unit is None or not in_scope(viewer, unit.path):
        raise ScopeError()
    return warning


def warning_series(session: Session, viewer: Viewer, warning_id: int) -> pd.DataFrame:
    """The series behind a warning: for each day from 8 weeks before its first window to its last one, the
    unit's events of its item/category that day (``n``) and over the 7 days ending that day
    (``week``), beside the expected 7-day count (``expected``) and the band a Poisson count around it stays
    in 99.8 % of the time (``low``, ``high``)."""
    w = _one(session, viewer, warning_id)
    start = w.window_end - timedelta(days=BASELINE_DAYS + WINDOW_DAYS - 1)
    counts = daily_counts(session, start, w.last_window_end)
    mine = counts[counts["community_id"] == w.community_id]
    if w.grid_id:
        mine = mine[mine["grid_id"] == w.grid_id]
    mine = mine[mine["item_code" if w.kind == "item" else "category_code"] == w.code]
    days = pd.date_range(start, w.last_window_end, freq="D")
    n = mine.groupby(pd.to_datetime(mine["day"]))["n"].sum().reindex(days, fill_value=0)
    series = pd.DataFrame({"day": days, "n": n.to_numpy().astype(int)})
    series["week"] = series["n"].rolling(WINDOW_DAYS, min_periods=1).sum().astype(int)
    series["expected"] = w.expected
    series["low"] = float(poisson.ppf(0.001, w.expected))
    series["high"] = float(poisson.ppf(0.999, w.expected))
    return series.iloc[WINDOW_DAYS - 1 :].reset_index(drop=True)


def acknowledge(
    session: Session, viewer: Viewer, warning_id: int, note: str, *, now: datetime | None = None
) -> bool:
    """Mark a warning seen, with the manager's note (audited ``warning.acknowledge``). One conditional
    UPDATE: a second click, or a second manager at the same moment, finds it acknowledged and changes
    nothing (returns False). Flushes; the caller commits."""
    if not viewer.is_manager:
        raise ScopeError()
    note = note.strip()
    if not note:
        raise WarningError("note_required")
    if len(note) > 500:
        raise WarningError("note_long", n=500)
    warning = _one(session, viewer, warning_id)
    at = now or clock_now()
    result = session.execute(
        update(HotspotWarning)
        .where(col(HotspotWarning.id) == warning_id, col(HotspotWarning.acknowledged_at).is_(None))
        .values(acknowledged_at=at, acknowledged_by=viewer.user_id, ack_note=note)
    )
    if not result.rowcount:  # type: ignore[attr-defined]  # a CursorResult: UPDATE reports its rowcount
        return False
    record(
        session,
        "warning.acknowledge",
        viewer=viewer,
        entity="hotspot_warning",
        entity_id=warning_id,
        before={"acknowledged_at": None},
        after={"acknowledged_at": at.isoformat(timespec="seconds")},
        detail={"kind": warning.kind, "code": warning.code, "window_end": warning.window_end.isoformat()},
    )
    session.flush()
    return True
