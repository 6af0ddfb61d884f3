"""Dispatch against the database: load the frames the ranking needs, recommend, assign, run a batch.

Reads go through the other areas' contracts (courses.api, evaluation.field.api); the viewer's scope
limits both the tasks (open_tasks) and the candidates (workers are read with worker_scope_clause).

Time: tasks are judged at the field clock (``field_now``: the wall clock in a deployment, the pinned
2020-09-30 18:00 in a demo database) — certificate validity, training that overlaps the response
window, load, the performance look-back and deadlines — and a decision is stamped with the same time
that field's assign_task gives the event's dispatch, so the two agree. An explicit ``now`` wins.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import pandas as pd
from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core.errors import GridwiseError
from core.i18n import t
from core.models import OrgLevel, OrgUnit, User, Worker
from core.scope import Viewer, unit_scope_clause, worker_scope_clause
from core.settings import DATA_DIR
from core.sql import frame
from courses import api as courses_api
from evaluation.assignment.batch import BatchProposal, propose
from evaluation.assignment.explain import exclusion_reasons, explain
from evaluation.assignment.gaps import item_gaps, qualification_pairs
from evaluation.assignment.models import AssignmentDecision, DecisionSource
from evaluation.assignment.one_task import TaskInputs, inputs_from_frames, rank_task
from evaluation.assignment.pairs import score_pairs
from evaluation.assignment.rank import (
    PERF_COUNTS,
    Preset,
    as_preset,
    priority_rank,
)
from evaluation.field import api as field_api
from evaluation.field.models import Event
from evaluation.field.registry import field_now
from evaluation.warning.service import warned_events

PERF_LOOKBACK_DAYS = 365  # past performance counts events fed back within the last year
HARD_RULES = ("inactive", "in_training", "not_qualified")  # an override may not break these
REASON_TOP = 3  # the strongest reasons, as stored for the worker's My tasks


class AssignmentError(GridwiseError):
    """An expected refusal; ``key``/``params`` let a page say it in the user's language."""


class HardRuleRefusal(AssignmentError):
    """A worker a hard rule excludes, with the rule's reason said in the reader's language too (the reason is
    a sentence of its own, so it is rendered per language rather than kept as an English parameter)."""

    def __init__(self, chosen: pd.DataFrame) -> None:
        self.chosen = chosen.head(1)
        super().__init__(
            "assign.error.hard_rule",
            name=self.chosen["name"].iloc[0],
            reason=exclusion_reasons(self.chosen, "en").iloc[0],
        )

    def message(self, lang: str) -> str:
        reason = exclusion_reasons(self.chosen, lang).iloc[0]
        return t(self.prefix + self.key, lang, **{**self.params, "reason": reason})


@dataclass(frozen=True)
class Context:
    """Everything the ranking reads, loaded once per page run."""

    now: datetime
    workers: (
        pd.DataFrame
    )  # worker_id, name, employee_no, grid_id, community_id, status, lat, lon, grid_zh, grid_en
    grids: pd.DataFrame  # grid_id, community_id, lat, lon
    quals: pd.DataFrame
    perf: pd.DataFrame
    load: pd.DataFrame


@lru_cache(maxsize=1)
def response_window_hours() -> dict[str, float]:
    """How long a task needs its worker free from now: the on-site limit if set, else the sign limit
    (data/sla.json: urgent 2 h, normal 4 h, complex 24 h). A training session overlapping it excludes."""
    sla = json.loads((DATA_DIR / "sla.json").read_text(encoding="utf-8"))
    return {p["code"]: float(p.get("onsite_limit_hours") or p["sign_limit_hours"]) for p in sla["priorities"]}


WORKER_FIELDS = (
    "worker_id",
    "name",
    "employee_no",
    "grid_id",
    "community_id",
    "status",
    "lat",
    "lon",
    "grid_zh",
    "grid_en",
)
NAME_FIELDS = ("employee_no", "grid_zh", "grid_en")  # carried onto the ranked and excluded rows


def _workers_stmt(viewer: Viewer):  # noqa: ANN202 - a select of WORKER_FIELDS
    """Workers in the viewer's scope with their grid's centre and name, by id."""
    return (
        sa_select(
            col(Worker.id),
            col(Worker.name),
            col(Worker.employee_no),
            col(Worker.grid_id),
            col(Worker.community_id),
            col(Worker.status),
            col(OrgUnit.lat),
            col(OrgUnit.lon),
            col(OrgUnit.name_zh),
            col(OrgUnit.name_en),
        )
        .join(OrgUnit, col(OrgUnit.id) == Worker.grid_id)
        .where(worker_scope_clause(viewer))
        .order_by(col(Worker.id))
    )


