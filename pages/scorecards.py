"""Manager: scorecards in scope — ranking with filters, distribution and trend, the article's party
comparison, community comparison and calibration, frozen snapshots and monthly bulletins."""

import json

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.i18n import col, pick
from evaluation.scoring import charts
from evaluation.scoring.calibration import community_calibration, worker_outliers
from evaluation.scoring.periods import parse_period
from evaluation.scoring.reports import cards_table, grade_names, scorecards_workbook
from evaluation.scoring.service import period_choices
from evaluation.scoring.snapshots import (
    bulletin_bytes,
    diff_cards,
    freeze_period,
    snapshot_frames,
    snapshots_frame,
)
from ui import resources
from ui.guard import require
from ui.scoring_cache import cached_party, cached_scorecards, cached_trend
from ui.state import lang, tr

viewer = require(__file__)
L = lang()








def diff_table(diff: pd.DataFrame) -> None:
    """Workers whose total or grade changed between two revisions."""
    cols = {"name": "score.col.name", "community": "score.col.community", "old_total": "score.col.old_total",
            "new_total": "score.col.new_total", "delta": "score.col.delta", "old_grade": "score.col.old_grade",
            "new_grade": "score.col.new_grade"}
    diff = diff.assign(old_grade=diff["old_grade"].map(GN), new_grade=diff["new_grade"].map(GN))
    st.dataframe(diff[list(cols)].round(2).rename(columns={k: tr(v) for k, v in cols.items()}),
                 hide_index=True, width="stretch")

with Session(resources.engine()) as session:
    months = period_choices(session, viewer)
periods = months + sorted({f"{m[:4]}-Q{(int(m[5:]) - 1) // 3 + 1}" for m in months}, reverse=True) \
    + sorted({m[:4] for m in months}, reverse=True)

st.title(tr("score.scorecards.title"))
top = st.columns([2, 3])
period = top[0].selectbox(tr("score.period"), periods, key="score_period",
                          help=tr("score.period_help"))
with st.spinner(tr("score.computing")):
    try:
        view, party = cached_scorecards(viewer, period), cached_party(viewer, period)
    except ValueError as exc:
        st.error(str(exc))
        st.stop()
scheme = view.result.scheme
GN = grade_names(scheme, L)
top[1].caption(tr("score.scheme_caption", name=pick(L, scheme.name_zh, scheme.name_en),
                  code=scheme.code, version=scheme.version))

cards = view.cards.copy()
cards["community"] = cards[f"community_{L}"]
cards["subdistrict"] = cards[f"subdistrict_{L}"]
scored = cards[cards["scored"].astype(bool)]
if scored.empty:
    st.info(tr("score.empty", period=period))
    st.stop()

m = st.columns(4)
m[0].metric(tr("score.workers_scored"), f"{len(scored)} / {len(cards)}")
m[1].metric(tr("score.mean_total"), f"{scored['total'].mean():.1f}")
m[2].metric(GN.get("excellent", "优秀"), f"{(scored['grade'] == 'excellent').mean():.0%}")
m[3].metric(GN.get("fail", "不合格"), int((scored["grade"] == "fail").sum()))

tabs = st.tabs([tr("score.tab.ranking"), tr("score.tab.distribution"), tr("score.tab.party"),
                tr("score.tab.communities"), tr("score.tab.snapshots")])

