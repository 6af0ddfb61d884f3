"""Training plans: the hours ledger, plan inheritance, prerequisites, completion rules, lessons, the
dashboard and the bulletin, scope, and the idempotent jobs."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from core.models import Role, Worker
from core.models_inbox import Notification
from core.scope import SYSTEM, ScopeError
from core.settings import ROOT
from courses.enrollment import enroll
from courses.models import Attendance, Certificate, QuizAttempt, TrainingSession
from courses.training import completion, ledger, lessons, plans, serving, supervision
from courses.training.errors import TrainingError
from courses.training.models import HoursEntry, Lesson, WorkerGroup
from tests.factories import viewer
from tests.unit._courses_world import World, make_world

NOW = datetime(2020, 6, 30, 18, 0)


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)


def _session_at(session: Session, course_id: int, start: datetime, minutes: int = 90) -> TrainingSession:
    ts = TrainingSession(
        course_id=course_id,
        start_at=start,
        end_at=start + timedelta(minutes=minutes),
        secret="s",
        status="closed",
    )
    session.add(ts)
    session.flush()
    return ts


def _seat(
    session: Session,
    ts: TrainingSession,
    worker: Worker,
    status: str,
    *,
    checked_in: datetime | None = None,
    minutes: int | None = None,
) -> Attendance:
    seat = Attendance(
        session_id=ts.id,
        worker_id=worker.id,
        status=status,
        checked_in_at=checked_in,
        minutes_attended=minutes,
    )
    session.add(seat)
    session.flush()
    return seat


def _cert(session: Session, course_id: int, worker: Worker, at: datetime, months: int = 12) -> Certificate:
    attempt = QuizAttempt(
        course_id=course_id,
        worker_id=worker.id,
        number=1,
        status="submitted",
        started_at=at,
        deadline_at=at + timedelta(minutes=20),
        submitted_at=at,
        score=90.0,
        question_count=10,
    )
    session.add(attempt)
    session.flush()
    cert = Certificate(
        course_id=course_id,
        worker_id=worker.id,
        attempt_id=attempt.id,
        score=90.0,
        issued_at=at,
        valid_until=at + timedelta(days=30 * months),
    )
    session.add(cert)
    session.flush()
    return cert


def _held(session: Session, worker: Worker) -> float:
    return round(
        sum(e.hours for e in session.exec(select(HoursEntry).where(HoursEntry.worker_id == worker.id))), 2
    )


def _district_plan(session: Session, w: World, year: int = 2020, **kw) -> None:  # noqa: ANN003
    reqs = kw.pop("requirements", [{"worker_group": "all", "hours": 40}])
    plans.save_plan(
        session, w.manager, year=year, unit_id=w.org.district.id, requirements=reqs, now=NOW, **kw
    )


# --- the ledger ----------------------------------------------------------------------------------------------


def test_session_minutes_are_capped_at_the_session_length(session, world):
    """Test that a meeting import reporting more minutes than the session lasted credits only its length."""
    a0 = world.org.workers_a[0]
    ts = _session_at(session, world.courses["fire_safety"].id, datetime(2020, 3, 1, 9), minutes=90)
    _seat(session, ts, a0, "present", minutes=140)
    ledger.credit_sources(session, now=NOW)
    assert _held(session, a0) == 1.5


def test_a_seat_checked_in_and_imported_is_credited_once(session, world):
    """Test that a worker who checked in and also appears in the meeting import gets the imported minutes,
    once — not the check-in minutes plus the imported ones."""
    a0 = world.org.workers_a[0]
    ts = _session_at(session, world.courses["fire_safety"].id, datetime(2020, 3, 1, 9), minutes=120)
    _seat(session, ts, a0, "present", checked_in=datetime(2020, 3, 1, 9, 0), minutes=60)
    ledger.credit_sources(session, now=NOW)
    ledger.credit_sources(session, now=NOW)
    assert _held(session, a0) == 1.0
    assert session.exec(select(HoursEntry).where(HoursEntry.worker_id == a0.id)).all()[0].minutes == 60


def test_check_in_alone_credits_from_arrival_to_the_end(session, world):
    """Test that a late check-in earns the minutes from arrival to the end; absence and excuse earn nothing."""
    a0, a1, a2 = world.org.workers_a
    ts = _session_at(session, world.courses["fire_safety"].id, datetime(2020, 3, 1, 9), minutes=90)
    _seat(session, ts, a0, "late", checked_in=datetime(2020, 3, 1, 9, 30))
    _seat(session, ts, a1, "absent")
    _seat(session, ts, a2, "excused")
    ledger.credit_sources(session, now=NOW)
    assert (_held(session, a0), _held(session, a1), _held(session, a2)) == (1.0, 0.0, 0.0)


def test_a_later_import_adds_a_correcting_row_and_edits_nothing(session, world):
    """Test that when a meeting import lowers a seat's minutes after it was credited, the job adds a negative
    row under the same source and leaves the first row as it was."""
    a0 = world.org.workers_a[0]
    ts = _session_at(session, world.courses["fire_safety"].id, datetime(2020, 3, 1, 9), minutes=120)
    seat = _seat(session, ts, a0, "present", checked_in=datetime(2020, 3, 1, 9, 0))
    assert ledger.credit_sources(session, now=NOW) == 1
    seat.minutes_attended = 45
    session.add(seat)
    session.flush()
    assert ledger.credit_sources(session, now=NOW) == 1
    rows = session.exec(select(HoursEntry).where(HoursEntry.worker_id == a0.id).order_by(HoursEntry.id)).all()
    assert [r.hours for r in rows] == [2.0, -1.25]
    assert {r.source_ref for r in rows} == {f"session:{ts.id}:{a0.id}"}
    assert _held(session, a0) == 0.75
    assert ledger.credit_sources(session, now=NOW) == 0


def test_passed_quiz_and_done_lessons_are_credited(session, world):
    """Test that a certificate earns the course rule's quiz hours (default 1) and is traceable to its attempt."""
    a0 = world.org.workers_a[0]
    cert = _cert(session, world.courses["fire_safety"].id, a0, datetime(2020, 4, 2, 10))
    completion.set_rule(
        session, world.manager, course_id=world.courses["fire_safety"].id, quiz_credit_hours=2.0, now=NOW
    )
    ledger.credit_sources(session, now=NOW)
    row = session.exec(select(HoursEntry).where(HoursEntry.worker_id == a0.id)).one()
    assert (row.hours, row.source, row.attempt_id, row.credited_on) == (
        2.0,
        "quiz",
        cert.attempt_id,
        date(2020, 4, 2),
    )


