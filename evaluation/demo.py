"""Evaluation's demo data: field data first (assignment reads its events), then dispatch decisions."""

from __future__ import annotations

from core.demo import DemoContext
from evaluation.assignment.demo import seed as seed_assignment
from evaluation.field.demo import seed as seed_field


def seed(ctx: DemoContext) -> None:
    seed_field(ctx)
    ctx.log("seeding evaluation.assignment.demo …")
    seed_assignment(ctx)
