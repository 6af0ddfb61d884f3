"""The demo district reproduces the article through the comparison function: in the first half of
2020 party-member workers' mean collection, retention and accuracy rates are 1–2 points above all workers'."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from core.db import make_engine
from core.models import OrgLevel, Role
from core.scope import Viewer
from evaluation.scoring.service import compare_party, scorecards

DISTRICT = Viewer(user_id=0, role=Role.MANAGER, scope_level=OrgLevel.DISTRICT, scope_unit_id=None)


@pytest.fixture
def demo_session(demo_db_url):
    eng = make_engine(demo_db_url)
    with Session(eng) as s:
        yield s
    eng.dispose()


@pytest.mark.parametrize("period", ["2020-H1", "2020-06"])
def test_party_members_are_one_to_two_points_better(demo_session, period):
    """Test the article's gap on 采集率 / 未注销率 / 准确率 over H1 2020 (and in June alone)."""
    out = compare_party(demo_session, DISTRICT, period).set_index("metric")
    assert list(out.index) == ["collection_rate", "retention_rate", "accuracy_rate"]
    assert (out["n_party"] == 54).all()
    for metric, row in out.iterrows():
        assert 1.0 <= row["gap_pp"] <= 2.0, (metric, row["gap_pp"])


def test_demo_month_scores_every_worker(demo_session):
    """Test that every demo worker gets a June card in range with a grade, and 优秀 stays within 20%."""
    view = scorecards(demo_session, DISTRICT, "2020-06")
    cards = view.cards
    assert len(cards) >= 250 and cards["scored"].all()
    assert cards["total"].between(0, 100).all()
    assert (cards["grade"] == "excellent").mean() <= 0.2
    assert set(cards["grade"]) <= {"excellent", "good", "pass", "fail"}
