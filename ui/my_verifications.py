"""我的任务's verification (核查) tasks: each a card with what to check, where (grid, community, a map link that
opens the phone's map app), by when (overdue marked), why it came to this worker, and the report that closes it
(已反馈). A task opened from a message (``?task=verification:N``) comes first and says so."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

import pandas as pd
import streamlit as st

from core.i18n import pick
from core.scope import Viewer
from evaluation.field.verification import NOTE_MAX, report_verification
from ui import resources
from ui.cells import short_time
from ui.errors import refusals
from ui.state import lang, tr


def map_link(lat: float, lon: float, name: str) -> str:
    """A marker link phones open in their map app (AMap's URI API, WGS-84 coordinates as stored)."""
    return (
        f"https://uri.amap.com/marker?position={lon:.6f},{lat:.6f}&name={quote(name)}"
        "&coordinate=wgs84&callnative=1"
    )


def render(checks: pd.DataFrame, viewer: Viewer, now: datetime, focus: str | None) -> None:
    L = lang()
    if focus in set(checks["task_id"]):
        checks = pd.concat([checks[checks["task_id"] == focus], checks[checks["task_id"] != focus]])
    st.subheader(f"{tr('field.my.verifications')} ({len(checks)})")
    for row in checks.itertuples():
        title = pick(L, row.title_zh, row.title_en)
        with st.container(border=True):
            if row.task_id == focus:
                st.caption(f":material/mark_email_unread: {tr('field.my.from_notice')}")
            badge = f" :red-badge[{tr('field.my.overdue')}]" if row.overdue else ""
            st.markdown(f"**{title}**{badge}")
            where = tr(
                "field.my.where",
                grid=pick(L, row.grid_zh, row.grid_en) or "—",
                community=pick(L, row.community_zh, row.community_en),
            )
            if pd.notna(row.lat) and pd.notna(row.lon):
                where += f" · [{tr('field.my.map')}]({map_link(float(row.lat), float(row.lon), title)})"
            st.markdown(f":material/location_on: {where}")
            if pd.notna(row.due_at):
                st.caption(tr("field.my.due", due=short_time(row.due_at, now)))
            reason = pick(L, row.assign_reason_zh, row.assign_reason_en)
            if reason:
                st.caption(tr("field.my.why", reason=reason))
            with st.form(f"finding_{row.id}", border=False, enter_to_submit=False):
                note = st.text_area(
                    tr("field.my.finding"), help=tr("field.my.finding_help"), max_chars=NOTE_MAX, height=80
                )
                if st.form_submit_button(tr("field.my.send_finding"), type="primary", width="stretch"):
                    with refusals() as refused, resources.unit_of_work() as session:
                        report_verification(session, viewer, task_id=int(row.id), note=note, now=now)
                    if not refused:
                        st.session_state["my_tasks_flash"] = tr("field.my.finding_sent", title=title)
                        st.rerun()
