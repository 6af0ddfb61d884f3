"""Demo dispatch history: a decision for every event the field demo dispatched, some of them overrides.

Managers override more often where local knowledge matters (disputes and livelihood, 矛盾纠纷与民生服务)
than for fire or city-appearance items, so the override report has something to show. Deterministic
for the demo seed (ctx.rng).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import insert, select
from sqlmodel import col

from core.demo import DemoContext
from evaluation.assignment.models import AssignmentDecision, DecisionSource
from evaluation.field.models import Event

OVERRIDE_SHARE = {"dispute": 0.25, "security": 0.12}  # other categories: DEFAULT_OVERRIDE_SHARE
DEFAULT_OVERRIDE_SHARE = 0.05
REASONS = [
    "熟悉当事人家庭情况,沟通更顺",
    "原推荐人员当天请假,临时顶岗",
    "该楼栋业主只认可这位网格员",
    "需党员网格员牵头处理",
    "就近调度,该网格员已在现场附近",
    "涉及粤语/客家话沟通",
]


def seed(ctx: DemoContext) -> None:
    s = ctx.session
    rows = s.execute(
        select(
            col(Event.id),
            col(Event.item_code),
            col(Event.category_code),
            col(Event.community_id),
            col(Event.assignee_id),
            col(Event.dispatched_at),
            col(Event.assigned_by),
        ).where(col(Event.dispatched_at).is_not(None), col(Event.assignee_id).is_not(None))
    ).all()
    events = pd.DataFrame(
        rows,
        columns=[
            "id",
            "item_code",
            "category_code",
            "community_id",
            "assignee_id",
            "dispatched_at",
            "assigned_by",
        ],
    )
    if events.empty:
        return
    rng = ctx.rng
    share = events["category_code"].map(OVERRIDE_SHARE).fillna(DEFAULT_OVERRIDE_SHARE).to_numpy()
    overridden = rng.random(len(events)) < share
    # The recommendation an override went against: another worker of the same community.
    by_community = ctx.workers.groupby("community_id")["id"].apply(list).to_dict()
    recommended = events["assignee_id"].to_numpy().copy()
    for i in np.flatnonzero(overridden):  # a few dozen rows: one random pick each
        others = [w for w in by_community.get(events["community_id"].iat[i], []) if w != recommended[i]]
        if others:
            recommended[i] = int(rng.choice(others))
        else:
            overridden[i] = False
    score = np.round(rng.normal(62, 8, len(events)).clip(30, 90), 1)
    chosen_rank = np.where(overridden, rng.integers(2, 5, len(events)), 1)
    reasons = np.where(overridden, rng.choice(REASONS, len(events)), np.array(None))  # None: not overridden
    s.execute(
        insert(AssignmentDecision),
        [
            {
                "task_id": f"event:{e}",
                "kind": "event",
                "item_code": item,
                "category_code": cat,
                "community_id": int(comm),
                "recommended_worker_id": int(rec),
                "chosen_worker_id": int(chosen),
                "recommended_score": float(sc),
                "chosen_score": float(sc - (4.0 * (rank - 1))),
                "chosen_rank": int(rank),
                "overridden": bool(over),
                "override_reason": reason,
                "preset": "routine",
                "source": DecisionSource.SINGLE,
                "decided_by": ctx.manager_user_id,
                "decided_at": at.to_pydatetime(),
            }
            for e, item, cat, comm, rec, chosen, sc, rank, over, reason, at in zip(
                events["id"],
                events["item_code"],
                events["category_code"],
                events["community_id"],
                recommended,
                events["assignee_id"],
                score,
                chosen_rank,
                overridden,
                reasons,
                pd.to_datetime(events["dispatched_at"]),
                strict=True,
            )
        ],
    )
    ctx.log(f"assignment: {len(events)} dispatch decisions, {int(overridden.sum())} overrides")
