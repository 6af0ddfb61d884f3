"""Scorecards as pure, vectorised functions over DataFrames (no database, no Streamlit).

Inputs are shaped like the cross-area contracts (docs/CONVENTIONS.md):
- ``values``: worker_id, period ("YYYY-MM"), metric, numerator, denominator — field metrics from
  ``evaluation.field.api.metric_values`` plus training figures turned into the same long shape
  (``evaluation.scoring.inputs.training_values``);
- ``workers``: worker_id, community_id, subdistrict_id, party_member, hire_date, households (the grid's);
- ``registry``: code, unit, direction (higher/lower), kind (ratio/count/…);
- ``adjustments``: worker_id, period, code, cases (deductions and bonuses).

A ratio metric over a window is Σnumerator ÷ Σdenominator (never a mean of monthly ratios). Every
worker × component row keeps its raw numerator/denominator, value, normalised score, weight, points and
a formula string, so each number on a scorecard can be traced back to its inputs.

Choice of engine, by measurement (bench/bench_scoring.py): the scorer works on the small
worker × component table (20,000 workers × 12 components), where pandas is as fast as DuckDB and
keeps the code plain; the 10 M-row raw → summary aggregation is a single-key ``np.bincount``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.errors import Misuse
from evaluation.scoring.periods import Period, parse_period
from evaluation.scoring.scheme import Scheme

VALUE_COLS = ["worker_id", "period", "metric", "numerator", "denominator"]
WORKER_COLS = ["worker_id", "community_id", "subdistrict_id", "party_member", "hire_date", "households"]
ADJ_COLS = ["worker_id", "period", "code", "cases"]


@dataclass
class ScoringInputs:
    workers: pd.DataFrame
    values: pd.DataFrame
    registry: pd.DataFrame
    adjustments: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ADJ_COLS))
    _keys: dict = field(default_factory=dict, repr=False, compare=False)

    def keyed(self, metrics: tuple[str, ...]) -> tuple[np.ndarray, ...]:
        """The values as integer arrays, computed once per metric list and reused by every window:
        worker position in ``workers`` (−1 unknown), metric position in ``metrics`` (−1 other),
        period code, period labels, numerator, denominator."""
        if metrics not in self._keys:
            v = self.values
            pos = pd.Index(self.workers["worker_id"]).get_indexer(v["worker_id"]).astype(np.int64)
            code = pd.Categorical(v["metric"], categories=list(metrics)).codes.astype(np.int64)
            pcode, plabels = pd.factorize(v["period"])
            num = pd.to_numeric(v["numerator"]).to_numpy(float)
            den = pd.to_numeric(v["denominator"]).to_numpy(float)
            self._keys[metrics] = (pos, code, pcode, np.asarray(plabels, dtype=object), num, den)
        return self._keys[metrics]

    def row_counts(self, months: list[str]) -> dict[str, int]:
        """How many input rows a period used (recorded with frozen snapshots)."""
        v = self.values[self.values["period"].isin(months)]
        a = (
            self.adjustments[self.adjustments["period"].isin(months)]
            if len(self.adjustments)
            else self.adjustments
        )
        training = v["metric"].astype(str).str.startswith("training_")
        return {
            "workers": int(len(self.workers)),
            "metric_values": int((~training).sum()),
            "training_values": int(training.sum()),
            "adjustments": int(len(a)),
        }


@dataclass
class Scorecards:
    """One period's result. ``cards``: one row per worker; ``components``: worker × component."""

    period: str
    scheme: Scheme
    cards: pd.DataFrame
    components: pd.DataFrame


def empty_values() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "worker_id": pd.Series(dtype="int64"),
            "period": pd.Series(dtype="object"),
            "metric": pd.Series(dtype="object"),
            "numerator": pd.Series(dtype="float64"),
            "denominator": pd.Series(dtype="float64"),
        }
    )


# ---------------------------------------------------------------------------------------------
# entry points


