"""Manager: one worker's scorecard — total, grade, rank, each component's contribution with its raw
figures and formula, the trend, what would raise the score most, the courses that train it, and
deduction/bonus cases for the month."""

import pandas as pd
import streamlit as st

from core.i18n import col, pick
from core.scope import ScopeError
from evaluation.scoring import charts
from evaluation.scoring.adjustments import record_adjustment
from evaluation.scoring.formula_text import localise_formula
from evaluation.scoring.periods import parse_period
from evaluation.scoring.reports import grade_names
from ui import resources
from ui.audit_reads import record_view
from ui.errors import refusals
from ui.guard import require
from ui.scorecards.improve import improvement_section
from ui.scoring_cache import (
    cached_card_of,
    cached_ranking,
    cached_trend_summary,
    cached_worker_totals,
    card_notes_and_contributions,
    clear_scorecards,
    figures_caption,
    period_options,
)
from ui.state import lang, lang_key, tr

viewer = require(__file__)
L = lang()


months = period_options()

st.title(tr("score.scorecard.title"))
top = st.columns([1, 2])
default_period = st.session_state.get("scorecard_period")
period = top[0].selectbox(
    tr("score.period"),
    months,
    index=months.index(default_period) if default_period in months else 0,
    key="scorecard_period_pick",
)
# The picker reads every worker's ranking columns; the chosen worker's card and components are one row.
view = cached_ranking(viewer, period)
figures_caption(view)
cards = view.cards.sort_values(["community_zh", "employee_no"])
if cards.empty:
    st.info(tr("score.empty", period=period))
    st.stop()
labels = dict(
    zip(
        cards["worker_id"],
        cards["name"] + " · " + cards["employee_no"] + " · " + cards[f"community_{L}"],
        strict=True,
    )
)
ids = list(labels)
wanted = st.session_state.get("scorecard_worker")
worker_id = top[1].selectbox(
    tr("score.worker"),
    ids,
    index=ids.index(wanted) if wanted in ids else 0,
    format_func=labels.get,
    key=lang_key("scorecard_worker_pick"),
)
try:
    card, comps = cached_card_of(viewer, period, int(worker_id))
except ScopeError:
    st.error(tr("score.out_of_scope"))
    st.stop()
record_view(viewer, "scorecard", filters={"period": period}, rows=len(comps), entity_id=int(worker_id))

scheme = view.result.scheme
GN = grade_names(scheme, L)
name_col = col(L, "name")
st.subheader(f"{card['name']} · {card['employee_no']}")
st.caption(
    f"{card[f'subdistrict_{L}']} / {card[f'community_{L}']} / {card['grid_zh']}"
    + (f" · {tr('score.party_member')}" if card["party_member"] else "")
)

if not card["scored"]:
    st.warning(tr("score.no_data_worker", period=period))
    st.stop()
m = st.columns(4)
m[0].metric(tr("score.col.total"), f"{card['total']:.2f}")
m[1].metric(tr("score.col.grade"), GN.get(card["grade"], ""))
if card["grade_capped"]:
    m[1].caption(
        tr("score.low_coverage", minimum=f"{scheme.min_coverage:.0%}")
        if card["low_coverage"]
        else tr("score.grade_capped")
    )
m[2].metric(tr("score.col.rank"), f"{int(card['rank'])} / {int(card['n_scored'])}")
m[3].metric(tr("score.col.community_rank"), f"{int(card['community_rank'])} / {int(card['community_n'])}")
if card["bonus"] or card["deduction"]:
    st.info(
        tr(
            "score.adjusted",
            base=f"{card['base']:.2f}",
            bonus=f"{card['bonus']:+.2f}",
            deduction=f"{card['deduction']:+.2f}",
            note=card["adjust_note"],
        )
    )
card_notes_and_contributions(card, comps, name_col, alert="warning")

