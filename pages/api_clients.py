"""Admin: the systems allowed to call the JSON API — register (key shown once), allowed operations,
rotate a key, revoke a client."""

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.api_clients import OPERATIONS, clients_frame, create_client, revoke, rotate_key, update_operations
from core.i18n import pick
from core.models import OrgLevel
from core.org import units_frame
from ui import resources
from ui.cells import table_height
from ui.errors import refusals
from ui.guard import require
from ui.options import distinct_labels
from ui.state import lang, tr

viewer = require(__file__)
L = lang()

st.title(tr("api.title"))
st.caption(tr("api.caption"))
with Session(resources.engine()) as session:
    clients = clients_frame(session, viewer)
    units = units_frame(session, viewer)
scopes = units[units["level"].isin([OrgLevel.SUBDISTRICT.value, OrgLevel.COMMUNITY.value])]
scope_ids = [None, *scopes["id"].tolist()]
OP_OF = {tr(f"api.op.{o}"): o for o in OPERATIONS}  # label → operation (labels are the options)
scope_name = distinct_labels(  # two communities may share a name
    {None: tr("home.scope_district"), **{r.id: pick(L, r.name_zh, r.name_en) for r in scopes.itertuples()}}
)


def _ops(value: str) -> str:
    return (
        "、".join(tr(f"api.op.{o}") for o in value.split(",") if o)
        if L == "zh"
        else ", ".join(tr(f"api.op.{o}") for o in value.split(",") if o)
    )


def _show_key(key: str) -> None:
    st.warning(tr("api.key_once"))
    st.code(key, language=None)


if clients.empty:
    st.info(tr("api.none"))
else:
    st.dataframe(
        pd.DataFrame(
            {
                tr("api.name"): clients["name"],
                tr("api.scope"): clients[f"scope_{L}"].fillna(tr("home.scope_district")),
                tr("api.operations"): clients["operations"].map(_ops),
                tr("api.key_prefix"): clients["key_prefix"] + ".…",
                tr("api.active"): clients["is_active"],
                tr("api.created"): clients["created_at"],
                tr("api.rotated"): clients["rotated_at"],
                tr("api.revoked"): clients["revoked_at"],
            }
        ),
        hide_index=True,
        width="stretch",
        height=table_height(len(clients)),
        placeholder="",
    )

new_col, manage_col = st.columns(2)
with new_col, st.form("new_api_client", clear_on_submit=True):
    st.subheader(tr("api.new"))
    name = st.text_input(tr("api.name"), help=tr("api.name_help"))
    scope = st.selectbox(tr("api.scope"), scope_ids, format_func=scope_name.get)
    ops = [
        OP_OF[label]
        for label in st.multiselect(tr("api.operations"), list(OP_OF), placeholder=tr("api.choose_ops"))
    ]
    if st.form_submit_button(tr("api.register"), type="primary"):
        with refusals():
            with resources.unit_of_work() as session:
                _, key = create_client(session, viewer, name=name, scope_unit_id=scope, operations=ops)
            st.success(tr("api.registered", name=name.strip()))
            _show_key(key)

with manage_col:
    st.subheader(tr("api.manage"))
    active = clients[clients["is_active"].astype(bool)] if not clients.empty else clients
    picked = st.selectbox(tr("api.pick"), [None, *active["name"].tolist()], format_func=lambda v: v or "—")
    if picked is not None:
        current = active.set_index("name").at[picked, "operations"].split(",")
        with st.form("edit_api_client"):
            labels = st.multiselect(
                tr("api.operations"),
                list(OP_OF),
                default=[tr(f"api.op.{o}") for o in current if o in OPERATIONS],
                placeholder=tr("api.choose_ops"),
            )
            new_ops = [OP_OF[label] for label in labels]
            if st.form_submit_button(tr("common.save")):
                with refusals():
                    with resources.unit_of_work() as session:
                        update_operations(session, viewer, picked, new_ops)
                    st.success(tr("api.saved", name=picked))
        rotate_col, revoke_col = st.columns(2)
        if rotate_col.button(tr("api.rotate"), width="stretch"):
            with resources.unit_of_work() as session:
                key = rotate_key(session, viewer, picked)
            st.success(tr("api.rotated_done", name=picked))
            _show_key(key)
        sure = revoke_col.checkbox(tr("api.revoke_sure"), key="api_revoke_sure")
        if revoke_col.button(tr("api.revoke"), disabled=not sure, type="primary", width="stretch"):
            with resources.unit_of_work() as session:
                revoke(session, viewer, picked)
            st.success(tr("api.revoked_done", name=picked))
