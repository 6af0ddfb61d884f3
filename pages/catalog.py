"""Managers: the course catalog, scheduling sessions (one-off or weekly) with a week calendar, and enrollment
by hand or by rule."""

from datetime import date, datetime, time, timedelta

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core import clock
from core.errors import GridwiseError
from core.i18n import pick
from core.models import OrgLevel
from core.org import units_frame, workers_frame
from courses.catalog import catalog_frame, skill_areas
from courses.enrollment import (
    add_rule,
    deactivate_rule,
    enroll,
    enrolled_frame,
    rules_frame,
    schedule_for_audience,
)
from courses.models import RuleKind
from courses.training_sessions import (
    SessionPlan,
    calendar_chart,
    cancel_session,
    sessions_frame,
    update_session,
    week_start,
)
from ui import resources
from ui.course_catalog import course_editor
from ui.errors import show_error
from ui.guard import require
from ui.state import lang, tr

viewer = require(__file__)
L = lang()
now = clock.now()
district_level = viewer.scope_unit_id is None


with Session(resources.engine()) as session:
    catalog = catalog_frame(session)
    units = pd.concat(
        [
            units_frame(session, viewer, OrgLevel.SUBDISTRICT),
            units_frame(session, viewer, OrgLevel.COMMUNITY),
        ],
        ignore_index=True,
    )
areas = skill_areas()
course_ids = catalog["id"].astype(int).tolist()
course_label = dict(
    zip(
        catalog["id"].astype(int),
        [pick(L, z, e) for z, e in zip(catalog["title_zh"], catalog["title_en"], strict=True)],
        strict=True,
    )
)
unit_label = dict(
    zip(
        units["id"].astype(int),
        [pick(L, z, e) for z, e in zip(units["name_zh"], units["name_en"], strict=True)],
        strict=True,
    )
)

st.title(tr("courses.title"))
tab_cal, tab_sched, tab_enroll, tab_catalog = st.tabs(
    [
        tr("courses.tab.calendar"),
        tr("courses.tab.schedule"),
        tr("courses.tab.enroll"),
        tr("courses.tab.catalog"),
    ]
)

# --- calendar and session list ---------------------------------------------------------------------------
with tab_cal:
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
        key="cal_week",
    )
    week_of = monday
    with Session(resources.engine()) as session:
        week = sessions_frame(
            session,
            viewer,
            start=datetime.combine(monday, time()),
            end=datetime.combine(monday + timedelta(days=7), time()),
        )
    labels = {
        "time": tr("courses.cal.time"),
        "course": tr("courses.col.course"),
        "day": tr("courses.cal.day"),
        "start": tr("courses.col.start"),
        "end": tr("courses.col.end"),
        "status": tr("courses.col.status"),
        "seated": tr("courses.col.seated"),
    }
    labels |= {f"status.{s}": tr(f"courses.session_status.{s}") for s in ("scheduled", "cancelled", "closed")}
    labels |= {f"weekday.{d}": tr(f"courses.weekday.{d}") for d in range(7)}
    st.altair_chart(calendar_chart(week, week_of=week_of, lang=L, labels=labels), width="stretch")
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
        st.dataframe(shown, hide_index=True, width="stretch")
        editable = week[week["status"] == "scheduled"]
        if not editable.empty:
            with st.expander(tr("courses.edit.title")):
                sid = st.selectbox(
                    tr("courses.edit.pick"),
                    editable["id"].tolist(),
                    format_func=lambda i: (
                        lambda r: f"{pick(L, r.course_zh, r.course_en)} · {r.start_at:%m-%d %H:%M}"
                    )(editable.set_index("id").loc[i]),
                )
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
                if save or cancel:
                    try:
                        with resources.unit_of_work() as session:
                            if cancel:
                                cancel_session(session, viewer, int(sid))
                                st.success(tr("courses.edit.cancelled"))
                            else:
                                update_session(
                                    session,
                                    viewer,
                                    int(sid),
                                    start_at=datetime.combine(day, start),
                                    end_at=datetime.combine(day, end),
                                    meeting_url=url,
                                    capacity=int(cap) or None,
                                )
                                st.success(tr("courses.edit.saved"))
                    except GridwiseError as exc:
                        show_error(exc)

