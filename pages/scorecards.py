"""Manager: scorecards in scope — ranking with filters, distribution and trend, the article's party
comparison, community comparison and calibration, frozen snapshots and monthly bulletins.

Only the open tab runs (ui/lazy_tabs, issue #21): a view of the ranking neither draws the distribution, trend
and community charts nor reads the party comparison, nor lists the snapshots."""

import streamlit as st

from core.i18n import pick
from evaluation.scoring.reports import grade_names
from ui.audit_reads import record_view
from ui.errors import refusals
from ui.guard import require
from ui.lazy_tabs import lazy_tabs
from ui.scorecards import communities_tab, party_tab, ranking_tab, snapshots_tab, trend_tab
from ui.scoring_cache import cached_party, cached_ranking, figures_caption, period_options
from ui.state import lang, tr

viewer = require(__file__)
L = lang()

# The tabs live in ui/scorecards/ (one module each); this page loads the period's cards and lays them out.
months = period_options()
periods = (
    months
    + sorted({f"{m[:4]}-Q{(int(m[5:]) - 1) // 3 + 1}" for m in months}, reverse=True)
    + sorted({m[:4] for m in months}, reverse=True)
)

st.title(tr("score.scorecards.title"))
top = st.columns([2, 3])
period = top[0].selectbox(tr("score.period"), periods, key="score_period", help=tr("score.period_help"))
with st.spinner(tr("score.computing")):
    with refusals() as refused:
        # The ranking columns of every worker in scope (no card decoded): whole cards are read for the
        # table's page and for an export when clicked (ui/scorecards/ranking_tab.py).
        view = cached_ranking(viewer, period)
    if refused:
        st.stop()
scheme = view.result.scheme
GN = grade_names(scheme, L)
top[1].caption(
    tr(
        "score.scheme_caption",
        name=pick(L, scheme.name_zh, scheme.name_en),
        code=scheme.code,
        version=scheme.version,
    )
)
with top[1]:
    figures_caption(view)

cards = view.cards.copy()
cards["community"] = cards[f"community_{L}"]
cards["subdistrict"] = cards[f"subdistrict_{L}"]
scored = cards[cards["scored"].astype(bool)]
if scored.empty:
    st.info(tr("score.empty", period=period))
    st.stop()
record_view(viewer, "scorecards", filters={"period": period}, rows=len(cards))

m = st.columns(4)
m[0].metric(tr("score.workers_scored"), f"{len(scored)} / {len(cards)}")
m[1].metric(tr("score.mean_total"), f"{scored['total'].mean():.1f}")
m[2].metric(GN.get("excellent", "优秀"), f"{(scored['grade'] == 'excellent').mean():.0%}")
m[3].metric(GN.get("fail", "不合格"), int((scored["grade"] == "fail").sum()))

TABS = ("ranking", "distribution", "party", "communities", "snapshots")
tabs = lazy_tabs("score_tab", {code: tr(f"score.tab.{code}") for code in TABS})
if tabs["ranking"].open:
    with tabs["ranking"]:
        ranking_tab.render(viewer, view, cards, GN, period)
if tabs["distribution"].open:
    with tabs["distribution"]:
        trend_tab.render(viewer, scored, GN, period, months)
if tabs["party"].open:
    with tabs["party"], refusals():
        party_tab.render(cached_party(viewer, period), period)
if tabs["communities"].open:
    with tabs["communities"]:
        communities_tab.render(scored, GN)
if tabs["snapshots"].open:
    with tabs["snapshots"]:
        snapshots_tab.render(viewer, cards, GN, period)
