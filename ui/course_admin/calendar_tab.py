"""The week calendar and the list of its sessions; a scheduled session can be moved or cancelled."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.i18n import pick
from courses.charts import calendar_rows, calendar_spec
from courses.training_sessions import (
    cancel_session,
    sessions_frame,
    update_session,
    week_start,
)
from ui import resources
from ui.chart_specs import draw_chart
from ui.confirm import arm, confirmed
from ui.course_admin.common import CourseAdmin
from ui.errors import refusals
from ui.options import distinct_labels
from ui.state import lang, lang_key, tr


def render(a: CourseAdmin) -> None:
    viewer, now, unit_label, L = a.viewer, a.now, a.unit_label, lang()
    if flash := st.session_state.pop("catalog_flash", None):
        st.success(flash)
    this_monday = week_start(now.date())
    # Weeks as a list (this week first, then forward, then back to the demo period's start).
    mondays = [this_monday + timedelta(weeks=k) for k in range(0, 13)] + [
        this_monday - timedelta(weeks=k)
        for k in range(1, 400)
        if this_monday - timedelta(weeks=k) >= date(2020, 1, 1)
    ]
    monday = st.selectbox(
        tr("courses.cal.week_of"),
        mondays,
        format_func=lambda m: tr(
            "courses.cal.week", start=f"{m:%Y-%m-%d}", end=f"{m + timedelta(days=6):%m-%d}"
        ),
        key=lang_key("cal_week"),
    )
    week_of = monday
    with Session(resources.engine()) as session:
        week = sessions_frame(
            session,
            viewer,
            start=datetime.combine(monday, time()),
            end=datetime.combine(monday + timedelta(days=7), time()),
        )
    chart_labels = {
        "time": tr("courses.cal.time"),
        "course": tr("courses.col.course"),
        "day": tr("courses.cal.day"),
        "start": tr("courses.col.start"),
        "end": tr("courses.col.end"),
        "status": tr("courses.col.status"),
        "seated": tr("courses.col.seated"),
    }
    chart_labels |= {
        f"status.{s}": tr(f"courses.session_status.{s}") for s in ("scheduled", "cancelled", "closed")
    }
    chart_labels |= {f"weekday.{d}": tr(f"courses.weekday.{d}") for d in range(7)}
    # the spec depends on the week and the labels only: built once per week and language (ui.chart_specs)
    draw_chart(
        calendar_rows(week, week_of=week_of, lang=L, labels=chart_labels),
        ("calendar", week_of, *chart_labels.items()),
        lambda: calendar_spec(week_of=week_of, labels=chart_labels),
    )
    if week.empty:
        st.info(tr("courses.cal.empty"))
    else:
        shown = pd.DataFrame(
            {
                tr("courses.col.course"): [
                    pick(L, z, e) for z, e in zip(week["course_zh"], week["course_en"], strict=True)
                ],
                tr("courses.col.start"): week["start_at"],
                tr("courses.col.end"): week["end_at"],
                tr("courses.col.audience"): [
                    unit_label.get(u, pick(L, z, e)) if pd.notna(u) else tr("courses.all_enrolled")
                    for u, z, e in zip(week["unit_id"], week["unit_zh"], week["unit_en"], strict=True)
                ],
                tr("courses.col.seated"): week["seated"],
                tr("courses.col.attended"): week["attended"],
                tr("courses.col.status"): week["status"].map(lambda s: tr(f"courses.session_status.{s}")),
            }
        )
        st.dataframe(shown, hide_index=True, width="stretch", placeholder="")
        editable = week[week["status"] == "scheduled"]
        if not editable.empty:
            with st.expander(tr("courses.edit.title")):
                labels = distinct_labels(  # two sittings of a course may start together (two audiences)
                    {
                        int(r.id): f"{pick(L, r.course_zh, r.course_en)} · {r.start_at:%m-%d %H:%M}"
                        for r in editable.itertuples()
                    }
                )
                sid = st.selectbox(tr("courses.edit.pick"), list(labels), format_func=labels.get)
                row = editable.set_index("id").loc[sid]
                with st.form("edit_session"):
                    e1, e2, e3 = st.columns(3)
                    day = e1.date_input(tr("courses.col.date"), value=row.start_at.date())
                    start = e2.time_input(tr("courses.col.start"), value=row.start_at.time())
                    end = e3.time_input(tr("courses.col.end"), value=row.end_at.time())
                    url = st.text_input(tr("courses.col.meeting_url"), value=row.meeting_url or "")
                    cap = st.number_input(
                        tr("courses.col.capacity"),
                        min_value=0,
                        value=int(row.capacity) if pd.notna(row.capacity) else 0,
                        help=tr("courses.sched.capacity_help"),
                    )
                    b1, b2 = st.columns(2)
                    save = b1.form_submit_button(tr("courses.edit.save"), type="primary", width="stretch")
                    cancel = b2.form_submit_button(tr("courses.edit.cancel_session"), width="stretch")
                if cancel:  # asks first: the seated are told at once and it cannot be undone
                    arm("cancel_session", int(sid))
                if save:
                    with refusals() as refused, resources.unit_of_work() as session:
                        update_session(
                            session,
                            viewer,
                            int(sid),
                            start_at=datetime.combine(day, start),
                            end_at=datetime.combine(day, end),
                            meeting_url=url,
                            capacity=int(cap) or None,
                        )
                    if not refused:
                        st.success(tr("courses.edit.saved"))
                gone = confirmed(
                    "cancel_session",
                    tr(
                        "courses.edit.cancel_sure",
                        session=f"{pick(L, row.course_zh, row.course_en)} · {row.start_at:%m-%d %H:%M}",
                        n=int(row.seated),
                    ),
                    yes=tr("courses.edit.cancel_yes"),
                )
                if gone is not None:
                    with refusals() as refused, resources.unit_of_work() as session:
                        cancel_session(session, viewer, int(gone))
                    if not refused:  # drawn again at once, grey and labelled 已取消 in the calendar
                        st.session_state["catalog_flash"] = tr("courses.edit.cancelled")
                        st.rerun()
