"""The daily early-warning job: store today's hotspot warnings and tell the managers, each once."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
from sqlmodel import Session, col, select

from core.db import unit_of_work
from core.inbox import notify
from core.models import OrgUnit, Role, User, row_id
from core.scheduler import JobSpec
from core.sql import insert_ignore
from evaluation.field.registry import field_now, items_frame
from evaluation.warning.hotspots import WINDOW_DAYS, hotspots
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
    # An item is named with its taxonomy code (C03 占道经营), a category by its name alone (its code is
    # an internal word such as "dispute").
    coded = w["code"].isin(items.index)
    what_zh = (w["code"] + " ").where(coded, "") + w["code"].map(item_zh).fillna("")
    what_en = (w["code"] + " ").where(coded, "") + w["code"].map(item_en).fillna("")
    w["title_zh"] = "预警:" + place_zh + " · " + what_zh.str.strip()
    w["title_en"] = "Warning: " + place_en + " · " + what_en.str.strip()
    w["body_zh"] = (
        "近7天 " + w["observed"].astype(str) + " 起,预期 " + w["expected"].map("{:.1f}".format) + " 起"
    )
    w["body_en"] = w["observed"].astype(str) + " in 7 days, expected " + w["expected"].map("{:.1f}".format)
    return w


ONGOING_DAYS = WINDOW_DAYS  # warned again within a week of its last warned window: the same flare-up


def _ongoing(session: Session, w: pd.DataFrame, as_of: date) -> dict[tuple, HotspotWarning]:
    """The stored warnings that the found ones continue: same place and key, last warned at most
    ``ONGOING_DAYS`` before ``as_of`` (and first warned no later than it)."""
    rows = session.exec(
        select(HotspotWarning).where(
            col(HotspotWarning.community_id).in_(sorted({int(c) for c in w["community_id"]})),
            col(HotspotWarning.last_window_end) >= as_of - timedelta(days=ONGOING_DAYS),
            col(HotspotWarning.window_end) <= as_of,
        )
    ).all()
    out: dict[tuple, HotspotWarning] = {}
    for row in sorted(rows, key=lambda r: r.last_window_end):  # the latest one wins
        out[(row.community_id, row.grid_id, row.kind, row.code)] = row
    return out


def raise_warnings(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Warn about the 7 days ending on the field area's "now", one warning per flare-up.

    A flare-up still improbably high on the following days (warned again within ``ONGOING_DAYS`` of its
    last warned window) updates its warning — the latest window's figures, the peak — and raises no new
    one; otherwise a new warning is stored (``INSERT … ON CONFLICT DO NOTHING`` on the natural key, so two
    runs at once store it once). Each warning reaches each responsible manager's inbox once (notice key
    per warning × user). Running it twice the same day changes nothing. Flushes; the caller commits.
    """
    at = field_now(session, now)
    as_of = at.date()
    found = hotspots(session, as_of)
    if found.empty:
        return {"found": 0, "new": 0, "updated": 0, "notices": 0}
    w = found.assign(grid_id=found["grid_id"].fillna(0).astype(int), window_end=as_of)
    w["community_id"] = w["community_id"].astype(int)
    ongoing = _ongoing(session, w, as_of)
    new_rows, updated, ids = [], 0, []
    for r in w.to_dict("records"):
        key = (r["community_id"], r["grid_id"], r["kind"], r["code"])
        observed, expected, score = int(r["observed"]), float(r["expected"]), float(r["score"])
        figures = {"observed": observed, "expected": expected, "score": score}
        known = ongoing.get(key)
        if known is None:
            new_rows.append(
                {
                    **dict(zip(KEY_FIELDS, (*key, as_of), strict=True)),
                    **figures,
                    "last_window_end": as_of,
                    "peak": observed,
                    "created_at": at,
                }
            )
            continue
        ids.append(row_id(known.id))
        if as_of >= known.last_window_end:  # a run for an earlier day leaves the latest figures alone
            updated += int((known.last_window_end, known.observed) != (as_of, observed))
            known.last_window_end = as_of
            known.observed, known.expected, known.score = observed, expected, score
        known.peak = max(known.peak, observed)
        session.add(known)
    new = insert_ignore(session, HotspotWarning, new_rows, conflict=KEY_FIELDS)
    session.flush()
    if new_rows:
        new_keys = {tuple(r[k] for k in KEY_FIELDS[:4]) for r in new_rows}
        stored = session.exec(
            select(HotspotWarning).where(
                HotspotWarning.window_end == as_of,
                col(HotspotWarning.community_id).in_({r["community_id"] for r in new_rows}),
            )
        ).all()
        ids += [row_id(h.id) for h in stored if (h.community_id, h.grid_id, h.kind, h.code) in new_keys]
    sent = notify(session, notices_for(session, ids, now=at), now=at)
    return {"found": len(w), "new": new, "updated": updated, "notices": sent}


def notices_for(session: Session, warning_ids: list[int], *, now: datetime) -> list[dict]:
    """One inbox notice per warning × responsible manager (the key names the warning, not the day)."""
    if not warning_ids:
        return []
    rows = session.exec(select(HotspotWarning).where(col(HotspotWarning.id).in_(warning_ids))).all()
    w = pd.DataFrame(
        [
            {
                f: getattr(h, f)
                for f in ("id", "community_id", "grid_id", "kind", "code", "observed", "expected")
            }
            for h in rows
        ]
    )
    w = _texts(session, w)
    managers = managers_of(session, sorted({int(c) for c in w["community_id"]}))
    notices = []
    for r in w.to_dict("records"):
        for uid in managers.get(int(r["community_id"]), []):
            notices.append(
                {
                    "key": f"hotspot:{r['id']}:{uid}",
                    "kind": "field.hotspot",
                    "user_id": uid,
                    "title_zh": r["title_zh"],
                    "title_en": r["title_en"],
                    "body_zh": r["body_zh"],
                    "body_en": r["body_en"],
                    "link": f"pages/warnings.py?warning={r['id']}",
                    "created_at": now,
                }
            )
    return notices


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
