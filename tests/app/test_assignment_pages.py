"""AppTest of the dispatch and skill-gap pages on a copy of the demo district.

Given: five registered events in 下沙社区 — piled goods, small ads and a vulnerable resident (no
qualification needed), a blocked fire lane and an illegal mezzanine (both need 消防安全) — reported on
the demo's field "today" (2020-09-30 18:00, the `field_as_of` setting), the time dispatch judges tasks
at. On that day the demo's certificates (issued 2020-01…07, valid a year) hold, and the live class the
courses demo seats around the real date is years away, so it does not make anyone "in training".
A skill gap is built where a test needs one (``expire_certificates``): the demo has none on that day.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from core import clock
from core.db import get_engine
from core.i18n import t
from core.models import OrgUnit, User, Worker
from courses import api as courses_api
from courses.models import Certificate, Course, Enrollment
from evaluation.assignment import service
from evaluation.assignment.models import AssignmentDecision
from evaluation.field.models import Event
from evaluation.field.registry import field_now
from tests.app.util import texts
from ui import dispatch_cache
from ui.dispatch import batch_tab, map_tab, quality_tab
from ui.dispatch.common import TAB_KEY

pytestmark = pytest.mark.xdist_group("apptest")


def prepare_dispatch_db(url: str) -> dict[str, str]:
    """Add five registered events in 下沙, reported on the field "today"; return their task ids by item."""
    with Session(get_engine(url)) as s:
        now = field_now(s)
        xiasha = s.exec(select(User).where(User.username == "xiasha")).one().scope_unit_id
        grids = s.exec(select(OrgUnit).where(OrgUnit.parent_id == xiasha).order_by(OrgUnit.code)).all()
        ids = {}
        for n, (item, cat, prio, grid) in enumerate(
            [
                ("C03", "city", "normal", grids[0]),
                ("F01", "fire", "urgent", grids[1]),
                ("F07", "fire", "complex", grids[2]),
                ("C05", "city", "normal", grids[3]),
                ("D05", "dispute", "normal", grids[4]),
            ]
        ):
            e = Event(
                event_no=f"T-{item}",
                item_code=item,
                category_code=cat,
                grid_id=grid.id,
                community_id=xiasha,
                lat=grid.lat,
                lon=grid.lon,
                priority=prio,
                state="registered",
                location=f"测试路{n}号",
                reported_at=now - timedelta(hours=2),
                accepted_at=now - timedelta(hours=1),
            )
            s.add(e)
            s.flush()
            ids[item] = f"event:{e.id}"
        s.commit()
    return ids


def expire_certificates(
    url: str, username: str = "xiasha", course: str = "fire_safety", on: datetime = datetime(2020, 9, 1)
) -> int:
    """A skill gap: every ``course`` certificate of the workers in ``username``'s community ran out ``on``
    (before the field "today"). Returns how many certificates that touched."""
    with Session(get_engine(url)) as s:
        unit = s.exec(select(User).where(User.username == username)).one().scope_unit_id
        course_id = s.exec(select(Course.id).where(Course.code == course)).one()
        certs = s.exec(
            select(Certificate)
            .join(Worker, Worker.id == Certificate.worker_id)
            .where(Certificate.course_id == course_id, Worker.community_id == unit)
        ).all()
        for c in certs:
            c.valid_until = on
            s.add(c)
        s.commit()
    return len(certs)


@pytest.fixture
def dispatch_db(app_db: str) -> dict[str, str]:
    return prepare_dispatch_db(app_db)


def open_tab(at: AppTest, tab: str, lang: str) -> AppTest:
    """Open one of the dispatch page's tabs (only the open tab runs: on_change="rerun")."""
    at.session_state[TAB_KEY] = t(f"assign.tab.{tab}", lang)
    return at.run()


