"""Expected failures of training plans (catalog keys ``training.err.<key>``)."""

from __future__ import annotations

from core.errors import GridwiseError


class TrainingError(GridwiseError):
    prefix = "training.err."