def test_corrections_are_new_rows_with_a_reason(session, world):
    """Test that a manager's correction adds a row pointing at the corrected one, needs a reason, cannot take
    an entry below zero, and survives the job (the job does not undo it)."""
    a0 = world.org.workers_a[0]
    entry = ledger.record_external(
        session,
        world.manager_a,
        worker_id=a0.id,
        hours=3,
        on=date(2020, 5, 6),
        note="区消防大队培训签到表",
        now=NOW,
    )
    with pytest.raises(TrainingError) as e:
        ledger.correct_entry(session, world.manager_a, entry_id=entry.id, hours=-1, note="", now=NOW)
    assert e.value.key == "reason_needed"
    with pytest.raises(TrainingError):
        ledger.correct_entry(session, world.manager_a, entry_id=entry.id, hours=-4, note="多记", now=NOW)
    fix = ledger.correct_entry(
        session, world.manager_a, entry_id=entry.id, hours=-1, note="实际两小时", now=NOW
    )
    ledger.credit_sources(session, now=NOW)
    assert fix.corrects_id == entry.id and session.get(HoursEntry, entry.id).hours == 3.0
    assert _held(session, a0) == 2.0


def test_external_training_needs_evidence_and_is_recorded_once(session, world):
    """Test that external hours need a file or a note, and the same submission twice is one row."""
    a0 = world.org.workers_a[0]
    with pytest.raises(TrainingError) as e:
        ledger.record_external(
            session, world.manager_a, worker_id=a0.id, hours=2, on=date(2020, 5, 6), note=" ", now=NOW
        )
    assert e.value.key == "evidence_needed"
    args = dict(
        worker_id=a0.id, hours=2, on=date(2020, 5, 6), note="", evidence=("签到表.pdf", b"%PDF-1.4"), now=NOW
    )
    first = ledger.record_external(session, world.manager_a, **args)
    again = ledger.record_external(session, world.manager_a, **args)
    assert first.id == again.id and _held(session, a0) == 2.0
    assert ledger.evidence_file(session, world.manager_a, entry_id=first.id) == ("签到表.pdf", b"%PDF-1.4")


