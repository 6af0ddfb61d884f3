"""Early warning in the demo district: flare-ups planted in the events, and the daily job replayed over the
history so the 预警 page, the inbox and the dispatch queue show what the district would have seen.

The planted flare-ups (``PLANTED``) are extra events on top of the background the field demo draws (each
item's events spread evenly over communities and the nine months). Their sizes do not follow ``ctx.scale``:
a flare-up is a count in one community, not a share of the district's volume. bench/bench_hotspots.py
measures, on this history, that each is warned within 7 days of its start and how often the rule warns
where nothing was planted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from sqlmodel import Session, col, select

from core.demo import DemoContext
from core.models import OrgUnit, row_id
from evaluation.field.models import Event
from evaluation.field.registry import field_now, items_frame, sla_levels
from evaluation.warning.hotspots import BASELINE_DAYS, WINDOW_DAYS, daily_counts, warnable_days
from evaluation.warning.jobs import raise_warnings

OPEN_DAYS = 2  # planted events reported in the last 2 days before "today" are still waiting for dispatch


@dataclass(frozen=True)
class Planted:
    """``events`` extra reports of ``item`` in ``community`` (its zh name) over ``days`` days from ``start``,
    all in one grid (a building or a street) when ``one_grid``, else spread over the community's grids."""

    community: str
    item: str
    start: date
    days: int
    events: int
    one_grid: bool
    text: str  # what the reports say (report_text), for the page and the triage columns

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days - 1)


PLANTED: tuple[Planted, ...] = (
    Planted("下沙社区", "D01", date(2020, 4, 6), 10, 12, False, "楼上楼下因噪音、漏水吵架,双方情绪激动"),
    Planted("鹏城社区", "W03", date(2020, 5, 11), 5, 6, True, "巷子里小作坊又开工了,门口堆满原料"),
    Planted("南澳社区", "F02", date(2020, 6, 15), 7, 10, True, "楼道里电动车飞线充电,晚上停满"),
    Planted("葵涌社区", "D06", date(2020, 8, 3), 14, 12, False, "市民来电反映拆迁补偿问题,准备集体上访"),
    Planted("王母社区", "C08", date(2020, 9, 24), 7, 9, True, "夜宵排档噪音扰民到凌晨,居民多次投诉"),
)


def plant_flare_ups(ctx: DemoContext) -> int:
    """Add the planted flare-ups' events (closed as usual, the last ``OPEN_DAYS`` days' still waiting)."""
    rng = np.random.default_rng(ctx.seed + 24)
    session = ctx.session
    today = field_now(session)  # the demo's pinned "today" (2020-09-30 18:00)
    items = items_frame().set_index("item_code")
    limits = sla_levels(session)
    names = {p.community for p in PLANTED}
    community_ids = dict(
        session.exec(
            select(OrgUnit.name_zh, OrgUnit.id).where(
                col(OrgUnit.name_zh).in_(names), OrgUnit.level == "community"
            )
        ).all()
    )
    grids = ctx.grids.sort_values("id")
    events = []
    for n, p in enumerate(PLANTED):
        cid = row_id(community_ids[p.community])
        mine = grids[grids["community_id"] == cid]
        chosen = mine.iloc[
            [int(rng.integers(len(mine)))] * p.events
            if p.one_grid
            else rng.integers(len(mine), size=p.events)
        ]
        item = items.loc[p.item]
        handle_h = limits[item["default_priority"]].handle_limit_hours
        days = np.sort(rng.integers(0, p.days, size=p.events))
        for k, (grid, day) in enumerate(zip(chosen.itertuples(index=False), days, strict=True)):
            reported = datetime.combine(p.start + timedelta(days=int(day)), datetime.min.time()) + timedelta(
                hours=float(rng.uniform(8, 17))
            )
            reporter = ctx.workers[ctx.workers["grid_id"] == grid.id]
            waiting = reported > today - timedelta(days=OPEN_DAYS)
            e = Event(
                event_no=f"DW{reported:%Y%m%d}{n}{k:03d}",
                item_code=p.item,
                category_code=str(item["category_code"]),
                grid_id=int(grid.id),
                community_id=cid,
                location=p.community,
                lat=float(grid.lat) + float(rng.normal(0, 0.0005)),
                lon=float(grid.lon) + float(rng.normal(0, 0.0005)),
                priority=str(item["default_priority"]),
                reporter_id=int(reporter["id"].iloc[0]) if len(reporter) else None,
                discovered_at=reported - timedelta(minutes=30),
                reported_at=reported,
                accepted_at=reported + timedelta(minutes=40),
                report_text=p.text,
                state="registered",  # until handled, below
                source="demo",
                updated_at=today,
            )
            if not waiting:
                signed = reported + timedelta(hours=2)
                e.assignee_id = e.reporter_id
                e.dispatched_at, e.signed_at, e.started_at = reported + timedelta(hours=1), signed, signed
                e.sign_due_at, e.due_at = reported + timedelta(hours=3), signed + timedelta(hours=handle_h)
                e.feedback_at = signed + timedelta(hours=min(20.0, handle_h * 0.6))
                e.closed_at = e.evaluated_at = e.feedback_at + timedelta(hours=3)
                e.satisfaction, e.state, e.result = "satisfied", "evaluated", "已整改完毕,现场复核通过"
            events.append(e)
    session.add_all(events)
    session.flush()
    ctx.log(f"warning: {len(events)} events in {len(PLANTED)} planted flare-ups")
    return len(events)


