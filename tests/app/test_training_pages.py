"""The training-plan pages in AppTest on the demo database: the manager dashboard and the worker's phone view."""

from __future__ import annotations

import pytest

from core.i18n import t
from tests.app.util import texts


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_dashboard_shows_the_2020_plan_for_a_district_manager(open_page, viewer_of, lang):
    """Test that the district manager sees the 2020 dashboard: headline figures, the behind list and the
    bulletin download, with no exception."""
    at = open_page("pages/training_plan.py", viewer_of("manager"), lang=lang)
    assert not at.exception
    shown = texts(at)
    assert ("落后人数" if lang == "zh" else "Behind plan") in shown
    assert at.metric and len(at.dataframe) >= 1


def test_community_manager_sees_only_their_community(open_page, viewer_of):
    """Test that the 下沙 community manager's dashboard lists only 下沙's workers."""
    at = open_page("pages/training_plan.py", viewer_of("xiasha"), lang="zh")
    assert not at.exception
    for df in at.dataframe:
        value = df.value
        if "社区" in value.columns:
            assert set(value["社区"]) <= {"下沙社区"}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_worker_sees_hours_compulsory_courses_and_continue(open_page, viewer_of, lang):
    """Test that a worker's phone view shows their hours, compulsory courses and a lesson to continue; opening
    it shows the lesson and 'done' too soon is refused with the seconds left."""
    at = open_page("pages/my_training.py", viewer_of("dp0001"), lang=lang)
    assert not at.exception
    shown = texts(at)
    assert ("必修课" if lang == "zh" else "Compulsory courses") in shown
    at.button(key="open_lesson").click().run()
    assert not at.exception
    at.button(key="lesson_done").click().run()
    assert not at.exception
    assert any(("秒" if lang == "zh" else "seconds") in w.value for w in at.warning)


def test_ledger_tab_corrects_an_entry_with_a_reason(open_page, viewer_of):
    """Test that the 下沙 manager can add a correction to a worker's ledger from the page, and that a correction
    without a reason is refused with the message."""
    at = _open_tab(open_page("pages/training_plan.py", viewer_of("xiasha"), lang="en"), "ledger", "en")
    assert not at.exception
    form_button = [b for b in at.button if b.label == "Add the correction"][0]
    form_button.click().run()
    assert any("reason" in e.value for e in at.error)
    at.text_input(key="correct_reason").input("双重登记")
    [b for b in at.button if b.label == "Add the correction"][0].click().run()
    assert not at.exception and any(s.value == "Recorded." for s in at.success), [e.value for e in at.error]


def _open_tab(at, tab: str, lang: str):  # noqa: ANN001, ANN202 - only the open tab runs (on_change="rerun")
    at.session_state["training_plan_tab"] = t(f"training.plan.tab.{tab}", lang)
    return at.run()


def _button(at, label: str):  # noqa: ANN001, ANN202
    return [b for b in at.button if b.label == label][0]


def _keyed(widgets, prefix: str):  # noqa: ANN001, ANN202 - the widget whose key starts so (keys carry the row id)
    return [w for w in widgets if str(w.key or "").startswith(prefix)][0]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_district_manager_sets_a_prerequisite_and_edits_a_lesson(open_page, viewer_of, lang):
    """Test that on the courses-and-lessons tab a district manager sees 居住登记's demo prerequisite (信息采集),
    can change a course's rule and a lesson's reading time and video link, each confirmed, and that a link
    that is not a web address is refused naming the lesson."""
    zh = lang == "zh"
    at = _open_tab(open_page("pages/training_plan.py", viewer_of("manager"), lang=lang), "rules", lang)
    assert not at.exception
    course = at.selectbox(key="rule_course")
    course.select_index(course.options.index("居住登记申报" if zh else "Residence registration")).run()
    pre = _keyed(at.selectbox, "rule_prereq_")
    assert pre.options[pre.index] == (
        "四标四实信息采集规范" if zh else "Four Standards, Four Actuals: data collection"
    )
    _keyed(at.checkbox, "rule_use_att_").check()
    _keyed(at.number_input, "rule_pct_").set_value(75)
    _button(at, "保存规则" if zh else "Save the rule").click().run()
    assert not at.exception and any(
        s.value == ("规则已保存。" if zh else "Rule saved.") for s in at.success
    ), [e.value for e in at.error]
    _keyed(at.text_input, "lesson_video_").input("www.example.org/v")
    _button(at, "保存课时" if zh else "Save the lesson").click().run()
    assert any(("第 1 课" if zh else "Lesson 1") in e.value for e in at.error)
    _keyed(at.text_input, "lesson_video_").input("https://www.119.gov.cn/")
    _keyed(at.number_input, "lesson_read_").set_value(3.0)
    _button(at, "保存课时" if zh else "Save the lesson").click().run()
    assert any(s.value == ("课时已保存。" if zh else "Lesson saved.") for s in at.success), [
        e.value for e in at.error
    ]
    shown = at.dataframe[-1].value
    assert "https://www.119.gov.cn/" in set(shown.iloc[:, -1])