def test_a_community_manager_records_only_their_own_workers(session, world):
    """Test that community A's manager cannot credit or correct a worker of community B, and a worker
    cannot credit themselves."""
    b0, a0 = world.org.workers_b[0], world.org.workers_a[0]
    with pytest.raises(ScopeError):
        ledger.record_external(
            session, world.manager_a, worker_id=b0.id, hours=2, on=date(2020, 5, 6), note="x", now=NOW
        )
    with pytest.raises(ScopeError):
        ledger.record_external(
            session, world.worker(a0), worker_id=a0.id, hours=2, on=date(2020, 5, 6), note="x", now=NOW
        )
    entry = ledger.record_external(
        session, world.manager, worker_id=b0.id, hours=2, on=date(2020, 5, 6), note="x", now=NOW
    )
    with pytest.raises(ScopeError):
        ledger.correct_entry(session, world.manager_a, entry_id=entry.id, hours=-1, note="y", now=NOW)
    assert ledger.ledger_frame(session, world.manager_a, year=2020).empty


# --- plans ---------------------------------------------------------------------------------------------------


def test_each_level_adds_to_the_plan_above(session, world):
    """Test that a worker's yearly duty is the district's hours plus their subdistrict's and community's, and
    that a party member and a new hire owe their groups' hours too."""
    o = world.org
    _district_plan(
        session,
        world,
        requirements=[
            {"worker_group": "all", "hours": 40},
            {"worker_group": "party", "hours": 8},
            {"worker_group": "new_hire", "hours": 24, "window_days": 30},
        ],
    )
    plans.save_plan(
        session,
        world.manager,
        year=2020,
        unit_id=o.sub.id,
        requirements=[{"worker_group": "all", "hours": 6}],
        now=NOW,
    )
    plans.save_plan(
        session,
        world.manager_a,
        year=2020,
        unit_id=o.comm_a.id,
        requirements=[{"worker_group": "all", "hours": 4}],
        now=NOW,
    )
    a1 = o.workers_a[1]
    a1.hire_date = date(2020, 6, 1)
    session.add(a1)
    session.flush()
    ws = plans.workers_in_scope(session, SYSTEM)
    req = plans.requirements(session, ws, year=2020, as_of=date(2020, 12, 31)).set_index("worker_id")
    assert req.loc[o.workers_a[0].id, "required_year"] == 58  # 40 + 6 + 4 + party 8
    assert req.loc[o.workers_a[2].id, "required_year"] == 50
    assert req.loc[o.workers_b[0].id, "required_year"] == 46  # community B adds nothing
    assert req.loc[a1.id, "required_year"] == 74  # + 24 pre-service
    assert req.loc[a1.id, "preservice_deadline"] == pd.Timestamp(2020, 7, 1)


def test_required_hours_accrue_through_the_year(session, world):
    """Test that hours required to date grow evenly with the days of the year and are complete on 31 December."""
    _district_plan(session, world, requirements=[{"worker_group": "all", "hours": 36.6}])
    ws = plans.workers_in_scope(session, SYSTEM)
    mid = plans.requirements(session, ws, year=2020, as_of=date(2020, 6, 30))["required_to_date"].iloc[0]
    end = plans.requirements(session, ws, year=2020, as_of=date(2020, 12, 31))["required_to_date"].iloc[0]
    assert mid == pytest.approx(36.6 * 182 / 366, abs=0.01) and end == 36.6


def test_a_community_manager_edits_only_their_community_plan(session, world):
    """Test that community A's manager may save A's plan but not the district's or community B's, and sees the
    district plan read-only."""
    o = world.org
    _district_plan(session, world)
    with pytest.raises(ScopeError):
        plans.save_plan(session, world.manager_a, year=2020, unit_id=o.district.id, requirements=[], now=NOW)
    with pytest.raises(ScopeError):
        plans.save_plan(session, world.manager_a, year=2020, unit_id=o.comm_b.id, requirements=[], now=NOW)
    plans.save_plan(
        session,
        world.manager_a,
        year=2020,
        unit_id=o.comm_a.id,
        requirements=[{"worker_group": "all", "hours": 4}],
        now=NOW,
    )
    seen = plans.plans_frame(session, world.manager_a, year=2020)
    assert set(seen["unit_id"]) == {o.district.id, o.comm_a.id}
    assert dict(zip(seen["unit_id"], seen["editable"], strict=True)) == {
        o.district.id: False,
        o.comm_a.id: True,
    }


def test_bad_plan_numbers_are_refused_whole(session, world):
    """Test that a plan with a bad row is refused naming the row, and nothing is written."""
    with pytest.raises(TrainingError) as e:
        _district_plan(
            session,
            world,
            requirements=[{"worker_group": "all", "hours": 40}, {"worker_group": "new_hire", "hours": -3}],
        )
    assert "2" in str(e.value)
    assert plans.plans_frame(session, world.manager, year=2020).empty


