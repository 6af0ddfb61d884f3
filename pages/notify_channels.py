"""Admin: notification channels (WeCom / DingTalk / Feishu robots, email, HTTP gateway) — add, send a test,
disable, see the last error — and the delivery log with failure reasons in plain words."""

from datetime import timedelta

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core import clock
from core.i18n import col, pick
from core.models import OrgLevel
from core.notify.channels import (
    KINDS,
    add_channel,
    channels_frame,
    delivery_log,
    last_error_kind,
    reason_text,
    send_test,
    set_enabled,
    update_channel,
)
from core.notify.crypto import key_ready
from core.notify.models import DeliveryState
from core.org import units_frame
from ui import resources
from ui.audit_reads import record_view
from ui.errors import refusals
from ui.guard import require
from ui.options import distinct_labels
from ui.state import lang, tr

viewer = require(__file__)
L = lang()

st.title(tr("notify.channels.title"))
st.caption(tr("notify.channels.intro"))
if flash := st.session_state.pop("notify_flash", None):  # set by the last save, shown after its rerun
    st.success(flash, icon=":material/check_circle:")
with Session(resources.engine()) as session:
    channels = channels_frame(session, viewer)
    units = units_frame(session, viewer)
units = units[units["level"] != OrgLevel.GRID.value]
tab_channels, tab_log = st.tabs([tr("notify.tab.channels"), tr("notify.tab.log")])


def _status(r: pd.Series) -> str:
    if not r.enabled:
        return tr("notify.status.disabled")
    if r.flagged:
        return tr("notify.status.flagged")
    if pd.notna(r.paused_until) and r.paused_until > clock.now():
        return tr("notify.status.paused", until=f"{r.paused_until:%H:%M}")
    # The log's last word: a failure after the last success (given up or still retried) is not 正常.
    if pd.notna(r.last_error_at) and (pd.isna(r.last_sent_at) or r.last_error_at > r.last_sent_at):
        return tr("notify.status.failing", at=f"{r.last_error_at:%m-%d %H:%M}")
    return tr("notify.status.active")


