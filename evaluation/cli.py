"""Evaluation's command-line extension: field data, then scoring and assignment when they exist."""

from __future__ import annotations

import argparse
import importlib

_AREAS = ("evaluation.field.cli", "evaluation.scoring.cli", "evaluation.assignment.cli")


def register(subparsers: argparse._SubParsersAction) -> None:
    for name in _AREAS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that area has no CLI yet; a broken import inside it still raises
                continue
            raise
        module.register(subparsers)