# --- prerequisites and completion ----------------------------------------------------------------------------


def test_enrolment_requires_the_prerequisite_certificate(session, world):
    """Test that enrolling in a course whose rule requires another course's valid certificate is refused with
    the course named, and allowed once the certificate is held."""
    a0 = world.org.workers_a[0]
    basic, adv = world.courses["fire_safety"], world.courses["epidemic_screening"]
    completion.set_rule(session, world.manager, course_id=adv.id, prerequisite_code="fire_safety", now=NOW)
    with pytest.raises(TrainingError) as e:
        enroll(session, world.manager, course_id=adv.id, worker_ids=[a0.id], now=NOW)
    assert basic.title_zh in e.value.message("zh") and a0.name in e.value.message("zh")
    assert (
        completion.prerequisite_for_worker(session, world.worker(a0), course_id=adv.id, now=NOW)["code"]
        == "fire_safety"
    )
    _cert(session, basic.id, a0, NOW - timedelta(days=10))
    assert enroll(session, world.manager, course_id=adv.id, worker_ids=[a0.id], now=NOW) == 1


def test_prerequisite_cycles_are_refused(session, world):
    """Test that a course cannot require a course that requires it."""
    c = world.courses
    completion.set_rule(
        session, world.manager, course_id=c["epidemic_screening"].id, prerequisite_code="fire_safety", now=NOW
    )
    with pytest.raises(TrainingError):
        completion.set_rule(
            session,
            world.manager,
            course_id=c["fire_safety"].id,
            prerequisite_code="epidemic_screening",
            now=NOW,
        )


def test_a_course_completes_by_its_rule(session, world):
    """Test that completion follows the rule: attendance ≥ x %, quiz passed, every lesson done."""
    a0, a1 = world.org.workers_a[:2]
    course = world.courses["fire_safety"]
    completion.set_rule(
        session, world.manager, course_id=course.id, min_attendance_pct=75, require_quiz=True, now=NOW
    )
    for i in range(4):
        ts = _session_at(session, course.id, datetime(2020, 3, 1 + i, 9))
        _seat(session, ts, a0, "present" if i < 3 else "absent")
        _seat(session, ts, a1, "present" if i < 2 else "absent")
    _cert(session, course.id, a0, datetime(2020, 3, 10))
    _cert(session, course.id, a1, datetime(2020, 3, 10))
    done = completion.completion(session, worker_ids=[a0.id, a1.id], course_ids=[course.id], now=NOW)
    assert dict(zip(done["worker_id"], done["completed"], strict=True)) == {a0.id: True, a1.id: False}
    lessons.ensure_lessons(session, course_ids=[course.id])
    completion.set_rule(session, world.manager, course_id=course.id, require_lessons=True, now=NOW)
    done = completion.completion(session, worker_ids=[a0.id], course_ids=[course.id], now=NOW)
    assert not done["completed"].iloc[0] and done["lessons_total"].iloc[0] > 1


# --- lessons -------------------------------------------------------------------------------------------------


def test_material_splits_at_level_two_headings():
    """Test that material splits into an introduction and one lesson per '##' heading."""
    parts = lessons.split_material("导言\n\n## 第一节\n内容一\n\n## 第二节\n内容二")
    assert parts == [("", "导言"), ("第一节", "内容一"), ("第二节", "内容二")]
    # A material's level-1 title alone is not an introduction (it made a first lesson with nothing to read).
    assert lessons.split_material("# 课程\n\n## 第一节\n内容一") == [("第一节", "内容一")]


def test_every_shipped_course_has_a_lesson_per_section_in_both_languages():
    """Test that each course under data/courses splits into the same lessons in Chinese and English, none
    empty (English lessons 2–n showed the Chinese text when the English material had no sections)."""
    for path in sorted((ROOT / "data" / "courses").glob("*.json")):
        course = json.loads(path.read_text(encoding="utf-8"))
        zh, en = (
            lessons.split_material(course["material_md_zh"]),
            lessons.split_material(course["material_md_en"]),
        )
        assert len(zh) == len(en) > 1, path.name
        assert all(body for _, body in zh + en) and all(title for title, _ in zh + en), path.name


def _first_fire_lesson(session, world):  # noqa: ANN001, ANN202
    """Worker a0 enrolled in the fire-safety course with its lessons made: (a0, a0 as viewer, lesson 1)."""
    a0 = world.org.workers_a[0]
    course = world.courses["fire_safety"]
    enroll(session, world.manager, course_id=course.id, worker_ids=[a0.id], now=NOW)
    lessons.ensure_lessons(session, course_ids=[course.id])
    first = session.exec(select(Lesson).where(Lesson.course_id == course.id, Lesson.position == 1)).one()
    return a0, world.worker(a0), first