def score_period(
    inputs: ScoringInputs, scheme: Scheme, period: str | Period, *, explain: bool = True
) -> Scorecards:
    """Score every worker for a month, quarter, half-year or year.

    Months, quarters and halves are scored from the window's summed numerators and denominators.
    A year is a roll-up: the mean of its quarters (quarters without data left out), or the half-year
    assessment (Jan–Jun) × 40% + the year-end assessment (Jul–Dec) × 60%, as the scheme says.

    ``explain=False`` leaves the formula text empty (the numbers behind it are all still there):
    batch runs over a city skip ~1 M strings nobody reads; ``explain_components`` adds them later.
    """
    p = parse_period(period) if isinstance(period, str) else period
    if p.kind != "year":
        return score_window(inputs, scheme, p, explain=explain)
    if scheme.year_rule == "mean_of_quarters":
        parts, weights = [score_window(inputs, scheme, q, explain=explain) for q in p.quarters()], [0.25] * 4
    else:
        parts, weights = [score_window(inputs, scheme, h, explain=explain) for h in p.halves()], [0.4, 0.6]
    return _roll_up(parts, weights, scheme, p)


def score_months(inputs: ScoringInputs, scheme: Scheme, months: list[str]) -> pd.DataFrame:
    """Monthly cards for several months stacked (for trends)."""
    frames = [score_window(inputs, scheme, parse_period(m)).cards for m in months]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else _empty_cards()


# ---------------------------------------------------------------------------------------------
# one window


def active_share(hire_date: pd.Series, start: date, end: date) -> pd.Series:
    """Share of the window a worker was in post: 1 for those hired before it, 0 if hired after."""
    days = (end - start).days + 1
    hired = pd.to_datetime(hire_date, errors="coerce")
    first = hired.where(hired > pd.Timestamp(start), pd.Timestamp(start))
    share = ((pd.Timestamp(end) - first).dt.days + 1) / days
    return share.fillna(1.0).clip(0.0, 1.0)


def score_window(
    inputs: ScoringInputs, scheme: Scheme, period: Period, *, explain: bool = True
) -> Scorecards:
    comp = pd.DataFrame(scheme.component_table())
    reg = inputs.registry.rename(columns={"code": "metric"})[["metric", "unit", "direction", "kind"]]
    comp = comp.merge(reg, on="metric", how="left")
    # Component attributes become categoricals: the worker × component cross join then copies small
    # integer codes instead of strings (20,000 workers × 12 components × ~15 text columns).
    # Categories as plain object arrays: with Arrow-backed categories every comparison converts them.
    for col in comp.columns:
        if comp[col].dtype == object or pd.api.types.is_string_dtype(comp[col]):
            cats = pd.Index(pd.unique(comp[col].dropna().astype(object).to_numpy()), dtype=object)
            comp[col] = pd.Categorical(comp[col].astype(object), categories=cats)
    unknown = comp.loc[comp["direction"].isna(), "metric"].tolist()
    if unknown:
        raise Misuse(
            f"scheme {scheme.code} v{scheme.version} uses metrics missing from the registry: {unknown}"
        )

    workers = inputs.workers.copy()
    workers["_pos"] = np.arange(len(workers))
    workers["active_share"] = active_share(workers["hire_date"], period.start, period.end)
    workers = workers[workers["active_share"] > 0]
    if workers.empty:
        return Scorecards(period.label, scheme, _empty_cards(), _empty_components())

    # Σ numerator, Σ denominator per worker × metric over the window, on a dense integer key
    # (worker position × number of metrics + metric position) with np.bincount.
    metrics = tuple(comp["metric"].cat.categories)
    n_m = len(metrics)
    pos, code, pcode, plabels, num, den = inputs.keyed(metrics)
    in_window = np.isin(pcode, np.flatnonzero(np.isin(plabels, period.months)))
    sel = in_window & (pos >= 0) & (code >= 0)
    key = pos[sel] * n_m + code[sel]
    size = len(inputs.workers) * n_m
    sums = {}
    for name, arr in (("numerator", num[sel]), ("denominator", den[sel])):
        have = ~np.isnan(arr)
        total = np.bincount(key[have], weights=arr[have], minlength=size)
        count = np.bincount(key[have], minlength=size)
        sums[name] = np.where(count > 0, total, np.nan)  # no row (or only blanks) → no figure

    # The worker × component table by repetition (no join): row = worker i, component j.
    n_w, n_c = len(workers), len(comp)
    wi, cj = np.repeat(np.arange(n_w), n_c), np.tile(np.arange(n_c), n_w)
    base = workers[["worker_id", "community_id", "subdistrict_id", "households", "active_share"]]
    df = pd.concat([base.iloc[wi].reset_index(drop=True), comp.iloc[cj].reset_index(drop=True)], axis=1)
    mcode = pd.Categorical(comp["metric"], categories=list(metrics)).codes.astype(np.int64)[cj]
    row_key = workers["_pos"].to_numpy(np.int64)[wi] * n_m + mcode
    df["numerator"] = sums["numerator"][row_key]
    df["denominator"] = sums["denominator"][row_key]
    df = _values(df)
    df = _normalise(df, scheme)
    df = _weigh(df, scheme.total_weight)
    df["formula"] = _formulas(df) if explain else ""
    df.insert(
        0, "period", pd.Categorical.from_codes(np.zeros(len(df), dtype=np.int8), categories=[period.label])
    )

    cards = _cards(df, workers, inputs.adjustments, scheme, period)
    cols = [
        "period",
        "worker_id",
        "dimension",
        "component",
        "name_zh",
        "name_en",
        "metric",
        "unit",
        "direction",
        "method",
        "rule",
        "fairness",
        "numerator",
        "denominator",
        "value",
        "score",
        "weight",
        "eff_weight",
        "points",
        "missing",
        "formula",
        "dimension_zh",
        "dimension_en",
    ]
    return Scorecards(period.label, scheme, cards, df[cols].reset_index(drop=True))


