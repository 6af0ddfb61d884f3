"""What the pages, the CLI and the job call: load → score (pure) → restrict to the viewer's scope.

Scores are computed over the whole district, then filtered: a percentile, the 优秀 share cap and a
rank must not change with who is looking.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, literal
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from core.clock import now
from core.scope import ScopeError, Viewer
from courses.api import courses_for_skill, enroll_workers
from evaluation.field.models import MetricValue
from evaluation.scoring.compare import ARTICLE_METRICS, group_comparison, party_comparison
from evaluation.scoring.compute import Scorecards, ScoringInputs, score_months, score_period
from evaluation.scoring.inputs import load_inputs, restrict_to_scope
from evaluation.scoring.periods import Period, months_between, parse_period
from evaluation.scoring.scheme import Scheme
from evaluation.scoring.store import active_scheme, scheme_by_id

# Which courses train which metric: skill areas of courses.api.courses_for_skill.
SKILLS_FOR_METRIC: dict[str, tuple[str, ...]] = {
    "collection_rate": ("info_collection", "residence_registration"),
    "accuracy_rate": ("info_collection", "house_coding"),
    "retention_rate": ("residence_registration", "info_collection"),
    "patrol_coverage_rate": ("fire",),
    "timely_report_rate": ("fire",),
    "valid_report_rate": ("fire", "health"),
    "ontime_closure_rate": ("dispute",),
    "rework_rate": ("dispute",),
    "satisfaction_rate": ("dispute",),
    "training_quiz_avg": ("info_collection",),
}


@dataclass
class ScoreView:
    """Scorecards as one viewer may see them, with the inputs they came from."""

    result: Scorecards
    cards: pd.DataFrame
    components: pd.DataFrame
    inputs: ScoringInputs
    scheme_id: int


def _scheme(session: Session, scheme_id: int | None) -> tuple[Scheme, int]:
    if scheme_id is None:
        scheme, row = active_scheme(session)
        return scheme, row.id or 0
    return scheme_by_id(session, scheme_id), scheme_id


def district_scorecards(
    session: Session,
    viewer: Viewer,
    period: str,
    *,
    scheme_id: int | None = None,
    inputs: ScoringInputs | None = None,
) -> tuple[Scorecards, ScoringInputs, int]:
    p = parse_period(period)
    scheme, sid = _scheme(session, scheme_id)
    if inputs is None:
        inputs = load_inputs(session, viewer, start_period=p.months[0], end_period=p.months[-1])
    return score_period(inputs, scheme, p), inputs, sid


def scorecards(session: Session, viewer: Viewer, period: str, *, scheme_id: int | None = None) -> ScoreView:
    """The period's cards and components for the workers ``viewer`` may see."""
    result, inputs, sid = district_scorecards(session, viewer, period, scheme_id=scheme_id)
    cards = restrict_to_scope(session, viewer, result.cards)
    comps = restrict_to_scope(session, viewer, result.components)
    return ScoreView(result, cards.reset_index(drop=True), comps.reset_index(drop=True), inputs, sid)


def monthly_trend(
    session: Session, viewer: Viewer, *, first: str, last: str, scheme_id: int | None = None
) -> pd.DataFrame:
    """Monthly cards (period, worker_id, total, grade, community …) in scope, first..last."""
    scheme, _ = _scheme(session, scheme_id)
    inputs = load_inputs(session, viewer, start_period=first, end_period=last)
    cards = score_months(inputs, scheme, months_between(first, last))
    return restrict_to_scope(session, viewer, cards).reset_index(drop=True)


def compare_party(
    session: Session,
    viewer: Viewer,
    period: str,
    metrics: tuple[str, ...] = ARTICLE_METRICS,
    *,
    inputs: ScoringInputs | None = None,
) -> pd.DataFrame:
    """The article's comparison over the viewer's scope: party members vs all, gap in points
    (``inputs`` already loaded for the period are reused)."""
    p = parse_period(period)
    if inputs is None:
        inputs = load_inputs(session, viewer, start_period=p.months[0], end_period=p.months[-1])
    workers = restrict_to_scope(session, viewer, inputs.workers)
    return party_comparison(inputs.values, workers, inputs.registry, months=p.months, metrics=metrics)