def replay(session: Session, first: date, last: date, log: Callable[[str], None] = print) -> dict[str, int]:
    """Run the daily warning job for every day from ``first`` to ``last``, as if it had run each morning.

    A day on which no window reaches the rule's minimum count cannot warn (the job returns at once without
    writing), so the replay reads the counts once and runs the job only on the days that can: the same
    warnings and notices as running it every day, at a fraction of the cost."""
    counts = daily_counts(session, first - timedelta(days=WINDOW_DAYS - 1), last)
    can_warn = warnable_days(counts, first, last)
    totals = {"days": 0, "new": 0, "notices": 0}
    day = first
    while day <= last:
        if day in can_warn:
            out = raise_warnings(session, now=datetime.combine(day, datetime.min.time()) + timedelta(hours=6))
            totals["new"] += out["new"]
            totals["notices"] += out["notices"]
        totals["days"] += 1
        day += timedelta(days=1)
    log(
        f"warning: job replayed over {totals['days']} days: {totals['new']} warnings, {totals['notices']} notices"
    )
    return totals


def first_full_day(start: date) -> date:
    """The first day whose window has a whole baseline behind it in a history that starts on ``start``."""
    return start + timedelta(days=BASELINE_DAYS + WINDOW_DAYS - 1)


def judge(
    warnings: pd.DataFrame, community_ids: dict[str, int], n_communities: int, first: date, last: date
) -> dict:
    """Detection and false alarms of stored warnings (columns of HotspotWarning) against ``PLANTED``.

    A warning belongs to a planted flare-up when it is in its community, about its item or the item's
    category, and was first raised on a window that holds some of its days (``window_end`` from its start
    to 6 days after its end). A flare-up is detected when one of its warnings was first raised within 7
    days of its start (``window_end`` ≤ start + 6: the first week that holds it). Every other warning —
    community or grid level, item or category, each stored row — is a false alarm, counted per community
    per month (30.44 days) over the communities × months of ``first``…``last``.
    """
    category = items_frame().set_index("item_code")["category_code"]
    w = warnings.copy()
    w["planted"] = -1
    rows = []
    for n, p in enumerate(PLANTED):
        mine = (
            (w["community_id"] == community_ids[p.community])
            & w["code"].isin([p.item, category[p.item]])
            & (w["window_end"] >= p.start)
            & (w["window_end"] <= p.end + timedelta(days=WINDOW_DAYS - 1))
        )
        w.loc[mine, "planted"] = n
        firsts = w.loc[mine, "window_end"]
        lag = (min(firsts) - p.start).days if len(firsts) else None
        rows.append(
            {
                "flare_up": f"{p.community} {p.item} {p.start:%m-%d}+{p.days}d {p.events} events",
                "warnings": int(mine.sum()),
                "days_to_warn": lag,
                "detected": lag is not None and lag <= WINDOW_DAYS - 1,
            }
        )
    months = ((last - first).days + 1) / 30.44
    false = w[w["planted"] < 0]
    return {
        "planted": pd.DataFrame(rows),
        "false_alarms": int(len(false)),
        "false_alarm_rate": len(false) / (n_communities * months),
        "false_by_level": false.assign(level=np.where(false["grid_id"] > 0, "grid", "community"))
        .groupby(["level", "kind"])
        .size()
        .to_dict(),
        "community_months": n_communities * months,
        "worst_community_month": int(
            false.assign(month=pd.to_datetime(false["window_end"]).dt.to_period("M"))
            .groupby(["community_id", "month"])
            .size()
            .max()
        )
        if len(false)
        else 0,
    }


def seed(ctx: DemoContext) -> None:
    """After the field demo (which plants the flare-ups among its events): the job's history."""
    replay(ctx.session, first_full_day(ctx.start), field_now(ctx.session).date(), ctx.log)
