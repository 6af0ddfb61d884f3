"""The party tab: the article's comparison of party members with all workers, metric by metric."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.i18n import col
from evaluation.scoring import charts
from ui.state import lang, tr


def render(party: pd.DataFrame, period: str) -> None:
    """The gap chart and table of `party` (evaluation.scoring.compare's frame) for `period`."""
    st.caption(tr("score.party_caption"))
    comp = party.assign(name=party[col(lang(), "name")])
    if comp["n_party"].sum() == 0 or comp["all"].isna().all():
        st.info(tr("score.party_empty"))
        return
    st.altair_chart(
        charts.party_gap_chart(
            comp,
            name_col="name",
            party_label=tr("score.party_members"),
            all_label=tr("score.all_workers"),
            title=tr("score.chart.party", period=period),
            y_title=tr("score.rate_pct"),
        ),
        width="stretch",
    )
    st.dataframe(
        comp[["name", "party", "all", "gap_pp", "non_party", "n_party", "n_all"]].rename(
            columns={
                "name": tr("score.col.metric"),
                "party": tr("score.party_members"),
                "all": tr("score.all_workers"),
                "gap_pp": tr("score.col.gap_pp"),
                "non_party": tr("score.col.non_party"),
                "n_party": tr("score.col.n_party"),
                "n_all": tr("score.col.n_all"),
            }
        ),
        hide_index=True,
        width="stretch",
        column_config={
            tr("score.col.gap_pp"): st.column_config.NumberColumn(format="%+.2f"),
            tr("score.party_members"): st.column_config.NumberColumn(format="%.2f"),
            tr("score.all_workers"): st.column_config.NumberColumn(format="%.2f"),
            tr("score.col.non_party"): st.column_config.NumberColumn(format="%.2f"),
        },
        placeholder="",
    )