st.subheader(tr("score.breakdown"))
table = comps.assign(
    dimension=comps[col(L, "dimension")],
    component=comps[name_col],
    rule=comps["rule"].map(lambda text: localise_formula(text, L)),
    formula=comps["formula"].map(lambda text: localise_formula(text, L)),
)
st.dataframe(
    table[
        [
            "dimension",
            "component",
            "numerator",
            "denominator",
            "value",
            "unit",
            "rule",
            "score",
            "weight",
            "eff_weight",
            "points",
            "formula",
        ]
    ].rename(
        columns={
            "dimension": tr("score.col.dimension"),
            "component": tr("score.col.component_name"),
            "numerator": tr("score.col.numerator"),
            "denominator": tr("score.col.denominator"),
            "value": tr("score.col.value"),
            "unit": tr("score.col.unit"),
            "rule": tr("score.col.rule"),
            "score": tr("score.col.score"),
            "weight": tr("score.col.weight"),
            "eff_weight": tr("score.col.eff_weight"),
            "points": tr("score.col.points"),
            "formula": tr("score.col.formula"),
        }
    ),
    hide_index=True,
    width="stretch",
    column_config={
        tr("score.col.value"): st.column_config.NumberColumn(format="%.2f"),
        tr("score.col.score"): st.column_config.NumberColumn(format="%.3f"),
        tr("score.col.eff_weight"): st.column_config.NumberColumn(format="%.2f"),
        tr("score.col.points"): st.column_config.NumberColumn(format="%.2f"),
        tr("score.col.formula"): st.column_config.TextColumn(width="large"),
    },
    placeholder="",
)
st.caption(
    tr(
        "score.scheme_caption",
        name=pick(L, scheme.name_zh, scheme.name_en),
        code=scheme.code,
        version=scheme.version,
    )
)

# --- trend ---------------------------------------------------------------------------------------
p = parse_period(period)
first, last = min(months[-1], p.months[0]) if months else p.months[0], p.months[-1]
# This worker's totals and their community's mean per month, summed in SQL (not the scope's every card).
mine = cached_worker_totals(viewer, int(worker_id), first, last).set_index("period")["total"]
sums = (
    cached_trend_summary(viewer, first, last, int(card["community_id"]))
    .groupby("period")[["total_sum", "n"]]
    .sum()
)
comm = sums["total_sum"] / sums["n"]
if len(comm) > 1:
    series = pd.DataFrame({"mine": mine, "community": comm}).reset_index(names="period")
    st.altair_chart(
        charts.worker_trend_chart(
            series,
            title=tr("score.chart.worker_trend"),
            x_title=tr("score.period"),
            y_title=tr("score.col.total"),
            mine_label=tr("score.this_worker"),
            community_label=tr("score.community_mean"),
        ),
        width="stretch",
    )

improvement_section(viewer, comps, enroll_worker_id=int(worker_id))

# --- deductions and bonuses ----------------------------------------------------------------------
with st.expander(tr("score.adjustments")):
    if p.kind != "month":
        st.caption(tr("score.adjust_month_only"))
    else:
        with st.form("score_adjust"):
            rules = {a.code: a for a in scheme.adjustments}
            code = st.selectbox(
                tr("score.adjust_kind"),
                list(rules),
                format_func=lambda c: (
                    f"{rules[c].name_zh if L == 'zh' else rules[c].name_en} ({rules[c].points_per_case:+g})"
                ),
            )
            cases = st.number_input(tr("score.adjust_cases"), min_value=0, max_value=50, step=1, value=1)
            note = st.text_input(tr("score.adjust_note"))
            if st.form_submit_button(tr("score.adjust_save")):
                with refusals():
                    with resources.unit_of_work() as session:
                        record_adjustment(
                            session,
                            viewer,
                            worker_id=int(worker_id),
                            period=period,
                            code=code,
                            cases=int(cases),
                            note=note,
                        )
                    clear_scorecards()
                    st.success(tr("score.adjust_saved"))