# --- ranking ---------------------------------------------------------------------------------
with tabs[0]:
    f = st.columns(4)
    subs = f[0].multiselect(tr("score.col.subdistrict"), sorted(cards["subdistrict"].dropna().unique()),
                            key="score_f_sub")
    pool = cards[cards["subdistrict"].isin(subs)] if subs else cards
    comms = f[1].multiselect(tr("score.col.community"), sorted(pool["community"].dropna().unique()),
                             key="score_f_comm")
    party_labels = {tr(f"score.filter.{o}"): o for o in ("all", "party", "non_party")}
    party_opt = party_labels[f[2].radio(tr("score.col.party_member"), list(party_labels), horizontal=True,
                                        key=f"score_f_party_{L}")]
    grades = f[3].multiselect(tr("score.col.grade"), list(GN), format_func=GN.get, key="score_f_grade")
    shown = pool
    if comms:
        shown = shown[shown["community"].isin(comms)]
    if party_opt == "party":
        shown = shown[shown["party_member"].astype(bool)]
    elif party_opt == "non_party":
        shown = shown[~shown["party_member"].astype(bool)]
    if grades:
        shown = shown[shown["grade"].isin(grades)]
    st.caption(tr("score.ranking_caption", n=len(shown)))
    table = cards_table(shown, scheme, L)
    st.dataframe(
        table, hide_index=True, width="stretch", height=min(640, 38 + 35 * max(1, len(table))),
        column_config={
            tr("score.col.total"): st.column_config.ProgressColumn(format="%.2f", min_value=0, max_value=100),
            tr("score.col.coverage"): st.column_config.NumberColumn(format="percent"),
            tr("score.col.base"): st.column_config.NumberColumn(format="%.2f"),
        },
    )
    c = st.columns([2, 1, 1])
    names = shown.sort_values("rank")
    pick = c[0].selectbox(tr("score.open_card"), names["worker_id"].tolist(), index=None,
                          format_func=dict(zip(names["worker_id"], names["name"] + " · " + names["employee_no"],
                                               strict=True)).get, key="score_pick")
    if c[1].button(tr("score.open"), disabled=pick is None, width="stretch", icon=":material/person_search:"):
        st.session_state["scorecard_worker"] = int(pick)
        st.session_state["scorecard_period"] = period
        st.switch_page("pages/scorecard.py")
    c[2].download_button(
        # Built only when clicked: the workbook takes seconds for a whole district.
        tr("score.export_xlsx"), data=lambda: scorecards_workbook(shown, view.components[
            view.components["worker_id"].isin(shown["worker_id"])], scheme, period, L, view.scheme_id),
        file_name=f"scorecards_{period}.xlsx", icon=":material/download:", width="stretch",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

# --- distribution and trend -------------------------------------------------------------------
with tabs[1]:
    st.altair_chart(charts.score_histogram(
        scored, GN, title=tr("score.chart.distribution"), x_title=tr("score.col.total"),
        y_title=tr("score.col.workers"), grade_title=tr("score.col.grade")), width="stretch")
    p = parse_period(period)
    first = months[min(len(months) - 1, 8)] if months else p.months[0]
    trend = cached_trend(viewer, min(first, p.months[0]), p.months[-1])
    if trend.empty or trend["period"].nunique() < 2:
        st.info(tr("score.trend_empty"))
    else:
        trend["subdistrict"] = trend[f"subdistrict_{L}"]
        st.altair_chart(charts.trend_chart(
            trend[trend["scored"].astype(bool)], group="subdistrict", title=tr("score.chart.trend"),
            x_title=tr("score.period"), y_title=tr("score.mean_total"), group_title=tr("score.col.subdistrict")),
            width="stretch")
        by_month = trend[trend["scored"].astype(bool)].groupby("period")["total"].agg(["mean", "count"])
        by_month["change"] = by_month["mean"].diff()
        st.dataframe(by_month.round(2).reset_index().rename(columns={
            "period": tr("score.period"), "mean": tr("score.mean_total"), "count": tr("score.col.workers"),
            "change": tr("score.col.mom_change")}), hide_index=True)

# --- the article's comparison --------------------------------------------------------------------
with tabs[2]:
    st.caption(tr("score.party_caption"))
    comp = party.assign(name=party[col(L, "name")])
    if comp["n_party"].sum() == 0 or comp["all"].isna().all():
        st.info(tr("score.party_empty"))
    else:
        st.altair_chart(charts.party_gap_chart(
            comp, name_col="name", party_label=tr("score.party_members"), all_label=tr("score.all_workers"),
            title=tr("score.chart.party", period=period), y_title=tr("score.rate_pct")), width="stretch")
        st.dataframe(comp[["name", "party", "all", "gap_pp", "non_party", "n_party", "n_all"]].rename(columns={
            "name": tr("score.col.metric"), "party": tr("score.party_members"), "all": tr("score.all_workers"),
            "gap_pp": tr("score.col.gap_pp"), "non_party": tr("score.col.non_party"),
            "n_party": tr("score.col.n_party"), "n_all": tr("score.col.n_all")}),
            hide_index=True, width="stretch",
            column_config={tr("score.col.gap_pp"): st.column_config.NumberColumn(format="%+.2f"),
                           tr("score.party_members"): st.column_config.NumberColumn(format="%.2f"),
                           tr("score.all_workers"): st.column_config.NumberColumn(format="%.2f"),
                           tr("score.col.non_party"): st.column_config.NumberColumn(format="%.2f")})

# --- communities and calibration -------------------------------------------------------------
with tabs[3]:
    left, right = st.columns(2)
    left.altair_chart(charts.community_chart(
        scored, community_col="community", title=tr("score.chart.communities"), x_title=tr("score.col.total"),
        y_title=None), width="stretch")
    right.altair_chart(charts.grade_mix_chart(
        scored, GN, community_col="community", title=tr("score.chart.grade_mix"), x_title=tr("score.share"),
        grade_title=tr("score.col.grade")), width="stretch")
    st.subheader(tr("score.calibration"))
    cal = community_calibration(scored, community_col="community")
    cal["flag"] = cal["flag"].map(lambda x: tr(f"score.flag.{x}") if x else "")
    st.dataframe(cal.round(2).rename(columns={
        "community": tr("score.col.community"), "n": tr("score.col.workers"), "mean": tr("score.mean_total"),
        "std": tr("score.col.std"), "top_share": tr("score.col.top_share"), "z": "z",
        "flag": tr("score.col.flag")}), hide_index=True, width="stretch")
    out = worker_outliers(scored, community_col="community")
    st.caption(tr("score.outliers_caption", n=len(out)))
    if len(out):
        st.dataframe(out[["name", "employee_no", "community", "total", "fence_low", "fence_high", "outlier"]]
                     .round(2).rename(columns={
                         "name": tr("score.col.name"), "employee_no": tr("score.col.employee_no"),
                         "community": tr("score.col.community"), "total": tr("score.col.total"),
                         "fence_low": tr("score.col.fence_low"), "fence_high": tr("score.col.fence_high"),
                         "outlier": tr("score.col.flag")}), hide_index=True, width="stretch")

# --- snapshots and bulletins ---------------------------------------------------------------------
with tabs[4]:
    st.caption(tr("score.snapshots_caption"))
    district_wide = viewer.is_admin or (viewer.is_manager and viewer.scope_unit_id is None)
    with Session(resources.engine()) as session:
        snaps = snapshots_frame(session)
    if snaps.empty:
        st.info(tr("score.snapshots_empty"))
    else:
        snaps["rows"] = snaps["input_rows"].map(lambda s: ", ".join(f"{k} {v}" for k, v in json.loads(s).items()))
        st.dataframe(snaps[["period", "revision", "scheme_code", "scheme_version", "workers_scored", "mean_total",
                            "rows", "reason", "computed_at"]].round({"mean_total": 2}).rename(columns={
            "period": tr("score.period"), "revision": tr("score.revision"), "scheme_code": tr("score.scheme"),
            "scheme_version": tr("score.scheme_version"), "workers_scored": tr("score.workers_scored"),
            "mean_total": tr("score.mean_total"), "rows": tr("score.col.input_rows"),
            "reason": tr("score.col.reason"), "computed_at": tr("score.col.computed_at")}),
            hide_index=True, width="stretch")
        labels = dict(zip(snaps["id"], snaps["period"] + " r" + snaps["revision"].astype(str), strict=True))
        if district_wide:  # the bulletin lists every worker of the district
            sid = st.selectbox(tr("score.bulletin_for"), list(labels), format_func=labels.get, key="score_bulletin")
            with Session(resources.engine()) as session:
                data = bulletin_bytes(session, viewer, int(sid))
            if data:
                st.download_button(tr("score.download_bulletin"), data=data, icon=":material/download:",
                                   file_name=f"bulletin_{labels[sid].replace(' ', '_')}.xlsx",
                                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        later = snaps[snaps["revision"] > 1]
        if len(later):
            rid = st.selectbox(tr("score.revision_diff"), later["id"].tolist(), format_func=labels.get,
                               key="score_rev_diff")
            row = later.set_index("id").loc[rid]
            prev = snaps[(snaps["period"] == row["period"]) & (snaps["revision"] == row["revision"] - 1)]
            changes = json.loads(row["changes"] or "{}")
            if changes:
                st.caption(tr("score.changes", **changes))
            if len(prev):
                with Session(resources.engine()) as session:
                    old_cards, _ = snapshot_frames(session, viewer, int(prev["id"].iloc[0]))
                    new_cards, _ = snapshot_frames(session, viewer, int(rid))
                diff = diff_cards(old_cards, new_cards).merge(cards[["worker_id", "name", "community"]],
                                                              on="worker_id", how="left")
                diff_table(diff)
    if district_wide and parse_period(period).kind == "month":
        with st.form("score_freeze"):
            st.markdown(tr("score.freeze_title", period=period))
            reason = st.text_input(tr("score.col.reason"), key="score_freeze_reason")
            recompute = st.checkbox(tr("score.recompute"), key="score_freeze_recompute")
            go = st.form_submit_button(tr("score.freeze"), type="primary")
        if go:
            with st.status(tr("score.freezing"), expanded=True) as status:
                with resources.unit_of_work() as session:
                    snap, created = freeze_period(session, period, viewer=viewer, new_revision=recompute,
                                                  reason=reason)
                if not created:
                    status.update(label=tr("score.already_frozen", period=period, revision=snap.revision),
                                  state="complete")
                else:
                    status.update(label=tr("score.frozen", period=period, revision=snap.revision), state="complete")
                    st.download_button(tr("score.download_bulletin"), data=snap.bulletin, icon=":material/download:",
                                       file_name=f"bulletin_{period}_r{snap.revision}.xlsx", key="score_new_bulletin",
                                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
                    changes = json.loads(snap.changes or "{}")
                    if changes:
                        st.write(tr("score.changes", **changes))
                        prev = snaps[(snaps["period"] == period) & (snaps["revision"] == changes["previous_revision"])]
                        if len(prev):
                            with Session(resources.engine()) as session:
                                old, _ = snapshot_frames(session, viewer, int(prev["id"].iloc[0]))
                                new, _ = snapshot_frames(session, viewer, snap.id)
                            diff = diff_cards(old, new).merge(cards[["worker_id", "name", "community"]],
                                                              on="worker_id", how="left")
                            diff_table(diff)
