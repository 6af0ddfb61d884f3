"""Managers: quiz results per attempt and per question, item analysis with the questions most in need of
rewriting on top, and an Excel export."""

from datetime import date, datetime, time, timedelta

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core import clock
from core.i18n import col, pick
from courses.catalog import catalog_frame, get_course
from courses.charts import item_map, score_histogram
from courses.results import WEAK_DISCRIMINATION, answers_frame, attempts_frame, excel_report, item_analysis
from ui import resources
from ui.audit_reads import download_button as audited_download
from ui.audit_reads import record_view
from ui.guard import require
from ui.options import distinct_labels
from ui.state import lang, tr

viewer = require(__file__)
L = lang()

st.title(tr("courses.res.title"))
with Session(resources.engine()) as session:
    catalog = catalog_frame(session)
if catalog.empty:
    st.info(tr("courses.catalog.empty"))
    st.stop()
ids = catalog["id"].astype(int).tolist()
label = distinct_labels(  # two courses (two codes) may share a title
    dict(
        zip(
            ids,
            [pick(L, z, e) for z, e in zip(catalog["title_zh"], catalog["title_en"], strict=True)],
            strict=True,
        )
    )
)
c1, c2, c3 = st.columns([2, 1, 1])
course_id = c1.selectbox(tr("courses.col.course"), ids, format_func=label.get)
since = c2.date_input(tr("courses.res.since"), value=date(2020, 1, 1))
until = c3.date_input(tr("courses.res.until"), value=clock.today())
lo, hi = datetime.combine(since, time()), datetime.combine(until, time()) + timedelta(days=1)
with Session(resources.engine()) as session:
    course = get_course(session, course_id)
    attempts = attempts_frame(session, viewer, course_id=course_id, since=lo, until=hi)
    answers = answers_frame(session, viewer, course_id=course_id, since=lo, until=hi)
if attempts.empty:
    st.info(tr("courses.res.empty"))
    st.stop()
filters = {"course": course.code, "since": since, "until": until}
record_view(viewer, "quiz_results", filters=filters, rows=len(attempts))

items = item_analysis(answers)
k = st.columns(4)
k[0].metric(tr("courses.res.attempts"), len(attempts))
k[1].metric(tr("courses.res.workers"), attempts["worker_id"].nunique())
k[2].metric(tr("courses.res.avg"), f"{attempts['score'].mean():.1f}")
k[3].metric(tr("courses.res.pass_rate"), f"{attempts['passed'].mean():.0%}")

tab_att, tab_items = st.tabs([tr("courses.res.tab_attempts"), tr("courses.res.tab_items")])
with tab_att:
    st.altair_chart(
        score_histogram(
            attempts,
            pass_mark=course.pass_mark,
            labels={
                "score": tr("courses.quiz.score"),
                "attempts": tr("courses.res.attempts"),
                "passed": tr("courses.res.passed"),
                "failed": tr("courses.res.failed"),
            },
        ),
        width="stretch",
    )
    shown = pd.DataFrame(
        {
            tr("col.employee_no"): attempts["employee_no"],
            tr("col.name"): attempts["name"],
            tr("col.community"): [
                pick(L, z, e) for z, e in zip(attempts["community_zh"], attempts["community_en"], strict=True)
            ],
            tr("courses.res.number"): attempts["number"],
            tr("courses.res.submitted"): attempts["submitted_at"],
            tr("courses.quiz.right"): attempts["correct_count"].astype(str)
            + "/"
            + attempts["question_count"].astype(str),
            tr("courses.quiz.score"): attempts["score"],
            tr("courses.res.passed"): attempts["passed"],
            tr("courses.res.auto"): attempts["status"] == "auto_submitted",
        }
    )
    st.dataframe(
        shown, hide_index=True, width="stretch", height=min(420, 40 + 35 * len(shown)), placeholder=""
    )

with tab_items:
    st.caption(tr("courses.res.items_help", d=WEAK_DISCRIMINATION))
    items = items.assign(
        question=[pick(L, z, e) for z, e in zip(items["text_zh"], items["text_en"], strict=True)]
    )
    st.altair_chart(
        item_map(
            items,
            weak=WEAK_DISCRIMINATION,
            labels={
                "facility": tr("courses.res.facility"),
                "discrimination": tr("courses.res.discrimination"),
                "needs_review": tr("courses.res.needs_review"),
                "question": tr("courses.col.question"),
            },
        ),
        width="stretch",
    )
    table = pd.DataFrame(
        {
            tr("courses.col.code"): items["code"],
            tr("courses.col.kind"): items["kind"].map(lambda x: tr(f"courses.kind.{x}")),
            tr("courses.col.question"): items["question"],
            tr("courses.res.n"): items["n"],
            tr("courses.res.facility"): items["facility"],
            tr("courses.res.discrimination"): items["discrimination"],
            tr("courses.res.needs_review"): items["needs_review"],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=min(420, 40 + 35 * len(table)),
        column_config={
            tr("courses.res.facility"): st.column_config.NumberColumn(format="%.2f"),
            tr("courses.res.discrimination"): st.column_config.NumberColumn(format="%.2f"),
        },
        placeholder="",
    )

labels = {
    "employee_no": tr("col.employee_no"),
    "name": tr("col.name"),
    "score": tr("courses.quiz.score"),
    "number": tr("courses.res.number"),
    "submitted_at": tr("courses.res.submitted"),
    "facility": tr("courses.res.facility"),
    "discrimination": tr("courses.res.discrimination"),
    "sheet.attempts": tr("courses.res.tab_attempts"),
    "sheet.items": tr("courses.res.tab_items"),
    "sheet.matrix": tr("courses.res.matrix"),
}
audited_download(
    tr("common.download_xlsx"),
    # Built only when clicked: the workbook holds every attempt and answer.
    lambda: excel_report(
        course=course,
        attempts=attempts.drop(columns=[col("zh" if L == "en" else "en", "community")]),
        items=items.drop(columns=["question"]),
        answers=answers,
        labels=labels,
    ),
    viewer=viewer,
    what="quiz_results",
    filters={"course": course.code},
    rows=len(attempts),
    file_name=f"quiz_{course.code}.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    icon=":material/download:",
)