def _when(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.strftime("%Y-%m-%d %H:%M").fillna("")


with tab_channels:
    if channels.empty:
        st.info(tr("notify.channels.empty"))
    else:
        flagged = channels[channels["flagged"] & channels["enabled"]]
        for name in flagged["name"]:
            st.error(tr("notify.channels.flagged_banner", name=name), icon=":material/key_off:")
        owner = channels[col(L, "owner")].fillna(tr("notify.owner.district"))
        st.dataframe(
            pd.DataFrame(
                {
                    tr("notify.col.name"): channels["name"],
                    tr("notify.col.kind"): channels["kind"].map(lambda k: tr(f"notify.kind.{k}")),
                    tr("notify.col.owner"): owner,
                    tr("notify.col.url"): channels["url_hint"],
                    tr("notify.col.status"): channels.apply(_status, axis=1),
                    tr("notify.col.last_sent"): _when(channels["last_sent_at"]),
                    tr("notify.col.last_error"): channels["last_error"].map(
                        lambda e: reason_text(last_error_kind(e), L)
                    ),
                }
            ),
            hide_index=True,
            width="stretch",
            placeholder="",
        )
        pick_name = st.selectbox(tr("notify.channels.pick"), channels["name"].tolist())
        row = channels[channels["name"] == pick_name].iloc[0]
        c1, c2 = st.columns(2)
        if c1.button(tr("notify.channels.test"), icon=":material/send:", type="primary", key="notify_test"):
            with refusals() as refused:
                with resources.unit_of_work() as session:
                    outcome = send_test(session, viewer, int(row.id), lang=L)
            if not refused:
                if outcome.ok:
                    st.success(tr("notify.channels.test_ok", name=pick_name))
                else:
                    st.error(
                        tr(
                            "notify.channels.test_failed",
                            reason=reason_text(outcome.error_kind, L, now=True),
                        )
                    )
        enabled = bool(row.enabled) and not bool(row.flagged)
        label = "notify.channels.disable" if enabled else "notify.channels.enable"
        if c2.button(tr(label), icon=":material/block:" if enabled else ":material/check_circle:"):
            with resources.unit_of_work() as session:
                set_enabled(session, viewer, int(row.id), not enabled)
            st.rerun()
        with st.expander(
            tr("notify.edit.title", name=pick_name), icon=":material/edit:", expanded=bool(row.flagged)
        ):
            with st.form(f"edit_channel_{int(row.id)}"):
                new_name = st.text_input(tr("notify.col.name"), value=pick_name, max_chars=64)
                new_url = st.text_input(tr("notify.edit.url"), help=tr("notify.edit.keep", hint=row.url_hint))
                new_secret = st.text_input(
                    tr("notify.edit.secret"),
                    type="password",
                    help=tr("notify.edit.keep", hint=row.secret_hint or "—"),
                )
                new_keyword = st.text_input(tr("notify.add.keyword"), value=str(row.keyword or ""))
                if st.form_submit_button(tr("notify.edit.submit"), type="primary"):
                    with refusals() as refused:
                        with resources.unit_of_work() as session:
                            update_channel(
                                session,
                                viewer,
                                int(row.id),
                                name=new_name,
                                url=new_url or None,
                                secret=new_secret or None,
                                keyword=new_keyword,
                            )
                    if not refused:
                        st.session_state["notify_flash"] = tr("notify.edit.done", name=new_name)
                        st.rerun()

    with st.expander(tr("notify.add.title"), icon=":material/add:", expanded=channels.empty):
        if not key_ready():  # said before typing, in the words of the person at the desk
            st.warning(tr("notify.add.no_key"), icon=":material/key_off:")
        # Not cleared on submit: a refused channel keeps what was typed (cleared below once it is saved).
        with st.form("add_channel"):
            kind = st.selectbox(tr("notify.col.kind"), KINDS, format_func=lambda k: tr(f"notify.kind.{k}"))
            name = st.text_input(tr("notify.col.name"), max_chars=64, key="notify_add_name")
            url = st.text_input(tr("notify.add.url"), help=tr("notify.add.url_help"), key="notify_add_url")
            secret = st.text_input(
                tr("notify.add.secret"),
                type="password",
                help=tr("notify.add.secret_help"),
                key="notify_add_secret",
            )
            unit_ids = (
                [None, *units["id"].astype(int).tolist()]
                if viewer.scope_unit_id is None
                else units["id"].astype(int).tolist()
            )
            names = distinct_labels({int(r.id): pick(L, r.name_zh, r.name_en) for r in units.itertuples()})
            owner_id = st.selectbox(
                tr("notify.col.owner"),
                unit_ids,
                format_func=lambda u: tr("notify.owner.district") if u is None else names[u],
            )
            keyword = st.text_input(
                tr("notify.add.keyword"), help=tr("notify.add.keyword_help"), key="notify_add_keyword"
            )
            template = st.text_area(
                tr("notify.add.template"),
                help=tr("notify.add.template_help"),
                height=80,
                key="notify_add_template",
            )
            if st.form_submit_button(tr("notify.add.submit"), type="primary"):
                with refusals() as refused:
                    with resources.unit_of_work() as session:
                        add_channel(
                            session,
                            viewer,
                            kind=kind,
                            name=name,
                            url=url,
                            secret=secret or None,
                            owner_unit_id=owner_id,
                            keyword=keyword,
                            template=template,
                        )
                if not refused:
                    st.session_state["notify_flash"] = tr("notify.add.done", name=name)
                    for field in ("name", "url", "secret", "keyword", "template"):
                        del st.session_state[f"notify_add_{field}"]
                    st.rerun()

with tab_log:
    f1, f2, f3 = st.columns(3)
    chosen = f1.selectbox(
        tr("notify.log.channel"),
        [None, *channels["id"].astype(int).tolist()],
        format_func=lambda c: (
            tr("notify.log.all") if c is None else channels.loc[channels["id"] == c, "name"].iloc[0]
        ),
    )
    state = f2.selectbox(
        tr("notify.log.state"),
        [None, *(s.value for s in DeliveryState)],
        format_func=lambda s: tr("notify.log.all") if s is None else tr(f"notify.state.{s}"),
    )
    today = clock.today()
    span = f3.date_input(tr("notify.log.dates"), value=(today - timedelta(days=7), today))
    start, end = span if isinstance(span, tuple) and len(span) == 2 else (today - timedelta(days=7), today)
    with Session(resources.engine()) as session:
        log = delivery_log(
            session,
            viewer,
            channel_id=chosen,
            state=state,
            start=pd.Timestamp(start).to_pydatetime(),
            end=pd.Timestamp(end + timedelta(days=1)).to_pydatetime(),
        )
    filters = {"channel_id": chosen, "state": state, "start": start, "end": end}
    record_view(viewer, "delivery_log", filters=filters, rows=len(log))
    if log.empty:
        st.info(tr("notify.log.empty"))
    else:
        st.caption(tr("notify.log.count", n=len(log)))
        st.dataframe(
            pd.DataFrame(
                {
                    tr("notify.log.created"): log["created_at"],
                    tr("notify.log.channel"): log["channel"],
                    tr("notify.log.recipient"): log["recipient"].replace("group", tr("notify.log.group")),
                    tr("notify.log.state"): log["state"].map(lambda s: tr(f"notify.state.{s}")),
                    tr("notify.log.reason"): [
                        reason_text(k, L, final=s == "gave_up")
                        for k, s in zip(log["error_kind"], log["state"], strict=True)
                    ],
                    # the provider's own words (often English), labelled as theirs, for whoever looks into it
                    tr("notify.log.provider_said"): log["last_error"],
                    tr("notify.log.attempts"): log["attempts"],
                    tr("notify.log.next"): _when(
                        log["next_attempt_at"].where(log["state"].isin(["pending", "failed"]))
                    ),
                    tr("notify.log.sent"): _when(log["sent_at"]),
                }
            ),
            hide_index=True,
            width="stretch",
            placeholder="",
        )
