"""Field-data pages on the seeded demo: content, empty states, actions, both languages."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from core.db import get_engine
from core.i18n import t
from evaluation.field import rentals
from evaluation.field.models import Event, RentalBuilding
from tests.app.util import texts

pytestmark = pytest.mark.xdist_group("apptest")
PAGES = ["pages/field_import.py", "pages/events.py", "pages/rentals.py", "pages/data_quality.py"]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page", PAGES)
def test_manager_pages_render_in_both_languages(open_page, viewer_of, page, lang):
    """Test that each manager page renders its title in zh and en without an exception."""
    at = open_page(page, viewer_of("manager"), lang=lang)
    assert not at.exception, at.exception
    key = {
        "pages/field_import.py": "field.import.title",
        "pages/events.py": "field.events.title",
        "pages/rentals.py": "field.rentals.title",
        "pages/data_quality.py": "field.dq.title",
    }[page]
    assert t(key, lang) in texts(at)


def test_events_queue_puts_overdue_first_and_shows_history(open_page, viewer_of):
    """Test that the queue lists overdue events first and the detail shows the event's steps."""
    at = open_page("pages/events.py", viewer_of("manager"), lang="en")
    queue = at.dataframe[0].value
    overdue = queue["Overdue"].tolist()
    assert overdue[0] == "⚠" and overdue == sorted(overdue, key=lambda v: v != "⚠")
    assert "History" in texts(at)
    assert int(at.metric[1].value.replace(",", "")) > 0  # some demo events are overdue


def test_manager_dispatches_a_registered_event(open_page, viewer_of, app_db):
    """Test that dispatching through the form moves the event to DISPATCHED with the worker and says so."""
    with Session(get_engine(app_db)) as s:
        e = s.exec(select(Event).where(Event.state == "registered")).first()
        if e is None:
            e = s.exec(select(Event).where(Event.state == "evaluated")).first()
            e.state, e.assignee_id = "registered", None
            s.add(e)
            s.commit()
        event_id, _event_no = e.id, e.event_no
    at = open_page("pages/events.py", viewer_of("manager"), lang="en")
    # widgets set through their keys: format_func (tr) cannot see the session's language outside a run
    at.session_state["events_pick"] = event_id
    at.run()
    at.session_state["events_action"] = "dispatch"
    at.run()
    submit = [b for b in at.button if b.label == "Submit"][0]
    submit.click().run()
    assert not at.exception, at.exception
    assert [m.value for m in at.success] == ["Done: Dispatch"]  # the manager is told, after the page's rerun
    with Session(get_engine(app_db)) as s:
        e = s.get(Event, event_id)
        assert e.state == "dispatched" and e.assignee_id is not None


def test_worker_signs_and_starts_their_task(open_page, viewer_of, app_db):
    """Test that a worker sees why a task is theirs and moves it with the big buttons."""
    me = viewer_of("dp0001")
    with Session(get_engine(app_db)) as s:
        e = s.exec(select(Event).where(Event.state == "evaluated")).first()
        e.state, e.assignee_id, e.assign_reason_en = "dispatched", me.worker_id, "Closest to the site"
        e.assign_reason_zh = "离现场最近"
        s.add(e)
        s.commit()
        event_id = e.id
    at = open_page("pages/my_tasks.py", me, lang="en")
    assert not at.exception, at.exception
    assert "Why you: Closest to the site" in texts(at)
    [b for b in at.button if b.key == f"sign_{event_id}"][0].click().run()
    assert not at.exception, at.exception
    [b for b in at.button if b.key == f"start_{event_id}"][0].click().run()
    with Session(get_engine(app_db)) as s:
        assert s.get(Event, event_id).state == "handling"
    # Feedback without a note is refused; with a note it goes through.
    [b for b in at.button if b.key == f"feedback_{event_id}"][0].click().run()
    assert "Please write a note first." in texts(at)
    at.text_area(key=f"note_{event_id}").set_value("Cleared the stairwell").run()
    [b for b in at.button if b.key == f"feedback_{event_id}"][0].click().run()
    with Session(get_engine(app_db)) as s:
        e = s.get(Event, event_id)
        assert e.state == "feedback" and e.result == "Cleared the stairwell"


def test_worker_with_nothing_assigned_sees_the_empty_state(open_page, viewer_of, app_db):
    """Test the empty state of My tasks."""
    me = viewer_of("dp0002")
    with Session(get_engine(app_db)) as s:
        for e in s.exec(select(Event).where(Event.assignee_id == me.worker_id)).all():
            e.state = "evaluated"
            s.add(e)
        for b in s.exec(
            select(RentalBuilding).where(RentalBuilding.patrol_assignee_id == me.worker_id)
        ).all():
            b.patrol_assignee_id = None
            s.add(b)
        s.commit()
    at = open_page("pages/my_tasks.py", me, lang="zh")
    assert not at.exception, at.exception
    assert t("field.my.none", "zh") in texts(at)


def test_rentals_regrade_with_a_veto_goes_red(open_page, viewer_of, app_db):
    """Test that saving a re-grade with a veto item stores red and shows the breakdown."""
    at = open_page("pages/rentals.py", viewer_of("manager"), lang="en")
    assert not at.exception, at.exception
    assert len(at.dataframe[0].value) >= 250  # the ~300-building pilot
    building_id = at.selectbox[0].value
    at.multiselect[0].set_value(["V1"])  # inside the form: sent with the submit
    [b for b in at.button if b.label == "Save grade"][0].click().run()
    assert not at.exception, at.exception
    with Session(get_engine(app_db)) as s:
        assert s.get(RentalBuilding, building_id).grade == "red"


