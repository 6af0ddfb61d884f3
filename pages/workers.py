"""Managers and admins: worker records in scope — list, add / edit, mark as left, import a roster."""

from datetime import date

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core import clock
from core.i18n import pick
from core.models import OrgLevel, Worker, WorkerCreate, WorkerStatus, row_id
from core.org import (
    grids_in_scope,
    mask_phone,
    reveal_phone,
    save_worker,
    set_worker_status,
    units_frame,
    worker_by_employee_no,
    workers_frame,
)
from core.scope import ScopeError
from core.tabular import template_bytes
from core.uploads import TABLE_KINDS
from core.worker_import import WORKER_SCHEMA, commit_worker_import, preview_worker_import
from ui import resources
from ui.audit_reads import csv_download, record_view
from ui.cells import table_height
from ui.errors import refusals
from ui.guard import require
from ui.options import distinct_labels
from ui.state import lang, tr
from ui.uploads import accepted_upload

viewer = require(__file__)


def _reveal(worker_id: int) -> None:
    """The "show" button: the full number, for this worker only, recorded in the audit trail."""
    try:
        with resources.unit_of_work() as session:
            st.session_state["revealed_phone"] = (worker_id, reveal_phone(session, viewer, worker_id))
    except ScopeError:
        st.session_state.pop("revealed_phone", None)


L = lang()
STATUSES = [s.value for s in WorkerStatus]

st.title(tr("workers.title"))
list_tab, edit_tab, import_tab = st.tabs(
    [tr("workers.tab_list"), tr("workers.tab_edit"), tr("workers.tab_import")]
)

with Session(resources.engine()) as session:
    communities = units_frame(session, viewer, OrgLevel.COMMUNITY)
    grids = grids_in_scope(session, viewer)

with list_tab:
    c1, c2, c3 = st.columns([2, 1, 2])
    comm_options = [None, *communities["id"].tolist()]
    comm_names = distinct_labels(  # two communities may share a name
        dict(
            zip(
                communities["id"],
                [pick(L, z, e) for z, e in zip(communities["name_zh"], communities["name_en"], strict=True)],
                strict=True,
            )
        )
    )
    community_id = c1.selectbox(
        tr("workers.filter_community"),
        comm_options,
        format_func=lambda v: tr("common.all") if v is None else comm_names[v],
    )
    status = c2.selectbox(
        tr("workers.filter_status"),
        [None, *STATUSES],
        format_func=lambda v: tr("common.all") if v is None else tr(f"status.{v}"),
    )
    search = c3.text_input(tr("workers.search"))
    with Session(resources.engine()) as session:
        frame = workers_frame(
            session, viewer, community_id=community_id, status=status, search=search or None
        )
    st.caption(tr("common.rows", n=len(frame)))
    shown = pd.DataFrame(
        {
            tr("col.employee_no"): frame["employee_no"],
            tr("col.name"): frame["name"],
            tr("col.grid"): frame["grid_code"],
            tr("col.community"): frame[f"community_{L}"],
            tr("col.subdistrict"): frame[f"subdistrict_{L}"],
            tr("col.party_member"): frame["party_member"],
            tr("col.hire_date"): frame["hire_date"],
            tr("col.status"): frame["status"].map(lambda v: tr(f"status.{v}")),
            tr("col.phone"): frame["phone"],
        }
    )
    st.dataframe(shown, hide_index=True, height=table_height(len(shown), 600), placeholder="")
    filters = {"community_id": community_id, "status": status, "search": search or None}
    record_view(viewer, "workers", filters=filters, rows=len(frame))
    csv_download(
        tr("common.download_csv"),
        shown,
        viewer=viewer,
        what="workers",
        filters=filters,
        file_name="workers.csv",
    )