def load_context(
    session: Session, viewer: Viewer, *, now: datetime | None = None, ranking: bool = True
) -> Context:
    """The frames for ranking in the viewer's scope, as of ``now`` (default: the field clock). ``ranking``
    False leaves out past performance and workload (empty frames): who is qualified, all that skill gaps
    read, does not depend on them."""
    at = field_now(session, now)
    workers = frame(session, _workers_stmt(viewer), list(WORKER_FIELDS))
    grids = frame(
        session,
        sa_select(col(OrgUnit.id), col(OrgUnit.parent_id), col(OrgUnit.lat), col(OrgUnit.lon)).where(
            col(OrgUnit.level) == OrgLevel.GRID.value, unit_scope_clause(viewer)
        ),
        ["grid_id", "community_id", "lat", "lon"],
    )
    quals = courses_api.qualifications(session, at=at)
    quals = quals[quals["worker_id"].isin(workers["worker_id"])]
    if not ranking:
        perf = pd.DataFrame(columns=["worker_id", "category_code", *PERF_COUNTS])
        load = pd.DataFrame(columns=["worker_id", "open_tasks", "tasks_last_30d"])
        return Context(at, workers, grids, quals, perf, load)
    perf = field_api.category_performance(session, since=(at - timedelta(days=PERF_LOOKBACK_DAYS)).date())
    load = field_api.worker_load(session, now=at)
    return Context(at, workers, grids, quals, perf, load)


def busy_for(session: Session, tasks: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """task_id, worker_id: workers in a training session during each task's response window
    (one courses query per distinct window, not per task)."""
    windows = tasks["priority"].map(response_window_hours()).fillna(4.0)
    parts = []
    for hours, ids in tasks.groupby(windows)["task_id"]:
        busy = courses_api.busy_workers(session, start=now, end=now + timedelta(hours=float(hours)))
        if busy:
            parts.append(
                pd.MultiIndex.from_product([ids, sorted(busy)], names=["task_id", "worker_id"]).to_frame(
                    index=False
                )
            )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["task_id", "worker_id"])


def task_queue(session: Session, viewer: Viewer, *, now: datetime | None = None) -> pd.DataFrame:
    """Open tasks in scope, unassigned first, then those of a current early warning (``warned``), then by
    priority and deadline, with community and assignee names."""
    tasks = field_api.open_tasks(session, viewer, now=now)
    if tasks.empty:
        return tasks.assign(
            community_zh=pd.Series(dtype=str),
            community_en=pd.Series(dtype=str),
            assignee_name=pd.Series(dtype=str),
            priority_rank=pd.Series(dtype=int),
            warned=pd.Series(dtype=bool),
        )
    units = pd.DataFrame(
        session.exec(
            select(OrgUnit.id, OrgUnit.name_zh, OrgUnit.name_en).where(
                col(OrgUnit.id).in_(tasks["community_id"].dropna().unique().tolist())
            )
        ).all(),
        columns=["id", "name_zh", "name_en"],
    ).set_index("id")
    assignees = tasks["assignee_id"].dropna().astype(int).unique().tolist()
    names = (
        dict(session.exec(select(Worker.id, Worker.name).where(col(Worker.id).in_(assignees))).all())
        if assignees
        else {}
    )
    out = tasks.assign(
        community_zh=tasks["community_id"].map(units["name_zh"]),
        community_en=tasks["community_id"].map(units["name_en"]),
        assignee_name=pd.Series(
            [names.get(int(w)) if pd.notna(w) else None for w in tasks["assignee_id"]],
            index=tasks.index,
            dtype=object,
        ),
        priority_rank=priority_rank(tasks["priority"]),
    )
    out["unassigned"] = out["assignee_id"].isna()
    # Events of a current early warning (evaluation.warning) rank first among the unassigned.
    event_ids = [int(t.split(":")[1]) for t in out["task_id"] if t.startswith("event:")]
    warned = {f"event:{i}" for i in warned_events(session, event_ids, now=now)}
    out["warned"] = out["task_id"].isin(warned)
    return out.sort_values(
        ["unassigned", "warned", "priority_rank", "due_at", "task_id"],
        ascending=[False, False, True, True, True],
        na_position="last",
    ).reset_index(drop=True)