def test_rentals_reads_the_buildings_once_per_view(open_page, viewer_of, monkeypatch):
    """Test that 出租屋分级 reads the viewer's buildings once per run: the coverage chart works from the same
    frame instead of reading them again (issue #21: the district manager's view cost 450 ms warm)."""
    calls = []
    real = rentals.buildings_frame
    monkeypatch.setattr(rentals, "buildings_frame", lambda *a, **k: calls.append(1) or real(*a, **k))
    at = open_page("pages/rentals.py", viewer_of("manager"), lang="zh")
    assert not at.exception, at.exception
    assert len(calls) == 1 and len(at.dataframe[0].value) >= 250
    labels = at.selectbox[0].options
    assert len(labels) == len(at.dataframe[0].value) and all(" · " in label for label in labels)


def test_data_quality_raises_tasks_once(open_page, viewer_of):
    """Test that raising verification tasks twice creates none the second time."""
    at = open_page("pages/data_quality.py", viewer_of("manager"), lang="en")
    assert not at.exception, at.exception
    assert int(at.metric[0].value.replace(",", "")) > 0  # one address, several codes
    raise_btn = [b for b in at.button if b.label == "Raise verification tasks"][0]
    raise_btn.click().run()
    [b for b in at.button if b.label == "Raise verification tasks"][0].click().run()
    assert "0 new verification tasks" in texts(at)


def test_data_quality_reads_the_jobs_results_and_runs_no_check_on_a_view(open_page, viewer_of, monkeypatch):
    """Test that 数据质量 and every check's drill-down are read from what the demo's data-quality run found:
    with every check patched to fail, the page still shows the figures, the time of the check and the rows,
    a bounded page of them with "showing N of M" (issue #21)."""
    from evaluation.field import quality
    from ui import data_quality_view

    def check_ran(*_args, **_kwargs):
        raise AssertionError("a data-quality check ran on a view of the page")

    for kind in quality.KINDS:
        monkeypatch.setitem(quality.CHECKS, kind, check_ran)
    for name in ("address_codes", "visit_overflow", "duplicate_events", "reversed_deregistrations"):
        monkeypatch.setattr(quality, name, check_ran)
    monkeypatch.setattr(data_quality_view, "DRILL_LIMIT", 3)
    at = open_page("pages/data_quality.py", viewer_of("manager"), lang="en")
    assert not at.exception, at.exception
    assert int(at.metric[0].value.replace(",", "")) > 0
    assert t("field.dq.checked_at", "en", at="2020-09-30 18:00") in texts(at)
    bounded = []
    for kind in quality.KINDS:
        at.selectbox(key="dq_kind").set_value(kind).run()
        assert not at.exception, at.exception
        drill = at.dataframe[1].value
        assert 0 < len(drill) <= 3, kind
        bounded += [kind] if "Showing the first 3 of " in texts(at) else []
    assert "address_codes" in bounded  # one address, several house records each


def test_a_community_manager_raises_verification_tasks_for_their_community_only(open_page, viewer_of, app_db):
    """Test that when 下沙's manager presses "raise verification tasks", tasks appear for 下沙's new problems
    only (another community's wait for its own managers) and the audit trail names who raised them."""
    from datetime import date

    from core.models import Worker
    from core.models_audit import AuditEntry
    from evaluation.field.models import VerificationTask, VisitDay

    me = viewer_of("xiasha")
    with Session(get_engine(app_db)) as s:
        ours = s.exec(select(Worker).where(Worker.community_id == me.scope_unit_id)).first()
        theirs = s.exec(select(Worker).where(Worker.community_id != me.scope_unit_id)).first()
        s.add_all(
            [
                VisitDay(worker_id=ours.id, day=date(2019, 12, 31), visits=200),
                VisitDay(worker_id=theirs.id, day=date(2019, 12, 31), visits=200),
            ]
        )
        s.commit()
        ours_key, theirs_key = f"{ours.id}@2019-12-31", f"{theirs.id}@2019-12-31"
    at = open_page("pages/data_quality.py", me, lang="en")
    [b for b in at.button if b.label == "Raise verification tasks"][0].click().run()
    assert not at.exception, at.exception
    assert "1 new verification tasks" in texts(at)
    with Session(get_engine(app_db)) as s:
        raised = set(
            s.exec(
                select(VerificationTask.ref_key).where(VerificationTask.ref_key.in_([ours_key, theirs_key]))
            ).all()
        )
        entries = s.exec(
            select(AuditEntry).where(
                AuditEntry.action == "field.verification.raise", AuditEntry.user_id == me.user_id
            )
        ).all()
    assert raised == {ours_key}
    assert len(entries) == 1 and '"visit_overflow": 1' in entries[0].after


def test_metrics_registry_for_admin(open_page, viewer_of, app_db):
    """Test that the admin sees all registry metrics and the three SLA levels."""
    from evaluation.field.registry import metric_registry

    at = open_page("pages/metrics.py", viewer_of("admin"), lang="en")
    assert not at.exception, at.exception
    assert "Metric registry" in texts(at)
    registry, sla = (d.value for d in at.dataframe)  # two editable tables, nothing else
    with Session(get_engine(app_db)) as s:
        assert len(registry) == len(metric_registry(s)) >= 1  # every metric, active or not
    assert len(sla) == 3  # the three SLA levels


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_metrics_tables_save_back_through_their_labels(open_page, viewer_of, lang):
    """Test that the registry and time-limit tables, shown with labelled columns and names instead of codes,
    save back unchanged: nothing changed is nothing saved, and the priorities are found by their hidden codes."""
    at = open_page("pages/metrics.py", viewer_of("admin"), lang=lang)
    at.button(key="save_metrics").click().run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    assert t("field.metrics.saved", lang, n=0) in texts(at)
    at.button(key="save_sla").click().run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    assert t("field.metrics.sla_saved", lang) in texts(at)
