"""The daily early-warning job: store today's hotspot warnings and tell the managers, each once."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlmodel import Session, col, select

from core.db import unit_of_work
from core.inbox import notify
from core.models import OrgUnit, Role, User
from core.scheduler import JobSpec
from core.sql import insert_ignore
from evaluation.field.registry import field_now, items_frame
from evaluation.warning.hotspots import hotspots
from evaluation.warning.models import HotspotWarning

KEY_FIELDS = ["community_id", "grid_id", "kind", "code", "window_end"]


def managers_of(session: Session, community_ids: list[int]) -> dict[int, list[int]]:
    """Community id → active managers scoped to that community or to its subdistrict (its parent)."""
    if not community_ids:
        return {}
    parents = dict(
        session.exec(select(OrgUnit.id, OrgUnit.parent_id).where(col(OrgUnit.id).in_(community_ids))).all()
    )
    units = set(community_ids) | {p for p in parents.values() if p is not None}
    rows = session.exec(
        select(User.id, User.scope_unit_id).where(
            User.role == Role.MANAGER.value, col(User.is_active), col(User.scope_unit_id).in_(units)
        )
    ).all()
    out: dict[int, list[int]] = {}
    for cid in community_ids:
        mine = {cid, parents.get(cid)}
        out[cid] = sorted(int(uid) for uid, scope in rows if uid is not None and scope in mine)
    return out


def _texts(session: Session, w: pd.DataFrame) -> pd.DataFrame:
    names = dict(session.exec(select(OrgUnit.id, OrgUnit.name_zh)).all())
    names_en = dict(session.exec(select(OrgUnit.id, OrgUnit.name_en)).all())
    items = items_frame()
    cats = items.drop_duplicates("category_code").set_index("category_code")
    items = items.set_index("item_code")
    item_zh = {**items["item_zh"].to_dict(), **cats["category_zh"].to_dict()}
    item_en = {**items["item_en"].to_dict(), **cats["category_en"].to_dict()}
    w = w.copy()
    place_zh = w["community_id"].map(names)
    place_en = w["community_id"].map(names_en)
    grid = w["grid_id"].fillna(0).astype(int)
    has_grid = grid > 0
    place_zh = place_zh.where(~has_grid, place_zh + " " + grid.map(names).fillna(""))
    place_en = place_en.where(~has_grid, place_en + " " + grid.map(names_en).fillna(""))
    what_zh = w["code"] + " " + w["code"].map(item_zh).fillna("")
    what_en = w["code"] + " " + w["code"].map(item_en).fillna("")
    w["title_zh"] = "预警:" + place_zh + " · " + what_zh.str.strip()
    w["title_en"] = "Warning: " + place_en + " · " + what_en.str.strip()
    w["body_zh"] = (
        "近7天 " + w["observed"].astype(str) + " 起,预期 " + w["expected"].map("{:.1f}".format) + " 起"
    )
    w["body_en"] = w["observed"].astype(str) + " in 7 days, expected " + w["expected"].map("{:.1f}".format)
    return w


def raise_warnings(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Store the warnings for the 7 days ending on the field area's "now" (ON CONFLICT DO NOTHING) and put
    one inbox notice per warning in each responsible manager's inbox (unique key per warning × user).
    Running it twice the same day changes nothing. Flushes; the caller commits."""
    at = field_now(session, now)
    as_of = at.date()
    found = hotspots(session, as_of)
    if found.empty:
        return {"found": 0, "new": 0, "notices": 0}
    w = found.assign(grid_id=found["grid_id"].fillna(0).astype(int), window_end=as_of)
    rows = [
        {
            **{k: r[k] for k in KEY_FIELDS},
            "community_id": int(r["community_id"]),
            "grid_id": int(r["grid_id"]),
            "observed": int(r["observed"]),
            "expected": float(r["expected"]),
            "score": float(r["score"]),
            "created_at": at,
        }
        for r in w.to_dict("records")
    ]
    new = insert_ignore(session, HotspotWarning, rows, conflict=KEY_FIELDS)
    w = _texts(session, w)
    managers = managers_of(session, sorted({int(c) for c in w["community_id"]}))
    notices = []
    for r in w.to_dict("records"):
        key = f"hotspot:{r['community_id']}:{r['grid_id']}:{r['kind']}:{r['code']}:{as_of.isoformat()}"
        for uid in managers.get(int(r["community_id"]), []):
            notices.append(
                {
                    "key": f"{key}:{uid}",
                    "kind": "field.hotspot",
                    "user_id": uid,
                    "title_zh": r["title_zh"],
                    "title_en": r["title_en"],
                    "body_zh": r["body_zh"],
                    "body_en": r["body_en"],
                    "created_at": at,
                }
            )
    sent = notify(session, notices, now=at)
    return {"found": len(rows), "new": new, "notices": sent}


def daily(now: datetime | None = None) -> dict[str, int]:
    with unit_of_work() as session:
        return raise_warnings(session, now=now)


JOBS = [
    JobSpec(
        "warning.hotspots",
        "evaluation.warning.jobs:daily",
        {"trigger": "cron", "hour": 6, "minute": 20},
        "Early warning: improbably high 7-day event counts → warnings and manager notices",
    ),
]