# --- schedule ---------------------------------------------------------------------------------------------
WEEKDAYS = list(range(7))
with tab_sched:
    if not course_ids:
        st.info(tr("courses.catalog.empty"))
    else:
        with st.form("schedule"):
            course_id = st.selectbox(tr("courses.col.course"), course_ids, format_func=course_label.get)
            s1, s2, s3 = st.columns(3)
            first_day = s1.date_input(tr("courses.sched.first_day"), value=now.date() + timedelta(days=1))
            start = s2.time_input(tr("courses.col.start"), value=time(14, 30), step=timedelta(minutes=15))
            end = s3.time_input(tr("courses.col.end"), value=time(16, 0), step=timedelta(minutes=15))
            weekly = st.toggle(tr("courses.sched.weekly"))
            r1, r2 = st.columns(2)
            weekdays = r1.multiselect(
                tr("courses.sched.weekdays"), WEEKDAYS, format_func=lambda d: tr(f"courses.weekday.{d}")
            )
            until = r2.date_input(tr("courses.sched.until"), value=now.date() + timedelta(days=28))
            url = st.text_input(tr("courses.col.meeting_url"), placeholder="https://meeting.tencent.com/…")
            a1, a2 = st.columns(2)
            audience_options = ([None] if district_level else []) + list(unit_label)
            audience = a1.selectbox(
                tr("courses.col.audience"),
                audience_options,
                format_func=lambda u: tr("courses.all_enrolled") if u is None else unit_label[u],
            )
            capacity = a2.number_input(
                tr("courses.col.capacity"), min_value=0, value=0, help=tr("courses.sched.capacity_help")
            )
            enroll_all = st.checkbox(
                tr("courses.sched.enroll_audience"),
                value=False,
                help=tr("courses.sched.enroll_audience_help"),
            )
            submitted = st.form_submit_button(tr("courses.sched.submit"), type="primary")
        if submitted:
            try:
                with resources.unit_of_work() as session:
                    done = schedule_for_audience(
                        session,
                        viewer,
                        SessionPlan(
                            course_id=course_id,
                            first_day=first_day,
                            start=start,
                            end=end,
                            weekdays=tuple(weekdays) if weekly else (),
                            until=until if weekly else None,
                            meeting_url=url,
                            capacity=int(capacity) or None,
                            unit_id=audience,
                        ),
                        enroll_audience=enroll_all,
                    )
                st.success(tr("courses.sched.done", n=len(done.sessions), seated=done.seated))
            except GridwiseError as exc:
                show_error(exc)

