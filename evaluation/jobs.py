"""Evaluation's scheduled jobs: field data, then scoring and assignment when they exist."""

from __future__ import annotations

import importlib

from core.scheduler import JobSpec


def _collect() -> list[JobSpec]:
    jobs: list[JobSpec] = []
    for name in ("evaluation.field.jobs", "evaluation.scoring.jobs", "evaluation.assignment.jobs"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        jobs.extend(module.JOBS)
    return jobs


JOBS: list[JobSpec] = _collect()
