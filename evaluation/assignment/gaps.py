"""Skill gaps: items that keep lacking qualified candidates, and who is nearest to qualifying.

Pure functions over the pair table (qualification_pairs, or pairs.score_pairs) and the qualifications frame (courses contract).
A task "lacks qualified candidates" when no worker of its community holds the item's qualification
(whatever else they are doing); the fix is training, not dispatch, so the page turns it into an
enrollment in the linked course.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from evaluation.assignment.pairs import qualification
from evaluation.assignment.rank import _pair_positions, item_courses

EXPIRING_DAYS = 30  # a certificate expiring within this many days counts as "about to lapse"
# How close a worker is to qualifying, nearest first.
CLOSENESS = ("expiring", "expired", "failed", "untrained")


PAIR_COLUMNS = ["task_id", "item_code", "qualification_course", "community_id", "worker_id", "qualified"]


def qualification_pairs(
    tasks: pd.DataFrame,
    workers: pd.DataFrame,
    quals: pd.DataFrame,
    *,
    now: datetime,
    items: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every (task whose item needs a qualification, worker of the task's community) pair and whether the
    worker holds it at ``now``: a certificate valid then, or a pass of a course that issued none — the rule
    pairs.qualification applies, without the ranking's points (all that item_gaps reads, for a fraction of the
    work). Tasks needing no qualification are left out: they cannot lack one.

    Returns task_id, item_code, qualification_course, community_id, worker_id, qualified."""
    items = items if items is not None else item_courses()
    need = items.dropna(subset=["qualification_course"]).drop_duplicates("item_code")
    course = need.set_index("item_code")["qualification_course"]
    tk = tasks.loc[tasks["item_code"].isin(course.index), ["task_id", "item_code", "community_id"]]
    if tk.empty:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    tk = tk.assign(qualification_course=tk["item_code"].map(course))
    ti, wi = _pair_positions(tk["community_id"], workers["community_id"])
    pairs = pd.DataFrame(
        {
            **{
                c: tk[c].to_numpy()[ti]
                for c in ("task_id", "item_code", "qualification_course", "community_id")
            },
            "worker_id": workers["worker_id"].to_numpy()[wi],
        }
    )
    q = quals.reindex(columns=["worker_id", "course_code", "passed", "certificate_valid_until"])
    q = q.assign(
        passed=q["passed"].fillna(False).astype(bool),
        certificate_valid_until=pd.to_datetime(q["certificate_valid_until"], errors="coerce"),
    ).drop_duplicates(["worker_id", "course_code"], keep="last")
    held = pairs.merge(
        q, left_on=["worker_id", "qualification_course"], right_on=["worker_id", "course_code"], how="left"
    )
    pairs["qualified"], _ = qualification(
        np.ones(len(held), dtype=bool),
        held["passed"].astype(object).where(held["passed"].notna(), False).astype(bool).to_numpy(),
        pd.to_datetime(held["certificate_valid_until"]).to_numpy(dtype="datetime64[us]"),
        np.full(len(held), np.nan),
        np.datetime64(pd.Timestamp(now).to_datetime64(), "us"),
    )
    return pairs[PAIR_COLUMNS]


def item_gaps(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per item needing a qualification: open tasks, tasks whose community has nobody qualified, the
    communities concerned and how many of their workers are qualified. Worst first."""
    cols = [
        "item_code",
        "qualification_course",
        "tasks",
        "tasks_without_qualified",
        "communities",
        "qualified_workers",
        "workers",
        "gap_share",
    ]
    if pairs.empty:
        return pd.DataFrame(columns=cols)
    p = pairs[pairs["qualification_course"].notna()]
    if p.empty:
        return pd.DataFrame(columns=cols)
    per_task = p.groupby("task_id").agg(
        item_code=("item_code", "first"),
        qualification_course=("qualification_course", "first"),
        community_id=("community_id", "first"),
        any_qualified=("qualified", "any"),
    )
    per_item = per_task.groupby(["item_code", "qualification_course"]).agg(
        tasks=("any_qualified", "size"),
        tasks_without_qualified=("any_qualified", lambda s: int((~s).sum())),
        communities=("community_id", "nunique"),
    )
    workers = (
        p.drop_duplicates(["item_code", "worker_id"])
        .groupby("item_code")
        .agg(qualified_workers=("qualified", "sum"), workers=("worker_id", "size"))
    )
    out = per_item.reset_index().merge(workers.reset_index(), on="item_code", how="left")
    out["gap_share"] = out["tasks_without_qualified"] / out["tasks"]
    out = out.sort_values(
        ["tasks_without_qualified", "gap_share", "tasks", "item_code"], ascending=[False, False, False, True]
    )
    return out[cols].reset_index(drop=True)


def nearest_to_qualifying(
    workers: pd.DataFrame,
    quals: pd.DataFrame,
    course_code: str,
    *,
    now: datetime,
    pass_mark: float = 80.0,
    community_ids: list[int] | None = None,
) -> pd.DataFrame:
    """Active workers without a valid certificate in ``course_code``, nearest to qualifying first:
    certificate expiring within EXPIRING_DAYS (still valid, about to lapse), expired (most recent first),
    quiz attempted but failed (best score first), never attempted.

    Returns worker_id, name, grid_id, community_id, status (one of CLOSENESS), certificate_valid_until,
    best_score, points_short (pass mark − best score, for the failed).
    """
    w = workers[workers["status"] == "active"]
    if community_ids is not None:
        w = w[w["community_id"].isin(community_ids)]
    q = quals[quals["course_code"] == course_code].drop_duplicates("worker_id", keep="last")
    q = q.assign(
        certificate_valid_until=pd.to_datetime(q["certificate_valid_until"]),
        best_score=pd.to_numeric(q["best_score"], errors="coerce"),
    )
    out = w[["worker_id", "name", "grid_id", "community_id"]].merge(
        q[["worker_id", "certificate_valid_until", "best_score"]], on="worker_id", how="left"
    )
    until = out["certificate_valid_until"]
    ts_now, soon = pd.Timestamp(now), pd.Timestamp(now + timedelta(days=EXPIRING_DAYS))
    out["status"] = np.select(
        [
            until.notna() & (until >= soon),
            until.notna() & (until >= ts_now),
            until.notna(),
            out["best_score"].notna(),
        ],
        ["qualified", "expiring", "expired", "failed"],
        default="untrained",
    )
    out = out[out["status"] != "qualified"].copy()
    out["points_short"] = np.where(
        out["status"] == "failed", (pass_mark - out["best_score"]).clip(lower=0), np.nan
    )
    out["_order"] = out["status"].map({s: i for i, s in enumerate(CLOSENESS)})
    # Within a status: the soonest to lapse, the most recently expired, the best failed score.
    gap_s = (out["certificate_valid_until"] - ts_now).dt.total_seconds().abs()
    out["_key"] = np.where(out["status"] == "failed", -out["best_score"].fillna(0), gap_s.fillna(0))
    out = out.sort_values(["_order", "_key", "worker_id"])
    return out.drop(columns=["_order", "_key"]).reset_index(drop=True)
