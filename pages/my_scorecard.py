"""Worker: my own scorecard (phone first) — total, grade, an anonymised position in my community,
where my points come from, my trend and what would raise my score."""

import streamlit as st

from core.i18n import col
from evaluation.scoring import charts
from evaluation.scoring.formula_text import localise_formula
from evaluation.scoring.reports import grade_names
from ui.chart_specs import draw_chart
from ui.guard import require
from ui.scorecards.improve import improvement_section
from ui.scoring_cache import (
    cached_trend,
    cached_worker_card,
    card_notes_and_contributions,
    figures_caption,
    period_options,
)
from ui.state import lang, tr

viewer = require(__file__)
L = lang()


def top_share_text(share: float) -> str:
    """An anonymised position: the smallest 10% step that includes the worker (top 10%, 20%, …)."""
    step = min(100, max(10, int(-(-share * 100 // 10)) * 10))
    return tr("score.my.top", pct=step)


st.title(tr("score.my.title"))
months = period_options()
period = st.selectbox(tr("score.period"), months, key="my_score_period")
view = cached_worker_card(viewer, period)  # one served row by key
figures_caption(view)
# One worker's card and dozen components: records, not frames (plain Python is cheaper for a handful of rows).
mine = [] if viewer.worker_id is None else view.cards.to_dict("records")
mine = [c for c in mine if c["worker_id"] == viewer.worker_id]
if not mine or not bool(mine[0]["scored"]):
    st.info(tr("score.my.empty", period=period))
    st.stop()
card = mine[0]
comps = [c for c in view.components.to_dict("records") if c["worker_id"] == viewer.worker_id]
scheme = view.result.scheme
GN = grade_names(scheme, L)
name_col = col(L, "name")

GRADE_COLOR = {"excellent": "green", "good": "blue", "pass": "orange", "fail": "red"}
st.metric(tr("score.col.total"), f"{card['total']:.1f}")
st.badge(
    GN.get(card["grade"], ""),
    color=GRADE_COLOR.get(card["grade"], "gray"),
    icon=":material/workspace_premium:",
)
st.success(top_share_text(float(card["community_top_share"])), icon=":material/emoji_events:")
card_notes_and_contributions(card, comps, name_col, alert="caption")

st.subheader(tr("score.my.how"))
st.caption(tr("score.my.how_plain"))
for c in comps:
    with st.expander(f"{c[name_col]} · {c['points']:.1f} / {c['eff_weight']:.1f}"):
        st.caption(localise_formula(c["formula"], L))

trend = cached_trend(viewer, months[-1], months[0], names=False).to_dict("records") if months else []
if len({r["period"] for r in trend}) > 1:
    titles = {
        "title": tr("score.chart.worker_trend"),
        "x_title": tr("score.period"),
        "y_title": tr("score.col.total"),
    }
    mine_by_month = [{"period": r["period"], "mine": r["total"]} for r in trend if bool(r["scored"])]
    draw_chart(
        charts.worker_trend_rows(mine_by_month, mine_label=tr("score.my.me"), community_label=""),
        ("worker_trend", *titles.values()),
        lambda: charts.worker_trend_spec(**titles),
    )

improvement_section(viewer, comps)