def test_a_lesson_is_done_only_after_the_server_checked_reading_time(session, world):
    """Test that 'done' is refused before the minimum reading time since the first opening (re-opening does not
    restart the clock), then accepted once, credited, and offered as 'continue where you left off'."""
    a0, me, first = _first_fire_lesson(session, world)
    t0 = datetime(2020, 6, 1, 9)
    lessons.open_lesson(session, me, lesson_id=first.id, now=t0)
    lessons.open_lesson(session, me, lesson_id=first.id, now=t0 + timedelta(seconds=30))
    with pytest.raises(TrainingError) as e:
        lessons.complete_lesson(
            session, me, lesson_id=first.id, now=t0 + timedelta(seconds=first.min_read_seconds - 5)
        )
    assert e.value.key == "lesson_too_soon" and e.value.params["seconds"] == 5
    assert lessons.complete_lesson(
        session, me, lesson_id=first.id, now=t0 + timedelta(seconds=first.min_read_seconds)
    )
    assert not lessons.complete_lesson(session, me, lesson_id=first.id, now=t0 + timedelta(hours=1))
    assert _held(session, a0) == round(first.credit_minutes / 60, 2)
    nxt = lessons.continue_lesson(session, me)
    assert nxt["code"] == "fire_safety" and nxt["position"] == 2 and nxt["lessons_done"] == 1


def test_a_lesson_done_counts_on_the_day_given_and_a_later_sync_adds_nothing(session, world):
    """Test that a lesson done on the clock's day but credited on another (a demo database's pinned today) is
    in the ledger on that day, and that the hours job run afterwards neither moves nor repeats it."""
    a0, me, first = _first_fire_lesson(session, world)
    t0 = datetime(2026, 12, 7, 9)
    lessons.open_lesson(session, me, lesson_id=first.id, now=t0)
    done_at = t0 + timedelta(seconds=first.min_read_seconds)
    assert lessons.complete_lesson(session, me, lesson_id=first.id, now=done_at, credit_on=date(2020, 9, 30))
    assert ledger.credit_sources(session, now=done_at + timedelta(days=1)) == 0
    rows = session.exec(select(HoursEntry).where(HoursEntry.lesson_id == first.id)).all()
    assert [(r.credited_on, r.hours) for r in rows] == [
        (date(2020, 9, 30), round(first.credit_minutes / 60, 2))
    ]


def test_lessons_of_a_course_not_enrolled_are_closed(session, world):
    """Test that a worker cannot open a lesson of a course they are not enrolled in."""
    a0 = world.org.workers_a[0]
    lessons.ensure_lessons(session, course_ids=[world.courses["house_coding"].id])
    lesson = session.exec(select(Lesson).where(Lesson.course_id == world.courses["house_coding"].id)).first()
    with pytest.raises(ScopeError):
        lessons.open_lesson(session, world.worker(a0), lesson_id=lesson.id, now=NOW)


# --- supervision ---------------------------------------------------------------------------------------------


def _supervised_world(session: Session, w: World) -> None:
    o = w.org
    fire = w.courses["fire_safety"]
    _district_plan(
        session,
        w,
        requirements=[
            {"worker_group": "all", "hours": 10},
            {"worker_group": "new_hire", "hours": 4, "window_days": 30},
        ],
        courses=[{"course_code": "fire_safety", "worker_group": "all", "due_date": date(2020, 5, 31)}],
    )
    b2 = o.workers_b[2]
    b2.hire_date = date(2020, 4, 1)
    session.add(b2)
    ts = _session_at(session, fire.id, datetime(2020, 3, 3, 9), minutes=180)
    for wk in o.workers_a:
        _seat(session, ts, wk, "present", checked_in=datetime(2020, 3, 3, 9))
    _cert(session, fire.id, o.workers_a[0], datetime(2020, 4, 1))
    ledger.credit_sources(session, now=NOW)


