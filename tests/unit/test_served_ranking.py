"""The ranking pages' reads sized by their answer (issue #21, a city of 20,000 workers): the ranking columns of
every worker in rank order without decoding a card, whole cards only for the workers asked for and in scope,
the trend summed in SQL — each equal to what the whole served view gives."""

from __future__ import annotations

import pytest

from core.models import Role
from core.scope import ScopeError
from evaluation.scoring.served import served_trend, served_view
from evaluation.scoring.served_ranking import (
    RANKING_COLS,
    served_card_of,
    served_cards_of,
    served_ranking,
    served_trend_summary,
    served_worker_totals,
)
from tests.unit.test_scoring_db import FIGURES, org  # noqa: F401 - the fixture: six workers, June 2020


def _viewers(org):  # noqa: ANN001, F811
    from tests.factories import viewer

    return viewer(Role.MANAGER), viewer(Role.MANAGER, org.comm_b)


def test_ranking_columns_equal_the_cards_in_rank_order(session, org):  # noqa: F811
    """Test the ranking holds every card in scope, in the cards' rank order, with their totals and grades."""
    for who in _viewers(org):
        full = served_view(session, who, "2020-06").cards
        ranking = served_ranking(session, who, "2020-06").cards
        assert list(ranking.columns) == RANKING_COLS
        expected = full.sort_values(["rank", "employee_no"], na_position="last")
        assert ranking["worker_id"].tolist() == expected["worker_id"].tolist()
        for c in ("employee_no", "name", "party_member", "community_zh", "subdistrict_en", "grade", "scored"):
            assert ranking[c].tolist() == expected[c].tolist(), c
        assert ranking["total"].tolist() == pytest.approx(expected["total"].tolist(), nan_ok=True)


def test_cards_of_reads_only_the_workers_asked_for_in_scope(session, org):  # noqa: F811
    """Test whole cards come back for the asked workers the viewer may see, and none from outside the scope."""
    district, community = _viewers(org)
    full = served_view(session, district, "2020-06")
    inside = served_ranking(session, community, "2020-06").cards["worker_id"].tolist()
    outside = [w for w in full.cards["worker_id"] if w not in inside]
    assert inside and outside
    got = served_cards_of(session, community, "2020-06", [inside[0], outside[0]], components=True)
    assert got.cards["worker_id"].tolist() == [inside[0]]
    assert set(got.components["worker_id"]) == {inside[0]}
    card, comps = served_card_of(session, community, "2020-06", inside[0])
    mine = full.components[full.components["worker_id"] == inside[0]]
    assert card["total"] == pytest.approx(
        full.cards.set_index("worker_id").at[inside[0], "total"], nan_ok=True
    )
    assert comps["component"].tolist() == mine["component"].tolist()
    with pytest.raises(ScopeError):
        served_card_of(session, community, "2020-06", outside[0])


def test_trend_summary_sums_what_the_trend_reads(session, org):  # noqa: F811
    """Test the SQL sums per month and subdistrict give the means of the scored workers' monthly totals."""
    for who in _viewers(org):
        trend = served_trend(session, who, first="2020-05", last="2020-06")
        scored = trend[trend["scored"]]
        means = scored.groupby(["period", "subdistrict_id"])["total"].agg(["sum", "count"])
        summary = served_trend_summary(session, who, first="2020-05", last="2020-06")
        got = summary.set_index(["period", "subdistrict_id"])
        assert got["n"].to_dict() == means["count"].to_dict()
        assert got["total_sum"].tolist() == pytest.approx(means["sum"].tolist())
        assert set(summary["subdistrict_zh"]) == set(scored["subdistrict_zh"])
        one = int(scored["community_id"].iloc[0])
        by_comm = served_trend_summary(session, who, first="2020-05", last="2020-06", community_id=one)
        assert by_comm["n"].sum() == (scored["community_id"] == one).sum()
        worker = int(scored["worker_id"].iloc[0])
        totals = served_worker_totals(session, who, worker, first="2020-05", last="2020-06")
        mine = scored[scored["worker_id"] == worker]
        assert totals["period"].tolist() == mine["period"].tolist()
        assert totals["total"].tolist() == pytest.approx(mine["total"].tolist())
