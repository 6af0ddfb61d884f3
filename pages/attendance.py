"""Managers: the attendance register of a session (host code and QR, marking, excuses, platform import) and
attendance per worker across courses with the warning list."""

from datetime import timedelta
from urllib.parse import urlsplit

import pandas as pd
import segno
import streamlit as st
from sqlmodel import Session

from core import clock
from core.errors import GridwiseError
from core.i18n import pick
from core.tabular import errors_frame, template_bytes
from core.uploads import TABLE_KINDS
from courses.attendance import (
    checkin_code,
    checkin_url,
    decide_excuse,
    mark_many,
    pending_excuses,
    register,
    window,
)
from courses.attendance_import import PLATFORM_SCHEMA, commit_platform_import, preview_platform_import
from courses.models import AttendanceStatus
from courses.training_sessions import session_in_scope, sessions_frame
from ui import resources
from ui.attendance_workers import attendance_by_worker
from ui.audit_reads import csv_download, record_view
from ui.cells import cell_number, cell_time, table_height
from ui.errors import show_error
from ui.guard import require
from ui.lazy_tabs import lazy_tabs
from ui.options import distinct_labels
from ui.state import lang, tr
from ui.uploads import accepted_upload

viewer = require(__file__)
L = lang()
now = clock.now()
STATUSES = [s.value for s in AttendanceStatus]
status_label = {s: tr(f"courses.status.{s}") for s in STATUSES}
status_of = {v: k for k, v in status_label.items()}


def base_url() -> str:
    url = st.context.url or ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "http://localhost:8501"


