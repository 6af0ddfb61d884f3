"""Evaluation's scheduled jobs: field data, scoring and assignment."""

from __future__ import annotations

from core.scheduler import JobSpec
from evaluation.field.jobs import JOBS as FIELD_JOBS
from evaluation.scoring.jobs import JOBS as SCORING_JOBS
from evaluation.warning.jobs import JOBS as WARNING_JOBS

JOBS: list[JobSpec] = [
    *FIELD_JOBS,
    *SCORING_JOBS,
    *WARNING_JOBS,
    JobSpec(
        "api.webhooks",
        "evaluation.webhooks:run",
        {"trigger": "interval", "minutes": 1},
        "Queue webhooks for API subscribers (assignment decisions, frozen scorecards)",
    ),
]
