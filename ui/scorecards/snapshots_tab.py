"""The snapshots tab: frozen revisions of the period's scorecards, monthly bulletins, the diff between two
revisions, and (district-wide viewers, monthly periods) freezing the period."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.scope import Viewer
from evaluation.scoring.periods import parse_period
from evaluation.scoring.snapshots import (
    bulletin_bytes,
    diff_cards,
    freeze_period,
    snapshot_frames,
    snapshots_frame,
)
from ui import resources
from ui.audit_reads import download_button as audited_download
from ui.errors import refusals
from ui.options import distinct_labels
from ui.state import tr

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def diff_table(diff: pd.DataFrame, grade_names: dict[str, str]) -> None:
    """Workers whose total or grade changed between two revisions."""
    cols = {
        "name": "score.col.name",
        "community": "score.col.community",
        "old_total": "score.col.old_total",
        "new_total": "score.col.new_total",
        "delta": "score.col.delta",
        "old_grade": "score.col.old_grade",
        "new_grade": "score.col.new_grade",
    }
    diff = diff.assign(
        old_grade=diff["old_grade"].map(grade_names), new_grade=diff["new_grade"].map(grade_names)
    )
    st.dataframe(
        diff[list(cols)].round(2).rename(columns={k: tr(v) for k, v in cols.items()}),
        hide_index=True,
        width="stretch",
        placeholder="",
    )


def _show_diff(
    viewer: Viewer, old_id: int, new_id: int, cards: pd.DataFrame, grade_names: dict[str, str]
) -> None:
    with Session(resources.engine()) as session:
        old, _ = snapshot_frames(session, viewer, old_id)
        new, _ = snapshot_frames(session, viewer, new_id)
    diff = diff_cards(old, new).merge(cards[["worker_id", "name", "community"]], on="worker_id", how="left")
    diff_table(diff, grade_names)


def render(viewer: Viewer, cards: pd.DataFrame, grade_names: dict[str, str], period: str) -> None:
    """The snapshot list, bulletins and revision diff; the freeze form for district-wide viewers."""
    st.caption(tr("score.snapshots_caption"))
    district_wide = viewer.is_admin or (viewer.is_manager and viewer.scope_unit_id is None)
    with Session(resources.engine()) as session:
        snaps = snapshots_frame(session)
    if snaps.empty:
        st.info(tr("score.snapshots_empty"))
    else:
        snaps["rows"] = snaps["input_rows"].map(
            lambda s: ", ".join(f"{k} {v}" for k, v in json.loads(s).items())
        )
        st.dataframe(
            snaps[
                [
                    "period",
                    "revision",
                    "scheme_code",
                    "scheme_version",
                    "workers_scored",
                    "mean_total",
                    "rows",
                    "reason",
                    "computed_at",
                ]
            ]
            .round({"mean_total": 2})
            .rename(
                columns={
                    "period": tr("score.period"),
                    "revision": tr("score.revision"),
                    "scheme_code": tr("score.scheme"),
                    "scheme_version": tr("score.scheme_version"),
                    "workers_scored": tr("score.workers_scored"),
                    "mean_total": tr("score.mean_total"),
                    "rows": tr("score.col.input_rows"),
                    "reason": tr("score.col.reason"),
                    "computed_at": tr("score.col.computed_at"),
                }
            ),
            hide_index=True,
            width="stretch",
            placeholder="",
        )
        labels = distinct_labels(
            dict(zip(snaps["id"], snaps["period"] + " r" + snaps["revision"].astype(str), strict=True))
        )
        if district_wide:  # the bulletin lists every worker of the district
            sid = st.selectbox(
                tr("score.bulletin_for"), list(labels), format_func=labels.get, key="score_bulletin"
            )
            with Session(resources.engine()) as session:
                data = bulletin_bytes(session, viewer, int(sid))
            if data:
                audited_download(
                    tr("score.download_bulletin"),
                    data=data,
                    viewer=viewer,
                    what="bulletin",
                    filters={"snapshot_id": sid},
                    rows=0,
                    icon=":material/download:",
                    file_name=f"bulletin_{labels[sid].replace(' ', '_')}.xlsx",
                    mime=XLSX,
                )
        later = snaps[snaps["revision"] > 1]
        if len(later):
            rid = st.selectbox(
                tr("score.revision_diff"), later["id"].tolist(), format_func=labels.get, key="score_rev_diff"
            )
            row = later.set_index("id").loc[rid]
            prev = snaps[(snaps["period"] == row["period"]) & (snaps["revision"] == row["revision"] - 1)]
            changes = json.loads(row["changes"] or "{}")
            if changes:
                st.caption(tr("score.changes", **changes))
            if len(prev):
                _show_diff(viewer, int(prev["id"].iloc[0]), int(rid), cards, grade_names)
    if district_wide and parse_period(period).kind == "month":
        _freeze_form(viewer, snaps, cards, grade_names, period)


def _freeze_form(
    viewer: Viewer, snaps: pd.DataFrame, cards: pd.DataFrame, grade_names: dict[str, str], period: str
) -> None:
    with st.form("score_freeze"):
        st.markdown(tr("score.freeze_title", period=period))
        reason = st.text_input(tr("score.col.reason"), key="score_freeze_reason")
        recompute = st.checkbox(tr("score.recompute"), key="score_freeze_recompute")
        go = st.form_submit_button(tr("score.freeze"), type="primary")
    if not go:
        return
    with st.status(tr("score.freezing"), expanded=True) as status:
        with refusals() as refused:
            with resources.unit_of_work() as session:
                snap, created = freeze_period(
                    session, period, viewer=viewer, new_revision=recompute, reason=reason
                )
        if refused:  # shown in the box, which closes as failed; nothing was frozen
            status.update(label=tr("score.freeze"), state="error")
            return
        if not created:
            status.update(
                label=tr("score.already_frozen", period=period, revision=snap.revision), state="complete"
            )
            return
        status.update(label=tr("score.frozen", period=period, revision=snap.revision), state="complete")
        audited_download(
            tr("score.download_bulletin"),
            data=snap.bulletin,
            viewer=viewer,
            what="bulletin",
            filters={"period": period},
            rows=0,
            icon=":material/download:",
            file_name=f"bulletin_{period}_r{snap.revision}.xlsx",
            key="score_new_bulletin",
            mime=XLSX,
        )
        changes = json.loads(snap.changes or "{}")
        if changes:
            st.write(tr("score.changes", **changes))
            prev = snaps[(snaps["period"] == period) & (snaps["revision"] == changes["previous_revision"])]
            if len(prev):
                _show_diff(viewer, int(prev["id"].iloc[0]), snap.id, cards, grade_names)
