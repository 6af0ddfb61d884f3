"""Turning the other areas' contracts into ``ScoringInputs``: pure transforms first, then the DB loader.

Training figures (courses.api.training_figures) become three metrics in the same long shape as the
field metrics, so the scorer treats every component the same way:
- training_attendance_rate = Σ attendance points ÷ Σ attendance points possible (%)
- training_quiz_avg        = Σ (quiz average × attempts) ÷ Σ attempts (points out of 100)
- training_certificates    = Σ valid certificates at each month end ÷ months (mean held)
- training_plan_completion = Σ study hours credited ÷ Σ hours the training plans required in the months (%)
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from core.models import OrgLevel, OrgUnit, Role, Worker, WorkerStatus
from core.scope import Viewer, worker_scope_clause
from courses import api as courses_api
from evaluation.field import api as field_api
from evaluation.scoring.compute import ADJ_COLS, VALUE_COLS, ScoringInputs, empty_values
from evaluation.scoring.models_scoring import ScoreAdjustment
from evaluation.scoring.periods import parse_period

TRAINING_REGISTRY = pd.DataFrame(
    [
        {
            "code": "training_attendance_rate",
            "name_zh": "云课程出勤率",
            "name_en": "Course attendance rate",
            "unit": "%",
            "direction": "higher",
            "kind": "ratio",
        },
        {
            "code": "training_quiz_avg",
            "name_zh": "测验平均分",
            "name_en": "Quiz average",
            "unit": "分",
            "direction": "higher",
            "kind": "mean",
        },
        {
            "code": "training_certificates",
            "name_zh": "有效证书数",
            "name_en": "Certificates held",
            "unit": "个",
            "direction": "higher",
            "kind": "mean",
        },
        {
            "code": "training_plan_completion",
            "name_zh": "培训计划完成率",
            "name_en": "Training plan completion",
            "unit": "%",
            "direction": "higher",
            "kind": "ratio",
        },
    ]
)
TRAINING_COLS = [
    "worker_id",
    "period",
    "sessions_due",
    "sessions_attended",
    "attendance_points",
    "attendance_points_max",
    "quiz_attempts",
    "quiz_score_avg",
    "certificates_valid",
]


def training_values(figures: pd.DataFrame) -> pd.DataFrame:
    """courses.api.training_figures rows → worker_id, period, metric, numerator, denominator."""
    if figures is None or figures.empty:
        return empty_values()
    f = figures
    attempts = f["quiz_attempts"].fillna(0).astype(float)
    quiz_num = f["quiz_score_avg"].astype(float) * attempts
    parts = [
        pd.DataFrame(
            {
                "worker_id": f["worker_id"],
                "period": f["period"],
                "metric": "training_attendance_rate",
                "numerator": f["attendance_points"].astype(float),
                "denominator": f["attendance_points_max"].astype(float),
            }
        ),
        pd.DataFrame(
            {
                "worker_id": f["worker_id"],
                "period": f["period"],
                "metric": "training_quiz_avg",
                "numerator": quiz_num.where(attempts > 0),
                "denominator": attempts.where(attempts > 0),
            }
        ),
        pd.DataFrame(
            {
                "worker_id": f["worker_id"],
                "period": f["period"],
                "metric": "training_certificates",
                "numerator": f["certificates_valid"].astype(float),
                "denominator": 1.0,
            }
        ),
    ]
    out = pd.concat(parts, ignore_index=True)
    # A month with nothing due (no sessions, no quiz) is "no data", not a zero.
    out = out[out["denominator"].fillna(0) > 0]
    return out[VALUE_COLS].reset_index(drop=True)


def scoring_registry(field_registry: pd.DataFrame) -> pd.DataFrame:
    """The field metric registry plus the training figures, one row per metric code."""
    cols = ["code", "name_zh", "name_en", "unit", "direction", "kind"]
    reg = field_registry[[c for c in cols if c in field_registry.columns]]
    return pd.concat([reg, TRAINING_REGISTRY[cols]], ignore_index=True).drop_duplicates("code")


# ---------------------------------------------------------------------------------------------
# database loader


def load_inputs(session, viewer, *, start_period: str, end_period: str, now=None) -> ScoringInputs:  # noqa: ANN001
    """Everything the scorer needs for months start_period..end_period, for the whole district.

    Scores do not depend on who looks: percentiles, the 优秀 share cap and ranks are computed over
    the district, and pages then show the viewer's scope (``restrict_to_scope``). ``viewer`` is only
    checked to be a manager/admin or the worker reading their own card.
    """
    system = Viewer(
        user_id=viewer.user_id,
        role=Role.SYSADMIN,
        scope_level=OrgLevel.DISTRICT,
        scope_unit_id=None,
        display_name="scoring",
    )
    start = parse_period(start_period).start
    end = parse_period(end_period).end
    workers = workers_for_scoring(session)
    values, registry = _field_values(session, system, start_period, end_period)
    training = _training(session, system, start, end)
    adjustments = adjustments_frame(session, start_period=start_period, end_period=end_period)
    all_values = (
        pd.concat([v for v in (values, training) if len(v)], ignore_index=True)
        if len(values) or len(training)
        else empty_values()
    )
    return ScoringInputs(
        workers=workers, values=all_values, registry=scoring_registry(registry), adjustments=adjustments
    )


def workers_for_scoring(session) -> pd.DataFrame:  # noqa: ANN001
    """Every worker not marked as left, with grid households and org names (one SQL query)."""
    grid, comm, sub = aliased(OrgUnit), aliased(OrgUnit), aliased(OrgUnit)
    stmt = (
        sa_select(
            col(Worker.id),
            col(Worker.employee_no),
            col(Worker.name),
            col(Worker.party_member),
            col(Worker.hire_date),
            col(Worker.grid_id),
            col(Worker.community_id),
            col(Worker.subdistrict_id),
            col(grid.households),
            col(grid.name_zh),
            col(comm.name_zh),
            col(comm.name_en),
            col(sub.name_zh),
            col(sub.name_en),
        )
        .join(grid, col(grid.id) == Worker.grid_id)
        .join(comm, col(comm.id) == Worker.community_id)
        .join(sub, col(sub.id) == Worker.subdistrict_id)
        .where(col(Worker.status) != WorkerStatus.LEFT.value)
        .order_by(col(Worker.id))
    )
    # Plain tuples: building a frame from SQLAlchemy Row objects takes a slow per-attribute path.
    df = pd.DataFrame.from_records(
        [tuple(r) for r in session.execute(stmt).all()],
        columns=[
            "worker_id",
            "employee_no",
            "name",
            "party_member",
            "hire_date",
            "grid_id",
            "community_id",
            "subdistrict_id",
            "households",
            "grid_zh",
            "community_zh",
            "community_en",
            "subdistrict_zh",
            "subdistrict_en",
        ],
    )
    df["party_member"] = df["party_member"].astype(bool)
    return df


def _field_values(session, viewer, start_period: str, end_period: str) -> tuple[pd.DataFrame, pd.DataFrame]:  # noqa: ANN001
    reg = field_api.metric_registry(session)
    values = field_api.metric_values(session, viewer, start_period=start_period, end_period=end_period)
    values = values[VALUE_COLS] if len(values) else empty_values()
    return values, reg


def _training(session, viewer, start: date, end: date) -> pd.DataFrame:  # noqa: ANN001
    values = training_values(courses_api.training_figures(session, viewer, start=start, end=end))
    plan = plan_values(courses_api.plan_hours(session, viewer, start=start, end=end))
    return pd.concat([v for v in (values, plan) if len(v)], ignore_index=True) if len(plan) else values


def plan_values(hours: pd.DataFrame) -> pd.DataFrame:
    """courses.api.plan_hours rows → training_plan_completion (credited ÷ required hours, months with a duty)."""
    if hours is None or hours.empty:
        return empty_values()
    out = pd.DataFrame(
        {
            "worker_id": hours["worker_id"],
            "period": hours["period"],
            "metric": "training_plan_completion",
            "numerator": hours["credited_hours"].astype(float),
            "denominator": hours["required_hours"].astype(float),
        }
    )
    return out[out["denominator"] > 0][VALUE_COLS].reset_index(drop=True)


def adjustments_frame(session, *, start_period: str, end_period: str) -> pd.DataFrame:  # noqa: ANN001
    rows = session.exec(
        select(
            ScoreAdjustment.worker_id, ScoreAdjustment.period, ScoreAdjustment.code, ScoreAdjustment.cases
        ).where(ScoreAdjustment.period >= start_period, ScoreAdjustment.period <= end_period)
    ).all()
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=ADJ_COLS)


def restrict_to_scope(session, viewer, frame: pd.DataFrame) -> pd.DataFrame:  # noqa: ANN001
    """Keep the rows of workers the viewer may see (the same rule as core.scope, in SQL)."""
    ids = set(session.exec(select(Worker.id).where(worker_scope_clause(viewer))).all())
    return frame[frame["worker_id"].isin(ids)]
