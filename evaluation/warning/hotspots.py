"""Hotspot detection: which community (or grid) has had improbably many events of one item or category in the
last 7 days, given its own history and the district's trend.

The rule, for one unit u (a community or a grid) and one key k (a taxonomy item such as ``D01``, or a
category such as ``dispute``), on the window W = the 7 days ending on the as-of date:

- baseline B = the 56 days (8 whole weeks, so every weekday counts equally) ending the day before W;
- own history: ``c_u`` = u's count of k in B, ``d_u`` = the days of B the unit has existed in the data (from
  its first event of any kind; 56 for an established unit);
- district prior: ``r_0`` = the district's count of k in B / 56 / the number of units of that level (those
  with any event in B or W), the rate of an average unit;
- shrunk daily rate (empirical Bayes, a Gamma prior worth ``K`` = 28 pseudo-days at ``r_0``):
  ``rate_u = (c_u + K·r_0) / (d_u + K)``;
- district trend: ``t`` = (district count of k in the last 28 days of B + 5) / (half its count in B + 5),
  clipped to [0.67, 1.5] — the item rising or falling district-wide moves every unit's expectation;
- expected = ``7 · rate_u · t``; observed = u's count of k in W;
- score = ``P(X ≥ observed)`` for X ~ Poisson(expected); a warning when score < ``P_MAX`` (0.001) and
  observed ≥ ``MIN_OBSERVED`` (4).

Why Poisson and not a negative binomial: event counts of one item in one community over a week are small
(expected mostly 0.1–2), and a per-unit dispersion estimated from 8 weeks of such counts is mostly noise; a
negative binomial with a shared dispersion would need a district-wide fit that the demo data (which is
Poisson by construction) cannot check. Shrinkage moves the mean but does not widen the spread, so the Poisson tail is
optimistic for genuinely overdispersed units; the strict threshold (0.001) and the minimum of 4 events are
the guard, and the false-alarm rate is measured (bench/bench_hotspots.py) rather than assumed.

A new community (little or no history): ``d_u`` is small, so ``rate_u`` ≈ ``r_0``, the district's
average-unit rate — it is judged like an average community until its own weeks outweigh the 28 pseudo-days;
it needs at least ``MIN_OBSERVED`` events in a week to warn at all. A unit with no event before the window
gets ``d_u`` = 0 (expected from the district alone).

Counts come from one SQL GROUP BY (:func:`daily_counts`); :func:`detect` is a pure function of that frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from scipy.stats import poisson
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from core.sql import frame
from evaluation.field.models import Event

WINDOW_DAYS = 7
BASELINE_DAYS = 56  # 8 whole weeks: every weekday equally
TREND_DAYS = 28
PRIOR_DAYS = 28.0  # K: pseudo-days of district-average history every unit starts with
TREND_PAD = 5.0
TREND_CLIP = (0.67, 1.5)
P_MAX = 0.001
MIN_OBSERVED = 4
COUNT_COLUMNS = ["community_id", "grid_id", "item_code", "category_code", "day", "n"]


@dataclass(frozen=True)
class Rule:
    p_max: float = P_MAX
    min_observed: int = MIN_OBSERVED
    prior_days: float = PRIOR_DAYS


def daily_counts(session: Session, start: date, end: date) -> pd.DataFrame:
    """Events per community × grid × item × day reported in [start, end] (voided ones left out), by SQL."""
    e = Event
    day = func.date(col(e.reported_at)).label("day")
    stmt = (
        sa_select(
            col(e.community_id),
            col(e.grid_id),
            col(e.item_code),
            col(e.category_code),
            day,
            func.count().label("n"),
        )
        .where(
            col(e.reported_at) >= datetime.combine(start, datetime.min.time()),
            col(e.reported_at) < datetime.combine(end + timedelta(days=1), datetime.min.time()),
            col(e.state) != "voided",
        )
        .group_by(col(e.community_id), col(e.grid_id), col(e.item_code), col(e.category_code), day)
    )
    out = frame(session, stmt, COUNT_COLUMNS)
    if out.empty:
        return pd.DataFrame(columns=COUNT_COLUMNS)
    out["day"] = pd.to_datetime(out["day"]).dt.date
    out["n"] = out["n"].astype(int)
    return out


def first_seen(session: Session, before: date) -> pd.DataFrame:
    """Each grid's first reported event (any item, any state) before ``before``: how long it has had a history."""
    e = Event
    stmt = (
        sa_select(col(e.community_id), col(e.grid_id), func.min(col(e.reported_at)).label("first"))
        .where(col(e.reported_at) < datetime.combine(before, datetime.min.time()))
        .group_by(col(e.community_id), col(e.grid_id))
    )
    out = frame(session, stmt, ["community_id", "grid_id", "first"])
    out["first"] = pd.to_datetime(out["first"]).dt.date
    return out


def counts_for(session: Session, as_of: date) -> pd.DataFrame:
    """The counts :func:`detect` needs for ``as_of`` (baseline + window)."""
    return daily_counts(session, as_of - timedelta(days=WINDOW_DAYS + BASELINE_DAYS - 1), as_of)


