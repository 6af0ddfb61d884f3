"""The article's comparisons: party-member workers against all workers (and communities against the
district) on worker-level rates, with the gap in percentage points.

"平均采集率" in the article is a mean over workers, so each worker's rate is first Σnum ÷ Σden over the
period and the group figure is the mean of those rates; the pooled rate (Σ over the whole group) is
returned beside it so a reader can see both readings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ARTICLE_METRICS = ("collection_rate", "retention_rate", "accuracy_rate")  # 采集率 / 未注销率 / 准确率


def worker_rates(values: pd.DataFrame, months: list[str], metrics: tuple[str, ...]) -> pd.DataFrame:
    """worker_id, metric, numerator, denominator, rate (%) over the months."""
    v = values[values["period"].isin(months) & values["metric"].isin(metrics)]
    g = v.groupby(["worker_id", "metric"], as_index=False)[["numerator", "denominator"]].sum()
    g = g[g["denominator"] > 0]
    g["rate"] = g["numerator"] / g["denominator"] * 100
    return g


def party_comparison(
    values: pd.DataFrame,
    workers: pd.DataFrame,
    registry: pd.DataFrame,
    *,
    months: list[str],
    metrics: tuple[str, ...] = ARTICLE_METRICS,
) -> pd.DataFrame:
    """One row per metric: metric, name_zh, name_en, party, all, gap_pp (party − all), non_party,
    party_pooled, all_pooled, n_party, n_all. Rates in %, gap in percentage points."""
    return party_comparison_of(worker_rates(values, months, metrics), workers, registry, metrics=metrics)


def party_comparison_of(
    worker_rates: pd.DataFrame,
    workers: pd.DataFrame,
    registry: pd.DataFrame,
    *,
    metrics: tuple[str, ...] = ARTICLE_METRICS,
) -> pd.DataFrame:
    """:func:`party_comparison` from the rates of :func:`worker_rates` (computed once for many groups)."""
    rates = worker_rates.merge(workers[["worker_id", "party_member"]], on="worker_id", how="inner")
    rates["party_member"] = rates["party_member"].astype(bool)
    rows = []
    names = registry.set_index("code")
    for m in metrics:
        r = rates[rates["metric"] == m]
        p, o = r[r["party_member"]], r[~r["party_member"]]
        party, allv = (p["rate"].mean() if len(p) else np.nan), (r["rate"].mean() if len(r) else np.nan)
        rows.append(
            {
                "metric": m,
                "name_zh": names.at[m, "name_zh"] if m in names.index else m,
                "name_en": names.at[m, "name_en"] if m in names.index else m,
                "party": party,
                "all": allv,
                "gap_pp": party - allv,
                "non_party": o["rate"].mean() if len(o) else np.nan,
                "party_pooled": _pooled(p),
                "all_pooled": _pooled(r),
                "n_party": int(len(p)),
                "n_all": int(len(r)),
            }
        )
    return pd.DataFrame(rows)


def group_comparison(
    values: pd.DataFrame,
    workers: pd.DataFrame,
    *,
    months: list[str],
    by: str,
    metrics: tuple[str, ...] = ARTICLE_METRICS,
) -> pd.DataFrame:
    """Mean worker rate per group (``by`` = community_id, subdistrict_id, …) and its gap to all, in pp."""
    rates = worker_rates(values, months, metrics).merge(workers[["worker_id", by]], on="worker_id")
    overall = rates.groupby("metric")["rate"].mean().rename("all")
    g = rates.groupby([by, "metric"]).agg(rate=("rate", "mean"), n=("rate", "size")).reset_index()
    g = g.merge(overall.reset_index(), on="metric")
    g["gap_pp"] = g["rate"] - g["all"]
    return g


def _pooled(r: pd.DataFrame) -> float:
    den = r["denominator"].sum()
    return float(r["numerator"].sum() / den * 100) if den > 0 else float("nan")
