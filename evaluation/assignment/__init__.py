"""Batch assignment of tasks to grid workers (智能派单): optimal solver, greedy baseline, test data."""

from evaluation.assignment.solver import (
    BatchAssignment,
    UnassignedReason,
    greedy_batch,
    make_random_instance,
    solve_batch,
)

__all__ = ["BatchAssignment", "UnassignedReason", "greedy_batch", "make_random_instance", "solve_batch"]
