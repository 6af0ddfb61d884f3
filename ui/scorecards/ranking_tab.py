"""The ranking tab: filters (subdistrict, community, party membership, grade), the ranked table a page at a
time, open one card, export the shown workers as a workbook.

``cards`` holds every worker in scope with the ranking columns only (served_ranking): the table decodes the
whole cards of the rows on its page, the export reads every card and component of the filtered workers
when clicked."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.scope import Viewer
from evaluation.scoring.reports import cards_table, scorecards_workbook
from ui.audit_reads import download_button as audited_download
from ui.cells import table_height
from ui.options import distinct_labels
from ui.scoring_cache import cached_cards_of, export_scorecards
from ui.state import lang, lang_key, tr

# Rows on one page of the table: a district's or a community's whole ranking fits on one (the demo has 304
# workers); a city's 20,000 are paged.
PAGE_ROWS = 500


def _export(
    viewer: Viewer, period: str, shown: pd.DataFrame, lang_code: str, scheme, scheme_id: int
) -> bytes:  # noqa: ANN001
    view = export_scorecards(viewer, period, shown["worker_id"].tolist())  # every filtered worker, not a page
    return scorecards_workbook(view.cards, view.components, scheme, period, lang_code, scheme_id)


def _unit_names(cards: pd.DataFrame, level: str) -> dict[int, str]:
    """A filter's options: the units' ids (kept across a language switch), by name in the page's language."""
    units = cards[[f"{level}_id", level]].dropna().drop_duplicates(f"{level}_id").sort_values(level)
    return dict(zip(units[f"{level}_id"].astype(int), units[level], strict=True))


def render(viewer: Viewer, view, cards: pd.DataFrame, grade_names: dict[str, str], period: str) -> None:  # noqa: ANN001
    """The ranking of `cards` (every worker in scope, scored or not, in rank order) for `period`."""
    L, GN, scheme = lang(), grade_names, view.result.scheme
    f = st.columns(4)
    sub_names = distinct_labels(_unit_names(cards, "subdistrict"))
    subs = f[0].multiselect(
        tr("score.col.subdistrict"),
        list(sub_names),
        format_func=sub_names.get,
        key=lang_key("score_f_sub"),
        placeholder=tr("common.choose_many"),
    )
    pool = cards[cards["subdistrict_id"].isin(subs)] if subs else cards
    comm_names = distinct_labels(_unit_names(pool, "community"))
    comms = f[1].multiselect(
        tr("score.col.community"),
        list(comm_names),
        format_func=comm_names.get,
        key=lang_key("score_f_comm"),
        placeholder=tr("common.choose_many"),
    )
    party_names = {o: tr(f"score.filter.{o}") for o in ("all", "party", "non_party")}
    party_opt = f[2].radio(
        tr("score.col.party_member"),
        list(party_names),
        format_func=party_names.get,
        horizontal=True,
        key=lang_key("score_f_party"),
    )
    grades = f[3].multiselect(
        tr("score.col.grade"),
        list(GN),
        format_func=GN.get,
        key=lang_key("score_f_grade"),
        placeholder=tr("common.choose_many"),
    )
    shown = pool
    if comms:
        shown = shown[shown["community_id"].isin(comms)]
    if party_opt == "party":
        shown = shown[shown["party_member"].astype(bool)]
    elif party_opt == "non_party":
        shown = shown[~shown["party_member"].astype(bool)]
    if grades:
        shown = shown[shown["grade"].isin(grades)]
    st.caption(tr("score.ranking_caption", n=len(shown)))
    pages = max(1, -(-len(shown) // PAGE_ROWS))
    page = 1
    if pages > 1:
        page = int(
            st.number_input(
                tr("score.ranking_page", pages=pages, rows=PAGE_ROWS),
                min_value=1,
                max_value=pages,
                step=1,
                key="score_page",
            )
        )
    on_page = shown.iloc[(page - 1) * PAGE_ROWS : page * PAGE_ROWS]
    table = cards_table(cached_cards_of(viewer, period, on_page["worker_id"].tolist()), scheme, L)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=table_height(len(table), 640),
        column_config={
            tr("score.col.total"): st.column_config.ProgressColumn(format="%.2f", min_value=0, max_value=100),
            tr("score.col.coverage"): st.column_config.NumberColumn(format="percent"),
            tr("score.col.base"): st.column_config.NumberColumn(format="%.2f"),
        },
        placeholder="",
    )
    c = st.columns([2, 1, 1])
    names = on_page
    chosen = c[0].selectbox(
        tr("score.open_card"),
        names["worker_id"].tolist(),
        index=None,
        format_func=dict(
            zip(names["worker_id"], names["name"] + " · " + names["employee_no"], strict=True)
        ).get,
        key="score_pick",
        placeholder=tr("common.choose_one"),
    )
    if c[1].button(
        tr("score.open"), disabled=chosen is None, width="stretch", icon=":material/person_search:"
    ):
        st.session_state["scorecard_worker"] = int(chosen)
        st.session_state["scorecard_period"] = period
        st.switch_page("pages/scorecard.py")
    audited_download(
        # Built only when clicked: the workbook takes seconds for a whole district.
        tr("score.export_xlsx"),
        what="scorecards",
        filters={"period": period},
        rows=len(shown),
        container=c[2],
        data=lambda: _export(viewer, period, shown, L, scheme, view.scheme_id),
        file_name=f"scorecards_{period}.xlsx",
        icon=":material/download:",
        width="stretch",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
