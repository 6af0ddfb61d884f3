"""AppTest of the scorecard pages against the seeded demo district."""

from __future__ import annotations

import pytest

from core.i18n import t
from tests.app.util import show_tab, texts

pytestmark = pytest.mark.xdist_group("apptest")


def _select(at, key, value):
    at.selectbox(key=key).set_value(value).run()
    assert not at.exception, at.exception
    return at


def test_manager_ranking_party_comparison_and_export(open_page, viewer_of):
    """Test the manager page: ranking of the district's workers, the party gap table and an Excel export."""
    at = open_page("pages/scorecards.py", viewer_of("manager"), lang="en")
    assert not at.exception, at.exception
    _select(at, "score_period", "2020-06")
    body = texts(at)
    assert "Scorecards and comparisons" in body and "Workers scored" in body
    ranking = at.dataframe[0].value
    assert len(ranking) >= 250 and list(ranking["Rank"][:3]) == sorted(ranking["Rank"][:3])
    assert any(b.label == "Export Excel" for b in at.get("download_button"))
    tabs = ("ranking", "distribution", "party", "communities", "snapshots")
    assert [tab.label for tab in at.tabs] == [t(f"score.tab.{k}", "en") for k in tabs]
    assert not at.get("vega_lite_chart")  # only the open tab runs (ui/lazy_tabs): the ranking draws no chart
    charts = {  # each tab, opened, draws its own charts
        "distribution": [t("score.chart.distribution", "en")],
        "party": [t("score.chart.party", "en", period="2020-06")],
        "communities": [t("score.chart.communities", "en"), t("score.chart.grade_mix", "en")],
    }
    for tab, titles in charts.items():
        show_tab(at, "score_tab", t(f"score.tab.{tab}", "en"))
        assert not at.exception, at.exception
        specs = [c.proto.spec for c in at.get("vega_lite_chart")]
        for title in titles:
            assert any(title in spec for spec in specs), (tab, title)
        if tab == "party":
            gap = next(d.value for d in at.dataframe if "Gap (pp)" in d.value.columns)
            assert gap["Gap (pp)"].between(1, 2).all()
    show_tab(at, "score_tab", t("score.tab.ranking", "en"))
    # filters: party members only
    at.radio(key="score_f_party").set_value("party").run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 54


def test_community_manager_sees_only_their_community(open_page, viewer_of):
    """Test that the Xiasha manager's ranking holds Xiasha workers only."""
    at = open_page("pages/scorecards.py", viewer_of("xiasha"), lang="zh")
    assert not at.exception, at.exception
    ranking = at.dataframe[0].value
    assert set(ranking[t("score.col.community", "zh")]) == {"下沙社区"}


def test_worker_scorecard_explains_every_component(open_page, viewer_of):
    """Test one worker's card: total, grade, rank, the formula behind each component, improvement advice."""
    at = open_page(None, viewer_of("manager"), lang="en")
    at.session_state["scorecard_worker"] = 1
    at.session_state["scorecard_period"] = "2020-06"
    at.switch_page("pages/scorecard.py").run()
    assert not at.exception, at.exception
    labels = {m.label for m in at.metric}
    assert {"Total", "Grade", "Rank", "Community rank"} <= labels
    breakdown = next(d.value for d in at.dataframe if "Formula" in d.value.columns)
    assert len(breakdown) == 12
    present = breakdown[breakdown["Formula"].str.contains("=")]
    assert present["Formula"].str.contains("÷").any()
    assert "What would raise the score most" in texts(at)


def test_worker_sees_own_card_with_anonymised_position(open_page, viewer_of):
    """Test the worker page: own total and 'top N% of your community', no other worker's name."""
    at = open_page("pages/my_scorecard.py", viewer_of("dp0001"), lang="zh")
    assert not at.exception, at.exception
    body = texts(at)
    assert "你在本社区排名前" in body
    assert not at.dataframe  # no tables of other workers on the phone page


def test_schemes_page_saves_a_new_version(open_page, viewer_of):
    """Test that an admin's JSON edit becomes version 2 and a bad weight sum is refused."""
    at = open_page("pages/schemes.py", viewer_of("admin"), lang="en")
    assert not at.exception, at.exception
    text = at.text_area(key="scheme_json").value
    at.text_area(key="scheme_json").set_value(text.replace('"bonus_cap": 5.0', '"bonus_cap": 4.0'))
    at.checkbox(key="scheme_use_json").check()
    at.get("form_submit_button")[0].click().run()
    assert not at.exception, at.exception
    assert any("v2" in s.value for s in at.success)
    at.text_area(key="scheme_json").set_value(text.replace('"weight": 12.0', '"weight": 13.0', 1))
    at.checkbox(key="scheme_use_json").check()
    at.get("form_submit_button")[0].click().run()
    assert any("add up to 100" in e.value for e in at.error)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_schemes_table_saves_codes_behind_its_labels(open_page, viewer_of, lang):
    """Test that the component table, which shows methods, cohorts and fairness as words, reads back as the
    same definition (codes, not labels): saving it untouched is refused as unchanged, not as a bad method."""
    at = open_page("pages/schemes.py", viewer_of("admin"), lang=lang)
    assert not at.exception, at.exception
    at.get("form_submit_button")[0].click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [t("score.err.scheme_unchanged", lang, version=1)]


def test_freeze_then_recompute_shows_what_changed(open_page, viewer_of):
    """Test the snapshots tab: freezing June writes revision 1 (and its bulletin); recomputing after a
    deduction writes revision 2 and lists the worker whose total dropped by 5."""
    at = open_page("pages/scorecards.py", viewer_of("manager"), lang="en")
    _select(at, "score_period", "2020-06")
    show_tab(at, "score_tab", t("score.tab.snapshots", "en"))
    at.get("form_submit_button")[0].click().run()
    assert not at.exception, at.exception
    assert any(b.label == "Download bulletin (Excel)" for b in at.get("download_button"))

    at.switch_page("pages/scorecard.py").run()
    _select(at, "scorecard_period_pick", "2020-06")
    worker = at.selectbox(key="scorecard_worker_pick").value
    at.number_input[0].set_value(1)
    at.get("form_submit_button")[0].click().run()  # falsification × 1 (the first kind listed)
    assert not at.exception, at.exception

    at.switch_page("pages/scorecards.py").run()
    _select(at, "score_period", "2020-06")
    show_tab(at, "score_tab", t("score.tab.snapshots", "en"))
    at.checkbox(key="score_freeze_recompute").check()
    at.get("form_submit_button")[0].click().run()
    assert not at.exception, at.exception
    diff = next(d.value for d in at.dataframe if "Change" in d.value.columns)
    assert len(diff) >= 1 and diff["Change"].iloc[0] == pytest.approx(-5)
    assert worker is not None
    at.run()  # the snapshot list now holds both revisions, each with its bulletin and the change list
    assert at.selectbox(key="score_bulletin").options == ["2020-06 r2", "2020-06 r1"]
    assert any(b.label == "Download bulletin (Excel)" for b in at.get("download_button"))
    assert any("Change" in d.value.columns for d in at.dataframe)