def _refuse(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("read by a tab that is not open")


def test_the_queue_tab_runs_no_other_tab_and_the_quality_tab_reads_no_queue(
    open_page, viewer_of, dispatch_db, monkeypatch
):
    """Test that a view of the default tab (the queue) reads neither the quality figures nor the map's ground
    nor draws the batch, and that a view of the quality tab reads no queue: st.tabs runs every tab's body
    unless only the open one is drawn (issue #21: 1.1–1.4 s of server CPU a cold view)."""
    for read in ("quality_inputs", "quality_figures", "suggestion_acceptance"):
        monkeypatch.setattr(quality_tab, read, _refuse)
    monkeypatch.setattr(map_tab, "ground", _refuse)
    monkeypatch.setattr(batch_tab, "render", _refuse)
    monkeypatch.setattr(dispatch_cache, "context", _refuse)  # the queue tab reads the task's community alone
    at = open_page("pages/dispatch.py", viewer_of("xiasha"), lang="en")
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state[TAB_KEY] == "Queue" and "Recommended:" in " ".join(s.value for s in at.success)
    monkeypatch.undo()
    monkeypatch.setattr(dispatch_cache, "queue", _refuse)
    monkeypatch.setattr(dispatch_cache, "context", _refuse)
    at = open_tab(at, "quality", "en")
    assert not at.exception, [e.value for e in at.exception]
    assert "Item suggestions accepted" in texts(at)


def test_the_open_tab_stays_open_across_a_language_switch(open_page, viewer_of, dispatch_db):
    """Test that the quality tab, open in zh, is still the open tab after switching to en (its label changes
    with the language; st.tabs keeps the label)."""
    at = open_tab(open_page("pages/dispatch.py", viewer_of("xiasha"), lang="zh"), "quality", "zh")
    assert t("assign.q.overrides", "zh") in texts(at)
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception
    assert at.session_state[TAB_KEY] == t("assign.tab.quality", "en")
    assert t("assign.q.overrides", "en") in texts(at) and t("assign.queue.unassigned", "en") not in texts(at)


def test_dispatch_ranks_the_selected_task_with_reasons(open_page, viewer_of, dispatch_db):
    """Test that the manager sees the queue, the recommendation and one sentence per reason (en)."""
    at = open_page("pages/dispatch.py", viewer_of("xiasha"), lang="en")
    assert not at.exception
    at.selectbox(key="assign_task").set_value(dispatch_db["C03"]).run()
    assert not at.exception
    shown = texts(at)
    assert "Recommended:" in shown and "Piled goods or materials" in shown
    ranking = at.dataframe[1].value
    why = ranking["Why"].tolist()
    assert why[0].startswith("Same grid +")  # the grid's own worker first under the routine preset
    assert all("km away" in w and "open tasks on hand" in w for w in why)
    assert list(ranking["Rank"]) == list(range(1, len(ranking) + 1))


def test_fire_items_rank_certified_workers_although_a_class_runs_today(
    open_page, viewer_of, dispatch_db, app_db
):
    """Test that a fire item, judged on the field "today", ranks the certificate holders with their
    certificate as a reason, and that the class the demo runs around the real date excludes nobody."""
    with Session(get_engine(app_db)) as s:  # given: workers of 下沙 sit in a class around the real date
        now = clock.now()
        seated = courses_api.busy_workers(s, start=now - timedelta(days=2), end=now + timedelta(days=2))
        xiasha = s.exec(select(User).where(User.username == "xiasha")).one().scope_unit_id
        assert set(s.exec(select(Worker.id).where(Worker.community_id == xiasha)).all()) & seated
    at = open_page("pages/dispatch.py", viewer_of("xiasha"), lang="en")
    at.selectbox(key="assign_task").set_value(dispatch_db["F01"]).run()
    assert not at.exception
    shown = texts(at)
    assert "Recommended:" in shown and "No worker passes every hard rule" not in shown
    why = at.dataframe[1].value["Why"].tolist()
    assert why and all("Fire" in w and "certificate (valid to 2021-" in w for w in why)
    excluded = [d.value for d in at.dataframe if "Rule" in d.value.columns]
    assert all("In training" not in set(e["Rule"]) for e in excluded)


def test_preset_and_weights_rerank_at_once(open_page, viewer_of, dispatch_db):
    """Test that choosing the urgent task switches to 应急, and a slider change updates the ranking."""
    at = open_page("pages/dispatch.py", viewer_of("xiasha"), lang="zh")
    at.selectbox(key="assign_task").set_value(dispatch_db["C03"]).run()
    assert at.session_state["assign_preset"] == "routine"
    before = at.dataframe[1].value["得分"].tolist()
    at.slider(key="assign_w_grid").set_value(0).run()
    after = at.dataframe[1].value["得分"].tolist()
    assert after != before and max(after) < max(before)
    at.selectbox(key="assign_task").set_value(dispatch_db["F01"]).run()
    assert not at.exception
    assert at.session_state["assign_preset"] == "emergency"
    assert "策略：应急" in texts(at)


def test_override_needs_a_reason_and_is_recorded(open_page, viewer_of, dispatch_db, app_db):
    """Test that choosing #2 without a reason is refused, and with a reason is assigned and logged."""
    task = dispatch_db["C03"]
    at = open_page("pages/dispatch.py", viewer_of("xiasha"), lang="zh")
    at.selectbox(key="assign_task").set_value(task).run()
    assert at.selectbox(key=f"assign_choice_{task}").options[1].startswith("第 2 名")
    with Session(get_engine(app_db)) as s:
        _, ranked, _ = service.recommend(s, viewer_of("xiasha"), task, at.session_state["assign_preset"])
    second = int(ranked["worker_id"].iloc[1])
    at.selectbox(key=f"assign_choice_{task}").set_value(second)
    next(b for b in at.button if b.label == "确认派单").click().run()
    assert not at.exception
    assert "改派给非推荐人选时必须填写理由" in texts(at)
    at.selectbox(key=f"assign_choice_{task}").set_value(second)
    at.text_input(key=f"assign_reason_{task}").input("熟悉该楼栋业主")
    next(b for b in at.button if b.label == "确认派单").click().run()
    assert not at.exception
    with Session(get_engine(app_db)) as s:
        d = s.exec(select(AssignmentDecision).where(AssignmentDecision.task_id == task)).one()
        event = s.get(Event, int(task.split(":")[1]))
    assert d.overridden and d.chosen_rank == 2 and d.override_reason == "熟悉该楼栋业主"
    assert event.state == "dispatched" and event.assignee_id == d.chosen_worker_id
    assert event.assign_reason_zh.startswith("管理员指派：熟悉该楼栋业主。")
    # The quality tab reports the override for the item.
    assert "改派率" in texts(open_tab(at, "quality", "zh"))


def test_two_tasks_titled_alike_stay_apart(open_page, viewer_of, dispatch_db, app_db):
    """Test that of two tasks with the same item, place and priority (the demo has such twins), the one the
    manager picks is the one the page ranks and assigns: a select box sends back its option's label, and
    with one label for both the page switched to the other task and dropped the manager's submit."""
    with Session(get_engine(app_db)) as s:
        first = s.get(Event, int(dispatch_db["C03"].split(":")[1]))
        twin = Event(**first.model_dump(exclude={"id", "event_no"}), event_no="T-C03-twin")
        s.add(twin)
        s.commit()
        twin_id = f"event:{twin.id}"
    task = dispatch_db["C03"]
    at = open_page("pages/dispatch.py", viewer_of("xiasha"), lang="zh")
    for chosen in (task, twin_id):
        at.selectbox(key="assign_task").set_value(chosen).run()
        assert at.session_state["assign_current"] == chosen
        with Session(get_engine(app_db)) as s:
            _, ranked, _ = service.recommend(
                s, viewer_of("xiasha"), chosen, at.session_state["assign_preset"]
            )
        second = int(ranked["worker_id"].iloc[1])
        at.selectbox(key=f"assign_choice_{chosen}").set_value(second)  # #2, without a reason
        next(
            b for b in at.get("form_submit_button") if b.proto.form_id == f"assign_form_{chosen}"
        ).click().run()
        assert not at.exception
        assert at.session_state["assign_current"] == chosen
        assert t("assign.error.override_reason", "zh") in [e.value for e in at.error]


def test_batch_proposal_then_confirm_assigns_everything_it_can(open_page, viewer_of, dispatch_db, app_db):
    """Test "assign all open": the proposal with its total, then confirmation dispatching the tasks."""
    at = open_tab(open_page("pages/dispatch.py", viewer_of("xiasha"), lang="en"), "batch", "en")
    at.button(key="assign_batch_propose").click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    proposed = int(metrics["Can be assigned"])
    assert proposed == 5 and float(metrics["Total score"].replace(",", "")) > 0
    # Judged on the field "today" the fire events have certified candidates: nothing is left over.
    assert not [d for d in at.dataframe if {"Reason", "Task"} <= set(d.value.columns)]
    at.button(key="assign_batch_confirm").click().run()
    assert not at.exception
    assert f"{proposed} tasks assigned" in texts(at)
    with Session(get_engine(app_db)) as s:
        today = field_now(s)
        events = {e.event_no: e for e in s.exec(select(Event).where(Event.event_no.like("T-%"))).all()}
        batch = s.exec(select(AssignmentDecision).where(AssignmentDecision.source == "batch")).all()
    assert {e.state for e in events.values()} == {"dispatched"} and len(batch) == proposed
    # The decision and the dispatch carry the same (field) time, hours after the report, not years.
    assert {d.decided_at for d in batch} == {e.dispatched_at for e in events.values()} == {today}
    assert all(timedelta(0) < e.dispatched_at - e.reported_at < timedelta(days=1) for e in events.values())


def test_skill_gaps_lists_items_and_enrolls_the_nearest(open_page, viewer_of, dispatch_db, app_db):
    """Test the skill-gap page: with 下沙's fire-safety certificates expired, its two fire events are gaps,
    the workers whose certificate expired come first, and one click enrolls the chosen ones."""
    assert expire_certificates(app_db) > 0
    at = open_page("pages/skill_gaps.py", viewer_of("xiasha"), lang="zh")
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["无人可派的任务"] == "2"
    items = at.selectbox(key="gaps_item").options
    assert any(o.startswith("F01") for o in items)
    at.selectbox(key="gaps_item").select(next(o for o in items if o.startswith("F01"))).run()
    assert not at.exception
    enroll = next(b for b in at.button if b.label.startswith("一键报名"))
    near = next(d.value for d in at.dataframe if "距离资格" in d.value.columns)
    assert near["距离资格"].iloc[0] == "证书已过期"
    chosen = at.multiselect[0].value  # preselected: the nearest to qualifying
    assert chosen
    with Session(get_engine(app_db)) as s:  # given: the chosen workers are not enrolled yet
        course_id = s.exec(select(Course.id).where(Course.code == "fire_safety")).one()
        for e in s.exec(
            select(Enrollment).where(Enrollment.course_id == course_id, Enrollment.worker_id.in_(chosen))
        ).all():
            s.delete(e)
        s.commit()
    enroll.click().run()
    assert not at.exception
    assert f"已为 {len(chosen)} 人报名消防安全隐患排查" in texts(at)
    with Session(get_engine(app_db)) as s:
        rows = s.exec(
            select(Enrollment.worker_id, Enrollment.reason).where(
                Enrollment.course_id == course_id, Enrollment.worker_id.in_(chosen)
            )
        ).all()
    assert {w for w, _ in rows} == set(chosen)
    assert all(r.startswith("技能缺口：F01") for _, r in rows)


def test_two_workers_named_alike_enrol_the_one_picked(open_page, viewer_of, dispatch_db, app_db):
    """Test that of two workers with one name (two 王伟 in a community are common), the one the manager picks
    on the skill-gap page is the one enrolled: a multiselect sends back its options' labels, and with the
    name alone as label Streamlit took the first option so labelled (a select box, the last): picking the
    second 王伟 enrolled the first."""
    assert expire_certificates(app_db) > 0
    with Session(get_engine(app_db)) as s:  # given: two of 下沙's lapsed holders renamed 王伟
        xiasha = s.exec(select(User).where(User.username == "xiasha")).one().scope_unit_id
        course_id = s.exec(select(Course.id).where(Course.code == "fire_safety")).one()
        certs = s.exec(
            select(Certificate)
            .join(Worker, Worker.id == Certificate.worker_id)
            .where(
                Certificate.course_id == course_id, Worker.community_id == xiasha, Worker.status == "active"
            )
            .order_by(Certificate.worker_id)
        ).all()
        certs[0].valid_until = datetime(2020, 9, 20)  # lapsed most recently: listed before the other
        s.add(certs[0])
        first, last = certs[0].worker_id, certs[1].worker_id
        twins = [s.get(Worker, first), s.get(Worker, last)]
        for w in twins:
            w.name = "王伟"
            s.add(w)
        for e in s.exec(
            select(Enrollment).where(
                Enrollment.course_id == course_id, Enrollment.worker_id.in_([first, last])
            )
        ).all():
            s.delete(e)
        s.commit()
        numbers = [w.employee_no for w in twins]
    at = open_page("pages/skill_gaps.py", viewer_of("xiasha"), lang="zh")
    items = at.selectbox(key="gaps_item").options
    at.selectbox(key="gaps_item").select(next(o for o in items if o.startswith("F01"))).run()
    assert not at.exception
    at.multiselect[0].set_value([last])  # in the form: sent with its submit button
    next(b for b in at.button if b.label.startswith("一键报名")).click().run()
    assert not at.exception
    assert at.multiselect[0].value == [last]
    with Session(get_engine(app_db)) as s:
        enrolled = s.exec(
            select(Enrollment.worker_id).where(
                Enrollment.course_id == course_id, Enrollment.worker_id.in_([first, last])
            )
        ).all()
    assert enrolled == [last]
    # Each told apart by employee number, the one picked listed second of the two.
    shown = [at.multiselect[0].options.index(f"王伟 · {n}") for n in numbers]
    assert shown == sorted(shown)


def test_pages_in_both_languages_show_every_tab_and_the_quality_figures(open_page, viewer_of, dispatch_db):
    """Test that the district manager sees, in zh and en, the dispatch page's four tabs in the page's language
    with the queue's figures and the quality tab's override section, and the skill-gap page's heading."""
    for lang in ("zh", "en"):
        at = open_page("pages/dispatch.py", viewer_of("manager"), lang=lang)
        assert not at.exception, (lang, [e.value for e in at.exception])
        shown = texts(at)
        assert [tab.label for tab in at.tabs] == [
            t(f"assign.tab.{k}", lang) for k in ("queue", "batch", "map", "quality")
        ]
        assert t("assign.queue.unassigned", lang) in shown
        assert int(at.metric[0].value) >= 5  # the five tasks this test adds in 下沙, at least
        at = open_tab(at, "quality", lang)  # only the open tab runs
        assert not at.exception, (lang, [e.value for e in at.exception])
        assert t("assign.q.overrides", lang) in texts(at)
        at = open_page("pages/skill_gaps.py", viewer_of("manager"), lang=lang)
        assert not at.exception, (lang, [e.value for e in at.exception])
        assert t("assign.gaps.title", lang) in texts(at)


def test_a_queue_filtered_to_nothing_says_so_without_an_empty_table(open_page, viewer_of, dispatch_db):
    """Test that when the kind filter leaves no task the queue tab says nothing matches, draws no empty
    table (its placeholder is Streamlit's English "empty" on a Chinese page) and picks no task."""
    at = open_page("pages/dispatch.py", viewer_of("xiasha"), lang="zh")
    assert not at.exception and at.dataframe
    at.multiselect(key="assign_kinds").set_value([]).run()
    assert not at.exception, at.exception
    assert t("assign.queue.none_matching", "zh") in [i.value for i in at.info]
    assert not at.dataframe and not at.selectbox


def test_empty_scope_says_so_instead_of_failing(open_page, viewer_of, app_db):
    """Test that a manager whose scope holds no open task sees the empty-state messages on both pages."""
    from dataclasses import replace

    from core.models import OrgLevel
    from evaluation.field.api import open_tasks

    manager = viewer_of("manager")
    with Session(get_engine(app_db)) as s:
        busy_grids = set(open_tasks(s, manager)["grid_id"].dropna().astype(int))
        quiet = next(
            g for g in s.exec(select(OrgUnit.id).where(OrgUnit.level == "grid")).all() if g not in busy_grids
        )
    viewer = replace(viewer_of("xiasha"), scope_level=OrgLevel.GRID, scope_unit_id=quiet)
    at = open_page("pages/dispatch.py", viewer, lang="en")
    assert not at.exception
    assert "No open tasks in your scope." in texts(at)
    at = open_page("pages/skill_gaps.py", viewer, lang="zh")
    assert not at.exception
    assert "您的管辖范围内没有需要资格的待办任务。" in texts(at)


def test_switching_language_keeps_the_task_and_translates_its_label(open_page, viewer_of, dispatch_db):
    """Test that after choosing a task in zh, switching to en keeps it selected with an English label."""
    at = open_page("pages/dispatch.py", viewer_of("xiasha"), lang="zh")
    at.selectbox(key="assign_task").set_value(dispatch_db["C05"]).run()
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception
    box = at.selectbox(key="assign_task")
    assert box.value == dispatch_db["C05"]
    assert "Illegal small ads" in texts(at) and all("非法小广告" not in o for o in box.options)