with edit_tab:
    if community_id is None and status is None and not search:
        everyone = frame  # the list tab read the whole scope already
    else:
        with Session(resources.engine()) as session:
            everyone = workers_frame(session, viewer)
    names = dict(zip(everyone["employee_no"].tolist(), everyone["name"].tolist(), strict=True))
    pick_no = st.selectbox(
        tr("workers.edit_pick"),
        [None, *names],
        format_func=lambda v: tr("workers.new") if v is None else f"{v} · {names[v]}",
    )
    current: Worker | None = None
    if pick_no:
        with Session(resources.engine()) as session:
            current = worker_by_employee_no(session, viewer, pick_no)
    grid_ids = [g.id for g in grids]
    grid_label = {g.id: f"{g.code} · {pick(L, g.name_zh, g.name_en)}" for g in grids}
    with st.form("worker_edit", clear_on_submit=current is None):
        c1, c2 = st.columns(2)
        employee_no = c1.text_input(
            tr("col.employee_no"), value=current.employee_no if current else "", disabled=current is not None
        )
        name = c2.text_input(tr("col.name"), value=current.name if current else "")
        grid_id = c1.selectbox(
            tr("col.grid"),
            grid_ids,
            format_func=grid_label.get,
            index=grid_ids.index(current.grid_id) if current and current.grid_id in grid_ids else 0,
        )
        shown_phone = mask_phone(current.phone) if current else ""
        phone = c2.text_input(
            tr("workers.phone_full"),
            value=shown_phone,
            help=tr("privacy.phone_masked_help") if current else None,
        )
        hire_date = c1.date_input(
            tr("col.hire_date"),
            value=current.hire_date if current else clock.today(),
            min_value=date(2000, 1, 1),
        )
        status_v = c2.selectbox(
            tr("col.status"),
            STATUSES,
            format_func=lambda v: tr(f"status.{v}"),
            index=STATUSES.index(current.status) if current else 0,
        )
        party = st.checkbox(tr("col.party_member"), value=current.party_member if current else False)
        submitted = st.form_submit_button(tr("common.save"), type="primary")
    if submitted:
        if not (employee_no.strip() and name.strip() and grid_id):
            st.error(tr("workers.err_required"))
        else:
            with refusals():
                with resources.unit_of_work() as session:
                    saved = save_worker(
                        session,
                        viewer,
                        WorkerCreate(
                            employee_no=employee_no.strip(),
                            name=name.strip(),
                            grid_id=grid_id,
                            party_member=party,
                            hire_date=hire_date,
                            status=status_v,
                            # The masked number left as it was keeps the stored one.
                            phone=(current.phone if current and phone.strip() == shown_phone else None)
                            or phone.strip()
                            or None,
                            gender=current.gender if current else None,
                        ),
                    )
                st.success(tr("workers.saved", name=saved.name, no=saved.employee_no))
    if current is not None and current.phone:
        st.button(
            tr("privacy.show_phone"),
            icon=":material/visibility:",
            on_click=_reveal,
            args=(row_id(current.id),),
            key=f"reveal_{current.id}",
        )
        revealed = st.session_state.get("revealed_phone")
        if revealed and revealed[0] == current.id:
            st.info(tr("privacy.shown_phone", name=current.name, phone=revealed[1]))
    if current is not None and current.status != WorkerStatus.LEFT.value:
        if st.button(tr("workers.deactivate"), icon=":material/person_off:"):
            with refusals():
                with resources.unit_of_work() as session:
                    set_worker_status(session, viewer, current.id, WorkerStatus.LEFT)
                st.rerun()

with import_tab:
    st.caption(tr("workers.import_help"))
    c1, c2 = st.columns(2)
    c1.download_button(
        tr("workers.template") + " (Excel)",
        lambda: template_bytes(WORKER_SCHEMA, "xlsx", L),
        file_name="workers-template.xlsx",
    )
    c2.download_button(
        tr("workers.template") + " (CSV)",
        lambda: template_bytes(WORKER_SCHEMA, "csv", L),
        file_name="workers-template.csv",
    )
    upload = st.file_uploader(tr("workers.import_file"), type=["csv", "xlsx", "txt"], key="worker_upload")
    if upload is not None and (data := accepted_upload(upload, TABLE_KINDS)) is not None:
        with Session(resources.engine()) as session:
            preview = preview_worker_import(session, viewer, data, upload.name)
        st.markdown(
            tr(
                "workers.preview",
                read=preview.rows_read,
                new=len(preview.new),
                changed=len(preview.changed),
                same=preview.unchanged,
            )
        )
        if not preview.ok:
            st.error(tr("workers.errors", n=len(preview.errors)))
            errors = preview.errors_frame(L).rename(
                columns={
                    "row": tr("workers.err_row"),
                    "column": tr("workers.err_column"),
                    "value": tr("workers.err_value"),
                    "message": tr("workers.err_message"),
                }
            )
            st.dataframe(errors, hide_index=True, placeholder="")
        else:
            if len(preview.new):
                st.dataframe(
                    preview.new[["employee_no", "name", "grid_code"]].rename(
                        columns={
                            "employee_no": tr("col.employee_no"),
                            "name": tr("col.name"),
                            "grid_code": tr("col.grid"),
                        }
                    ),
                    hide_index=True,
                    placeholder="",
                )
            if st.button(
                tr("workers.commit"), type="primary", disabled=not (len(preview.new) or len(preview.changed))
            ):
                with resources.unit_of_work() as session:
                    # Re-check against the database as it is now, inside the writing transaction.
                    fresh = preview_worker_import(session, viewer, data, upload.name)
                    added, updated = commit_worker_import(session, viewer, fresh)
                st.success(tr("workers.committed", new=added, changed=updated))
