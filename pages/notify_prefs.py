"""Everyone: how reminders reach me outside Gridwise — language, quiet hours, email/mobile, channels."""

from datetime import time

import streamlit as st
from sqlmodel import Session

from core.notify.prefs import preference, save_preference, worker_phone
from ui import resources
from ui.errors import refusals
from ui.guard import require
from ui.state import lang, tr

viewer = require(__file__)
L = lang()

st.title(tr("notify.prefs.title"))
st.caption(tr("notify.prefs.intro"))
with Session(resources.engine()) as session:
    pref = preference(session, viewer)
    phone = worker_phone(session, viewer)


def _t(value: str, default: time) -> time:
    if not value:
        return default
    h, m = value.split(":")
    return time(int(h), int(m))


with st.form("notify_prefs"):
    language = st.radio(
        tr("notify.prefs.language"),
        ["zh", "en"],
        index=0 if pref.language == "zh" else 1,
        format_func=lambda x: "中文" if x == "zh" else "English",
        horizontal=True,
    )
    quiet = st.toggle(tr("notify.prefs.quiet"), value=bool(pref.quiet_start))
    q1, q2 = st.columns(2)
    start = q1.time_input(tr("notify.prefs.quiet_start"), _t(pref.quiet_start, time(22, 0)), step=1800)
    end = q2.time_input(tr("notify.prefs.quiet_end"), _t(pref.quiet_end, time(7, 0)), step=1800)
    st.caption(tr("notify.prefs.quiet_help"))
    email = st.text_input(tr("notify.prefs.email"), value=pref.email, max_chars=200)
    mobile = st.text_input(
        tr("notify.prefs.mobile"),
        value=pref.mobile,
        max_chars=20,
        placeholder=phone or "",
        help=tr("notify.prefs.mobile_help"),
    )
    use_email = st.checkbox(tr("notify.prefs.use_email"), value=pref.use_email)
    use_sms = st.checkbox(tr("notify.prefs.use_sms"), value=pref.use_sms)
    use_group = st.checkbox(tr("notify.prefs.use_group"), value=pref.use_group)
    if st.form_submit_button(tr("notify.prefs.save"), type="primary", width="stretch"):
        with refusals() as refused:
            with resources.unit_of_work() as session:
                save_preference(
                    session,
                    viewer,
                    language=language,
                    quiet_start=f"{start:%H:%M}" if quiet else "",
                    quiet_end=f"{end:%H:%M}" if quiet else "",
                    email=email,
                    mobile=mobile,
                    use_email=use_email,
                    use_sms=use_sms,
                    use_group=use_group,
                )
        if not refused:
            st.success(tr("notify.prefs.saved"))
