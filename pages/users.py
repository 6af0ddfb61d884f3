"""Accounts, roles and scopes. The system administrator keeps workers' and managers' accounts; the security
administrator roles, administrators' accounts and unlocks (core.users says who does what)."""

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.account_lifecycle import unused_accounts
from core.i18n import pick
from core.models import ADMIN_ROLES, OrgLevel, Role
from core.org import units_frame
from core.settings import get_settings
from core.users import (
    api_accounts_count,
    create_user,
    reset_password,
    reset_second_factor,
    set_extra_duties,
    unlock_user,
    update_user,
    users_frame,
)
from ui import resources
from ui.audit_reads import record_view
from ui.cells import table_height
from ui.errors import refusals
from ui.guard import require
from ui.options import distinct_labels
from ui.state import lang, tr

viewer = require(__file__)


def _when(times: pd.Series) -> pd.Series:
    """Date and time to the minute; blank (not "None") where there is none."""
    return pd.to_datetime(times).dt.strftime("%Y-%m-%d %H:%M").fillna("")


L = lang()
ROLES = [r.value for r in Role]
SECURITY = viewer.holds(Role.SECADMIN)
# The roles of the accounts this viewer opens: administrators' for the security administrator, else
# workers' and managers'.
NEW_ROLES = [r.value for r in Role if (r in ADMIN_ROLES) == SECURITY]

st.title(tr("users.title"))
st.caption(tr("users.duties_help"))
with Session(resources.engine()) as session:
    users = users_frame(session, viewer)  # people only: API clients' service accounts are on their own page
    api_accounts = api_accounts_count(session, viewer)
    units = units_frame(session, viewer)
scopes = units[units["level"].isin([OrgLevel.SUBDISTRICT.value, OrgLevel.COMMUNITY.value])]
scope_ids = [None, *scopes["id"].tolist()]
scope_name = distinct_labels(  # two communities may share a name
    {None: tr("home.scope_district"), **{r.id: pick(L, r.name_zh, r.name_en) for r in scopes.itertuples()}}
)

role_filter = st.segmented_control(
    tr("users.filter_role"),
    ROLES,
    format_func=lambda r: tr(f"role.{r}"),
    selection_mode="multi",
    default=[*(r.value for r in ADMIN_ROLES), Role.MANAGER.value],
)
shown = users[users["role"].isin(role_filter or ROLES)]
record_view(viewer, "users", filters={"roles": sorted(role_filter or ROLES)}, rows=len(shown))
st.caption(
    tr("common.rows", n=len(shown)) + (f" · {tr('users.api_hidden', n=api_accounts)}" if api_accounts else "")
)
st.dataframe(
    pd.DataFrame(
        {
            tr("users.username"): shown["username"],
            tr("users.display_name"): shown["display_name"],
            tr("users.role"): shown["role"].map(lambda r: tr(f"role.{r}")),
            tr("users.scope"): shown[f"scope_{L}"].fillna(tr("home.scope_district")),
            tr("col.employee_no"): shown["employee_no"].fillna(""),
            tr("users.active"): shown["is_active"],
            tr("users.last_login"): _when(shown["last_login_at"]),
            tr("users.locked_until"): _when(shown["locked_until"]),
        }
    ),
    hide_index=True,
    height=table_height(len(shown), 520),
    placeholder="",
)

with Session(resources.engine()) as session:
    unused = unused_accounts(session, viewer)
if len(unused):
    with st.expander(tr("users.unused", n=len(unused), days=get_settings().account_unused_days)):
        st.caption(tr("users.unused_help"))
        st.dataframe(
            pd.DataFrame(
                {
                    tr("users.username"): unused["username"],
                    tr("users.display_name"): unused["display_name"],
                    tr("users.role"): unused["role"].map(lambda r: tr(f"role.{r}")),
                    tr("users.last_login"): _when(unused["last_login_at"]),
                }
            ),
            hide_index=True,
            placeholder="",
        )