def _pairs(session: Session, ctx: Context, tasks: pd.DataFrame, preset: Preset) -> pd.DataFrame:
    busy = busy_for(session, tasks, ctx.now)
    return score_pairs(
        tasks, ctx.workers, ctx.quals, ctx.perf, ctx.load, busy, preset, now=ctx.now, grids=ctx.grids
    )


def _find_task(session: Session, viewer: Viewer, task_id: str, now: datetime) -> pd.Series:
    tasks = field_api.open_tasks(session, viewer, now=now)
    match = tasks[tasks["task_id"] == task_id]
    if match.empty:
        raise AssignmentError("assign.error.no_task", task=task_id)
    return match.iloc[0]


def perf_since(now: datetime) -> date:
    """The first day of the performance look-back as of ``now``."""
    return (now - timedelta(days=PERF_LOOKBACK_DAYS)).date()


def task_inputs(
    session: Session,
    viewer: Viewer,
    task: Mapping[str, Any],
    *,
    now: datetime,
    pooled: pd.DataFrame | None = None,
) -> TaskInputs:
    """What ranking ``task`` reads, in SQL for its community alone (not the district's frames of
    ``load_context``): its workers in the viewer's scope, their grids, qualifications, history and load, the
    category totals the priors pool (``pooled``: field_api.category_totals since ``perf_since(now)``, read
    here when not given), and who is in training during the task's response window."""
    community = task.get("community_id")
    if community is None or pd.isna(community):
        return inputs_from_frames(task, *_no_rows(), set(), grids=None)
    workers = frame(
        session, _workers_stmt(viewer).where(col(Worker.community_id) == int(community)), list(WORKER_FIELDS)
    )
    ids = [int(w) for w in workers["worker_id"]]
    communities = [int(community)]
    if pd.notna(task.get("grid_id")):
        parent = session.get(OrgUnit, int(task["grid_id"]))
        communities += [parent.parent_id] if parent is not None and parent.parent_id is not None else []
    grids = frame(
        session,
        sa_select(col(OrgUnit.id), col(OrgUnit.parent_id), col(OrgUnit.lat), col(OrgUnit.lon)).where(
            col(OrgUnit.level) == OrgLevel.GRID.value,
            unit_scope_clause(viewer),
            col(OrgUnit.parent_id).in_(communities),
        ),
        ["grid_id", "community_id", "lat", "lon"],
    )
    since = perf_since(now)
    hours = response_window_hours().get(str(task.get("priority")), 4.0)
    return inputs_from_frames(
        task,
        workers,
        courses_api.qualifications(session, at=now, worker_ids=ids),
        field_api.category_performance(session, since=since, worker_ids=ids),
        field_api.worker_load(session, now=now, worker_ids=ids),
        courses_api.busy_workers(session, start=now, end=now + timedelta(hours=hours)),
        grids=grids,
        pooled=pooled if pooled is not None else field_api.category_totals(session, since=since),
    )


def _no_rows() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return (
        pd.DataFrame(columns=list(WORKER_FIELDS)),
        pd.DataFrame(columns=["worker_id", "course_code", "passed", "certificate_valid_until", "best_score"]),
        pd.DataFrame(columns=["worker_id", "category_code", *PERF_COUNTS]),
        pd.DataFrame(columns=["worker_id", "open_tasks", "tasks_last_30d"]),
    )


def recommend(
    session: Session,
    viewer: Viewer,
    task_id: str,
    preset: Preset | str,
    *,
    now: datetime | None = None,
    ctx: Context | None = None,
    task: pd.Series | None = None,
    inputs: TaskInputs | None = None,
) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    """``(task, ranked, excluded)`` for one open task; names and grid names are on both frames. The ranking
    reads ``inputs`` when given, else the frames of ``ctx`` when given, else its community in SQL
    (task_inputs)."""
    at = ctx.now if ctx is not None else field_now(session, now)
    task = task if task is not None else _find_task(session, viewer, task_id, at)
    if inputs is None and ctx is not None:
        one = task.to_frame().T.reset_index(drop=True)
        busy = busy_for(session, one, at)
        inputs = inputs_from_frames(task, ctx.workers, ctx.quals, ctx.perf, ctx.load, busy, grids=ctx.grids)
    elif inputs is None:
        inputs = task_inputs(session, viewer, task, now=at)
    ranked, excluded = rank_task(task, inputs, as_preset(preset), now=at, extra=NAME_FIELDS)
    return task, ranked, excluded


