"""Worker: check in to a session — by the host's six-digit code, or by the session's link / QR code."""

import streamlit as st
from sqlmodel import Session

from core import clock
from core.i18n import pick
from courses.attendance import check_in
from courses.learner import open_for_checkin
from ui import resources
from ui.errors import refusals
from ui.guard import require
from ui.options import distinct_labels
from ui.state import lang, tr

viewer = require(__file__)
L = lang()

st.title(tr("courses.checkin.title"))


def _done(result) -> None:  # noqa: ANN001
    status = tr(f"courses.status.{result.status}")
    if result.already:
        st.info(tr("courses.checkin.already", at=f"{result.checked_in_at:%H:%M}", status=status))
    else:
        st.success(
            tr("courses.checkin.ok", at=f"{result.checked_in_at:%H:%M}", status=status),
            icon=":material/check_circle:",
        )


params = st.query_params
token = params.get("token")
session_param = params.get("session")
if token and session_param and session_param.isdigit():
    # Opened from the QR code / link: check in straight away (idempotent on reloads).
    with refusals():
        _done(
            resources.unit_of_work_retrying(
                lambda session: check_in(session, viewer, session_id=int(session_param), token=token)
            )
        )
    st.page_link("pages/my_learning.py", label=tr("menu.my_learning"), icon=":material/school:")
    st.stop()

with Session(resources.engine()) as session:
    open_now = open_for_checkin(session, viewer, now=clock.now())
if open_now.empty:
    st.info(tr("courses.checkin.none_open"))
    st.page_link("pages/my_learning.py", label=tr("menu.my_learning"), icon=":material/school:")
    st.stop()

# Say so before the form: a session already checked in to is not offered again.
done = open_now[open_now["checked_in_at"].notna()]
for r in done.itertuples():
    st.info(
        f"{pick(L, r.title_zh, r.title_en)} · "
        + tr(
            "courses.checkin.already", at=f"{r.checked_in_at:%H:%M}", status=tr(f"courses.status.{r.status}")
        ),
        icon=":material/check_circle:",
    )
open_now = open_now[open_now["checked_in_at"].isna()]
if open_now.empty:
    st.page_link("pages/my_learning.py", label=tr("menu.my_learning"), icon=":material/school:")
    st.stop()
ids = open_now["id"].tolist()
labels = distinct_labels(
    {
        r.id: f"{pick(L, r.title_zh, r.title_en)} · {r.start_at:%H:%M}–{r.end_at:%H:%M}"
        for r in open_now.itertuples()
    }
)
preselect = (
    int(session_param) if session_param and session_param.isdigit() and int(session_param) in ids else ids[0]
)


@st.fragment
def code_form() -> None:
    """The code form. A fragment: 签到 reruns only the form and its answer, not the guard, the menu and the
    open-sessions read above (it runs only when the worker submits; nothing reruns on its own)."""
    with st.form("checkin"):
        chosen = st.selectbox(
            tr("courses.checkin.session"), ids, index=ids.index(preselect), format_func=labels.get
        )
        code = st.text_input(
            tr("courses.checkin.code"),
            max_chars=6,
            placeholder="000000",
            help=tr("courses.checkin.code_help"),
        )
        submitted = st.form_submit_button(tr("courses.checkin.submit"), type="primary", width="stretch")
    if submitted:
        with refusals():
            _done(
                resources.unit_of_work_retrying(
                    lambda session: check_in(session, viewer, session_id=int(chosen), code=code)
                )
            )


code_form()