def detect(
    counts: pd.DataFrame, as_of: date, rule: Rule = Rule(), first: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Warnings for the 7 days ending ``as_of`` from a daily-count frame (columns of :func:`daily_counts`).

    Returns one row per warning: ``level`` ("community" | "grid"), ``community_id``, ``grid_id`` (None at
    community level), ``kind`` ("item" | "category"), ``code``, ``observed``, ``expected``, ``score``,
    sorted by score. Units and keys with no event in the window never warn. ``first`` (from
    :func:`first_seen`: community_id, grid_id, first) says since when each grid has a history; without it,
    a unit's history starts at its first event in ``counts``.
    """
    cols = ["level", "community_id", "grid_id", "kind", "code", "observed", "expected", "score"]
    if counts.empty:
        return pd.DataFrame(columns=cols)
    # Days as day numbers (int64), so that every comparison and min below is vectorised (python dates in an
    # object column send pandas' group-by min to its per-row fallback: ~40 ms a day in the demo's replay).
    w_start = _day_number(as_of) - (WINDOW_DAYS - 1)
    b_start, t_start = w_start - BASELINE_DAYS, w_start - TREND_DAYS
    c = counts.assign(day=_day_numbers(counts["day"]))
    c = c[(c["day"] >= b_start) & (c["day"] < w_start + WINDOW_DAYS)]
    c["in_w"] = c["day"] >= w_start
    community_of = c.drop_duplicates("grid_id").set_index("grid_id")["community_id"]
    firsts = None if first is None or first.empty else first.assign(first=_day_numbers(first["first"]))
    out = []
    for level, unit_col in (("community", "community_id"), ("grid", "grid_id")):  # grid ids are unique
        c = c.assign(unit=c[unit_col])
        # Days of baseline each unit has existed in the data (from its first event of any kind).
        seen = c.groupby("unit")["day"].min()
        if firsts is not None:
            seen = pd.concat([seen, firsts.groupby(unit_col)["first"].min()]).groupby(level=0).min()
        hist_days = (w_start - seen).clip(0, BASELINE_DAYS)
        n_units = max(1, c["unit"].nunique())
        base = c[~c["in_w"]]
        for kind, key in (("item", "item_code"), ("category", "category_code")):
            dist_b = base.groupby(key)["n"].sum()
            dist_t = base[base["day"] >= t_start].groupby(key)["n"].sum()
            r0 = dist_b / BASELINE_DAYS / n_units
            trend = (
                (dist_t.reindex(dist_b.index, fill_value=0) + TREND_PAD) / (dist_b / 2 + TREND_PAD)
            ).clip(*TREND_CLIP)
            obs = c[c["in_w"]].groupby(["unit", key])["n"].sum()
            own = base.groupby(["unit", key])["n"].sum()
            f = obs.rename("observed").to_frame().reset_index()
            f = f[f["observed"] >= rule.min_observed]
            if f.empty:
                continue
            f["own"] = own.reindex(pd.MultiIndex.from_frame(f[["unit", key]]), fill_value=0).to_numpy()
            f["r0"] = f[key].map(r0).fillna(0.0).to_numpy()
            f["trend"] = f[key].map(trend).fillna(1.0).to_numpy()
            f["days"] = f["unit"].map(hist_days).fillna(0).to_numpy()
            rate = (f["own"] + rule.prior_days * f["r0"]) / (f["days"] + rule.prior_days)
            f["expected"] = WINDOW_DAYS * rate * f["trend"]
            # A key never seen in the district's baseline: expected 0 would make any count "infinitely"
            # improbable; floor it at one event per unit per baseline.
            f["expected"] = np.maximum(f["expected"], WINDOW_DAYS / BASELINE_DAYS / n_units)
            f["score"] = poisson.sf(f["observed"] - 1, f["expected"])
            f = f[f["score"] < rule.p_max]
            if f.empty:
                continue
            units = f["unit"].astype(int)
            out.append(
                pd.DataFrame(
                    {
                        "level": level,
                        "community_id": (units.map(community_of) if level == "grid" else units).to_numpy(),
                        "grid_id": units.to_numpy() if level == "grid" else None,
                        "kind": kind,
                        "code": f[key].to_numpy(),
                        "observed": f["observed"].astype(int).to_numpy(),
                        "expected": f["expected"].round(2).to_numpy(),
                        "score": f["score"].to_numpy(),
                    }
                )
            )
    if not out:
        return pd.DataFrame(columns=cols)
    return (
        pd.concat(out, ignore_index=True).sort_values(["score", "community_id"]).reset_index(drop=True)[cols]
    )


def warnable_days(counts: pd.DataFrame, first: date, last: date, rule: Rule = Rule()) -> set[date]:
    """The days in [first, last] whose 7-day window holds at least ``rule.min_observed`` events of one item or
    one category in one community or grid — the only days :func:`detect` can warn on (every other day it
    returns nothing whatever the baseline). ``counts`` must cover ``first`` − 6 days … ``last``."""
    if counts.empty:
        return set()
    c = counts.assign(day=_day_numbers(counts["day"]))
    ends = []
    for unit_col in ("community_id", "grid_id"):
        for key in ("item_code", "category_code"):
            daily = c.groupby([unit_col, key, "day"], sort=False)["n"].sum().reset_index()
            shifted = pd.concat([daily.assign(day=daily["day"] + k) for k in range(WINDOW_DAYS)])
            window = shifted.groupby([unit_col, key, "day"], sort=False)["n"].sum()
            ends.append(window[window >= rule.min_observed].index.get_level_values("day").unique())
    lo, hi = _day_number(first), _day_number(last)
    return {date.fromordinal(int(d)) for part in ends for d in part if lo <= d <= hi}


def _day_number(d: date) -> int:
    return d.toordinal()


def _day_numbers(days: pd.Series) -> pd.Series:
    """Dates (python dates or datetimes) as day numbers comparable with :func:`_day_number`."""
    epoch = date(1970, 1, 1).toordinal()
    return pd.to_datetime(days).to_numpy().astype("datetime64[D]").astype("int64") + epoch


def hotspots(session: Session, as_of: date, rule: Rule = Rule()) -> pd.DataFrame:
    """Warnings for the 7 days ending ``as_of``, computed from the events table (not from stored warnings)."""
    w_start = as_of - timedelta(days=WINDOW_DAYS - 1)
    return detect(counts_for(session, as_of), as_of, rule, first_seen(session, w_start))
