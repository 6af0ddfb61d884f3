"""Admin: the audit trail, filtered by period and action, exportable."""

from datetime import datetime, time, timedelta

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core import clock
from core.audit import ACTION_AREAS, audit_actions, audit_frame
from core.audit_text import action_text, entity_text, user_text, values_text
from core.i18n import pick, t
from courses.training.completion import rules
from ui import resources
from ui.audit_reads import csv_download, record_view
from ui.cells import table_height
from ui.guard import require
from ui.state import lang, lang_key, tr

viewer = require(__file__)
L = lang()

st.title(tr("audit.title"))
st.caption(tr("audit.caption"))
today = clock.now().date()
c1, c2, c3, c4 = st.columns(4)
start = c1.date_input(tr("audit.from"), value=today - timedelta(days=30))
end = c2.date_input(tr("audit.to"), value=today)
area = c3.selectbox(
    tr("audit.area"), ["", *ACTION_AREAS], format_func=lambda a: t(f"audit.area.{a or 'all'}", L)
)
since, until = datetime.combine(start, time.min), datetime.combine(end + timedelta(days=1), time.min)
with Session(resources.engine()) as session:
    on_record = audit_actions(session, viewer, start=since, end=until)
# The actions recorded in the period (within the area), by their words; the filter keeps the code.
choices = sorted(
    (a for a in on_record if not area or a.startswith(f"{area}.")), key=lambda a: action_text(a, L)
)
action = c4.selectbox(
    tr("audit.action"),
    ["", *choices],
    format_func=lambda a: action_text(a, L) if a else t("audit.action_all", L),
    key=lang_key(f"audit_action_{area}"),
)

with Session(resources.engine()) as session:
    frame = audit_frame(
        session,
        viewer,
        start=since,
        end=until,
        action_prefix=f"{area}." if area else None,
        action=action or None,
    )
    courses = rules(session)  # an entry about a course names it by its code; the reader sees its title
names = {("course", str(r.code)): pick(L, r.title_zh, r.title_en) for r in courses.itertuples()}
filters = {"start": start, "end": end, "action": action or (f"{area}." if area else None)}
record_view(viewer, "audit", filters=filters, rows=len(frame))
if frame.empty:
    st.info(tr("audit.empty"))
else:
    shown = pd.DataFrame(
        {
            tr("audit.at"): frame["at"],
            tr("audit.user"): frame["username"].map(lambda u: user_text(u, L)),
            tr("audit.action_col"): frame["action"].map(lambda a: action_text(a, L)),
            tr("audit.entity"): [
                entity_text(e, i, L, names) for e, i in zip(frame["entity"], frame["entity_id"], strict=True)
            ],
            tr("audit.before"): frame["before"].map(lambda v: values_text(v, L)),
            tr("audit.after"): frame["after"].map(lambda v: values_text(v, L)),
            tr("audit.detail"): frame["detail"].map(lambda v: values_text(v, L)),
        }
    )
    st.caption(tr("common.rows", n=len(shown)))
    st.dataframe(shown, hide_index=True, height=table_height(len(shown), 520), placeholder="")
    csv_download(
        tr("common.download_csv"),
        shown,
        viewer=viewer,
        what="audit",
        filters={"start": start, "end": end},
        file_name=f"audit-{start}-{end}.csv",
    )