new_col, edit_col = st.columns(2)
with new_col, st.form("new_user", clear_on_submit=True):
    st.subheader(tr("users.new"))
    username = st.text_input(tr("users.username"))
    display_name = st.text_input(tr("users.display_name"))
    role = st.selectbox(
        tr("users.role"),
        NEW_ROLES,
        format_func=lambda r: tr(f"role.{r}"),
        index=len(NEW_ROLES) - 1 if not SECURITY else 0,
    )
    scope = st.selectbox(tr("users.scope"), scope_ids, format_func=scope_name.get)
    employee_no = st.text_input(tr("users.worker"))
    password = st.text_input(tr("users.password"), type="password")
    if st.form_submit_button(tr("users.create"), type="primary"):
        with refusals():
            with resources.unit_of_work() as session:
                create_user(
                    session,
                    viewer,
                    username=username,
                    display_name=display_name,
                    role=Role(role),
                    password=password,
                    scope_unit_id=scope if role == Role.MANAGER.value else None,
                    employee_no=employee_no,
                )
            st.success(tr("users.created", username=username))

with edit_col:
    st.subheader(tr("users.edit"))
    # An account as "username · display name · role": the display name is what was typed for the account
    # (a person's name, or an office such as 系统管理员, kept as typed); the role is the catalog's, so an
    # English reader still reads what each account is.
    by_id = users.set_index("id")
    user_id = st.selectbox(
        tr("users.pick"),
        [None, *users["id"].tolist()],
        format_func=lambda v: (
            "—"
            if v is None
            else " · ".join(
                (by_id.at[v, "username"], by_id.at[v, "display_name"], tr(f"role.{by_id.at[v, 'role']}"))
            )
        ),
    )
    if user_id is not None:
        row = by_id.loc[user_id]
        with st.form("edit_user"):
            name = st.text_input(tr("users.display_name"), value=row["display_name"])
            new_role = st.selectbox(
                tr("users.role"),
                ROLES,
                index=ROLES.index(row["role"]),
                format_func=lambda r: tr(f"role.{r}"),
                disabled=not SECURITY,  # roles are the security administrator's to change
            )
            current_scope = next((i for i in scope_ids[1:] if scope_name[i] == row[f"scope_{L}"]), None)
            new_scope = st.selectbox(
                tr("users.scope"), scope_ids, index=scope_ids.index(current_scope), format_func=scope_name.get
            )
            active = st.checkbox(tr("users.active"), value=bool(row["is_active"]))
            if st.form_submit_button(tr("common.save"), type="primary"):
                with refusals():
                    with resources.unit_of_work() as session:
                        update_user(
                            session,
                            viewer,
                            user_id,
                            display_name=name,
                            role=Role(new_role),
                            scope_unit_id=new_scope,
                            is_active=active,
                        )
                    st.success(tr("common.saved"))
        if SECURITY and get_settings().allow_combined_admin_duties and row["role"] in ADMIN_ROLES:
            with st.form("duties"):
                extra = st.multiselect(
                    tr("users.extra_duties"),
                    [r.value for r in ADMIN_ROLES if r.value != row["role"]],
                    default=[d for d in str(row["extra_duties"] or "").split(",") if d],
                    format_func=lambda r: tr(f"role.{r}"),
                    placeholder=tr("common.choose_many"),
                )
                if st.form_submit_button(tr("common.save")):
                    with refusals():
                        with resources.unit_of_work() as session:
                            set_extra_duties(session, viewer, user_id, [Role(r) for r in extra])
                        st.success(tr("users.duties_saved", username=row["username"]))
        if SECURITY and (row["failed_logins"] or pd.notna(row["locked_until"])):
            if st.button(tr("users.unlock"), icon=":material/lock_open:"):
                with resources.unit_of_work() as session:
                    unlock_user(session, viewer, user_id)
                st.success(tr("users.unlocked", username=row["username"]))
        if SECURITY and st.button(tr("users.reset_second_factor"), icon=":material/phonelink_erase:"):
            with refusals():
                with resources.unit_of_work() as session:
                    reset_second_factor(session, viewer, user_id)
                st.success(tr("users.second_factor_reset_done", username=row["username"]))
        if st.button(tr("users.reset_password"), icon=":material/key:"):
            with refusals():
                with resources.unit_of_work() as session:
                    new_password = reset_password(session, viewer, user_id)
                st.warning(tr("users.reset_done", username=row["username"], password=new_password))
