"""Worker (phone first): 我的数据 — everything Gridwise holds about me, a download of all of it (audited), a
correction request to my manager, and the answers.

A view reads each table's row count and only the rows of the tables the worker has opened (an expander with
state, on_change="rerun"): a worker's history grows every month, and the page's cost must not grow with it
(issue #21). The download reads everything when clicked."""

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
    my_data_counts,
    my_data_file,
    my_data_names,
    my_data_rows,
    record_my_data_download,
    request_correction,
)
from evaluation.scoring.store import active_scheme
from ui import resources
from ui.dispatch.common import preset_names
from ui.errors import refusals
from ui.guard import require
from ui.my_data_view import Reader
from ui.state import lang, lang_key, tr

viewer = require(__file__)

st.title(tr("rights.my.title"))
st.caption(tr("rights.my.caption"))
if viewer.worker_id is None:
    st.warning(tr("rights.err.no_worker"))
    st.stop()


def _open_key(table: str) -> str:
    return f"my_data_open_{table}"


with Session(resources.engine()) as session:
    counts = my_data_counts(session, viewer)
    me = my_data_rows(session, viewer, "worker")[0]
    opened = {t: my_data_rows(session, viewer, t) for t in counts if st.session_state.get(_open_key(t))}
    mine = corrections(session, viewer)
    versions = accepted_versions(session, viewer)
    names = my_data_names(session, {"tables": opened})
    scheme, _row = active_scheme(session)


def _label(table: str) -> str:
    key = f"rights.table.{table}"
    text = catalog_text(key, lang())
    return table if text == key else text


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
        record_my_data_download(s, viewer, my_data_counts(s, viewer))


engine = resources.engine()


def _everything() -> bytes:
    with Session(engine) as s:
        return my_data_file(my_data(s, viewer))


# The file is made when the button is clicked (Streamlit calls ``data`` then), not on every view: a worker's
# whole history as JSON is most of the page's cost once the years add up (issue #21).
st.download_button(
    tr("rights.my.download"),
    data=_everything,
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
for table, n in counts.items():
    if table == "worker":
        continue
    box = st.expander(
        f"{_label(table)} · {tr('rights.my.rows', n=n)}", key=_open_key(table), on_change="rerun"
    )
    if box.open and table in opened:
        box.dataframe(
            reader.frame(table, opened[table], own), hide_index=True, width="stretch", placeholder=""
        )

st.subheader(tr("rights.my.correct"))
with st.form("correction", clear_on_submit=True):
    field = st.selectbox(
        tr("rights.my.field"),
        CORRECTION_FIELDS,
        # labelled now, in this run's language (a function reading the language later, outside the run, would
        # label in the default one)
        format_func={f: tr(f"rights.field.{f}") for f in CORRECTION_FIELDS}.__getitem__,
        key=lang_key("corr_field"),
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
