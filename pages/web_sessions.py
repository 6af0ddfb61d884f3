"""Admin: who is signed in now (user, device, last activity) and ending sessions (core.web_sessions)."""

import pandas as pd
import streamlit as st

from core.settings import get_settings
from core.web_sessions import active_sessions, device, revoke_sessions
from ui import resources
from ui.audit_reads import record_view
from ui.confirm import arm, armed, confirmed
from ui.guard import require
from ui.options import distinct_labels
from ui.state import SESSION_KEY, tr

viewer = require(__file__)

st.title(tr("sessions.title"))
settings = get_settings()
st.caption(tr("sessions.caption", idle=settings.session_idle_minutes, hours=settings.session_max_hours))

if (ended := st.session_state.pop("_sessions_ended", None)) is not None:
    st.success(tr("sessions.ended", n=ended), icon=":material/check:")

with resources.unit_of_work() as session:
    frame = active_sessions(session, viewer)
record_view(viewer, "web_sessions", filters={}, rows=len(frame))

if frame.empty:
    st.info(tr("sessions.empty"))
    st.stop()

own = st.session_state.get(SESSION_KEY)
shown = pd.DataFrame(
    {
        tr("sessions.this_browser"): frame["id"] == own,
        tr("sessions.user"): frame["username"],
        tr("sessions.name"): frame["display_name"],
        tr("sessions.role"): [tr(f"role.{r}") for r in frame["role"]],
        tr("sessions.device"): [device(ua) for ua in frame["user_agent"]],
        tr("sessions.last_seen"): frame["last_seen_at"].dt.strftime("%m-%d %H:%M"),
        tr("sessions.signed_in"): frame["created_at"].dt.strftime("%m-%d %H:%M"),
        tr("sessions.expires"): frame["expires_at"].dt.strftime("%m-%d %H:%M"),
        tr("sessions.via"): [tr(f"sessions.via.{v}") for v in frame["via"]],
    }
)
st.caption(tr("common.rows", n=len(shown)))
st.dataframe(shown, hide_index=True, width="stretch", placeholder="")
labels = distinct_labels(  # one account may have two browsers alike, last seen the same minute
    {
        int(r.id): f"{r.username} · {r.display_name} · {device(r.user_agent)} · {r.last_seen_at:%m-%d %H:%M}"
        for r in frame.itertuples()
    }
)
ids = st.multiselect(
    tr("sessions.pick"),
    list(labels),
    format_func=labels.__getitem__,
    key="sessions_pick",
    placeholder=tr("sessions.select_hint"),
)
if own in ids:
    st.warning(tr("sessions.own_warning"), icon=":material/warning:")
if st.button(
    tr("sessions.end_selected", n=len(ids)), type="primary", disabled=not ids, icon=":material/logout:"
):
    arm("end_sessions", list(ids))  # asks first: those browsers are signed out at once
chosen = confirmed(
    "end_sessions",
    tr("sessions.end_sure", n=len(armed("end_sessions", ids))),
    yes=tr("sessions.end_yes"),
)
if chosen is not None:
    with resources.unit_of_work() as session:
        n = revoke_sessions(session, viewer, chosen)
    st.session_state["_sessions_ended"] = n
    st.session_state.pop("sessions_pick", None)  # the ended sessions leave the options
    st.rerun()
