"""What other tools and the 预警 page ask of early warning: the warnings for a date as plain records
(``gridwise field hotspots``), the stored warnings in a viewer's scope, the series behind one, and the
acknowledgement."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core.errors import GridwiseError
from core.models import OrgUnit
from core.sql import frame
from evaluation.field.models import Event
from evaluation.field.registry import field_now
from evaluation.warning.hotspots import WINDOW_DAYS, hotspots
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
    warnings = frame(
        session,
        sa_select(
            col(HotspotWarning.community_id),
            col(HotspotWarning.grid_id),
            col(HotspotWarning.kind),
            col(HotspotWarning.code),
            col(HotspotWarning.window_end),
        ).where(col(HotspotWarning.last_window_end) >= today - timedelta(days=WINDOW_DAYS)),
        ["community_id", "warned_grid", "kind", "code", "window_end"],
    )
    if warnings.empty:
        return set()
    events = frame(
        session,
        sa_select(
            col(Event.id),
            col(Event.community_id),
            col(Event.grid_id),
            col(Event.item_code),
            col(Event.category_code),
            col(Event.reported_at),
        ).where(col(Event.id).in_(event_ids)),
        ["id", "community_id", "grid_id", "item", "category", "reported_at"],
    )
    m = events.merge(warnings, on="community_id")
    since = pd.to_datetime(m["window_end"]) - pd.Timedelta(days=WINDOW_DAYS - 1)
    hit = (
        ((m["warned_grid"] == 0) | (m["warned_grid"] == m["grid_id"]))
        & (m["code"] == m["item"].where(m["kind"] == "item", m["category"]))
        & (pd.to_datetime(m["reported_at"]) >= since)
    )
    return {int(i) for i in m.loc[hit, "id"]}
