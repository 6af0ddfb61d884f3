"""``gridwise courses list`` and ``gridwise courses jobs-run --now …`` on the seeded demo database."""

from __future__ import annotations

import pytest

from core.cli import main
from core.settings import get_settings


@pytest.fixture
def demo_env(demo_db_url, monkeypatch):
    monkeypatch.setenv("GRIDWISE_DATABASE_URL", demo_db_url)
    get_settings.cache_clear()
    yield demo_db_url
    get_settings.cache_clear()


def test_courses_list_prints_the_catalog(demo_env, capsys):
    """Test that the catalog lists the six shipped courses with their question counts."""
    assert main(["courses", "list"]) == 0
    out = capsys.readouterr().out
    assert "fire_safety" in out and "消防安全隐患排查" in out and len(out.strip().splitlines()) == 7


def test_jobs_run_at_a_given_time_is_idempotent(demo_env, capsys):
    """Test that running the jobs twice at the same moment does the work once."""
    assert main(["courses", "jobs-run", "--now", "2030-01-01T08:00"]) == 0
    first = dict(line.split(": ") for line in capsys.readouterr().out.strip().splitlines())
    assert int(first["close-sessions"]) > 0  # the demo's upcoming sessions have ended by 2030
    assert main(["courses", "jobs-run", "--now", "2030-01-01T08:00"]) == 0
    second = dict(line.split(": ") for line in capsys.readouterr().out.strip().splitlines())
    assert all(v == "0" for v in second.values()), second
