"""Everyone: the in-app inbox — session reminders and changes, quiz deadlines, expiring certificates,
attendance warnings, excuse requests, and overdue events (催办 to the assignee; 督办 also to the community
manager)."""

from urllib.parse import parse_qsl

import streamlit as st
from sqlmodel import Session

from core.i18n import pick
from core.inbox import inbox, mark_read, unread_count
from ui import resources
from ui.guard import require
from ui.state import lang, tr

viewer = require(__file__)
L = lang()
ICONS = {
    "remind24": ":material/event:",
    "remind1": ":material/alarm:",
    "session_changed": ":material/update:",
    "session_cancelled": ":material/event_busy:",
    "quiz_due": ":material/quiz:",
    "cert_expiry": ":material/workspace_premium:",
    "attendance_warning": ":material/warning:",
    "excuse_request": ":material/front_hand:",
    "field_urge": ":material/alarm_on:",
    "field_supervise": ":material/gavel:",
}

with Session(resources.engine()) as session:
    unread = unread_count(session, viewer)
st.title(tr("courses.inbox.title"))
left, right = st.columns([3, 2])
left.caption(tr("courses.inbox.unread", n=unread))
left.page_link("pages/notify_prefs.py", label=tr("notify.prefs.link"), icon=":material/notifications:")
only_unread = right.toggle(tr("courses.inbox.only_unread"), value=False)
if unread and st.button(tr("courses.inbox.mark_all"), icon=":material/done_all:"):
    with resources.unit_of_work() as session:
        mark_read(session, viewer)
    st.rerun()

with Session(resources.engine()) as session:
    notes = inbox(session, viewer, unread_only=only_unread, limit=100)
if notes.empty:
    st.info(tr("courses.inbox.empty"))
for n in notes.itertuples():
    with st.container(border=True):
        title = pick(L, n.title_zh, n.title_en)
        new = n.read_at is None or n.read_at != n.read_at
        st.markdown(f"{':blue[:material/fiber_manual_record:] ' if new else ''}**{title}**")
        body = pick(L, n.body_zh, n.body_en)
        if body:
            st.caption(body)
        c1, c2 = st.columns([2, 1])
        c1.caption(f"{n.created_at:%Y-%m-%d %H:%M} · {tr('courses.inbox.kind.' + n.kind)}")
        if n.link:  # "pages/my_tasks.py?task=7": the page, and the query it opens with
            path, _, query = n.link.partition("?")
            c2.page_link(
                path,
                label=tr("courses.inbox.open"),
                icon=ICONS.get(n.kind, ":material/open_in_new:"),
                query_params=dict(parse_qsl(query)),
            )
        if new and c2.button(tr("courses.inbox.mark_one"), key=f"read_{n.id}"):
            with resources.unit_of_work() as session:
                mark_read(session, viewer, [int(n.id)])
            st.rerun()