def test_dashboard_shows_who_is_behind_and_what_is_overdue(session, world):
    """Test the dashboard's figures: credited vs required per worker, the behind flag, overdue compulsory
    courses and the new hire past the pre-service deadline."""
    _supervised_world(session, world)
    o = world.org
    st = supervision.plan_status(session, world.manager, year=2020, as_of=date(2020, 6, 30)).set_index(
        "worker_id"
    )
    a0, b0, b2 = o.workers_a[0].id, o.workers_b[0].id, o.workers_b[2].id
    assert st.loc[a0, "credited"] == 4.0 and not st.loc[a0, "behind"]  # 3 h session + 1 h quiz ≥ 80 % of 4.97
    assert st.loc[b0, "credited"] == 0.0 and st.loc[b0, "behind"]
    assert st.loc[b2, "preservice_overdue"] and not st.loc[a0, "preservice_overdue"]
    assert st.loc[a0, "compulsory_overdue"] == 0 and st.loc[b0, "compulsory_overdue"] == 1
    summary = supervision.community_summary(st.reset_index()).set_index("community_id")
    assert summary.loc[o.comm_b.id, "behind"] == 3 and summary.loc[o.comm_a.id, "credited"] == 10.0
    over = supervision.overdue_courses(session, world.manager_a, year=2020, as_of=date(2020, 6, 30))
    assert set(over["worker_id"]) == {o.workers_a[1].id, o.workers_a[2].id}  # A's only; a0 completed


def test_plan_status_works_out_the_plans_of_its_workers_once(session, world, monkeypatch):
    """Test that a plan status reads what the year's plans ask of its workers once and their compulsory
    courses once (the overdue courses and the counts share them), with the dashboard's figures unchanged
    (issue #21: 我的学时 worked them out four and three times a view)."""
    _supervised_world(session, world)
    calls = {"requirements": 0, "compulsory": 0}
    for name in calls:
        real = getattr(plans, name)
        monkeypatch.setattr(
            plans, name, lambda *a, _n=name, _f=real, **k: calls.__setitem__(_n, calls[_n] + 1) or _f(*a, **k)
        )
    st = supervision.plan_status(session, world.manager, year=2020, as_of=date(2020, 6, 30)).set_index(
        "worker_id"
    )
    assert calls == {"requirements": 1, "compulsory": 1}
    b0, b2 = world.org.workers_b[0].id, world.org.workers_b[2].id
    assert st.loc[b0, "compulsory_overdue"] == 1 and st.loc[b2, "preservice_overdue"]


def test_bulletin_figures_equal_the_dashboard(session, world):
    """Test that the 培训通报 workbook shows the same community figures, the same workers behind and the same
    overdue lists as the dashboard for the month's last day."""
    _supervised_world(session, world)
    data = supervision.bulletin_workbook(session, world.manager, year=2020, month=6, lang="zh")
    wb = load_workbook(io.BytesIO(data))
    st = supervision.plan_status(session, world.manager, year=2020, as_of=date(2020, 6, 30))
    head = supervision.headline(st)
    summary_rows = {r[0]: r[1] for r in wb["概况"].iter_rows(min_row=3, values_only=True)}
    assert summary_rows["已认定学时"] == head["credited"] and summary_rows["落后人数"] == head["behind"]
    comm = supervision.community_summary(st)
    sheet = [r for r in wb["各社区"].iter_rows(min_row=2, values_only=True)]
    assert [(r[0], r[3], r[5]) for r in sheet] == list(
        zip(comm["community_zh"], comm["credited"], comm["behind"], strict=True)
    )
    behind = {r[0] for r in wb["学时落后人员"].iter_rows(min_row=2, values_only=True)}
    assert behind == set(st[st["behind"]]["employee_no"])
    assert {r[0] for r in wb["岗前培训逾期"].iter_rows(min_row=2, values_only=True)} == {"B02"}
    assert len(list(wb["必修课逾期"].iter_rows(min_row=2))) == st["compulsory_overdue"].sum()


def test_reminders_go_once_a_month_to_workers_and_their_managers(session, world):
    """Test that the reminder job notifies each worker behind plan and their community manager, and a second
    run in the same month sends nothing."""
    _supervised_world(session, world)
    first = supervision.remind_behind(session, now=NOW)
    again = supervision.remind_behind(session, now=NOW - timedelta(days=2))
    notes = session.exec(select(Notification).where(Notification.kind == "training_behind")).all()
    assert first == len(notes) > 0 and again == 0
    from core.models import User

    sub_mgr = User(
        username="sub", display_name="sub", password_hash="x", role="manager", scope_unit_id=world.org.sub.id
    )
    session.add(sub_mgr)
    session.flush()
    assert any(n.user_id == world.manager_a.user_id for n in notes)
    assert supervision.remind_behind(session, now=NOW) == 1  # only the subdistrict manager's notice is new


