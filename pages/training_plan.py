"""Managers: the training plan dashboard (required vs credited hours per community and worker, overdue
compulsory courses, new hires past their pre-service deadline), the monthly 培训通报 (Excel and printable),
this year's plans, and external training recorded with evidence. The dashboard and the bulletin read the
figures the ledger job serves (courses.training.progress), with their time; nothing here recomputes them."""

from datetime import date

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core import clock
from core.i18n import col, pick
from core.org import units_frame
from courses.training import progress
from courses.training.completion import rules
from courses.training.ledger import record_external
from courses.training.plans import plan_courses_frame, plans_frame, save_plan, workers_in_scope
from ui import resources
from ui.audit_reads import record_view
from ui.errors import refusals
from ui.guard import require
from ui.lazy_tabs import lazy_tabs
from ui.options import distinct_labels
from ui.state import lang, tr
from ui.training_bulletin import bulletin_tab
from ui.training_dashboard import dashboard_tab
from ui.training_ledger import ledger_tab
from ui.training_rules import rules_tab

viewer = require(__file__)
L = lang()


def _today() -> date:
    from evaluation.field.registry import field_now  # a demo database is pinned to its own "today"

    with Session(resources.engine()) as s:
        return field_now(s).date()


st.title(tr("training.plan.title"))
today = _today()
year = int(
    st.number_input(tr("training.plan.year"), min_value=2015, max_value=2100, value=today.year, step=1)
)

with Session(resources.engine()) as session:  # served figures (the ledger job), never recomputed here (#21)
    figures = progress.figures_at(session, viewer, year=year)
    months = progress.served_months(session, viewer, year=year)
    people = workers_in_scope(session, viewer)
    plans = plans_frame(session, viewer, year=year)

tabs = lazy_tabs(
    "training_plan_tab",
    {
        code: tr(f"training.plan.tab.{code}")
        for code in ("dashboard", "bulletin", "plans", "external", "ledger", "rules")
    },
)
tab_dash, tab_bulletin, tab_plans, tab_external, tab_ledger, tab_rules = tabs.values()

if tab_dash.open:  # only the open tab runs (ui.lazy_tabs)
    with tab_dash:
        shown = dashboard_tab(viewer, year, figures, has_plan=not plans.empty)
    record_view(
        viewer, "training_plan", filters={"year": year, "month": figures and figures.month}, rows=shown
    )

if tab_bulletin.open:
    with tab_bulletin:
        bulletin_tab(viewer, year, months, has_plan=not plans.empty)