def compare_groups(
    session: Session, viewer: Viewer, period: str, by: str, metrics: tuple[str, ...] = ARTICLE_METRICS
) -> pd.DataFrame:
    p = parse_period(period)
    inputs = load_inputs(session, viewer, start_period=p.months[0], end_period=p.months[-1])
    workers = restrict_to_scope(session, viewer, inputs.workers)
    col = {"community": "community_id", "subdistrict": "subdistrict_id"}.get(by, by)
    out = group_comparison(inputs.values, workers, months=p.months, by=col, metrics=metrics)
    names = workers.drop_duplicates(col)
    keep = [c for c in (f"{by}_zh", f"{by}_en") if c in names.columns]
    return out.merge(names[[col, *keep]], on=col, how="left")


def worker_view(view: ScoreView, viewer: Viewer, worker_id: int) -> tuple[pd.Series, pd.DataFrame]:
    """One worker's card and components from a ScoreView (raising ScopeError outside the scope)."""
    card = view.cards[view.cards["worker_id"] == worker_id]
    if card.empty:
        raise ScopeError("scope.err.no_scorecard")
    if viewer.role.value == "worker" and viewer.worker_id != worker_id:
        raise ScopeError("scope.err.own_scorecard")
    comps = view.components[view.components["worker_id"] == worker_id]
    return card.iloc[0], comps.reset_index(drop=True)


def improvement_options(components: pd.DataFrame) -> pd.DataFrame:
    """Components ordered by the points a worker could still gain (full marks − points now), the way the
    points are earned said honestly: ``ranked`` components (a percentile in a cohort: the subdistrict, …) carry
    ``cohort``, ``cohort_rank`` and ``cohort_n`` (from the worked formula), and ``at_best`` marks one whose
    value is already the best there is (100% of a rate): its missing points come from others' ties, not from
    anything the worker could do, so it is not offered as a way to raise the score (see ``tied_at_best``)."""
    return improvement_and_ties(components)[0]


def tied_at_best(components: pd.DataFrame) -> pd.DataFrame:
    """Ranked components where the worker's value is already the best there is and points are still missing."""
    return improvement_and_ties(components)[1]


