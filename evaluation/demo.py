"""Evaluation's demo data: field data first (assignment reads its events), early warnings, then dispatch
decisions."""

from __future__ import annotations

from core.demo import DemoContext
from evaluation.assignment.demo import seed as seed_assignment
from evaluation.field.demo import seed as seed_field
from evaluation.warning.demo import seed as seed_warning


def seed(ctx: DemoContext) -> None:
    seed_field(ctx)
    seed_warning(ctx)  # the early-warning job replayed over the field history
    ctx.log("seeding evaluation.assignment.demo …")
    seed_assignment(ctx)
