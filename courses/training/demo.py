"""Demo training plans (core.demo extension ``courses.training.demo:seed``), after courses.demo.

The district's 2020 plan with the proposed numbers (40 h a year, 24 h pre-service within 30 days, 8 h more for
party members, 12 h more for the bottom 5 %: proposals, and the plan says so), a subdistrict and a community
adding hours, compulsory courses with deadlines; every course's material split into lessons (the fire course's
first lesson with a video link); 居住登记 requiring a valid 信息采集 certificate first (a path); the ledger
credited from the demo's sessions (the first 云课程: 300 participants, 2 hours each) and quizzes; external
training recorded for most communities (three are left behind plan) and for half of the 2020 new hires
(the others are overdue on pre-service training). The remedial group comes from the June scorecard
(``evaluation.scoring.remedial:seed_demo``, after the field data).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import insert
from sqlmodel import select

from core import clock
from core.demo import DemoContext
from core.models import OrgUnit, row_id
from core.scope import SYSTEM
from core.sql import table_of
from courses.models import Course
from courses.training import completion, ledger, lessons, plans, serving
from courses.training.models import HoursEntry

BEHIND_COMMUNITIES = 3
EXTERNAL_HOURS = 12.0
EXTERNAL_DAY = date(2020, 7, 15)
PATH = (
    "residence_registration",
    "info_collection",
)  # (course, the course whose certificate it requires first)
FIRE_VIDEO = "消防安全科普视频(国家消防救援局)[演示] | https://www.119.gov.cn/"


def seed(ctx: DemoContext) -> None:
    s = ctx.session

    district = s.exec(select(OrgUnit).where(OrgUnit.level == "district")).first()
    if district is None:
        return
    courses: list[dict] = [
        {"course_code": "info_collection", "worker_group": "all", "due_date": date(2020, 3, 31)},
        {"course_code": "fire_safety", "worker_group": "all", "due_date": date(2020, 6, 30)},
        {"course_code": "residence_registration", "worker_group": "new_hire", "due_date": None},
        {"course_code": "dispute_mediation", "worker_group": "bottom", "due_date": date(2020, 9, 30)},
    ]
    p = plans.PROPOSED_DISTRICT
    plans.save_plan(
        s,
        SYSTEM,
        year=2020,
        unit_id=row_id(district.id),
        requirements=p["requirements"],
        courses=courses,
        title_zh="2020 年度网格员培训计划",
        title_en="Grid worker training plan 2020",
        note=p["note_zh"],  # a district writes its plan's note in its own language
        now=datetime(2020, 1, 6, 9),
    )
    w = ctx.workers
    sub_id = int(w["subdistrict_id"].iloc[0])
    plans.save_plan(
        s,
        SYSTEM,
        year=2020,
        unit_id=sub_id,
        requirements=[{"worker_group": "all", "hours": 4.0}],
        title_zh="办事处加训",
        title_en="Subdistrict additions",
        note="【建议值】",
        now=datetime(2020, 1, 8, 9),
    )
    comm_id = int(w["community_id"].iloc[0])
    plans.save_plan(
        s,
        SYSTEM,
        year=2020,
        unit_id=comm_id,
        requirements=[{"worker_group": "all", "hours": 2.0}],
        title_zh="社区加训",
        title_en="Community additions",
        note="【建议值】",
        now=datetime(2020, 1, 9, 9),
    )
    fire = s.exec(select(Course).where(Course.code == "fire_safety")).first()
    if fire is not None and not fire.links:  # the basic fire course's video, carried onto its first lesson
        fire.links = FIRE_VIDEO
        s.add(fire)
        s.flush()
    n_lessons = lessons.ensure_lessons(s)
    # A path: 居住登记 (pre-service for new hires) needs a valid 信息采集 certificate first; new hires without one
    # see "needs 信息采集 first" on 我的学习 and are refused on enrolment until they have it.
    path = s.exec(select(Course.id).where(Course.code == PATH[0])).first()
    if path is not None:
        completion.set_rule(
            s, SYSTEM, course_id=int(path), prerequisite_code=PATH[1], now=datetime(2020, 1, 6, 9)
        )
    credited = ledger.credit_sources(s, now=clock.now())
    # External training: every community but the last few (by id) is on track; half of the new hires did their
    # pre-service training elsewhere in time.
    comms = sorted(w["community_id"].unique().tolist())
    behind = set(comms[-BEHIND_COMMUNITIES:])
    rows = []
    on_track = w[~w["community_id"].isin(behind)]
    for r in on_track.itertuples(index=False):
        ref = f"external:{r.id}:{EXTERNAL_DAY.isoformat()}:demo"
        rows.append(
            _external(
                r.id, EXTERNAL_DAY, EXTERNAL_HOURS, ref, "区网格管理中心集中轮训(线下,签到表存档)[演示]"
            )
        )
    hired = w[(w["hire_date"] >= date(2020, 1, 1))].sort_values("id")
    for i, r in enumerate(hired.itertuples(index=False)):
        if i % 2 == 0:
            day = r.hire_date + timedelta(days=10)
            rows.append(
                _external(
                    r.id, day, 24.0, f"external:{r.id}:{day.isoformat()}:pre", "岗前培训(区级,24 学时)[演示]"
                )
            )
    if rows:
        s.execute(insert(table_of(HoursEntry)), rows)
    ctx.log(
        f"training: plans for 2020, {n_lessons} lessons, {credited + len(rows)} ledger rows, "
        f"{len(hired)} new hires in 2020, communities behind: {len(behind)}"
    )


def _external(worker_id: int, day: date, hours: float, ref: str, note: str) -> dict:
    return {
        "worker_id": int(worker_id),
        "credited_on": day,
        "hours": hours,
        "source": "external",
        "source_ref": ref,
        "source_key": f"{ref}#1",
        "course_id": None,
        "session_id": None,
        "attempt_id": None,
        "lesson_id": None,
        "evidence_id": None,
        "corrects_id": None,
        "minutes": None,
        "note": note,
        "recorded_by": None,
        "recorded_at": datetime.combine(day, datetime.min.time()) + timedelta(hours=17),
    }


def seed_progress(ctx: DemoContext) -> None:
    """Serve the plan year's progress up to the demo's today (a later extension: after the ledger, the field
    data that pins the demo's today, and the remedial group that adds to the requirements)."""
    n = serving.serve(ctx.session)
    ctx.log(f"training progress: {n} served rows")
