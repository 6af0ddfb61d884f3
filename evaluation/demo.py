"""Evaluation's demo data: field data first (assignment reads its events), early warnings, dispatch
decisions, then the data-quality job's findings as of the demo's today (so the 数据质量 page opens on results)."""

from __future__ import annotations

from core.demo import DemoContext
from core.scope import SYSTEM
from evaluation.assignment.demo import seed as seed_assignment
from evaluation.field.demo import AS_OF
from evaluation.field.demo import seed as seed_field
from evaluation.field.findings import run_checks
from evaluation.warning.demo import seed as seed_warning


def seed(ctx: DemoContext) -> None:
    seed_field(ctx)
    seed_warning(ctx)  # the early-warning job replayed over the field history
    ctx.log("seeding evaluation.assignment.demo …")
    seed_assignment(ctx)
    found = run_checks(ctx.session, SYSTEM, now=AS_OF)["found"]  # the tasks were raised on 1 June
    ctx.log(f"data quality: {found}")