def test_community_manager_reads_the_rules_but_cannot_save(open_page, viewer_of):
    """Test that a community manager is told the catalog is district-level and the save buttons are disabled."""
    at = _open_tab(open_page("pages/training_plan.py", viewer_of("xiasha"), lang="en"), "rules", "en")
    assert not at.exception
    assert any("district-level" in i.value for i in at.info)
    assert _button(at, "Save the rule").disabled and _button(at, "Save the lesson").disabled


def test_the_open_tab_stays_open_across_a_language_switch(open_page, viewer_of):
    """Test that the rules tab, open in zh, is still the open tab after switching to en (ui.lazy_tabs: its label
    changes with the language; st.tabs keeps the label, and would open the dashboard in its place)."""
    at = _open_tab(open_page("pages/training_plan.py", viewer_of("xiasha"), lang="zh"), "rules", "zh")
    assert not at.exception
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception
    assert at.session_state["training_plan_tab"] == t("training.plan.tab.rules", "en")
    assert any("district-level" in i.value for i in at.info) and "Behind plan" not in texts(at)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_plan_editor_saves_groups_and_courses_shown_by_name(open_page, viewer_of, app_db, lang):
    """Test that the plan editor, which shows groups and compulsory courses by name, saves the district plan
    back as it was: the same requirements and the same course codes."""
    from sqlmodel import Session

    from core.db import get_engine
    from courses.training.plans import plan_courses_frame, plans_frame

    manager = viewer_of("manager")

    def plan() -> tuple[list, list]:
        with Session(get_engine(app_db)) as s:
            reqs = plans_frame(s, manager, year=2020)
            crs = plan_courses_frame(s, manager, year=2020)
        district = reqs["unit_id"].iloc[0]
        reqs = reqs[reqs["unit_id"] == district][["worker_group", "hours", "window_days", "bottom_pct"]]
        crs = crs[crs["unit_id"] == district][["course_code", "worker_group", "due_date"]]
        return reqs.astype(str).values.tolist(), crs.astype(str).values.tolist()

    before = plan()
    assert before[1], "the demo's district plan has compulsory courses"
    at = _open_tab(open_page("pages/training_plan.py", manager, lang=lang), "plans", lang)
    _button(at, t("training.plan.save", lang)).click().run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    assert any(s.value == t("training.plan.saved", lang) for s in at.success)
    assert plan() == before


def test_dashboard_reads_the_served_figures_and_never_recomputes(open_page, viewer_of, app_db, monkeypatch):
    """Test that the district manager's dashboard shows the figures the ledger job served (the same as the
    computation for the demo's day) with their time, and that a view never recomputes them: the computation
    raises if it is called."""
    from datetime import date

    from sqlmodel import Session

    from core.db import get_engine
    from courses.training import completion, supervision

    manager = viewer_of("manager")
    with Session(get_engine(app_db)) as s:
        head = supervision.headline(supervision.plan_status(s, manager, year=2020, as_of=date(2020, 9, 30)))

    def recomputed(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the page recomputed the plan status")

    for name in ("plan_status", "status_and_overdue", "overdue_courses", "overdue_courses_for"):
        monkeypatch.setattr(supervision, name, recomputed, raising=False)
    monkeypatch.setattr(completion, "completion", recomputed)
    at = open_page("pages/training_plan.py", manager, lang="zh")
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["落后人数"] == str(head["behind"]) and head["behind"] > 0
    assert metrics["完成率"] == f"{head['completion'] * 100:.0f}%"
    assert any("统计时间" in c.value and "2020-09-30" in c.value for c in at.caption)
    at = _open_tab(at, "bulletin", "zh")  # the month's bulletin reads them too
    assert not at.exception, at.exception
    assert any("统计时间" in c.value for c in at.caption) and len(at.table) == 1


def test_a_year_without_a_plan_says_so_not_that_figures_are_pending(open_page, viewer_of):
    """Test that a year no plan covers reads "no training plan", not "not computed yet" (the job serves only
    planned years)."""
    at = open_page("pages/training_plan.py", viewer_of("manager"), lang="zh")
    at.number_input[0].set_value(2019).run()
    assert not at.exception
    assert [i.value for i in at.info] == [t("training.plan.empty", "zh", year=2019)]
