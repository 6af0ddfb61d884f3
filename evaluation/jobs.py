"""Evaluation's scheduled jobs: field data, scoring and assignment."""

from __future__ import annotations

from core.scheduler import JobSpec
from evaluation.field.jobs import JOBS as FIELD_JOBS
from evaluation.scoring.jobs import JOBS as SCORING_JOBS

JOBS: list[JobSpec] = [*FIELD_JOBS, *SCORING_JOBS]
