"""The course editor of the catalog tab (pages/catalog.py): some thirty fields of one course, its attachments,
a preview of its material and its question bank. Saving is one action: ``courses.catalog.save_course``."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.errors import GridwiseError
from core.i18n import pick
from core.scope import Viewer
from core.uploads import ATTACHMENT_KINDS
from courses.catalog import Upload, course_files, course_form, question_bank, save_course
from courses.models import CourseBase, GradingMethod, ReviewPolicy
from ui import resources
from ui.errors import show_error
from ui.state import lang, tr


def course_editor(viewer: Viewer, pick_id: int | None, areas: dict[str, tuple[str, str]]) -> None:
    """The form for course ``pick_id`` (None: a new course) and, for an existing one, its files and bank."""
    L = lang()  # noqa: N806 - the pages' name for the language
    with Session(resources.engine()) as session:
        base = course_form(session, pick_id)
        files = course_files(session, pick_id) if pick_id else []
        bank = question_bank(session, pick_id) if pick_id else pd.DataFrame()
    area_codes = list(areas)
    with st.form(f"course_{pick_id}"):
        f1, f2, f3 = st.columns([1, 2, 2])
        code = f1.text_input(tr("courses.col.code"), value=base.code)
        title_zh = f2.text_input(tr("courses.catalog.title_zh"), value=base.title_zh)
        title_en = f3.text_input(tr("courses.catalog.title_en"), value=base.title_en)
        skill = st.selectbox(
            tr("courses.col.skill_area"),
            area_codes,
            index=area_codes.index(base.skill_area) if base.skill_area in area_codes else 0,
            format_func=lambda a: pick(L, *areas[a]),
        )
        d1, d2 = st.columns(2)
        desc_zh = d1.text_area(tr("courses.catalog.desc_zh"), value=base.description_zh, height=90)
        desc_en = d2.text_area(tr("courses.catalog.desc_en"), value=base.description_en, height=90)
        m1, m2 = st.columns(2)
        mat_zh = m1.text_area(tr("courses.catalog.material_zh"), value=base.material_md_zh, height=220)
        mat_en = m2.text_area(tr("courses.catalog.material_en"), value=base.material_md_en, height=220)
        links = st.text_area(
            tr("courses.catalog.links"), value=base.links, help=tr("courses.catalog.links_help")
        )
        n1, n2, n3, n4 = st.columns(4)
        pass_mark = n1.number_input(tr("courses.col.pass_mark"), 1, 100, base.pass_mark)
        validity = n2.number_input(tr("courses.col.validity"), 1, 120, base.validity_months)
        n_q = n3.number_input(tr("courses.catalog.quiz_questions"), 1, 100, base.quiz_questions)
        minutes = n4.number_input(tr("courses.catalog.time_limit"), 1, 240, base.time_limit_minutes)
        g1, g2, g3 = st.columns(3)
        attempts = g1.number_input(tr("courses.catalog.max_attempts"), 1, 20, base.max_attempts)
        methods = [m.value for m in GradingMethod]
        method = g2.selectbox(
            tr("courses.catalog.grading"),
            methods,
            index=methods.index(base.grading_method),
            format_func=lambda m: tr(f"courses.grading.{m}"),
        )
        policies = [p.value for p in ReviewPolicy]
        review = g3.selectbox(
            tr("courses.catalog.review"),
            policies,
            index=policies.index(base.review_policy),
            format_func=lambda p: tr(f"courses.review.{p}"),
        )
        st.markdown(f"**{tr('courses.catalog.attendance_rules')}**")
        p1, p2, p3, p4, p5, p6, p7 = st.columns(7)
        pts = {
            s: col.number_input(tr(f"courses.status.{s}"), 0, 100, getattr(base, f"points_{s}"))
            for s, col in zip(("present", "late", "excused", "absent"), (p1, p2, p3, p4), strict=True)
        }
        late_after = p5.number_input(tr("courses.catalog.late_after"), 0, 120, base.late_after_minutes)
        present_pct = p6.number_input(tr("courses.catalog.present_pct"), 0, 100, base.present_min_pct)
        late_pct = p7.number_input(tr("courses.catalog.late_pct"), 0, 100, base.late_min_pct)
        active = st.checkbox(tr("courses.col.active"), value=base.is_active)
        upload = st.file_uploader(
            tr("courses.catalog.attach"),
            accept_multiple_files=True,
            type=sorted({"jpg", "markdown", *ATTACHMENT_KINDS}),
        )
        saved = st.form_submit_button(tr("common.save"), type="primary")
    if saved:
        try:
            data = CourseBase(
                code=code,
                title_zh=title_zh,
                title_en=title_en,
                description_zh=desc_zh,
                description_en=desc_en,
                skill_area=skill,
                material_md_zh=mat_zh,
                material_md_en=mat_en,
                links=links,
                pass_mark=pass_mark,
                validity_months=validity,
                quiz_questions=n_q,
                time_limit_minutes=minutes,
                max_attempts=attempts,
                grading_method=method,
                review_policy=review,
                points_present=pts["present"],
                points_late=pts["late"],
                points_excused=pts["excused"],
                points_absent=pts["absent"],
                late_after_minutes=late_after,
                present_min_pct=present_pct,
                late_min_pct=late_pct,
                is_active=active,
            )
            with resources.unit_of_work() as session:
                save_course(
                    session,
                    viewer,
                    data,
                    course_id=pick_id,
                    files=[Upload(f.name, f.getvalue(), f.type) for f in upload or []],
                )
            st.success(tr("common.saved"))
        except GridwiseError as exc:
            show_error(exc)
    if pick_id:
        if files:
            st.caption(tr("courses.catalog.files") + ": " + ", ".join(f.filename for f in files))
        with st.expander(tr("courses.catalog.preview")):
            st.markdown(pick(L, base.material_md_zh, base.material_md_en))
        with st.expander(tr("courses.catalog.bank", n=len(bank))):
            st.dataframe(
                pd.DataFrame(
                    {
                        tr("courses.col.code"): bank["code"],
                        tr("courses.col.kind"): bank["kind"].map(lambda k: tr(f"courses.kind.{k}")),
                        tr("courses.col.question"): [
                            pick(L, z, e) for z, e in zip(bank["text_zh"], bank["text_en"], strict=True)
                        ],
                        tr("courses.col.options"): bank["options"],
                    }
                ),
                hide_index=True,
                width="stretch",
                placeholder="",
            )
