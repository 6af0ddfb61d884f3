"""What other tools and the 预警 page ask of early warning: the warnings for a date as plain records
(``gridwise field hotspots``), the stored warnings in a viewer's scope, the series behind one, and the
acknowledgement."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlmodel import Session, col, select

from core.errors import GridwiseError
from core.models import OrgUnit
from evaluation.warning.hotspots import hotspots


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
