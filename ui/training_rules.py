"""The "courses and lessons" tab of the training plan page (pages/training_plan.py): a course's completion rule
(attendance %, quiz passed, lessons done, hours for a passed quiz) and the course it requires first, and its
lessons (titles, minimum reading time, credited minutes, video link). One domain call per action:
``courses.training.completion.set_rule`` and ``courses.training.lessons.set_lesson`` (district level only)."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.errors import GridwiseError
from core.i18n import pick
from core.scope import Viewer
from courses.training.completion import rules, set_rule
from courses.training.lessons import lessons_frame, set_lesson
from ui import resources
from ui.errors import show_error
from ui.options import distinct_labels
from ui.state import lang, lang_key, tr


def rules_tab(viewer: Viewer) -> None:
    """The tab's content: pick a course, edit its rule, then its lessons one at a time."""
    L = lang()  # noqa: N806 - the pages' name for the language
    district = viewer.is_manager and (viewer.is_admin or viewer.scope_unit_id is None)
    st.caption(tr("training.rules.help"))
    if not district:
        st.info(tr("training.rules.district_only"))
    with Session(resources.engine()) as session:
        table = rules(session)
    if table.empty:
        st.caption(tr("training.plan.none"))
        return
    names = distinct_labels(
        {int(r.course_id): pick(L, r.title_zh, r.title_en) for r in table.itertuples()}
    )  # no codes
    cid = int(
        st.selectbox(
            tr("training.rules.course"),
            list(names),
            format_func=lambda c: names[c],
            key=lang_key("rule_course"),
        )
    )
    rule = table[table["course_id"] == cid].iloc[0]
    codes = {int(r.course_id): str(r.code) for r in table.itertuples()}
    others = [None, *[c for c in names if c != cid]]
    pre = None if pd.isna(rule["prerequisite_course_id"]) else int(rule["prerequisite_course_id"])
    with st.form(f"rule_{cid}"):
        use_att = st.checkbox(
            tr("training.rules.use_attendance"),
            value=not pd.isna(rule["min_attendance_pct"]),
            key=f"rule_use_att_{cid}",
        )
        pct = st.number_input(
            tr("training.rules.min_attendance"),
            min_value=0,
            max_value=100,
            step=5,
            value=80 if pd.isna(rule["min_attendance_pct"]) else int(rule["min_attendance_pct"]),
            key=f"rule_pct_{cid}",
        )
        quiz = st.checkbox(
            tr("training.rules.require_quiz"), value=bool(rule["require_quiz"]), key=f"rule_quiz_{cid}"
        )
        done = st.checkbox(
            tr("training.rules.require_lessons"),
            value=bool(rule["require_lessons"]),
            key=f"rule_lessons_{cid}",
        )
        hours = st.number_input(
            tr("training.rules.quiz_hours"),
            min_value=0.0,
            max_value=24.0,
            step=0.5,
            value=float(rule["quiz_credit_hours"]),
            key=f"rule_hours_{cid}",
        )
        first = st.selectbox(
            tr("training.rules.prerequisite"),
            others,
            index=others.index(pre) if pre in others else 0,
            format_func=lambda c: tr("training.rules.no_prerequisite") if c is None else names[c],
            key=lang_key(f"rule_prereq_{cid}"),
        )
        if st.form_submit_button(tr("training.rules.save"), type="primary", disabled=not district):
            try:
                with resources.unit_of_work() as session:
                    set_rule(
                        session,
                        viewer,
                        course_id=cid,
                        min_attendance_pct=int(pct) if use_att else None,
                        require_quiz=quiz,
                        require_lessons=done,
                        quiz_credit_hours=float(hours),
                        prerequisite_code=codes[first] if first is not None else None,
                    )
            except GridwiseError as exc:
                show_error(exc)
            else:
                st.success(tr("training.rules.saved"))
    _lessons(viewer, cid, district)


def _lessons(viewer: Viewer, cid: int, district: bool) -> None:
    L = lang()  # noqa: N806
    st.subheader(tr("training.rules.lessons"))
    with Session(resources.engine()) as session:
        lessons = lessons_frame(session, viewer, course_id=cid)
    if lessons.empty:
        st.caption(tr("training.rules.no_lessons"))
        return
    labels = distinct_labels(
        {int(r.id): f"{r.position}. {pick(L, r.title_zh, r.title_en)}" for r in lessons.itertuples()}
    )
    lid = int(
        st.selectbox(
            tr("training.rules.lesson"),
            list(labels),
            format_func=lambda i: labels[i],
            key=lang_key("rule_lesson"),
        )
    )
    row = lessons[lessons["id"] == lid].iloc[0]
    with st.form(f"lesson_{lid}"):
        title_zh = st.text_input(
            tr("training.rules.title_zh"), value=str(row["title_zh"]), max_chars=200, key=f"lesson_zh_{lid}"
        )
        title_en = st.text_input(
            tr("training.rules.title_en"), value=str(row["title_en"]), max_chars=200, key=f"lesson_en_{lid}"
        )
        c1, c2 = st.columns(2)
        read = c1.number_input(
            tr("training.rules.read_minutes"),
            min_value=1.0,
            max_value=240.0,
            step=0.5,
            value=max(1.0, round(float(row["min_read_seconds"]) / 60, 1)),
            key=f"lesson_read_{lid}",
        )
        credit = c2.number_input(
            tr("training.rules.credit_minutes"),
            min_value=0,
            max_value=480,
            step=5,
            value=int(row["credit_minutes"]),
            key=f"lesson_credit_{lid}",
        )
        video = st.text_input(
            tr("training.rules.video"),
            value=str(row["video_url"] or ""),
            placeholder="https://",
            key=f"lesson_video_{lid}",
        )
        if st.form_submit_button(tr("training.rules.save_lesson"), type="primary", disabled=not district):
            try:
                with resources.unit_of_work() as session:
                    set_lesson(
                        session,
                        viewer,
                        lesson_id=lid,
                        title_zh=title_zh,
                        title_en=title_en,
                        min_read_minutes=float(read),
                        credit_minutes=int(credit),
                        video_url=video,
                    )
            except GridwiseError as exc:
                show_error(exc)
            else:
                st.success(tr("training.rules.lesson_saved"))
    with Session(resources.engine()) as session:  # after the save: the table shows what was saved
        lessons = lessons_frame(session, viewer, course_id=cid)
    show = pd.DataFrame(
        {
            "#": lessons["position"],
            tr("training.rules.lesson"): [
                pick(L, z, e) for z, e in zip(lessons["title_zh"], lessons["title_en"], strict=True)
            ],
            tr("training.rules.read_minutes"): (lessons["min_read_seconds"] / 60).round(1),
            tr("training.rules.credit_minutes"): lessons["credit_minutes"],
            tr("training.rules.video"): lessons["video_url"],
        }
    )
    st.dataframe(show, hide_index=True, width="stretch", placeholder="")
