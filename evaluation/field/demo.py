"""Field data for the demo district: 9 months from 2020-01-01 at the article's volumes × ctx.scale.

- house visits (走访房屋 603,154 间次 by 30 September) as worker × day counts drawn around the visit plan;
  巡查覆盖率 is then computed from them like any derived figure (evaluation.field.visits), never inserted;
- monthly imported figures (采集率, 准确率, 未注销率, 注销及时率, 录入及时率, 出租屋月查验率), with the 54
  party-member workers 1–2 points better on 采集率, 未注销率 and 准确率 (the article);
- >10,000 hazards/events over all 43 items, every one reported, with realistic stage times and a few
  percent late;
- ~300 graded urban-village rental buildings with their patrols;
- the verification campaign: ~8000 house-code records, 350 buildings, 1265 houses, 168 reversed
  deregistrations, raised as verification tasks (most already done).

Everything is generated as arrays and written with Core executemany.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import DateTime, bindparam, insert, update
from sqlalchemy import select as sa_select  # more columns than sqlmodel's select is typed for
from sqlmodel import col, select

from core.demo import DemoContext
from core.models import AppSetting
from core.scope import SYSTEM
from core.sql import table_of
from evaluation.field.escalation import notify_escalations
from evaluation.field.models import (
    Deregistration,
    Event,
    HouseRecord,
    MetricValue,
    RentalBuilding,
    RentalGrading,
    RentalPatrol,
    VerificationTask,
    VisitDay,
)
from evaluation.field.quality import raise_verification_tasks
from evaluation.field.registry import AS_OF_SETTING, ensure_reference_data, items_frame, sla_levels
from evaluation.field.rentals import criteria, grade_for
from evaluation.field.summary import recompute_event_metrics
from evaluation.field.visits import visits_due
from evaluation.warning.demo import plant_flare_ups

HOUSE_VISITS = 603_154
HAZARDS = 10_600
RENTAL_BUILDINGS = 300
HOUSE_CODE_RECORDS = 8_000
BUILDING_FIXES, HOUSE_FIXES, REVERSED_DEREG = 350, 1265, 168
AS_OF = datetime(2020, 9, 30, 18, 0)  # the demo's "today": the article's figures are as of 30 September
PARTY_BOOST = 1.8  # points added to party members' rates (realised party − all ≈ 1.5)


def _n(ctx: DemoContext, full: float, floor: int = 3) -> int:
    return max(floor, int(round(full * ctx.scale)))


def seed(ctx: DemoContext) -> None:
    session, rng = ctx.session, np.random.default_rng(ctx.seed + 4)
    ensure_reference_data(session)
    session.add(AppSetting(key=AS_OF_SETTING, value=AS_OF.isoformat()))
    session.flush()
    days = pd.date_range(ctx.start, AS_OF.date(), freq="D")
    _figures(ctx, rng)
    buildings = _rentals(ctx, rng)
    _visits(ctx, rng, days)  # after the rentals: graded buildings raise the visits due in their grids
    _events(ctx, rng, buildings)
    plant_flare_ups(ctx)  # early warning's planted flare-ups, before anything counts the events
    sent = notify_escalations(session, now=AS_OF)  # what the overdue job would have put in the inboxes
    ctx.log(f"field: inbox notices for overdue events {sent}")
    _verification(ctx, rng)
    n = recompute_event_metrics(session, now=AS_OF)
    ctx.log(f"field: {n} event-derived monthly figures")


def _visits(ctx: DemoContext, rng: np.random.Generator, days: pd.DatetimeIndex) -> None:
    """House visits per worker × day, drawn around what the visit plan asks of each worker (the plan that
    巡查覆盖率 is computed against: houses of the grid, graded rental rooms at their grade's interval), then
    scaled so the district total is the article's 603,154 by 30 September.

    Not multiplied by ctx.scale: the plan comes from the grids' households, which the scale leaves alone,
    and the row count (worker × day) does not depend on the volume anyway."""
    months = pd.period_range(days[0], days[-1], freq="M")
    due = visits_due(ctx.session, months=months, now=AS_OF)
    w = ctx.workers[["id", "grid_id"]].reset_index(drop=True)
    per = w.reset_index().merge(due, on="grid_id")  # one worker per grid in the demo
    # Each worker's habit (most cover 90–97 % of the plan, a few fall well short) and a monthly wobble.
    habit = np.clip(rng.normal(0.94, 0.035, len(w)), 0.7, 1.05)
    per["target"] = per["due"] * habit[per["index"]] * np.clip(rng.normal(1, 0.03, len(per)), 0.85, 1.1)
    target = per.pivot_table(index="index", columns="month", values="target", aggfunc="sum", fill_value=0.0)
    target = target.reindex(index=range(len(w)), columns=months, fill_value=0.0).to_numpy()
    weight = np.where(days.dayofweek < 5, 1.0, 0.35)  # fewer visits at weekends
    m_of_day = np.asarray(days.to_period("M").map(months.get_loc))
    share = weight / np.bincount(m_of_day, weights=weight)[m_of_day]
    lam = target[:, m_of_day] * share
    counts = rng.poisson(lam * HOUSE_VISITS / lam.sum())
    # A handful of implausible days (data-quality check: more visits than a day allows).
    k = _n(ctx, 14 * max(ctx.scale, 0.2), 3)
    counts[rng.integers(0, len(w), k), rng.integers(0, len(days), k)] = rng.integers(90, 160, k)
    wi, di = np.nonzero(counts)
    ctx.session.execute(
        insert(VisitDay),
        [
            {"worker_id": int(a), "day": d, "visits": int(v)}
            for a, d, v in zip(w["id"].to_numpy()[wi], days.date[di], counts[wi, di], strict=True)
        ],
    )
    ctx.log(
        f"field: {int(counts.sum()):,} house visits on {len(wi):,} worker-days "
        f"({due['due'].sum():,.0f} due under the visit plan)"
    )


def _insert_figures(ctx: DemoContext, frame: pd.DataFrame) -> None:
    recs = frame[["worker_id", "period", "metric", "numerator", "denominator"]].copy()
    recs["worker_id"] = recs["worker_id"].astype(int)
    recs = recs.astype(object).where(recs.notna(), None).assign(source="import", updated_at=AS_OF)
    ctx.session.execute(insert(MetricValue), recs.to_dict("records"))


# (metric, base rate %, worker spread, monthly spread, denominator: per-household factor, party bonus)
_RATES = [
    ("collection_rate", 91.0, 1.2, 1.0, 2.4, True),
    ("accuracy_rate", 88.0, 1.2, 1.5, None, True),  # sampled: 40 records a month
    ("retention_rate", 95.0, 0.9, 0.8, 0.12, True),
    ("timely_deregistration_rate", 86.0, 3.0, 3.0, 0.03, False),
    ("timely_entry_rate", 93.0, 2.0, 2.0, 0.15, False),
    ("rental_scan_rate", 84.0, 4.0, 4.0, 0.05, False),
]


def _figures(ctx: DemoContext, rng: np.random.Generator) -> None:
    w = ctx.workers.merge(ctx.grids[["id", "households"]].rename(columns={"id": "grid_id"}), on="grid_id")
    periods = [m.strftime("%Y-%m") for m in ctx.month_starts()]
    grid = pd.MultiIndex.from_product([w.index, periods], names=["wi", "period"]).to_frame(index=False)
    grid = grid.join(w[["id", "households", "party_member"]], on="wi")
    parts = []
    for metric, base, w_sd, m_sd, per_house, party in _RATES:
        worker_effect = rng.normal(0, w_sd, len(w))[grid["wi"]]
        rate = base + worker_effect + rng.normal(0, m_sd, len(grid))
        if party:
            rate = rate + PARTY_BOOST * grid["party_member"].to_numpy(float)
        rate = np.clip(rate, 40, 100) / 100
        den = (
            np.full(len(grid), 40.0)
            if per_house is None
            else np.maximum(
                3, np.round(grid["households"].to_numpy(float) * per_house * rng.uniform(0.8, 1.2, len(grid)))
            )
        )
        num = np.minimum(den, np.round(den * rate))
        parts.append(
            pd.DataFrame(
                {
                    "worker_id": grid["id"],
                    "period": grid["period"],
                    "metric": metric,
                    "numerator": num,
                    "denominator": den,
                }
            )
        )
    _insert_figures(ctx, pd.concat(parts, ignore_index=True))


def _rentals(ctx: DemoContext, rng: np.random.Generator) -> pd.DataFrame:
    """~300 urban-village buildings in the Dapeng subdistrict (the pilot), graded, with patrols."""
    grids = ctx.grids
    pilot = grids[
        grids["subdistrict_id"]
        == grids["subdistrict_id"].unique()[min(1, grids["subdistrict_id"].nunique() - 1)]
    ]
    pick = pilot.iloc[rng.integers(0, len(pilot), RENTAL_BUILDINGS)].reset_index(drop=True)
    crit = criteria()
    maxes = crit["max"].to_numpy(float)
    quality = rng.beta(5, 1.6, RENTAL_BUILDINGS)  # most buildings fairly good, a tail of poor ones
    scores = np.round(
        np.clip(maxes * (quality[:, None] + rng.normal(0, 0.08, (RENTAL_BUILDINGS, len(maxes)))), 0, maxes)
    )
    veto = rng.random(RENTAL_BUILDINGS) < 0.02
    rows = []
    graded_at = datetime(2020, 4, 15, 10, 0)  # the pilot was graded in spring
    for i in range(RENTAL_BUILDINGS):
        sc = dict(zip(crit["code"], scores[i].tolist(), strict=True))
        v = ["V2"] if veto[i] else []
        grade, total = grade_for(sc, v)
        rows.append(
            {
                "code": f"4403070{i + 1:05d}",
                "address": f"{_VILLAGES[i % len(_VILLAGES)]}{i // len(_VILLAGES) + 1}巷{1 + i % 37}号",
                "grid_id": int(pick.loc[i, "id"]),
                "community_id": int(pick.loc[i, "community_id"]),
                "lat": float(pick.loc[i, "lat"] + rng.normal(0, 0.0015)),
                "lon": float(pick.loc[i, "lon"] + rng.normal(0, 0.0015)),
                "units": int(rng.integers(6, 40)),
                "grade": grade,
                "score": total,
                "scores_json": json.dumps(sc),
                "veto_json": json.dumps(v) if v else None,
                "graded_at": graded_at,
                "graded_by": ctx.manager_user_id,
            }
        )
    ctx.session.execute(insert(RentalBuilding), rows)
    b = pd.DataFrame(
        ctx.session.execute(
            sa_select(
                col(RentalBuilding.id),
                col(RentalBuilding.code),
                col(RentalBuilding.grade),
                col(RentalBuilding.grid_id),
                col(RentalBuilding.community_id),
                col(RentalBuilding.scores_json),
                col(RentalBuilding.veto_json),
            )
        ).all(),
        columns=["id", "code", "grade", "grid_id", "community_id", "scores_json", "veto_json"],
    )
    scores_by_id = dict(zip(b["id"], b["scores_json"], strict=True))
    ctx.session.execute(
        insert(RentalGrading),
        [
            {
                "building_id": int(r.id),
                "graded_at": graded_at,
                "grade": r.grade,
                "score": float(sum(json.loads(scores_by_id[r.id]).values())),
                "scores_json": scores_by_id[r.id],
                "veto_json": r.veto_json,
                "graded_by": ctx.manager_user_id,
            }
            for r in b.itertuples()
        ],
    )
    # Patrols at the grade's interval with some slack; ~6% of buildings fall behind in September.
    interval = b["grade"].map({"green": 21, "yellow": 14, "orange": 7, "red": 3}).to_numpy()
    worker_of_grid = ctx.workers.set_index("grid_id")["id"]
    patrols, last = [], []
    lagging = rng.random(len(b)) < 0.06
    for i, r in enumerate(b.itertuples()):
        t = datetime(2020, 4, 16, 9) + timedelta(hours=float(rng.uniform(0, 24 * interval[i])))
        end = AS_OF - timedelta(days=int(interval[i]) * 2 if lagging[i] else 0)
        seen = None
        while t < end:
            patrols.append(
                {
                    "building_id": int(r.id),
                    "worker_id": int(worker_of_grid.get(r.grid_id, 0)) or None,
                    "visited_at": t.replace(microsecond=0),
                }
            )
            seen = t.replace(microsecond=0)
            t += timedelta(days=float(interval[i] * rng.uniform(0.7, 1.1)))
        last.append(
            {"_id": int(r.id), "last": seen, "assignee": int(worker_of_grid.get(r.grid_id, 0)) or None}
        )
    ctx.session.execute(insert(RentalPatrol), patrols)

    ctx.session.connection().execute(
        update(RentalBuilding)
        .where(col(RentalBuilding.id) == bindparam("_id"))
        .values(
            last_patrol_at=bindparam("last"),
            patrol_assignee_id=bindparam("assignee"),
            patrol_reason_zh="本网格出租屋",
            patrol_reason_en="Rental building in your grid",
        ),
        last,
    )
    ctx.log(f"field: {len(b)} rental buildings, {len(patrols):,} patrols")
    return b


_VILLAGES = ["下沙村", "水头村", "王母围", "鹏城村", "岭澳新村", "布新村", "大鹏所城", "叠福村"]
_STREETS = ["一巷", "二巷", "三巷", "新村路", "文化街", "海滨路", "中心街", "市场路"]


def _events(ctx: DemoContext, rng: np.random.Generator, buildings: pd.DataFrame) -> None:
    n = _n(ctx, HAZARDS, 60)
    items = items_frame()
    limits = sla_levels(ctx.session)
    # Every item appears; fire and city items are the most common (the article's 专项整治).
    cat_weight = (
        items["category_code"]
        .map({"fire": 3.0, "security": 1.0, "work_safety": 1.2, "city": 2.5, "health": 1.0, "dispute": 1.2})
        .to_numpy()
    )
    it = np.concatenate(
        [np.arange(len(items)), rng.choice(len(items), n - len(items), p=cat_weight / cat_weight.sum())]
    )
    rng.shuffle(it)
    item = items.iloc[it].reset_index(drop=True)
    w = ctx.workers.sample(n=n, replace=True, random_state=ctx.seed).reset_index(drop=True)
    g = ctx.grids.set_index("id").loc[w["grid_id"]].reset_index()
    span = (AS_OF - datetime(ctx.start.year, ctx.start.month, ctx.start.day)).total_seconds()
    discovered = pd.Timestamp(ctx.start) + pd.to_timedelta(np.sort(rng.uniform(0, span, n)), unit="s")
    discovered = discovered[rng.permutation(n)].floor("min")
    prio = item["default_priority"].to_numpy(copy=True)
    flip = rng.random(n) < 0.1
    prio[flip] = rng.choice(["urgent", "normal", "complex"], flip.sum())
    lim = {k: (v.report_limit_hours, v.sign_limit_hours, v.handle_limit_hours) for k, v in limits.items()}
    rep_lim, sign_lim, handle_lim = (np.array([lim[p][j] for p in prio]) for j in range(3))

    def hours(x):  # noqa: ANN001, ANN202
        return pd.to_timedelta(np.round(np.asarray(x, float) * 60), unit="min")

    # Mostly on time; a few percent of every stage late.
    reported = discovered + hours(
        rep_lim * np.where(rng.random(n) < 0.05, rng.uniform(1.05, 3, n), rng.beta(1.2, 4, n))
    )
    voided = rng.random(n) < 0.03
    accepted = reported + hours(
        np.where(rng.random(n) < 0.06, rng.uniform(2.1, 6, n), rng.uniform(0.1, 1.9, n))
    )
    self_h = (item["handler"].to_numpy() == "self") & (rng.random(n) < 0.6)
    dispatched = accepted + hours(rng.uniform(0.1, 2, n))
    signed = dispatched + hours(
        sign_lim * np.where(rng.random(n) < 0.04, rng.uniform(1.1, 2, n), rng.beta(1.5, 3, n))
    )
    late = rng.random(n) < 0.04
    handle = handle_lim * np.where(late, rng.uniform(1.05, 1.8, n), rng.beta(2, 3.5, n))
    feedback = np.where(self_h, accepted + hours(rng.uniform(0.2, 3, n)), signed + hours(handle))
    feedback = pd.DatetimeIndex(feedback)
    rework = (rng.random(n) < 0.03).astype(int)
    closed = feedback + hours(rng.uniform(0.5, 8, n) + rework * rng.uniform(24, 60, n))
    sat = rng.choice(["satisfied", "basic", "unsatisfied"], n, p=[0.88, 0.09, 0.03])
    rated = rng.random(n) < 0.8
    at = pd.Timestamp(AS_OF)
    frame = pd.DataFrame(
        {
            "event_no": [f"DP{d:%Y%m%d}{i:05d}" for i, d in enumerate(discovered)],
            "item_code": item["item_code"],
            "category_code": item["category_code"],
            "grid_id": g["id"],
            "community_id": g["community_id"],
            "location": [f"{_VILLAGES[i % 8]}{_STREETS[(i // 8) % 8]}{1 + i % 60}号" for i in range(n)],
            "lat": g["lat"].to_numpy() + rng.normal(0, 0.002, n),
            "lon": g["lon"].to_numpy() + rng.normal(0, 0.002, n),
            "priority": prio,
            "reporter_id": w["id"],
            "assignee_id": w["id"],
            "discovered_at": discovered,
            "reported_at": reported,
            "accepted_at": accepted,
            "dispatched_at": dispatched,
            "signed_at": signed,
            "feedback_at": feedback,
            "closed_at": closed,
            "rework_count": rework,
        }
    )
    frame["started_at"] = frame["signed_at"]
    frame.loc[self_h, ["dispatched_at", "signed_at", "started_at"]] = pd.NaT
    frame["sign_due_at"] = frame["dispatched_at"] + hours(sign_lim)
    frame["due_at"] = np.where(
        self_h, frame["accepted_at"] + hours(handle_lim), frame["signed_at"] + hours(handle_lim)
    )
    frame["due_at"] = pd.to_datetime(frame["due_at"])
    frame["satisfaction"] = np.where(rated, sat, None)  # type: ignore[call-overload]  # stubs: no None in ArrayLike
    frame["evaluated_at"] = frame["closed_at"].where(rated)
    # Whatever lies after "today" has not happened yet: the state is the last stage reached.
    stages = [
        "accepted_at",
        "dispatched_at",
        "signed_at",
        "started_at",
        "feedback_at",
        "closed_at",
        "evaluated_at",
    ]
    for c in stages:
        frame.loc[frame[c] > at, c] = pd.NaT
    frame.loc[frame["dispatched_at"].isna(), "sign_due_at"] = pd.NaT
    frame.loc[frame["closed_at"].isna(), ["satisfaction", "evaluated_at"]] = [None, pd.NaT]
    # A few events stuck in handling well past their deadline (what the overdue job is for).
    stuck = (~self_h) & (rng.random(n) < 0.012) & frame["signed_at"].notna() & (frame["due_at"] < at)
    frame.loc[stuck, ["feedback_at", "closed_at", "evaluated_at"]] = pd.NaT
    frame.loc[stuck, "satisfaction"] = None
    frame["state"] = np.select(
        [
            frame["evaluated_at"].notna(),
            frame["closed_at"].notna(),
            frame["feedback_at"].notna() & self_h,
            frame["feedback_at"].notna(),
            frame["started_at"].notna(),
            frame["dispatched_at"].notna(),
            frame["accepted_at"].notna() & self_h,
            frame["accepted_at"].notna(),
        ],
        [
            "evaluated",
            "closed",
            "self_resolved",
            "feedback",
            "handling",
            "dispatched",
            "accepted",
            "registered",
        ],
        default="reported",
    )
    frame.loc[frame["state"].isin(["registered", "reported"]), "assignee_id"] = None
    frame.loc[frame["state"] == "registered", "due_at"] = pd.NaT
    vo = voided & (frame["accepted_at"].notna())
    frame.loc[vo, "voided_at"] = frame.loc[vo, "accepted_at"]
    frame.loc[vo, [*stages, "sign_due_at", "due_at"]] = pd.NaT
    frame.loc[vo, ["state", "assignee_id", "satisfaction"]] = ["voided", None, None]
    frame["result"] = np.where(frame["feedback_at"].notna(), "已整改完毕,现场复核通过", None)  # type: ignore[call-overload]  # stubs: no None in ArrayLike
    frame.loc[vo, "result"] = "作废:经核实不属实"
    # Fire and security items in the pilot grids belong to a rental building; a few are reported twice.
    by_grid = buildings.groupby("grid_id")["code"].apply(list)
    in_pilot = frame["grid_id"].isin(by_grid.index) & frame["category_code"].isin(["fire", "security"])
    frame["building_code"] = None
    idx = np.flatnonzero(in_pilot.to_numpy())
    frame.loc[in_pilot, "building_code"] = [
        by_grid[gid][rng.integers(0, len(by_grid[gid]))] for gid in frame.loc[in_pilot, "grid_id"]
    ]
    dup_src: np.ndarray | list[int] = (
        rng.choice(idx, size=min(len(idx), _n(ctx, 60)), replace=False) if len(idx) else []
    )
    dups = frame.loc[dup_src].copy()
    if len(dups):
        shift = hours(rng.uniform(1, 20, len(dups)))
        for c in [
            "discovered_at",
            "reported_at",
            "accepted_at",
            "voided_at",
            "dispatched_at",
            "signed_at",  # noqa: E501
            "started_at",
            "feedback_at",
            "closed_at",
            "evaluated_at",
            "sign_due_at",
            "due_at",
        ]:
            if c in dups.columns:
                dups[c] = dups[c].to_numpy() + shift.to_numpy()
        dups["event_no"] = dups["event_no"] + "R"
        dups = dups[dups["reported_at"] <= at]
        frame = pd.concat([frame, dups], ignore_index=True)
    frame["source"] = "demo"
    frame["updated_at"] = AS_OF
    for c in ["postponed", "reopen_count", "return_count", "escalation"]:
        frame[c] = 0 if c != "postponed" else False
    # Escalation as the job would have left it on "today".
    from evaluation.field.events import HANDLING_STATES

    hs = frame["state"].isin([s.value for s in HANDLING_STATES])
    over = (hs & (frame["due_at"] < at)) | ((frame["state"] == "dispatched") & (frame["sign_due_at"] < at))
    frame.loc[over, "escalation"] = 1
    frame.loc[over, "urged_at"] = frame.loc[over, "due_at"].fillna(
        frame.loc[over, "sign_due_at"]
    ) + pd.Timedelta(minutes=15)
    sup = over & (frame["urged_at"] + pd.Timedelta(hours=24) <= at)
    frame.loc[sup, "escalation"] = 2
    frame.loc[sup, "supervised_at"] = frame.loc[sup, "urged_at"] + pd.Timedelta(hours=24)
    frame.loc[frame["state"] == "handling", "assign_reason_zh"] = "事件发生在你负责的网格(一格一员)"
    frame.loc[frame["state"] == "handling", "assign_reason_en"] = (
        "The event is in your own grid (one worker per grid)"
    )
    frame.loc[frame["state"].isin(["dispatched", "handling"]), ["assign_reason_zh", "assign_reason_en"]] = [
        "事件发生在你负责的网格(一格一员)",
        "The event is in your own grid (one worker per grid)",
    ]
    cols = [c.name for c in table_of(Event).columns if c.name != "id" and c.name in frame]
    recs = _records(
        frame[cols],
        ints=(
            "reporter_id",
            "assignee_id",
            "grid_id",
            "community_id",
            "rework_count",
            "escalation",
            "reopen_count",
            "return_count",
        ),
    )
    ctx.session.execute(insert(Event), recs)
    ctx.log(f"field: {len(frame):,} events ({int(over.sum())} overdue and open)")


def _records(frame: pd.DataFrame, ints: tuple[str, ...] = ()) -> list[dict]:
    """Rows as plain Python values for executemany: datetimes to the second, NaN/NaT → None."""
    out = {}
    for c in frame.columns:
        column = table_of(Event).columns.get(c)
        if column is not None and isinstance(column.type, DateTime):
            s = pd.to_datetime(frame[c]).dt.floor("s")
            out[c] = [None if pd.isna(v) else v.to_pydatetime() for v in s]
        elif c in ints:
            out[c] = [None if pd.isna(v) else int(v) for v in frame[c]]
        else:
            out[c] = [None if (v is None or (isinstance(v, float) and np.isnan(v))) else v for v in frame[c]]
    keys = list(out)
    return [dict(zip(keys, values, strict=True)) for values in zip(*out.values(), strict=True)]


def _verification(ctx: DemoContext, rng: np.random.Generator) -> None:
    """The article's verification campaign: house codes, buildings, houses, abnormal deregistrations."""
    session, grids = ctx.session, ctx.grids
    gw = ctx.workers.set_index("grid_id")["id"]
    # ~8000 house-code records sit on addresses that carry more than one code, among many clean ones.
    flagged = _n(ctx, HOUSE_CODE_RECORDS, 12)
    clean = _n(ctx, 30_000, 60)
    per_addr = rng.choice([2, 3, 4], size=flagged // 2, p=[0.75, 0.2, 0.05])
    per_addr = per_addr[np.cumsum(per_addr) <= flagged]
    addr_of = np.concatenate(
        [np.repeat(np.arange(len(per_addr)), per_addr), len(per_addr) + np.arange(clean)]
    )
    gpick = grids.iloc[rng.integers(0, len(grids), addr_of.max() + 1)].reset_index(drop=True)
    gi = gpick.loc[addr_of]
    village = np.array(_VILLAGES)[addr_of % 8]
    street = np.array(_STREETS)[(addr_of // 8) % 8]
    address = [
        "大鹏新区" + v + s + str(1 + a % 97) + "号" for v, s, a in zip(village, street, addr_of, strict=True)
    ]
    session.execute(
        insert(HouseRecord),
        [
            {
                "house_code": f"H{i:08d}",
                "standard_address": f"{addr}#{a}",
                "grid_id": int(g),
                "community_id": int(c),
                "worker_id": int(gw.get(g, 0)) or None,
            }
            for i, (addr, a, g, c) in enumerate(
                zip(address, addr_of, gi["id"], gi["community_id"], strict=True)
            )
        ],
    )
    # Deregistrations, 168 of them later reversed (异常注销).
    n_d = _n(ctx, 4000, 30)
    rev = _n(ctx, REVERSED_DEREG, 3)
    w = ctx.workers.sample(n=n_d, replace=True, random_state=ctx.seed + 1).reset_index(drop=True)
    when = (pd.Timestamp(ctx.start) + pd.to_timedelta(rng.uniform(0, 260, n_d), unit="D")).floor("s")
    reversed_at = pd.Series(pd.NaT, index=range(n_d), dtype="datetime64[ns]")
    pick = rng.choice(n_d, rev, replace=False)
    reversed_at.iloc[pick] = (when[pick] + pd.to_timedelta(rng.uniform(2, 30, rev), unit="D")).floor("s")
    session.execute(
        insert(Deregistration),
        [
            {
                "person_ref": f"P{i:07d}",
                "worker_id": int(wid),
                "community_id": int(c),
                "grid_id": int(g),
                "reason": str(
                    rng.choice(["moved_out", "moved_away", "died", "duplicate"], p=[0.6, 0.25, 0.05, 0.1])
                ),
                "deregistered_at": t.to_pydatetime().replace(microsecond=0),
                "reversed_at": None
                if pd.isna(r)
                else min(r, pd.Timestamp(AS_OF)).to_pydatetime().replace(microsecond=0),
            }
            for i, (wid, c, g, t, r) in enumerate(
                zip(w["id"], w["community_id"], w["grid_id"], when, reversed_at, strict=True)
            )
        ],
    )
    session.flush()
    raised = raise_verification_tasks(session, SYSTEM, now=datetime(2020, 6, 1, 9, 0))
    # Building and house record corrections of the campaign (done).
    extra = []
    for kind, full, zh, en in (
        ("building_info", BUILDING_FIXES, "核实楼栋信息", "Verify building record"),
        ("house_info", HOUSE_FIXES, "核实房屋信息", "Verify house record"),
    ):
        k = _n(ctx, full)
        gp = grids.iloc[rng.integers(0, len(grids), k)]
        for j, (gid, cid) in enumerate(zip(gp["id"], gp["community_id"], strict=True)):
            extra.append(
                {
                    "kind": kind,
                    "ref_key": f"{kind}:{j}",
                    "community_id": int(cid),
                    "grid_id": int(gid),
                    "title_zh": f"{zh} #{j + 1}",
                    "title_en": f"{en} #{j + 1}",
                    "state": "open",
                    "created_at": datetime(2020, 5, 6, 9),
                    "due_at": datetime(2020, 5, 13, 9),
                }
            )
    session.execute(insert(VerificationTask), extra)
    # The three-month campaign (May–July) closed almost all of them; a few remain open.
    ids = np.array(session.exec(select(VerificationTask.id)).all())
    done = ids[rng.random(len(ids)) < 0.95]
    done_at = [datetime(2020, 5, 10) + timedelta(days=float(d)) for d in rng.uniform(0, 80, len(done))]

    session.connection().execute(
        update(VerificationTask)
        .where(col(VerificationTask.id) == bindparam("_id"))
        .values(state="done", done_at=bindparam("d")),
        [{"_id": int(i), "d": d.replace(microsecond=0)} for i, d in zip(done, done_at, strict=True)],
    )
    ctx.log(f"field: verification tasks {raised} + {len(extra)} record corrections; {len(done)} done")


__all__ = ["seed", "AS_OF"]