# --- enrollment -------------------------------------------------------------------------------------------
with tab_enroll:
    if course_ids:
        course_id = st.selectbox(
            tr("courses.col.course"), course_ids, format_func=course_label.get, key="enr_course"
        )
        by_hand, by_rule = st.columns(2)
        with by_hand:
            st.markdown(f"**{tr('courses.enroll.by_hand')}**")
            with Session(resources.engine()) as session:
                everyone = workers_frame(session, viewer, status="active")
            label = dict(zip(everyone["id"], everyone["employee_no"] + " · " + everyone["name"], strict=True))
            with st.form("enroll_hand", clear_on_submit=True):
                chosen = st.multiselect(
                    tr("courses.enroll.workers"), everyone["id"].tolist(), format_func=label.get
                )
                reason = st.text_input(tr("courses.enroll.reason"))
                due = st.date_input(
                    tr("courses.enroll.quiz_due"), value=None, help=tr("courses.enroll.quiz_due_help")
                )
                go = st.form_submit_button(tr("courses.enroll.submit"), type="primary")
            if go:
                try:
                    with resources.unit_of_work() as session:
                        n = enroll(
                            session,
                            viewer,
                            course_id=course_id,
                            worker_ids=chosen,
                            reason=reason,
                            quiz_due_at=datetime.combine(due, time(23, 59)) if due else None,
                        )
                    st.success(tr("courses.enroll.done", n=n))
                except GridwiseError as exc:
                    show_error(exc)
        with by_rule:
            st.markdown(f"**{tr('courses.enroll.by_rule')}**")
            with st.form("enroll_rule"):
                kind = st.selectbox(
                    tr("courses.rule.kind"),
                    [k.value for k in RuleKind],
                    format_func=lambda k: tr(f"courses.rule.{k}"),
                )
                unit = st.selectbox(
                    tr("courses.rule.unit"),
                    ([None] if district_level else []) + list(unit_label),
                    format_func=lambda u: tr("courses.rule.whole_scope") if u is None else unit_label[u],
                )
                cert_course = st.selectbox(
                    tr("courses.rule.cert_course"),
                    course_ids,
                    format_func=course_label.get,
                    index=course_ids.index(course_id),
                )
                go_rule = st.form_submit_button(tr("courses.rule.submit"), type="primary")
            if go_rule:
                try:
                    with resources.unit_of_work() as session:
                        _, n = add_rule(
                            session,
                            viewer,
                            course_id=course_id,
                            kind=RuleKind(kind),
                            unit_id=unit,
                            cert_course_id=cert_course,
                        )
                    st.success(tr("courses.rule.done", n=n))
                except GridwiseError as exc:
                    show_error(exc)
        with Session(resources.engine()) as session:
            rules = rules_frame(session, viewer, course_id)
            enrolled = enrolled_frame(session, viewer, course_id)
        active = rules[rules["is_active"]] if not rules.empty else rules
        if not active.empty:
            st.markdown(f"**{tr('courses.rule.active')}**")
            for r in active.itertuples():
                c1, c2 = st.columns([4, 1])
                unit_name = (
                    pick(L, r.unit_zh, r.unit_en) if pd.notna(r.unit_zh) else tr("courses.rule.whole_scope")
                )
                c1.write(f"{tr('courses.rule.' + r.kind)} · {unit_name}")
                if c2.button(tr("courses.rule.stop"), key=f"stop_rule_{r.id}"):
                    with resources.unit_of_work() as session:
                        deactivate_rule(session, viewer, int(r.id))
                    st.rerun()
        st.markdown(f"**{tr('courses.enroll.list', n=len(enrolled))}**")
        st.dataframe(
            pd.DataFrame(
                {
                    tr("col.employee_no"): enrolled["employee_no"],
                    tr("col.name"): enrolled["name"],
                    tr("col.community"): [
                        pick(L, z, e)
                        for z, e in zip(enrolled["community_zh"], enrolled["community_en"], strict=True)
                    ],
                    tr("col.party_member"): enrolled["party_member"],
                    tr("courses.col.source"): enrolled["source"].map(lambda s: tr(f"courses.source.{s}")),
                    tr("courses.enroll.reason"): enrolled["reason"],
                    tr("courses.col.enrolled_at"): enrolled["enrolled_at"],
                }
            ),
            hide_index=True,
            width="stretch",
            height=360,
        )

# --- catalog ----------------------------------------------------------------------------------------------
with tab_catalog:
    st.dataframe(
        pd.DataFrame(
            {
                tr("courses.col.code"): catalog["code"],
                tr("courses.col.course"): [course_label[i] for i in catalog["id"]],
                tr("courses.col.skill_area"): catalog["skill_area"].map(
                    lambda a: pick(L, *areas.get(a, (a, a)))
                ),
                tr("courses.col.questions"): catalog["questions"],
                tr("courses.col.pass_mark"): catalog["pass_mark"],
                tr("courses.col.validity"): catalog["validity_months"],
                tr("courses.col.active"): catalog["is_active"],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    if not district_level:
        st.caption(tr("courses.catalog.district_only"))
    else:
        pick_id = st.selectbox(
            tr("courses.catalog.edit_pick"),
            [None, *course_ids],
            format_func=lambda i: tr("courses.catalog.new") if i is None else course_label[i],
        )
        course_editor(viewer, pick_id, areas)