def test_credit_job_runs_twice_and_credits_once(session, world):
    """Test that the ledger job is idempotent: the second run adds no row and the totals do not change."""
    _supervised_world(session, world)
    before = session.exec(select(HoursEntry)).all()
    assert ledger.credit_sources(session, now=NOW) == 0
    assert len(session.exec(select(HoursEntry)).all()) == len(before)


def test_worker_sees_only_their_own_hours(session, world):
    """Test that a worker's view of the plan status and ledger holds only their own row."""
    _supervised_world(session, world)
    a1 = world.org.workers_a[1]
    st = supervision.plan_status(session, world.worker(a1), year=2020, as_of=date(2020, 6, 30))
    assert st["worker_id"].tolist() == [a1.id]
    assert set(ledger.ledger_frame(session, world.worker(a1), year=2020)["worker_id"]) == {a1.id}


def test_monthly_figures_sum_to_completion_to_date(session, world):
    """Test that the scorecard metric's months add up: Σ credited ÷ Σ required over January–June equals the
    dashboard's completion on 30 June."""
    _supervised_world(session, world)
    a0 = world.org.workers_a[0].id
    m = supervision.monthly_figures(session, SYSTEM, start=date(2020, 1, 1), end=date(2020, 6, 30))
    mine = m[m["worker_id"] == a0]
    st = supervision.plan_status(session, SYSTEM, year=2020, as_of=date(2020, 6, 30)).set_index("worker_id")
    assert mine["credited_hours"].sum() / mine["required_hours"].sum() == pytest.approx(
        st.loc[a0, "completion"], abs=0.01
    )


def test_bottom_group_owes_its_hours_from_the_day_placed(session, world):
    """Test that a worker placed in the bottom group owes the group's hours, placing them twice is once."""
    _district_plan(
        session,
        world,
        requirements=[
            {"worker_group": "all", "hours": 10},
            {"worker_group": "bottom", "hours": 12, "bottom_pct": 10},
        ],
    )
    b0 = world.org.workers_b[0]
    members = pd.DataFrame({"worker_id": [b0.id], "period": ["2020-06"], "rank_pct": [2.0]})
    assert plans.record_group(session, year=2020, group=WorkerGroup.BOTTOM, members=members, now=NOW) == 1
    assert plans.record_group(session, year=2020, group=WorkerGroup.BOTTOM, members=members, now=NOW) == 0
    ws = plans.workers_in_scope(session, SYSTEM)
    req = plans.requirements(session, ws, year=2020, as_of=date(2020, 12, 31)).set_index("worker_id")
    assert req.loc[b0.id, "required_year"] == 22 and req.loc[b0.id, "bottom"]
    assert plans.bottom_pct(session, year=2020) == 10


def test_manager_viewer_kinds(session, world):
    """Test that a worker cannot read the plans list or download the bulletin."""
    me = viewer(Role.WORKER, worker=world.org.workers_a[0], user_id=world.users[world.org.workers_a[0].id])
    with pytest.raises(ScopeError):
        plans.plans_frame(session, me, year=2020)
    with pytest.raises(ScopeError):
        supervision.bulletin_workbook(session, me, year=2020, month=6)


def test_community_chart_marks_the_communities_behind(session, world):
    """Test that the dashboard chart has one bar per community, the behind ones red, and the 80 % line."""
    from courses.training.charts import community_completion_chart

    _supervised_world(session, world)
    st = supervision.plan_status(session, world.manager, year=2020, as_of=date(2020, 6, 30))
    spec = community_completion_chart(supervision.community_summary(st), "en").to_dict()
    data = next(iter(spec["datasets"].values()))
    assert sorted(r["community"] for r in data) == ["Comm A", "Comm B"]
    assert spec["layer"][0]["encoding"]["color"]["condition"]["value"] == "#d62728"
    assert any(v.get("x") == 80.0 for d in spec["datasets"].values() for v in d)


def test_my_compulsory_courses_say_done_overdue_or_what_comes_first(session, world):
    """Test that a worker's compulsory list marks a completed course done, an unfinished one past its deadline
    overdue, and names the course whose certificate a compulsory course requires first."""
    _supervised_world(session, world)
    o = world.org
    plans.save_plan(
        session,
        world.manager,
        year=2020,
        unit_id=o.comm_a.id,
        requirements=[],
        courses=[{"course_code": "epidemic_screening", "worker_group": "all", "due_date": date(2020, 9, 30)}],
        now=NOW,
    )
    completion.set_rule(
        session,
        world.manager,
        course_id=world.courses["epidemic_screening"].id,
        prerequisite_code="fire_safety",
        now=NOW,
    )
    mine = supervision.my_compulsory(
        session, world.worker(o.workers_a[0]), year=2020, as_of=date(2020, 6, 30)
    )
    other = supervision.my_compulsory(
        session, world.worker(o.workers_a[1]), year=2020, as_of=date(2020, 7, 1)
    )
    by = mine.set_index("course_code")
    assert by.loc["fire_safety", "completed"] and not by.loc["fire_safety", "overdue"]
    assert by.loc["epidemic_screening", "needs_zh"] == ""  # a0 holds the fire-safety certificate
    ob = other.set_index("course_code")
    assert ob.loc["fire_safety", "overdue"]
    assert ob.loc["epidemic_screening", "needs_zh"] == world.courses["fire_safety"].title_zh


