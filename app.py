"""Gridwise entry point: the sign-in page and, once signed in, the home page for each role.

Pages under pages/ are found by Streamlit itself; the automatic sidebar list is hidden
(.streamlit/config.toml) and each role gets its own menu from ui/pages.py.
"""

import altair as alt
import streamlit as st
from sqlmodel import Session

from core.i18n import pick
from core.models import Role
from core.org import headcount, worker_home
from ui import resources
from ui.guard import require
from ui.pages import pages_for
from ui.state import lang, tr

viewer = require(__file__)
L = lang()

with Session(resources.engine()) as session:
    if viewer.role == Role.WORKER:
        home = worker_home(session, viewer) if viewer.worker_id else None
        counts = None
    elif not viewer.is_manager:  # the security and audit administrators: their duties, no worker's data
        home, counts = None, None
    else:
        home = None
        counts = headcount(session, viewer)
        scope_name = tr("home.scope_district")
        if viewer.scope_unit_id is not None:
            from core.models import OrgUnit

            unit = session.get(OrgUnit, viewer.scope_unit_id)
            scope_name = pick(L, unit.name_zh, unit.name_en) if unit else scope_name

st.title(tr("home.welcome", name=viewer.display_name))

if not viewer.is_manager and viewer.role != Role.WORKER:
    st.caption(" · ".join(tr(f"role.{r.value}") for r in sorted(viewer.duties)))
    st.info(tr("users.duties_help"), icon=":material/admin_panel_settings:")
    st.subheader(tr("home.quick_links"))
    for page in pages_for(viewer.duties):
        if page.in_menu and page.path != "app.py":
            st.page_link(page.path, label=tr(page.label), icon=page.icon)
elif viewer.role == Role.WORKER:
    if home is None:
        st.warning(tr("home.no_worker"))
    else:
        c1, c2, c3 = st.columns(3)
        c1.metric(
            tr("home.my_grid"),
            pick(L, home["grid"].name_zh, home["grid"].name_en),
            home["grid"].code,
            delta_color="off",
        )
        c2.metric(
            tr("home.my_community"),
            pick(L, home["community"].name_zh, home["community"].name_en),
            tr("home.colleagues", n=home["community_workers"]),
            delta_color="off",
        )
        c3.metric(
            tr("home.my_subdistrict"), pick(L, home["subdistrict"].name_zh, home["subdistrict"].name_en)
        )
        if home["grid"].households:
            st.caption(f"{tr('home.households')}: {home['grid'].households}")
    st.subheader(tr("home.quick_links"))
    for page in pages_for(viewer.duties):
        if page.in_menu and page.path != "app.py":
            st.page_link(page.path, label=tr(page.label), icon=page.icon)
else:
    st.caption(tr("home.scope", scope=scope_name))
    if counts.empty:
        st.info(tr("home.empty"))
    else:
        total, party = int(counts["workers"].sum()), int(counts["party_members"].sum())
        c1, c2, c3, c4 = st.columns(4)
        c1.metric(tr("home.workers"), total)
        c2.metric(tr("home.party_members"), party)
        c3.metric(tr("home.party_share"), f"{party / total:.1%}" if total else "—")
        c4.metric(tr("home.communities"), counts["community_zh"].nunique())
        frame = counts.assign(
            subdistrict=counts[f"subdistrict_{L}"],
            community=counts[f"community_{L}"],
        )
        chart = (
            alt.Chart(frame)
            .mark_bar()
            .encode(
                y=alt.Y("community:N", sort="-x", title=None, axis=alt.Axis(labelLimit=220)),
                x=alt.X("workers:Q", title=tr("col.workers")),
                color=alt.Color(
                    "subdistrict:N", title=tr("col.subdistrict"), legend=alt.Legend(orient="bottom")
                ),
                tooltip=[
                    alt.Tooltip("subdistrict:N", title=tr("col.subdistrict")),
                    alt.Tooltip("community:N", title=tr("col.community")),
                    alt.Tooltip("workers:Q", title=tr("col.workers")),
                    alt.Tooltip("party_members:Q", title=tr("col.party_members")),
                ],
            )
            # A step height: a fixed height with a title or bottom legend collapses the bars in 1.67.
            .properties(title=tr("home.headcount_chart"), height=alt.Step(22))
        )
        st.altair_chart(chart, width="stretch")
        st.subheader(tr("home.headcount_table"))
        st.dataframe(
            frame[["subdistrict", "community", "workers", "party_members"]].rename(
                columns={
                    "subdistrict": tr("col.subdistrict"),
                    "community": tr("col.community"),
                    "workers": tr("col.workers"),
                    "party_members": tr("col.party_members"),
                }
            ),
            hide_index=True,
            placeholder="",
        )
