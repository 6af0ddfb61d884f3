"""The home page for each role."""

from __future__ import annotations

from tests.app.util import texts


def test_manager_home_shows_headcount_and_party_share(open_page, viewer_of):
    """Test that the district manager sees the whole district's headcount and party members."""
    at = open_page(None, viewer_of("manager"))
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["在岗网格员"] == "304"
    assert metrics["党员网格员"] == "54"
    assert metrics["社区"] == "25"


def test_community_manager_sees_only_their_community(open_page, viewer_of):
    """Test that the 下沙 community manager's headcount covers 下沙 alone."""
    at = open_page(None, viewer_of("xiasha"))
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["社区"] == "1"
    assert int(metrics["在岗网格员"]) < 20
    assert "下沙社区" in texts(at)


def test_worker_home_shows_their_grid_in_english(open_page, viewer_of):
    """Test that a worker sees their grid and community, in English when chosen."""
    at = open_page(None, viewer_of("dp0001"), lang="en")
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert "My grid" in labels and "Community" in labels