def choosable(ranked: pd.DataFrame, excluded: pd.DataFrame) -> pd.DataFrame:
    """Whom a manager may assign a task to: every ranked candidate, then the excluded ones no hard rule
    bars (outside the grid tier, or at the open-task cap), who need an override reason (see ``assign``)."""
    if excluded.empty:
        return ranked
    soft = excluded[~excluded["rule"].isin(HARD_RULES)]
    return pd.concat([ranked, soft], ignore_index=True) if not ranked.empty else soft.reset_index(drop=True)


def worker_reason(row: pd.DataFrame, lang: str, override_reason: str | None, source: str) -> str:
    """The sentence the worker reads in My tasks."""
    reasons = explain(row, lang, top=REASON_TOP, points=False).iloc[0]
    if override_reason:
        return t("assign.worker_reason_override", lang, reason=override_reason, reasons=reasons)
    key = "assign.worker_reason_batch" if source != DecisionSource.SINGLE else "assign.worker_reason"
    return t(key, lang, reasons=reasons)


def assign(
    session: Session,
    viewer: Viewer,
    *,
    task_id: str,
    worker_id: int,
    preset: Preset | str,
    override_reason: str | None = None,
    now: datetime | None = None,
    ctx: Context | None = None,
) -> AssignmentDecision:
    """Assign one task to ``worker_id`` (the recommendation, or an override with a reason) and record
    the decision. Refuses a worker a hard rule excludes (inactive, in training, not qualified); a
    worker outside the grid tier or at the cap may be chosen with a reason. Flushes; the caller commits."""
    at = field_now(session, now)
    p = as_preset(preset)
    task, ranked, excluded = recommend(session, viewer, task_id, p, now=at, ctx=ctx)
    recommended = int(ranked["worker_id"].iloc[0]) if not ranked.empty else None
    chosen = ranked[ranked["worker_id"] == worker_id]
    if chosen.empty:
        chosen = excluded[excluded["worker_id"] == worker_id]
        if chosen.empty:
            raise AssignmentError("assign.error.not_in_scope")
        if chosen["rule"].iloc[0] in HARD_RULES:
            raise HardRuleRefusal(chosen)
    reason = (override_reason or "").strip() or None
    overridden = worker_id != recommended
    if overridden and reason is None:
        raise AssignmentError("assign.error.override_reason")
    existing = session.exec(
        select(AssignmentDecision).where(
            AssignmentDecision.task_id == task_id, AssignmentDecision.chosen_worker_id == worker_id
        )
    ).first()
    if existing is not None and pd.notna(task["assignee_id"]) and int(task["assignee_id"]) == worker_id:
        return existing  # the same decision again: nothing to do
    field_api.assign_task(
        session,
        viewer,
        task_id=task_id,
        worker_id=worker_id,
        reason_zh=worker_reason(chosen, "zh", reason if overridden else None, DecisionSource.SINGLE),
        reason_en=worker_reason(chosen, "en", reason if overridden else None, DecisionSource.SINGLE),
        assigned_by=viewer.user_id,
        override_reason=reason if overridden else None,
        now=at,
        recommended_worker_id=recommended,
    )
    decision = existing or AssignmentDecision(
        task_id=task_id, chosen_worker_id=worker_id, kind=str(task["kind"]), preset=p.code
    )
    decision.item_code = task["item_code"] if isinstance(task["item_code"], str) else None
    decision.category_code = task["category_code"] if isinstance(task["category_code"], str) else None
    decision.community_id = int(task["community_id"]) if pd.notna(task["community_id"]) else None
    decision.recommended_worker_id = recommended
    decision.recommended_score = float(ranked["score"].iloc[0]) if not ranked.empty else None
    decision.chosen_score = float(chosen["score"].iloc[0])
    decision.chosen_rank = int(chosen["rank"].iloc[0]) if "rank" in chosen.columns else None
    decision.overridden = overridden
    decision.override_reason = reason if overridden else None
    decision.preset = p.code
    decision.source = DecisionSource.SINGLE
    decision.decided_by = viewer.user_id or None
    decision.decided_at = at
    session.add(decision)
    session.flush()
    return decision


