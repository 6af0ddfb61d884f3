"""Evaluation's demo data: field data first (scores and assignment read it), then scoring and assignment."""

from __future__ import annotations

import importlib

from core.demo import DemoContext


def seed(ctx: DemoContext) -> None:
    from evaluation.field.demo import seed as seed_field

    seed_field(ctx)
    for name in ("evaluation.scoring.demo", "evaluation.assignment.demo"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        ctx.log(f"seeding {name} …")
        module.seed(ctx)