def improvement_and_ties(components: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``improvement_options`` and ``tied_at_best`` of one card, its components read once (both sections of a
    card show them together)."""
    options, tied = improvement_rows(components.to_dict("records"))
    cols = [*components.columns, *_RANKING_COLS, "gain", "skills"]
    return (
        pd.DataFrame.from_records(options, columns=cols),
        pd.DataFrame.from_records(tied, columns=[c for c in cols if c != "skills"]),
    )


_RANKING_COLS = ("ranked", "cohort_rank", "cohort_n", "cohort", "at_best")
_RANK_IN_COHORT = re.compile(r"rank ([\d.]+)/(\d+) in (\w+)")


def improvement_rows(components: list[dict]) -> tuple[list[dict], list[dict]]:
    """``improvement_and_ties`` of one card's component records (a dozen rows: plain Python, no frames):
    the options, most points to gain first, and the ranked components tied at best."""
    rows = [_with_ranking(dict(c)) for c in components if not bool(c["missing"])]
    gaining = []
    for c in rows:
        gain = float(c["eff_weight"]) - float(c["points"])
        c["gain"] = gain if math.isnan(gain) else max(gain, 0.0)  # NaN stays NaN (no gain)
        if c["gain"] > 0.01:
            gaining.append(c)
    tied = [c for c in gaining if c["at_best"]]
    options = [c for c in gaining if not c["at_best"]]
    for c in options:
        c["skills"] = SKILLS_FOR_METRIC.get(str(c["metric"]), ())
    # sorted() is stable, as pandas' sort of a dozen rows is (an insertion sort below 16 rows)
    return sorted(options, key=lambda c: -c["gain"]), tied


def _with_ranking(c: dict) -> dict:
    ranked = str(c["method"]) == "percentile"
    found = _RANK_IN_COHORT.search(str(c["formula"]))
    c["ranked"] = ranked
    c["cohort_rank"] = float(found[1]) if found else float("nan")
    c["cohort_n"] = float(found[2]) if found else float("nan")
    c["cohort"] = found[3] if found else "subdistrict"
    value = _number(c["value"])
    lower = str(c["direction"]) == "lower"
    at_top = value <= 1e-9 if lower else value >= 100 - 1e-9
    c["at_best"] = ranked and str(c["unit"]) == "%" and at_top
    return c


def _number(x: Any) -> float:  # noqa: ANN401 - a record's value: a number, None or text
    """``pd.to_numeric(x, errors="coerce")`` of one value."""
    try:
        return float(x) if x is not None else float("nan")
    except (TypeError, ValueError):
        return float("nan")


def course_rows_for_components(session: Session, options: list[dict], limit: int = 3) -> list[dict]:
    """For the top ``limit`` option records, the courses that train them (courses.api.courses_for_skill): one
    record per component and course, first seen first."""
    rows, seen = [], set()
    for opt in options[:limit]:  # ≤ 3 small lookups, not a loop over data rows
        for skill in opt["skills"]:
            for course in courses_for_skill(session, skill_area=skill):
                if (opt["component"], course["code"]) not in seen:
                    seen.add((opt["component"], course["code"]))
                    rows.append({"component": opt["component"], **course})
    return rows


def enroll_for_improvement(
    session: Session, viewer: Viewer, *, worker_id: int, course_code: str, component: str
) -> int:
    """Enroll a worker in a course that trains a weak component (courses.api.enroll_workers)."""
    if not viewer.is_manager:
        raise ScopeError("score.err.enroll_managers_only")
    return enroll_workers(
        session,
        viewer,
        course_code=course_code,
        worker_ids=[worker_id],
        reason=f"scorecard: raise {component}",
    )


# A month holding a handful of stray rows (events filed after the data ends) is not a period anyone
# assesses: a month is offered when it holds at least a tenth of the fullest month's figures, or at least
# this many (a month that full is assessed in any district). Counting stops there, so period_choices reads
# index entries sized by its answer, not a district's summary (2.7 M rows with 20,000 workers).
FULL_MONTH_FIGURES = 20_000


def _figures_up_to(session: Session, months: list[str], cap: int) -> list[int]:
    """Each month's figures counted up to ``cap`` (one statement; a capped range of the period index each)."""
    if not months:
        return []
    period = col(MetricValue.period)

    def capped(month: str) -> Any:  # noqa: ANN401 - a scalar subquery
        some = sa_select(literal(1)).where(period == month).limit(cap).subquery()
        return sa_select(func.count()).select_from(some).scalar_subquery()

    return [int(n) for n in session.execute(sa_select(*[capped(m) for m in months])).one()]


def months_with_figures(session: Session, *, below: str | None = None, last: int) -> list[str]:
    """The newest ``last`` distinct months of the field summary (before ``below`` if given), newest first:
    one index seek per month (a loose scan of ix_field_metric_value_period_metric: each step the greatest
    period under the one before), never a read of the months' rows."""
    period = col(MetricValue.period)
    first = sa_select(func.max(period).label("period"), literal(1).label("n"))
    if below is not None:
        first = first.where(period < below)
    months = first.cte("months", recursive=True)
    step = sa_select(
        sa_select(func.max(period)).where(period < months.c.period).scalar_subquery(), months.c.n + 1
    ).where(months.c.period.is_not(None), months.c.n < last)
    months = months.union_all(step)
    rows = session.execute(sa_select(months.c.period).where(months.c.period.is_not(None))).all()
    return [str(r[0]) for r in rows]


def period_choices(session: Session, viewer: Viewer, *, last: int = 12) -> list[str]:
    """Months with field figures, newest first (falls back to the current month): the newest months found by
    index seeks, then each one's figures counted only as far as the rule needs (FULL_MONTH_FIGURES)."""
    candidates = months_with_figures(session, last=last + 3)
    counts = dict(zip(candidates, _figures_up_to(session, candidates, FULL_MONTH_FIGURES), strict=True))
    full = [m for m, n in counts.items() if n >= FULL_MONTH_FIGURES]
    most = max(counts.values(), default=0)  # the fullest month's figures when no month is full

    def offered(month: str) -> bool:
        n = counts[month]
        if n >= FULL_MONTH_FIGURES:
            return True
        if not full:
            return n * 10 >= most  # every count exact
        if n * 10 < FULL_MONTH_FIGURES:
            return False  # a full month holds more than ten times this one
        # a month under the mark beside full ones: is any more than ten times this one? (one at a time: the
        # first full month usually is)
        return not any(_figures_up_to(session, [m], n * 10 + 1)[0] > n * 10 for m in full)

    months = [m for m in candidates if offered(m)][:last]
    if not months:
        n = now()
        months = [f"{n.year}-{n.month:02d}"]
    return months


__all__ = [
    "Period",
    "ScoreView",
    "scorecards",
    "monthly_trend",
    "compare_party",
    "compare_groups",
    "worker_view",
    "improvement_options",
    "tied_at_best",
    "improvement_and_ties",
    "improvement_rows",
    "course_rows_for_components",
    "enroll_for_improvement",
    "period_choices",
    "months_with_figures",
    "district_scorecards",
]