def propose_batch(
    session: Session,
    viewer: Viewer,
    preset: Preset | str,
    *,
    now: datetime | None = None,
    ctx: Context | None = None,
) -> BatchProposal:
    """The optimal assignment of every unassigned open task in scope (nothing is written)."""
    ctx = ctx or load_context(session, viewer, now=now)
    p = as_preset(preset)
    tasks = field_api.open_tasks(session, viewer, now=ctx.now)
    tasks = tasks[tasks["assignee_id"].isna()].reset_index(drop=True)
    pairs = _pairs(session, ctx, tasks, p) if not tasks.empty else pd.DataFrame()
    proposal = propose(pairs, tasks, ctx.load, ctx.workers, p)
    names = ctx.workers[["worker_id", "employee_no", "grid_zh", "grid_en"]]
    assigned = proposal.assigned
    if not assigned.empty:
        assigned = assigned.merge(names, on="worker_id", how="left")
        titles = tasks.set_index("task_id")
        assigned["title_zh"] = assigned["task_id"].map(titles["title_zh"])
        assigned["title_en"] = assigned["task_id"].map(titles["title_en"])
    unassigned = proposal.unassigned
    if not unassigned.empty:
        titles = tasks.set_index("task_id")
        unassigned = unassigned.assign(
            **{
                c: unassigned["task_id"].map(titles[c])
                for c in ("title_zh", "title_en", "item_code", "community_id")
            }
        )
    return BatchProposal(assigned, unassigned, proposal.preset, proposal.n_tasks)


def commit_batch(
    session: Session,
    viewer: Viewer,
    proposal: BatchProposal,
    *,
    now: datetime | None = None,
    source: str = DecisionSource.BATCH,
) -> dict[str, int]:
    """Write a proposal: each task through field's assign_task, each decision recorded. Idempotent:
    a task assigned meanwhile (by anyone) is skipped. One unit of work: the caller commits all or none."""
    at = field_now(session, now)
    if proposal.assigned.empty:
        return {"assigned": 0, "skipped": 0}
    still_open = field_api.open_tasks(session, viewer, now=at)
    free = set(still_open.loc[still_open["assignee_id"].isna(), "task_id"])
    todo = proposal.assigned[proposal.assigned["task_id"].isin(free)]
    reasons_zh = [worker_reason(todo.iloc[[i]], "zh", None, source) for i in range(len(todo))]
    reasons_en = [worker_reason(todo.iloc[[i]], "en", None, source) for i in range(len(todo))]
    top = todo["rank_in_task"] == 1
    for i, row in enumerate(todo.itertuples(index=False)):
        field_api.assign_task(
            session,
            viewer,
            task_id=row.task_id,
            worker_id=int(row.worker_id),
            reason_zh=reasons_zh[i],
            reason_en=reasons_en[i],
            assigned_by=viewer.user_id,
            now=at,
            recommended_worker_id=int(row.worker_id),
        )
        session.add(
            AssignmentDecision(
                task_id=row.task_id,
                kind=str(row.kind),
                item_code=row.item_code if isinstance(row.item_code, str) else None,
                category_code=row.category_code if isinstance(row.category_code, str) else None,
                community_id=int(row.community_id),
                recommended_worker_id=int(row.worker_id),
                recommended_score=float(row.score),
                chosen_worker_id=int(row.worker_id),
                chosen_score=float(row.score),
                chosen_rank=int(row.rank_in_task),
                overridden=False,
                preset=proposal.preset,
                source=source,
                decided_by=viewer.user_id or None,
                decided_at=at,
            )
        )
    session.flush()
    return {
        "assigned": len(todo),
        "skipped": len(proposal.assigned) - len(todo),
        "first_choice": int(top.sum()),
    }


