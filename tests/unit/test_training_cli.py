"""``gridwise training hours`` on the seeded demo database."""

from __future__ import annotations

import json

import pytest

from core.cli import main
from core.settings import get_settings


@pytest.fixture
def demo_env(demo_db_url, monkeypatch):
    monkeypatch.setenv("GRIDWISE_DATABASE_URL", demo_db_url)
    get_settings.cache_clear()
    yield demo_db_url
    get_settings.cache_clear()


def test_hours_lists_required_and_credited_per_worker(demo_env, capsys):
    """Test that the 2020 hours list has one row per demo worker, with the proposed 40 hours a year at least,
    the first 云课程's two hours among the credits, and some workers behind plan."""
    assert main(["training", "hours", "--year", "2020", "--as-of", "2020-09-30", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 304
    assert min(r["required_year"] for r in rows) >= 40
    assert sum(r["credited"] for r in rows) > 300 * 2
    assert 0 < sum(r["behind"] for r in rows) < 304


def test_hours_for_one_community(demo_env, capsys):
    """Test that --community limits the list to that community's workers, and an unknown name is an error."""
    assert (
        main(["training", "hours", "--year", "2020", "--community", "下沙社区", "--as-of", "2020-09-30"]) == 0
    )
    out = capsys.readouterr().out
    lines = [x for x in out.strip().splitlines()[1:] if x.strip()]
    assert lines and all("下沙社区" in x for x in lines)
    assert main(["training", "hours", "--year", "2020", "--community", "没有这个社区"]) == 2
