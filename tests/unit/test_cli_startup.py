"""``gridwise --help`` loads only what building the parser needs (issue #21: it took 2–5 s because every
command imported the database layer, pandas, scipy and streamlit). A correctness test on the import set,
run in a fresh interpreter; the time itself is bench/bench_cli.py's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Heavy packages a parser must not load: what the commands use when they run.
HEAVY = ("sqlalchemy", "sqlmodel", "pandas", "numpy", "scipy", "streamlit", "altair", "pydantic")

_PROBE = """
import json, sys
from core.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after(*argv: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


@pytest.mark.parametrize("argv", [["--help"], ["scores", "--help"], ["import", "--help"]])
def test_help_imports_no_heavy_package(argv):
    """Test that printing a command's help loads none of the database, dataframe, solver or UI packages."""
    loaded = _modules_after(*argv)
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert not heavy, f"`gridwise {' '.join(argv)}` imported {heavy[:12]}"


def test_job_names_offered_are_the_jobs():
    """Test that `courses jobs-run --job` offers exactly the courses jobs (the list is kept apart for speed)."""
    from courses.cli import JOB_NAMES
    from courses.jobs import JOB_FUNCTIONS

    assert list(JOB_NAMES) == list(JOB_FUNCTIONS)


def test_preset_choices_are_the_shipped_presets():
    """Test that `assign batch --preset` offers exactly the presets the ranking loads."""
    from evaluation.assignment.cli import _preset_codes
    from evaluation.assignment.rank import load_presets

    assert _preset_codes() == list(load_presets())