if tab_plans.open:
    with tab_plans:
        if plans.empty:
            st.info(tr("training.plan.no_plans", year=year))
        else:
            notes = plans.drop_duplicates("plan_id")
            for p in notes.itertuples():
                st.caption(f"{p.unit_zh if L == 'zh' else p.unit_en}: {p.note}")
            cols = [col(L, "unit"), "worker_group", "hours", "window_days", "bottom_pct", "editable"]
            table = plans[cols].copy()
            for c in ("hours", "window_days", "bottom_pct"):
                table[c] = table[c].map(lambda v: "" if pd.isna(v) else f"{float(v):g}")
            table["worker_group"] = table["worker_group"].map(
                lambda g: tr(f"training.group.{g}") if g else ""
            )
            st.dataframe(
                table.rename(columns=lambda c: tr(f"training.col.{c.removesuffix('_' + L)}")),
                hide_index=True,
                width="stretch",
                placeholder="",
            )
        st.subheader(tr("training.plan.edit"))
        with Session(resources.engine()) as session:
            units = units_frame(session, viewer)
            plan_courses = plan_courses_frame(session, viewer, year=year)
        units = units[units["level"].isin(["district", "subdistrict", "community"])]
        if units.empty:
            st.caption(tr("training.plan.none"))
        else:
            names = distinct_labels(dict(zip(units["id"], units[col(L, "name")], strict=True)))
            unit_id = st.selectbox(tr("training.col.unit"), list(names), format_func=lambda u: names[u])
            mine = plans[plans["unit_id"] == unit_id] if len(plans) else plans
            # The editors show groups and courses by name (the codes stay behind, mapped back on save).
            group_label = {g: tr(f"training.group.{g}") for g in ("all", "new_hire", "party", "bottom")}
            with Session(resources.engine()) as session:
                catalog = rules(session)
            course_label = distinct_labels(  # mapped back by title on save: two courses may share one
                {str(r.code): pick(L, r.title_zh, r.title_en) for r in catalog.itertuples() if r.title_zh}
            )
            REQ = {c: tr(f"training.col.{c}") for c in ("worker_group", "hours", "window_days", "bottom_pct")}
            CRS = {"course_code": tr("training.col.title"), "worker_group": REQ["worker_group"]}
            CRS["due_date"] = tr("training.col.due")
            reqs = (
                mine[list(REQ)].dropna(subset=["worker_group"])
                if len(mine)
                else pd.DataFrame(columns=list(REQ))
            ).assign(worker_group=lambda f: f["worker_group"].map(group_label))
            crs = (
                plan_courses[plan_courses["unit_id"] == unit_id][list(CRS)]
                if len(plan_courses)
                else pd.DataFrame(columns=list(CRS))
            ).assign(
                course_code=lambda f: f["course_code"].map(course_label),
                worker_group=lambda f: f["worker_group"].map(group_label),
                due_date=lambda f: pd.to_datetime(f["due_date"]),  # no date: an empty cell, not "None"
            )
            groups = st.column_config.SelectboxColumn(options=list(group_label.values()))
            with st.form(f"plan_{unit_id}_{year}"):
                st.caption(tr("training.plan.edit_help"))
                req_edit = st.data_editor(
                    reqs.rename(columns=REQ).reset_index(drop=True),
                    num_rows="dynamic",
                    width="stretch",
                    column_config={
                        REQ["worker_group"]: groups,
                        REQ["hours"]: st.column_config.NumberColumn(min_value=0.0),
                    },
                    placeholder="",
                ).rename(columns={v: k for k, v in REQ.items()})
                crs_edit = st.data_editor(
                    crs.rename(columns=CRS).reset_index(drop=True),
                    num_rows="dynamic",
                    width="stretch",
                    column_config={
                        CRS["course_code"]: st.column_config.SelectboxColumn(
                            options=list(course_label.values())
                        ),
                        CRS["worker_group"]: groups,
                        CRS["due_date"]: st.column_config.DateColumn(),
                    },
                    placeholder="",
                ).rename(columns={v: k for k, v in CRS.items()})
                group_of = {v: k for k, v in group_label.items()}
                req_edit["worker_group"] = req_edit["worker_group"].map(group_of)
                crs_edit["worker_group"] = crs_edit["worker_group"].map(group_of).fillna("all")
                crs_edit["course_code"] = crs_edit["course_code"].map({v: k for k, v in course_label.items()})
                plan_note = st.text_input(
                    tr("training.plan.note"), value=str(mine["note"].iloc[0]) if len(mine) else ""
                )
                if st.form_submit_button(tr("training.plan.save"), type="primary"):
                    req_rows = [
                        {k: (None if pd.isna(v) else v) for k, v in r.items()}
                        for r in req_edit.dropna(subset=["worker_group"]).to_dict("records")
                    ]
                    crs_rows = [
                        {
                            "course_code": r["course_code"],
                            "worker_group": r.get("worker_group") or "all",
                            "due_date": None
                            if pd.isna(r.get("due_date"))
                            else pd.Timestamp(r["due_date"]).date(),
                        }
                        for r in crs_edit.dropna(subset=["course_code"]).to_dict("records")
                    ]
                    with refusals() as refused:
                        with resources.unit_of_work() as session:
                            save_plan(
                                session,
                                viewer,
                                year=year,
                                unit_id=int(unit_id),
                                requirements=req_rows,
                                courses=crs_rows,
                                note=plan_note,
                            )
                    if not refused:
                        st.success(tr("training.plan.saved"))

if tab_external.open:
    with tab_external:
        st.caption(tr("training.plan.external_help"))
        with st.form("external"):
            ids = people[["worker_id", "employee_no", "name"]] if len(people) else None
            options = ids["worker_id"].tolist() if ids is not None else []
            labels = (
                distinct_labels(
                    dict(zip(options, (ids["employee_no"] + " " + ids["name"]).tolist(), strict=True))
                )
                if ids is not None
                else {}
            )
            worker_id = st.selectbox(
                tr("training.col.name"), options, format_func=lambda w: labels.get(w, str(w))
            )
            hours = st.number_input(
                tr("training.plan.hours"), min_value=0.5, max_value=200.0, value=2.0, step=0.5
            )
            day = st.date_input(
                tr("training.plan.day"), value=min(today, clock.today()), max_value=clock.today()
            )
            note = st.text_area(tr("training.plan.note"))
            upload = st.file_uploader(tr("training.plan.evidence"))
            if st.form_submit_button(tr("training.plan.record"), type="primary") and worker_id is not None:
                with refusals() as refused:
                    with resources.unit_of_work() as session:
                        record_external(
                            session,
                            viewer,
                            worker_id=int(worker_id),
                            hours=float(hours),
                            on=day,
                            note=note,
                            evidence=(upload.name, upload.getvalue()) if upload else None,
                        )
                if not refused:
                    st.success(tr("training.plan.recorded"))

if tab_ledger.open:
    with tab_ledger:
        ledger_tab(viewer, people, year)

if tab_rules.open:
    with tab_rules:
        rules_tab(viewer)