def test_my_standing_is_plan_status_and_my_compulsory_worked_out_once(session, world, monkeypatch):
    """Test that a worker's 我的学时 (supervision.my_standing) shows their plan_status row and my_compulsory
    list, reading the year's requirements and compulsory courses once (the page read them twice: #21), and
    says no plan for a worker no plan asks anything of."""
    _supervised_world(session, world)
    o = world.org
    for worker, as_of in ((o.workers_b[2], date(2020, 6, 30)), (o.workers_a[0], date(2020, 7, 1))):
        viewer = world.worker(worker)
        row = supervision.plan_status(session, viewer, year=2020, as_of=as_of).iloc[0]
        courses = supervision.my_compulsory(session, viewer, year=2020, as_of=as_of)
        calls = {"requirements": 0, "compulsory": 0}
        for name in calls:
            real = getattr(plans, name)
            monkeypatch.setattr(
                plans,
                name,
                lambda *a, _n=name, _f=real, _c=calls, **k: _c.__setitem__(_n, _c[_n] + 1) or _f(*a, **k),
            )
        me, due = supervision.my_standing(session, viewer, year=2020, as_of=as_of)
        monkeypatch.undo()
        assert calls == {"requirements": 1, "compulsory": 1}
        assert me is not None
        for name in ("required_year", "required_to_date", "credited", "behind", "preservice_hours"):
            assert me[name] == row[name], name
        assert me["preservice_overdue"] == row["preservice_overdue"]
        pd.testing.assert_frame_equal(due, courses)
    me, due = supervision.my_standing(
        session, world.worker(o.workers_a[0]), year=2019, as_of=date(2019, 6, 1)
    )
    assert me is not None and me["required_year"] == 0 and due.empty  # no plan that year: the page says so


def _count_requirements(monkeypatch) -> list[int]:  # noqa: ANN001 - pytest's monkeypatch
    """plans.requirements, counting its calls in the list returned."""
    calls: list[int] = []
    real = plans.requirements
    monkeypatch.setattr(plans, "requirements", lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def test_my_standing_reads_the_ledger_jobs_row_of_the_day(session, world, monkeypatch):
    """Test that 我的学时 reads the worker's served row (courses.training.progress) when the job has served that
    very day — no requirements or hours worked out per view (#21) — with the same figures and courses as
    worked out, and works them out on a day the job has not served."""
    _supervised_world(session, world)
    o = world.org
    cases = ((o.workers_b[2], date(2020, 6, 30)), (o.workers_a[0], date(2020, 7, 1)))
    live = {w.id: supervision.my_standing(session, world.worker(w), year=2020, as_of=d) for w, d in cases}
    for month in {d.month for _, d in cases}:
        serving.serve_month(
            session, year=2020, month=month, today=date(2020, 7, 1), now=datetime(2020, 7, 1, 2)
        )
    for worker, as_of in cases:
        calls = _count_requirements(monkeypatch)
        me, due = supervision.my_standing(session, world.worker(worker), year=2020, as_of=as_of)
        monkeypatch.undo()
        assert calls == [], worker.id
        live_me, live_due = live[worker.id]
        assert live_me is not None and me is not None
        for name in ("required_year", "required_to_date", "credited", "behind", "preservice_hours"):
            assert me[name] == pytest.approx(live_me[name]), name
        assert me["preservice_overdue"] == live_me["preservice_overdue"]
        deadlines = me["preservice_deadline"], live_me["preservice_deadline"]
        assert (pd.isna(deadlines[0]) and pd.isna(deadlines[1])) or deadlines[0] == deadlines[1]
        pd.testing.assert_frame_equal(due, live_due)
    # 2 July: the job has not run that day, so the figures are worked out (as of the day asked)
    calls = _count_requirements(monkeypatch)
    supervision.my_standing(session, world.worker(o.workers_a[0]), year=2020, as_of=date(2020, 7, 2))
    assert calls == [1]
