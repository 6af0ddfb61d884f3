"""Evaluation's command-line extension: field data, scoring and assignment subcommands."""

from __future__ import annotations

import argparse

from evaluation.assignment import cli as assignment_cli
from evaluation.field import cli as field_cli
from evaluation.scoring import cli as scoring_cli


def register(subparsers: argparse._SubParsersAction) -> None:
    for area in (field_cli, scoring_cli, assignment_cli):
        area.register(subparsers)