st.title(tr("courses.att.title"))
tabs = lazy_tabs(  # only the open tab runs (ui.lazy_tabs): a view of a register draws no rates per worker
    "attendance_tab", {"session": tr("courses.att.tab_session"), "workers": tr("courses.att.tab_workers")}
)
if tabs["session"].open:
    with tabs["session"]:
        with Session(resources.engine()) as session:
            sessions = sessions_frame(
                session, viewer, start=now - timedelta(days=366), end=now + timedelta(days=30)
            )
            excuses = pending_excuses(session, viewer)
        sessions = sessions[sessions["status"] != "cancelled"].sort_values("start_at", ascending=False)
        if not excuses.empty:
            record_view(viewer, "attendance_excuses", filters={}, rows=len(excuses))
            with st.expander(tr("courses.att.excuses", n=len(excuses)), expanded=True):
                for e in excuses.itertuples():
                    c1, c2, c3 = st.columns([4, 1, 1])
                    c1.markdown(
                        f"**{e.name}** ({e.employee_no}) · {pick(L, e.course_zh, e.course_en)} "
                        f"{e.start_at:%m-%d %H:%M}  \n{e.reason}"
                    )
                    for col, approve, label in (
                        (c2, True, "courses.att.approve"),
                        (c3, False, "courses.att.reject"),
                    ):
                        if col.button(tr(label), key=f"excuse_{e.id}_{approve}"):
                            try:
                                with resources.unit_of_work() as session:
                                    decide_excuse(session, viewer, excuse_id=int(e.id), approve=approve)
                                st.rerun()
                            except GridwiseError as exc:
                                show_error(exc)
        if sessions.empty:
            st.info(tr("courses.att.no_sessions"))
            st.stop()
        live = sessions[(sessions["start_at"] - timedelta(minutes=15) <= now) & (sessions["end_at"] >= now)]
        ids = sessions["id"].astype(int).tolist()
        raw = st.query_params.get("session", "")
        default = (
            int(raw)
            if raw.isdigit() and int(raw) in ids
            else (int(live["id"].iloc[0]) if not live.empty else ids[0])
        )
        session_label = distinct_labels(  # two sittings of a course may start together (two audiences)
            {
                i: f"{r.start_at:%Y-%m-%d %H:%M} · {pick(L, r.course_zh, r.course_en)} · "
                f"{tr('courses.session_status.' + r.status)}"
                for i, r in zip(ids, sessions.itertuples(), strict=True)
            }
        )
        sid = st.selectbox(
            tr("courses.att.session"), ids, index=ids.index(default), format_func=session_label.get
        )
        with Session(resources.engine()) as session:
            ts = session_in_scope(session, viewer, sid)
            roster = register(session, viewer, sid)
        record_view(viewer, "attendance", filters={"session_id": sid}, rows=len(roster))
        opens, closes = window(ts)

        if ts.status == "scheduled" and now <= closes:
            with st.container(border=True):
                st.markdown(f"**{tr('courses.att.host')}**")
                h1, h2 = st.columns([2, 1])
                with h1:

                    @st.fragment(run_every=timedelta(seconds=10))
                    def show_code() -> None:
                        at = clock.now()
                        if at < opens:
                            st.caption(tr("courses.att.code_from", at=f"{opens:%m-%d %H:%M}"))
                            return
                        st.markdown(
                            f"<div style='font-size:3.2rem;font-weight:700;letter-spacing:.4rem'>"
                            f"{checkin_code(ts.secret, at)}</div>",
                            unsafe_allow_html=True,
                        )
                        st.caption(tr("courses.att.code_help"))

                    show_code()
                url = checkin_url(base_url(), ts)
                h2.image(segno.make(url, error="m").png_data_uri(scale=4), caption=tr("courses.att.qr"))
                st.code(url, language=None)

        if flash := st.session_state.pop("att_flash", None):
            st.success(flash)
        n_marked = int(roster["status"].notna().sum()) if not roster.empty else 0
        counts = roster["status"].value_counts() if not roster.empty else pd.Series(dtype=int)
        m = st.columns(5)
        m[0].metric(tr("courses.col.seated"), len(roster))
        for col, s in zip(m[1:], STATUSES, strict=True):
            col.metric(tr(f"courses.status.{s}"), int(counts.get(s, 0)))
        if roster.empty:
            st.info(tr("courses.att.no_seats"))
        else:
            st.caption(tr("courses.att.unmarked", n=len(roster) - n_marked))
            STATUS = tr("courses.col.status")  # the one editable column
            view = pd.DataFrame(
                {
                    tr("col.employee_no"): roster["employee_no"],
                    tr("col.name"): roster["name"],
                    tr("col.community"): [
                        pick(L, z, e)
                        for z, e in zip(roster["community_zh"], roster["community_en"], strict=True)
                    ],
                    STATUS: roster["status"].map(status_label).fillna(""),
                    tr("courses.col.points"): roster["points"].map(cell_number),
                    tr("courses.col.checked_in_at"): roster["checked_in_at"].map(cell_time),
                    tr("courses.col.minutes"): roster["minutes_attended"].map(cell_number),
                    tr("courses.col.source"): roster["source"].map(
                        lambda s: tr(f"courses.mark_source.{s}") if isinstance(s, str) else ""
                    ),
                    tr("courses.col.excuse"): roster["excuse_reason"].fillna(""),
                }
            ).set_index(roster["worker_id"].rename(None))
            edited = st.data_editor(
                view,
                hide_index=True,
                width="stretch",
                height=table_height(len(view), 640),
                key=f"reg_{sid}",
                disabled=[c for c in view.columns if c != STATUS],
                column_config={
                    STATUS: st.column_config.SelectboxColumn(
                        options=list(status_label.values()), required=False
                    )
                },
                placeholder="",
            )
            changed = edited[edited[STATUS].fillna("") != view[STATUS]][STATUS].map(status_of)
            b1, b2, b3 = st.columns([2, 2, 3])

            # one register save, all or nothing (courses.attendance.mark_many)
            def save(statuses: dict) -> None:
                try:
                    with resources.unit_of_work() as session:
                        mark_many(session, viewer, session_id=sid, statuses=statuses)
                    counts = pd.Series(list(statuses.values()), dtype=object).value_counts()
                    what = tr("common.list_sep").join(f"{status_label[k]} {n}" for k, n in counts.items())
                    st.session_state["att_flash"] = tr("courses.att.saved", n=len(statuses), what=what)
                    st.rerun()
                except GridwiseError as exc:
                    show_error(exc)

            if b1.button(tr("courses.att.save", n=len(changed)), type="primary", disabled=changed.empty):
                save(changed.dropna().to_dict())
            bulk = b2.selectbox(
                tr("courses.att.bulk"), STATUSES, format_func=status_label.get, label_visibility="collapsed"
            )
            if b3.button(tr("courses.att.bulk_apply"), disabled=n_marked == len(roster)):
                save(dict.fromkeys(roster[roster["status"].isna()]["worker_id"], bulk))
            csv_download(
                tr("common.download_csv"),
                edited,
                viewer=viewer,
                what="attendance",
                filters={"session_id": sid},
                file_name=f"attendance_{sid}.csv",
            )

        with st.expander(tr("courses.att.import")):
            st.caption(tr("courses.att.import_help"))
            st.download_button(
                tr("courses.att.template"),
                lambda: template_bytes(PLATFORM_SCHEMA, "xlsx", L),  # written when asked for, not every view
                file_name="meeting_attendance.xlsx",
            )
            upload = st.file_uploader(tr("courses.att.upload"), type=["csv", "xlsx"], key=f"imp_{sid}")
            if upload is not None and (data := accepted_upload(upload, TABLE_KINDS)) is not None:
                try:
                    with Session(resources.engine()) as session:
                        preview = preview_platform_import(
                            session, viewer, session_id=sid, data=data, filename=upload.name
                        )
                except GridwiseError as exc:
                    show_error(exc)
                    preview = None
                if preview is not None:
                    if preview.errors:
                        st.error(tr("courses.att.import_errors", n=len(preview.errors)))
                        st.dataframe(
                            errors_frame(preview.errors, L), hide_index=True, width="stretch", placeholder=""
                        )
                    if preview.unmatched:
                        st.warning(tr("courses.att.unmatched", names="、".join(preview.unmatched[:20])))
                    if preview.ambiguous:
                        st.warning(tr("courses.att.ambiguous", names="、".join(preview.ambiguous)))
                    p = preview.matched
                    st.dataframe(
                        pd.DataFrame(
                            {
                                tr("col.employee_no"): p["employee_no"],
                                tr("col.name"): p["name"],
                                tr("courses.col.minutes"): p["minutes"],
                                tr("courses.att.current"): p["current_status"].map(
                                    lambda s: tr(f"courses.status.{s}") if isinstance(s, str) else "—"
                                ),
                                tr("courses.att.new"): p["new_status"].map(
                                    lambda s: tr(f"courses.status.{s}")
                                ),
                                tr("courses.att.will_change"): p["will_change"],
                            }
                        ),
                        hide_index=True,
                        width="stretch",
                        placeholder="",
                    )
                    if st.button(
                        tr("courses.att.commit", n=int(p["will_change"].sum())),
                        type="primary",
                        disabled=not preview.ok,
                    ):
                        try:
                            with resources.unit_of_work() as session:
                                n = commit_platform_import(session, viewer, preview)
                            st.success(tr("courses.att.imported", n=n))
                        except GridwiseError as exc:
                            show_error(exc)

if tabs["workers"].open:
    with tabs["workers"]:
        attendance_by_worker(viewer, L, now)
