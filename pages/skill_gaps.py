"""Managers: skill gaps — items whose open tasks lack qualified workers, who is nearest to qualifying,
and one-click enrollment in the linked course (through the courses contract)."""

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.i18n import pick
from courses import api as courses_api
from evaluation.assignment.charts import gaps_chart
from evaluation.assignment.gaps import nearest_to_qualifying
from evaluation.assignment.rank import course_titles, item_courses
from evaluation.field.registry import field_now
from ui import dispatch_cache, resources
from ui.audit_reads import record_view
from ui.cells import table_height
from ui.errors import refusals
from ui.guard import require
from ui.options import distinct_labels
from ui.state import lang, lang_key, tr

viewer = require(__file__)
L = lang()
ITEMS = item_courses().set_index("item_code")
TITLES = course_titles().set_index("code")


def item_label(code: str) -> str:
    return (
        f"{code} {pick(L, ITEMS.at[code, 'item_zh'], ITEMS.at[code, 'item_en'])}"
        if code in ITEMS.index
        else code
    )


def course_label(code: str) -> str:
    return pick(L, TITLES.at[code, "title_zh"], TITLES.at[code, "title_en"]) if code in TITLES.index else code


st.title(tr("assign.gaps.title"))
st.caption(tr("assign.gaps.caption"))

with Session(resources.engine()) as session:
    # certificates are judged when the tasks are (the demo's pinned date in a demo database), to the minute: the
    # gaps are read once per minute and cached (ui/dispatch_cache.py)
    NOW = field_now(session).replace(second=0, microsecond=0)
gaps, pairs, ctx = dispatch_cache.gaps(viewer, NOW)


def _dash(value: float) -> str:
    return "—" if pd.isna(value) else f"{value:g}"


if gaps.empty:
    st.info(tr("assign.gaps.no_tasks"))
else:
    lacking = gaps[gaps["tasks_without_qualified"] > 0]
    c1, c2, c3 = st.columns(3)
    c1.metric(tr("assign.gaps.items_lacking"), len(lacking))
    c2.metric(tr("assign.gaps.tasks_lacking"), int(gaps["tasks_without_qualified"].sum()))
    c3.metric(tr("assign.gaps.tasks_needing"), int(gaps["tasks"].sum()))
    if lacking.empty:
        st.success(tr("assign.gaps.all_covered"))
    shown = gaps.assign(item=gaps["item_code"].map(item_label))
    st.altair_chart(gaps_chart(shown.head(15), L), width="stretch")
    st.dataframe(
        pd.DataFrame(
            {
                tr("assign.col.item"): shown["item"],
                tr("assign.gaps.course"): shown["qualification_course"].map(course_label),
                tr("assign.gaps.open_tasks"): shown["tasks"],
                tr("assign.gaps.lacking"): shown["tasks_without_qualified"],
                tr("assign.gaps.communities"): shown["communities"],
                tr("assign.gaps.qualified_share"): shown["qualified_workers"] / shown["workers"],
            }
        ),
        hide_index=True,
        width="stretch",
        column_config={tr("assign.gaps.qualified_share"): st.column_config.NumberColumn(format="percent")},
        placeholder="",
    )

    st.subheader(tr("assign.gaps.nearest"))
    item = st.selectbox(
        tr("assign.col.item"), shown["item_code"].tolist(), format_func=item_label, key=lang_key("gaps_item")
    )
    row = shown.set_index("item_code").loc[item]
    with Session(resources.engine()) as session:
        offered = courses_api.courses_for_skill(session, skill_area=item)
    codes = list(dict.fromkeys([row["qualification_course"], *[c["code"] for c in offered]]))
    course_labels = distinct_labels({c: course_label(c) for c in codes})  # two courses may share a title
    course = st.selectbox(
        tr("assign.gaps.course"), codes, format_func=course_labels.get, key=lang_key(f"gaps_course_{item}")
    )
    item_pairs = pairs[pairs["item_code"] == item]
    per_task = item_pairs.groupby("task_id").agg(
        community_id=("community_id", "first"), ok=("qualified", "any")
    )
    gap_communities = sorted(per_task.loc[~per_task["ok"], "community_id"].unique().tolist())
    everywhere = st.toggle(
        tr("assign.gaps.all_communities"), value=not gap_communities, key=f"gaps_all_{item}"
    )
    near = nearest_to_qualifying(
        ctx.workers, ctx.quals, course, now=NOW, community_ids=None if everywhere else gap_communities
    )
    if near.empty:
        st.success(tr("assign.gaps.nobody_missing"))
    else:
        filters = {"item": item, "course": course, "all_communities": everywhere}
        record_view(viewer, "skill_gaps", filters=filters, rows=len(near))
        grid_name = ctx.workers.set_index("worker_id")[f"grid_{L}"]
        st.dataframe(
            pd.DataFrame(
                {
                    tr("assign.col.worker"): near["name"],
                    tr("assign.col.grid"): near["worker_id"].map(grid_name),
                    tr("assign.gaps.status"): near["status"].map(lambda s: tr(f"assign.gaps.status_{s}")),
                    # no certificate: an empty date cell, not "None"
                    tr("assign.gaps.valid_until"): pd.to_datetime(near["certificate_valid_until"]),
                    # no attempt yet: a dash, not "None"
                    tr("assign.gaps.best_score"): pd.to_numeric(near["best_score"], errors="coerce").map(
                        _dash
                    ),
                    tr("assign.gaps.points_short"): pd.to_numeric(near["points_short"], errors="coerce").map(
                        _dash
                    ),
                }
            ),
            hide_index=True,
            width="stretch",
            height=table_height(len(near)),
            column_config={tr("assign.gaps.valid_until"): st.column_config.DateColumn(format="YYYY-MM-DD")},
            placeholder="",
        )
        employee_no = ctx.workers.set_index("worker_id")["employee_no"]
        names = distinct_labels(  # two workers may share a name: the employee number tells them apart
            {
                int(w): f"{n} · {employee_no.get(w, '')}"
                for w, n in zip(near["worker_id"], near["name"], strict=True)
            }
        )
        default = (
            near[near["status"] != "untrained"]["worker_id"].head(10).tolist()
            or near["worker_id"].head(5).tolist()
        )
        with st.form(f"gaps_enroll_{item}_{course}"):
            chosen = st.multiselect(
                tr("assign.gaps.enroll_who"),
                near["worker_id"].tolist(),
                default=default,
                format_func=names.get,
                placeholder=tr("common.choose_many"),
            )
            go = st.form_submit_button(
                tr("assign.gaps.enroll", course=course_label(course)),
                type="primary",
                icon=":material/school:",
            )
        if go:
            if not chosen:
                st.warning(tr("assign.gaps.pick_someone"))
            else:
                with refusals() as refused:
                    with resources.unit_of_work() as session:
                        n = courses_api.enroll_workers(
                            session,
                            viewer,
                            course_code=course,
                            worker_ids=[int(w) for w in chosen],
                            reason=tr("assign.gaps.enroll_reason", item=item_label(item)),
                        )
                if not refused:
                    st.success(
                        tr("assign.gaps.enrolled", n=n, already=len(chosen) - n, course=course_label(course))
                    )