def _values(df: pd.DataFrame) -> pd.DataFrame:
    num, den = df["numerator"].to_numpy(float), df["denominator"].to_numpy(float)
    is_count = (df["kind"] == "count").to_numpy()
    scale = np.where((df["unit"] == "%").to_numpy(), 100.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(den > 0, num / den * scale, np.nan)
    value = np.where(is_count, num, ratio)
    hh = df["households"].to_numpy(float)
    fair = df["fairness"].to_numpy(object)
    per100 = is_count & (fair == "per_100_households")
    expected_rule = is_count & (fair == "expected_volume")
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(per100, np.where(hh > 0, num / hh * 100, np.nan), value)
    expected = np.full(len(df), np.nan)
    if expected_rule.any():
        # The grid's expected volume: its households × the community's count per household.
        sub = df.loc[expected_rule & ~np.isnan(num) & (hh > 0)]
        per_hh = (
            sub.groupby(["component", "community_id"])["numerator"].sum()
            / sub.groupby(["component", "community_id"])["households"].sum()
        ).rename("per_hh")
        rate = (
            df[["component", "community_id"]]
            .merge(per_hh.reset_index(), how="left", on=["component", "community_id"])["per_hh"]
            .to_numpy()
        )
        expected = np.where(expected_rule, hh * rate, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(expected_rule, np.where(expected > 0, num / expected * 100, np.nan), value)
    # A mid-period joiner is judged on a count pro rata to the days in post (ratios need no change).
    share = df["active_share"].to_numpy(float)
    value = np.where(is_count, value / share, value)
    df["value"] = value
    df["expected"] = expected
    df["missing"] = np.isnan(value)
    return df


def _normalise(df: pd.DataFrame, scheme: Scheme) -> pd.DataFrame:
    """Each component's value → a share of its weight in [0, 1], in the metric's good direction."""
    value = df["value"].to_numpy(float)
    score = np.full(len(df), np.nan)
    method = df["method"].to_numpy(object)
    lower = (df["direction"] == "lower").to_numpy()

    lin = method == "linear"
    if lin.any():
        tgt, flo = df["target"].to_numpy(float), df["floor"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.clip((value - flo) / (tgt - flo), 0.0, 1.0)  # target < floor handles lower-is-better
        score = np.where(lin, s, score)

    bands = method == "bands"
    if bands.any():
        for c in scheme.components:
            if c.normalisation.method != "bands":
                continue
            code, bands_of = c.code, [(b.threshold, b.score) for b in c.normalisation.bands]
            rows = (df["component"] == code).to_numpy()
            s = np.zeros(rows.sum())
            v = value[rows]
            lo = lower[rows]
            for thr, frac in bands_of:
                hit = np.where(lo, v <= thr, v >= thr)
                s = np.maximum(s, np.where(hit, frac, 0.0))
            score[rows] = s

    pct = method == "percentile"
    df["cohort_rank"] = np.nan
    df["cohort_n"] = np.nan
    if pct.any():
        sub = df.loc[pct & ~np.isnan(value)].copy()
        sub["cohort_key"] = np.select(
            [sub["cohort"] == "community", sub["cohort"] == "subdistrict"],
            [sub["community_id"], sub["subdistrict_id"]],
            default=0,
        )
        sub["signed"] = np.where(sub["direction"] == "lower", -sub["value"], sub["value"])
        g = sub.groupby(["component", "cohort_key"])["signed"]
        rank, n = g.rank(method="average"), g.transform("count")
        s = np.where(n > 1, (rank - 1) / (n - 1).where(n > 1, 1), 1.0)
        score[sub.index.to_numpy()] = s
        df.loc[sub.index, "cohort_rank"] = (n - rank + 1).to_numpy()  # 1 = best
        df.loc[sub.index, "cohort_n"] = n.to_numpy()

    score = np.where(np.isnan(value), np.nan, score)
    df["score"] = score
    return df


def _weigh(df: pd.DataFrame, total_weight: float) -> pd.DataFrame:
    """Missing components are left out and their weight shared out over the rest, pro rata."""
    present = ~df["missing"].to_numpy()
    w = df["weight"].to_numpy(float)
    wp = pd.Series(np.where(present, w, 0.0)).groupby(df["worker_id"].to_numpy()).transform("sum").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        eff = np.where(present & (wp > 0), w * total_weight / wp, 0.0)
    df["eff_weight"] = eff
    df["points"] = np.where(present, df["score"].to_numpy(float) * eff, 0.0)
    df["weight_present"] = wp
    return df


def _fmt(x: pd.Series, digits: int = 2) -> pa.Array:
    """Numbers as short text (412, 91.56), in Arrow so that formulas stay vectorised."""
    arr = pa.array(pd.to_numeric(x, errors="coerce").to_numpy(dtype=float, na_value=np.nan))
    return pc.cast(pc.round(arr, digits), pa.string())


def _txt(x: pd.Series) -> pa.Array:
    if isinstance(x.dtype, pd.CategoricalDtype):
        cats = np.asarray(x.cat.categories.astype(str), dtype=object)
        return pa.array(cats[x.cat.codes.to_numpy()], pa.string())
    return pa.array(np.asarray(x, dtype=object).astype(str), pa.string())


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _mask(x: pd.Series | np.ndarray) -> pa.Array:
    return pa.array(np.asarray(x, dtype=bool))


def _formulas(df: pd.DataFrame) -> pd.Series:
    """One line per component: raw figures → value → normalised score → × weight = points.

    Built with Arrow string kernels (a Python f-string per row costs ~1 s per million rows)."""
    num, den, val = _fmt(df["numerator"]), _fmt(df["denominator"]), _fmt(df["value"])
    kind_count = (df["kind"] == "count").to_numpy()
    fair = df["fairness"].to_numpy(object)
    pct = pa.array(np.where(df["unit"].to_numpy(object) == "%", "%", ""))
    expr = pc.if_else(_mask(kind_count), num, _join(num, " ÷ ", den))
    per100 = kind_count & (fair == "per_100_households")
    if per100.any():
        expr = pc.if_else(_mask(per100), _join(num, " ÷ ", _fmt(df["households"], 0), " hh × 100"), expr)
    exp = kind_count & (fair == "expected_volume")
    if exp.any():
        expr = pc.if_else(_mask(exp), _join(num, " ÷ expected ", _fmt(df["expected"], 1), " × 100"), expr)
        pct = pc.if_else(_mask(exp), "%", pct)
    pr = kind_count & (df["active_share"].to_numpy(float) < 1)
    if pr.any():
        expr = pc.if_else(_mask(pr), _join(expr, " ÷ ", _fmt(df["active_share"]), " in post"), expr)
    plain_count = kind_count & ~per100 & ~exp & ~pr
    value_txt = pc.if_else(_mask(plain_count), num, _join(expr, " = ", val, pct))
    sc = _fmt(df["score"], 3)
    method = df["method"].to_numpy(object)
    lin = _join(
        " → (",
        val,
        " − ",
        _fmt(df["floor"]),
        ") ÷ (",
        _fmt(df["target"]),
        " − ",
        _fmt(df["floor"]),
        ") = ",
        sc,
    )
    band = _join(" → ", _txt(df["rule"]), " → ", sc)
    rank = _join(
        " → rank ",
        _fmt(df["cohort_rank"], 1),
        "/",
        _fmt(df["cohort_n"], 0),
        " in ",
        _txt(df["cohort"]),
        " = ",
        sc,
    )
    score_txt = pc.if_else(_mask(method == "linear"), lin, pc.if_else(_mask(method == "bands"), band, rank))
    out = _join(value_txt, score_txt, " × ", _fmt(df["eff_weight"]), " = ", _fmt(df["points"]))
    missing = _join("no data: weight ", _fmt(df["weight"]), " shared out over the rest")
    out = pc.if_else(_mask(df["missing"].to_numpy()), missing, out)
    return pd.Series(pd.arrays.ArrowExtensionArray(out), index=df.index)


def _adjustment_points(adj: pd.DataFrame, scheme: Scheme, period: Period) -> pd.DataFrame:
    cols = ["worker_id", "bonus", "deduction", "veto", "adjust_note"]
    if adj is None or adj.empty or not scheme.adjustments:
        return pd.DataFrame(columns=cols)
    a = adj[adj["period"].isin(period.months)]
    if a.empty:
        return pd.DataFrame(columns=cols)
    rules = pd.DataFrame(
        [
            {"code": r.code, "ppc": r.points_per_case, "cap": r.cap, "veto_rule": r.veto}
            for r in scheme.adjustments
        ]
    )
    a = a.groupby(["worker_id", "code"], as_index=False)["cases"].sum().merge(rules, on="code", how="inner")
    pts = a["cases"] * a["ppc"]
    cap = a["cap"].astype(float)
    a["pts"] = np.where(cap.notna(), pts.clip(-cap.fillna(0), cap.fillna(0)), pts)
    a["veto"] = a["veto_rule"].astype(bool) & (a["cases"] > 0)
    a["note"] = [f"{c}×{n:g}={p:g}" for c, n, p in zip(a["code"], a["cases"], a["pts"], strict=True)]
    g = a.groupby("worker_id")
    out = pd.DataFrame(
        {
            "bonus": g["pts"].apply(lambda s: s[s > 0].sum()).clip(upper=scheme.bonus_cap),
            "deduction": g["pts"].apply(lambda s: s[s < 0].sum()),
            "veto": g["veto"].any(),
            "adjust_note": g["note"].agg("; ".join),
        }
    ).reset_index()
    return out


def _cards(
    df: pd.DataFrame, workers: pd.DataFrame, adj: pd.DataFrame, scheme: Scheme, period: Period
) -> pd.DataFrame:
    g = df.groupby("worker_id", sort=False)
    cards = pd.DataFrame(
        {
            "base": g["points"].sum(),
            "weight_present": g["weight_present"].first(),
            "missing_count": g["missing"].sum().astype(int),
        }
    ).reset_index()
    miss = df.loc[df["missing"], ["worker_id", "component"]].astype({"component": str})
    if len(miss):
        names = miss.groupby("worker_id")["component"].agg(",".join).rename("missing_components")
        cards = cards.merge(names.reset_index(), on="worker_id", how="left")
    else:
        cards["missing_components"] = ""
    cards["missing_components"] = cards["missing_components"].fillna("")
    cards["coverage"] = cards["weight_present"] / scheme.total_weight
    cards = cards.merge(_adjustment_points(adj, scheme, period), on="worker_id", how="left")
    cards["bonus"] = cards["bonus"].astype(float).fillna(0.0)
    cards["deduction"] = cards["deduction"].astype(float).fillna(0.0)
    cards["veto"] = cards["veto"].astype("boolean").fillna(False).astype(bool)
    cards["adjust_note"] = cards["adjust_note"].fillna("")
    scored = cards["weight_present"] > 0
    cards["total"] = (cards["base"] + cards["bonus"] + cards["deduction"]).clip(0, 100).where(scored)
    cards["scored"] = scored
    meta = workers.drop(columns=[c for c in ("households", "_pos") if c in workers.columns])
    cards = meta.merge(cards, on="worker_id", how="inner")
    cards["prorated"] = cards["active_share"] < 1
    cards.insert(0, "period", period.label)
    return _finish(cards, scheme)


def _finish(cards: pd.DataFrame, scheme: Scheme) -> pd.DataFrame:
    """Grades (with share caps and vetoes) and ranks, on the whole scored population."""
    cards["scheme_code"] = scheme.code
    cards["scheme_version"] = scheme.version
    bands = sorted(scheme.grades, key=lambda b: -b.min_score)
    total = cards["total"]
    scored = total.notna()
    grade = np.select([total >= b.min_score for b in bands], [b.code for b in bands], default=bands[-1].code)
    grade = pd.Series(np.where(scored, grade, ""), index=cards.index, dtype=object)
    capped = pd.Series(False, index=cards.index)
    n = int(scored.sum())
    for i, band in enumerate(bands[:-1]):
        if i == 0:  # too little data (coverage below the scheme's minimum) → not eligible for the top grade
            thin = (grade == band.code) & (cards["coverage"] < scheme.min_coverage)
            grade = grade.where(~thin, bands[1].code)
            capped |= thin
        if band.max_share is None:
            continue
        k = int(np.floor(band.max_share * n + 1e-9))
        in_band = grade == band.code
        # The top k keep the grade; ties are broken by more complete data (coverage), then by the
        # points before bonuses, then by worker id, so the share never exceeds the cap and a tie
        # never takes the grade from everyone.
        order = (
            cards.loc[in_band]
            .sort_values(["total", "coverage", "base", "worker_id"], ascending=[False, False, False, True])
            .index
        )
        demote = pd.Series(False, index=cards.index)
        demote.loc[order[k:]] = True
        grade = grade.where(~demote, bands[i + 1].code)
        capped |= demote
    if "veto" in cards:
        veto = cards["veto"].fillna(False).astype(bool) & scored
        grade = grade.where(~veto, bands[-1].code)
    cards["grade"] = grade
    cards["grade_capped"] = capped
    cards["low_coverage"] = cards["coverage"] < scheme.min_coverage
    cards["rank"] = total.rank(ascending=False, method="min")
    cards["n_scored"] = n
    gc = total.groupby(cards["community_id"])
    cards["community_rank"] = gc.rank(ascending=False, method="min")
    cards["community_n"] = gc.transform("count")
    cards["community_top_share"] = cards["community_rank"] / cards["community_n"]
    return cards


def _roll_up(parts: list[Scorecards], weights: list[float], scheme: Scheme, period: Period) -> Scorecards:
    frames = []
    for part, w in zip(parts, weights, strict=True):
        c = part.cards
        if c.empty:
            continue
        frames.append(c.assign(part=part.period, part_weight=w))
    comps = (
        pd.concat([p.components for p in parts if len(p.components)], ignore_index=True)
        if any(len(p.components) for p in parts)
        else _empty_components()
    )
    if not frames:
        return Scorecards(period.label, scheme, _empty_cards(), comps)
    allc = pd.concat(frames, ignore_index=True)
    allc = allc[allc["scored"]]
    # A part resting on too little data (coverage below the scheme's minimum, e.g. a quarter holding a
    # few stray events) is left out when the worker has a better-covered part.
    thin = allc["coverage"] < scheme.min_coverage
    has_good = (~thin).groupby(allc["worker_id"]).transform("any")
    allc = allc[~thin | ~has_good]
    # Parts without data are left out and the remaining parts' weights rescaled.
    allc["wt"] = allc["part_weight"] / allc.groupby("worker_id")["part_weight"].transform("sum")
    g = allc.assign(
        **{c: allc[c] * allc["wt"] for c in ("total", "base", "bonus", "deduction", "coverage")}
    ).groupby("worker_id")
    rolled = g[["total", "base", "bonus", "deduction", "coverage"]].sum()
    rolled["veto"] = g["veto"].any()
    rolled["missing_count"] = g["missing_count"].max()
    rolled["parts_n"] = g.size()
    # "2020-Q1 85.00; 2020-Q2 …": each part's own total, from a pivot (no per-worker Python).
    own = allc.pivot(index="worker_id", columns="part", values="total").reindex(rolled.index)
    text = None
    for label in own.columns:
        col = pa.array(own[label].to_numpy(dtype=float), from_pandas=True)
        piece = pc.if_else(
            pc.is_null(col), "", _join(f"{label} ", pc.cast(pc.round(col, 2), pa.string()), "; ")
        )
        text = piece if text is None else _join(text, piece)
    assert text is not None  # at least one part
    rolled["parts"] = pd.Series(text.to_numpy(zero_copy_only=False), index=rolled.index).str.removesuffix(
        "; "
    )
    # components missing in a part the worker was scored in (a quarter with no data at all is simply
    # left out of the mean, not reported as twelve missing components)
    scored_parts = allc[["worker_id", "part"]].rename(columns={"part": "period"})
    miss = (
        comps.loc[comps["missing"].astype(bool), ["worker_id", "period", "component"]]
        .astype({"period": str})
        .merge(scored_parts, on=["worker_id", "period"])[["worker_id", "component"]]
        .drop_duplicates()
    )
    names = miss.astype({"component": str}).groupby("worker_id")["component"].agg(",".join)
    rolled["missing_components"] = names.reindex(rolled.index).fillna("")
    notes = allc.loc[allc["adjust_note"] != "", ["worker_id", "part", "adjust_note"]]
    rolled["adjust_note"] = (
        (notes["part"] + ": " + notes["adjust_note"])
        .groupby(notes["worker_id"])
        .agg("; ".join)
        .reindex(rolled.index)
        .fillna("")
    )
    rolled = rolled.reset_index()
    last = allc.sort_values("part").groupby("worker_id").last()
    meta_cols = [
        c
        for c in last.columns
        if c not in rolled.columns
        and c
        not in (
            "part",
            "part_weight",
            "wt",
            "weight_present",
            "rank",
            "n_scored",
            "community_rank",
            "community_n",
            "community_top_share",
            "grade",
            "grade_capped",
            "period",
            "scheme_code",
            "scheme_version",
        )
    ]
    cards = rolled.merge(last[meta_cols].reset_index(), on="worker_id")
    cards["prorated"] = cards["prorated"] | (cards["parts_n"] < len(weights))
    cards.insert(0, "period", period.label)
    return Scorecards(period.label, scheme, _finish(cards, scheme), comps)


def _empty_cards() -> pd.DataFrame:
    return pd.DataFrame(
        columns=[
            "period",
            "worker_id",
            "community_id",
            "subdistrict_id",
            "party_member",
            "total",
            "base",
            "bonus",
            "deduction",
            "grade",
            "rank",
            "coverage",
            "scored",
            "prorated",
            "missing_components",
            "community_rank",
            "community_n",
            "scheme_version",
        ]
    )


def _empty_components() -> pd.DataFrame:
    return pd.DataFrame(
        columns=[
            "period",
            "worker_id",
            "dimension",
            "component",
            "metric",
            "numerator",
            "denominator",
            "value",
            "score",
            "weight",
            "eff_weight",
            "points",
            "missing",
            "formula",
        ]
    )