def decisions_frame(
    session: Session, viewer: Viewer, *, since: datetime | None = None, limit: int | None = None
) -> pd.DataFrame:
    """Recorded decisions in scope (by the chosen worker), newest first (the ``limit`` newest), with the
    recommended and chosen workers' names and the deciding user's name."""
    cols = list(AssignmentDecision.model_fields)
    stmt = (
        select(*[getattr(AssignmentDecision, c) for c in cols])
        .join(Worker, Worker.id == AssignmentDecision.chosen_worker_id)
        .where(worker_scope_clause(viewer))
        .order_by(col(AssignmentDecision.decided_at).desc(), col(AssignmentDecision.id).desc())
        .limit(limit)
    )
    if since is not None:
        stmt = stmt.where(AssignmentDecision.decided_at >= since)
    frame = pd.DataFrame(session.exec(stmt).all(), columns=cols)
    ids = set(frame["chosen_worker_id"].dropna()) | set(frame["recommended_worker_id"].dropna())
    names = (
        dict(
            session.exec(
                select(Worker.id, Worker.name).where(col(Worker.id).in_([int(i) for i in ids]))
            ).all()
        )
        if ids
        else {}
    )
    users = [int(u) for u in frame["decided_by"].dropna().unique()]
    user_names = (
        dict(session.exec(select(User.id, User.display_name).where(col(User.id).in_(users))).all())
        if users
        else {}
    )
    frame["chosen_name"] = frame["chosen_worker_id"].map(names)
    frame["recommended_name"] = frame["recommended_worker_id"].map(names)
    frame["decided_by_name"] = frame["decided_by"].map(user_names)
    frame["event_no"] = _event_numbers(session, frame["task_id"])
    return frame


def decision_count(session: Session, viewer: Viewer, *, since: datetime | None = None) -> int:
    """How many decisions ``decisions_frame`` would list without a limit."""
    stmt = (
        select(func.count())
        .select_from(AssignmentDecision)
        .join(Worker, col(Worker.id) == AssignmentDecision.chosen_worker_id)
        .where(worker_scope_clause(viewer))
    )
    if since is not None:
        stmt = stmt.where(AssignmentDecision.decided_at >= since)
    return int(session.exec(stmt).one())


def _event_numbers(session: Session, task_ids: pd.Series) -> pd.Series:
    """The event number people quote (DP2020…) of each ``event:N`` task, None for other tasks."""
    if task_ids.empty:
        return pd.Series(index=task_ids.index, dtype=object)
    kind_id = task_ids.astype(str).str.partition(":")
    ids = [int(i) for i in kind_id.loc[kind_id[0] == "event", 2].unique() if str(i).isdigit()]
    numbers = (
        dict(session.exec(select(Event.id, Event.event_no).where(col(Event.id).in_(ids))).all())
        if ids
        else {}
    )
    return pd.Series(
        [
            numbers.get(int(i)) if k == "event" and str(i).isdigit() else None
            for k, i in zip(kind_id[0], kind_id[2], strict=True)
        ],
        index=task_ids.index,
        dtype=object,
    )


def override_report(session: Session, viewer: Viewer, *, since: datetime | None = None) -> pd.DataFrame:
    """How often managers override the recommendation, per item: decisions, overrides, rate."""
    stmt = (
        select(
            AssignmentDecision.item_code,
            AssignmentDecision.category_code,
            func.count(),
            func.sum(case((col(AssignmentDecision.overridden), 1), else_=0)),
        )
        .join(Worker, col(Worker.id) == AssignmentDecision.chosen_worker_id)
        .where(worker_scope_clause(viewer), AssignmentDecision.source == DecisionSource.SINGLE)
        .group_by(col(AssignmentDecision.item_code), col(AssignmentDecision.category_code))
    )
    if since is not None:
        stmt = stmt.where(AssignmentDecision.decided_at >= since)
    frame = pd.DataFrame(
        session.exec(stmt).all(), columns=["item_code", "category_code", "decisions", "overrides"]
    )
    frame["overrides"] = frame["overrides"].fillna(0).astype(int)
    frame["override_rate"] = frame["overrides"] / frame["decisions"].where(frame["decisions"] > 0)
    return frame.sort_values(["override_rate", "decisions"], ascending=False).reset_index(drop=True)


def skill_gaps(
    session: Session, viewer: Viewer, *, now: datetime | None = None, ctx: Context | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, Context]:
    """``(gaps, pairs, ctx)``: per item needing a qualification, its open tasks and how many have nobody
    qualified in their community (gaps.item_gaps), from every open task in scope whose item needs one (the
    pairs are of those tasks only: a task needing no qualification cannot lack it). Without ``ctx`` the
    context is read without performance and workload: the gaps need only who is qualified."""
    ctx = ctx or load_context(session, viewer, now=now, ranking=False)
    tasks = field_api.open_tasks(session, viewer, now=ctx.now)
    pairs = qualification_pairs(tasks, ctx.workers, ctx.quals, now=ctx.now)
    return item_gaps(pairs), pairs, ctx
