"""The field-data contract other areas code against (docs/CONVENTIONS.md, "Field data").

- ``metric_registry(session)`` — code, name_zh, name_en, unit, direction, kind, aggregation, from_events, …
- ``metric_values(session, viewer, *, start_period, end_period)`` — worker_id, period, metric, numerator,
  denominator (+ source): imported and event-derived figures together. Ratio metrics aggregate as
  Σnumerator ÷ Σdenominator (``aggregate`` does it; zero denominator → NaN, no figure).
- ``open_tasks(session, viewer, *, now=None)`` — task_id ("event:N" | "verification:N" | "patrol:N"), kind,
  item_code, category_code, priority, grid_id, community_id, lat, lon, due_at, assignee_id, title_zh, title_en.
- ``assign_task(session, viewer, *, task_id, worker_id, reason_zh, reason_en, assigned_by,
  override_reason=None, now=None, recommended_worker_id=None)`` — event → DISPATCHED with deadlines; the
  reason is shown to the worker; the audit trail records old → new assignee, recommendation and override.
- ``category_performance(session, *, since, worker_ids=None)`` — worker_id, category_code, handled, ontime, rework,
  satisfied, rated; ``category_totals(session, *, since)`` the same summed per category over every worker.
- ``worker_load(session, *, now=None, worker_ids=None)`` — worker_id, open_tasks, tasks_last_30d.
- ``taxonomy()`` — the shipped 6-category / 43-item list (data/taxonomy.json).
"""

from __future__ import annotations

from typing import Any

from core.taxonomy import load_taxonomy
from evaluation.field.registry import metric_registry
from evaluation.field.summary import aggregate, metric_values
from evaluation.field.tasks import (
    assign_task,
    category_performance,
    category_totals,
    open_tasks,
    worker_load,
)


def taxonomy() -> dict[str, Any]:
    """The shipped taxonomy: {"categories": [{"code", "name_zh", "name_en", "course", "items": [...]}], ...}."""
    return load_taxonomy()


__all__ = [
    "metric_registry",
    "metric_values",
    "aggregate",
    "open_tasks",
    "assign_task",
    "category_performance",
    "category_totals",
    "worker_load",
    "taxonomy",
]
