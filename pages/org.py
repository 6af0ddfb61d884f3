"""Admin: the org tree (district → subdistrict → community → grid)."""

import altair as alt
import streamlit as st
from sqlmodel import Session

from core.charts import COUNT_AXIS
from core.i18n import pick
from core.models import OrgLevel
from core.org import units_frame
from ui import resources
from ui.cells import table_height
from ui.guard import require
from ui.state import lang, tr

viewer = require(__file__)
L = lang()

with Session(resources.engine()) as session:
    units = units_frame(session, viewer)

st.title(tr("org.title"))
st.caption(tr("org.caption"))
if units.empty:
    st.info(tr("home.empty"))
    st.stop()

units["name"] = [pick(L, zh, en) for zh, en in zip(units["name_zh"], units["name_en"], strict=True)]
units["parent"] = [pick(L, zh, en) for zh, en in zip(units["parent_zh"], units["parent_en"], strict=True)]
n = units["level"].value_counts()
st.markdown(tr("org.counts", sub=n.get("subdistrict", 0), comm=n.get("community", 0), grid=n.get("grid", 0)))

tree_tab, grid_tab = st.tabs([tr("org.tree"), tr("org.grids")])
with tree_tab:
    grids = units[units["level"] == OrgLevel.GRID.value]
    per_comm = grids.groupby("parent_id").agg(grids=("id", "size"), households=("households", "sum"))
    for sub in units[units["level"] == OrgLevel.SUBDISTRICT.value].itertuples():
        comms = units[units["parent_id"] == sub.id]
        with st.expander(f"{sub.name} · {sub.code}", expanded=False):
            table = comms[["id", "code", "name"]].join(per_comm, on="id").drop(columns="id").fillna(0)
            st.dataframe(
                table.rename(
                    columns={
                        "code": tr("col.code"),
                        "name": tr("col.community"),
                        "grids": tr("col.grid"),
                        "households": tr("col.households"),
                    }
                ),
                hide_index=True,
                placeholder="",
            )
    comm_frame = units[units["level"] == OrgLevel.COMMUNITY.value][["id", "name", "parent"]].join(
        per_comm, on="id"
    )
    st.altair_chart(
        alt.Chart(comm_frame)
        .mark_bar()
        .encode(
            x=alt.X("grids:Q", title=tr("col.grid"), axis=COUNT_AXIS),
            y=alt.Y("name:N", sort="-x", title=None, axis=alt.Axis(labelLimit=220)),
            color=alt.Color("parent:N", title=tr("col.subdistrict"), legend=alt.Legend(orient="bottom")),
            tooltip=["name:N", "parent:N", "grids:Q", "households:Q"],
        )
        .properties(height=alt.Step(18)),
        width="stretch",
    )
with grid_tab:
    grids = units[units["level"] == OrgLevel.GRID.value]
    st.dataframe(
        grids[["code", "name", "parent", "households", "lat", "lon"]].rename(
            columns={
                "code": tr("col.code"),
                "name": tr("col.grid"),
                "parent": tr("col.community"),
                "households": tr("col.households"),
                "lat": tr("col.lat"),
                "lon": tr("col.lon"),
            }
        ),
        hide_index=True,
        height=table_height(len(grids)),
        placeholder="",
    )
