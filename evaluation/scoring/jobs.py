"""Scoring's scheduled jobs: freeze each closed month's scorecards and write its bulletin (通报); keep the open
periods' served scorecards up to date (evaluation.scoring.served)."""

from __future__ import annotations

from core.scheduler import JobSpec

JOBS: list[JobSpec] = [
    JobSpec(
        id="scoring.freeze_closed_months",
        func="evaluation.scoring.snapshots:freeze_closed_months",
        # 02:30 every day: a month is frozen on the first run after it closes; later runs find it done.
        trigger={"trigger": "cron", "hour": 2, "minute": 30},
        description="Freeze last month's scorecards and write the monthly bulletin",
        run_at_start=True,  # a freeze cut short by a restart finishes the same day
    ),
    JobSpec(
        id="scoring.serve_current",
        func="evaluation.scoring.served:serve_current",
        # the open periods' served scorecards (this month, its quarter/half/year, last month until frozen)
        trigger={"trigger": "interval", "minutes": 15},
        description="Bring the current month's served scorecards up to date",
    ),
]
