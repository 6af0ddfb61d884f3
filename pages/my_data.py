"""Worker (phone first): 我的数据 — everything Gridwise holds about me, a download of all of it (audited), a
correction request to my manager, and the answers."""

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.i18n import t as catalog_text
from core.org import mask_phone
from core.rights import (
    CORRECTION_FIELDS,
    accepted_versions,
    corrections,
    my_data,
    my_data_file,
    my_data_names,
    record_my_data_download,
    request_correction,
)
from evaluation.scoring.store import active_scheme
from ui import resources
from ui.dispatch.common import preset_names
from ui.errors import refusals
from ui.guard import require
from ui.my_data_view import Reader
from ui.state import lang, tr

viewer = require(__file__)

st.title(tr("rights.my.title"))
st.caption(tr("rights.my.caption"))
if viewer.worker_id is None:
    st.warning(tr("rights.err.no_worker"))
    st.stop()

with Session(resources.engine()) as session:
    data = my_data(session, viewer)
    mine = corrections(session, viewer)
    versions = accepted_versions(session, viewer)
    names = my_data_names(session, data)
    scheme, _row = active_scheme(session)


def _label(table: str) -> str:
    key = f"rights.table.{table}"
    text = catalog_text(key, lang())
    return table if text == key else text


me = data["tables"]["worker"][0]
st.subheader(tr("rights.my.profile"))
st.markdown(
    "\n".join(
        f"- **{tr(f'rights.my.{k}')}**: {v}"
        for k, v in (
            ("name", me.get("name")),
            ("employee_no", me.get("employee_no")),
            ("status", tr(f"status.{me.get('status')}")),
            ("hire_date", me.get("hire_date") or "—"),
            ("phone", mask_phone(me.get("phone"))),
        )
    )
)


def _downloaded() -> None:
    with resources.unit_of_work() as s:
        record_my_data_download(s, viewer, data)


# The file is made when the button is clicked (Streamlit calls ``data`` then, from what this view read), not on
# every view: a worker's whole history as JSON is most of the page's cost once the years add up (issue #21).
st.download_button(
    tr("rights.my.download"),
    data=lambda: my_data_file(data),
    file_name=f"gridwise-my-data-{me.get('employee_no')}.json",
    mime="application/json",
    type="primary",
    width="stretch",
    on_click=_downloaded,
    help=tr("rights.my.download_help"),
    key="my_data_download",
)

st.subheader(tr("rights.my.held"))
st.caption(tr("rights.my.internal"))
reader = Reader(lang(), names, scheme, preset_names())
own = {viewer.worker_id, viewer.user_id}
for table, rows in data["tables"].items():
    if table == "worker":
        continue
    with st.expander(f"{_label(table)} · {tr('rights.my.rows', n=len(rows))}"):
        st.dataframe(reader.frame(table, rows, own), hide_index=True, width="stretch", placeholder="")

st.subheader(tr("rights.my.correct"))
with st.form("correction", clear_on_submit=True):
    field = st.selectbox(
        tr("rights.my.field"),
        CORRECTION_FIELDS,
        format_func=lambda f: tr(f"rights.field.{f}"),
        key="corr_field",
    )
    message = st.text_area(tr("rights.my.message"), max_chars=1000, key="corr_message")
    sent = st.form_submit_button(tr("rights.my.submit"), width="stretch")
if sent:
    with refusals():
        with resources.unit_of_work() as session:
            request_correction(session, viewer, field=field, message=message)
        st.success(tr("rights.my.sent"))
        with Session(resources.engine()) as session:
            mine = corrections(session, viewer)

st.subheader(tr("rights.my.requests"))
if mine.empty:
    st.caption(tr("rights.my.no_requests"))
for row in mine.itertuples():
    with st.container(border=True):
        st.markdown(
            f"**{tr(f'rights.field.{row.field}')}** · {tr(f'rights.status.{row.status}')} · "
            f"{pd.Timestamp(row.created_at):%Y-%m-%d %H:%M}"
        )
        st.text(row.message)
        if row.answer_note:
            st.info(tr("rights.answer", note=row.answer_note))

if not versions.empty:
    st.caption(tr("rights.my.notice", versions=", ".join(versions["version"])))
