"""Demo training data for the demo district (core.demo extension ``courses.demo:seed``).

Nine months from ctx.start (2020-01-01): the six shipped courses; everyone enrolled (矛盾纠纷 by rule for
party members plus a share of the rest); district-wide sessions at the start of the epidemic, the first
云课程 on 2020-02-20 with 300 of the 304 workers attending (the article's figure), then monthly sessions
per subdistrict; attendance drawn from a per-worker propensity (a few chronic absentees for the warning
list); quiz attempts drawn from an item-response model (worker ability against question difficulty) so
that the item analysis has something real to find; certificates for passes. Plus a live session and a
few upcoming ones relative to the real current date, so a demo worker can check in today.

Everything is bulk-inserted; training volumes do not scale with ctx.scale (they are small).
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import func, insert, select, text
from sqlmodel import col

from core import clock
from core.demo import DemoContext
from core.models import row_id
from courses.attendance import notify_attendance_warnings
from courses.catalog import load_shipped_courses
from courses.models import (
    AttemptAnswer,
    Attendance,
    Certificate,
    Enrollment,
    EnrollmentRule,
    Question,
    QuestionOption,
    QuizAttempt,
    SessionStatus,
    TrainingSession,
)
from courses.notifications import send_reminders
from courses.quizzes import add_months, grade

FIRST_CLOUD_CLASS = datetime(2020, 2, 20, 14, 30)  # 首期云课程: 300 名网格系统工作人员参与
FIRST_CLOUD_ATTENDED = 300
MONTHLY_ROTATION = [
    "residence_registration",
    "house_coding",
    "fire_safety",
    "dispute_mediation",
    "epidemic_screening",
    "info_collection",
    "fire_safety",
]  # March … September


def _bulk(session, model, rows: list[dict]) -> None:  # noqa: ANN001
    if rows:
        session.execute(insert(model.__table__), rows)


def _next_id(session, model) -> int:  # noqa: ANN001
    return int(session.execute(select(func.coalesce(func.max(model.id), 0))).scalar()) + 1


def _fix_sequences(session, models) -> None:  # noqa: ANN001
    """Explicit ids were inserted: move PostgreSQL's sequences past them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for m in models:
        t = m.__tablename__
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {t}))"
            )
        )


def seed(ctx: DemoContext) -> None:
    s, rng = ctx.session, np.random.default_rng(ctx.seed + 3)
    courses = {c.code: c for c in load_shipped_courses(s)}
    s.flush()
    workers = ctx.workers.reset_index(drop=True)
    n_w = len(workers)
    wid = workers["id"].to_numpy()
    enrolled_at = datetime.combine(ctx.start, time(9))

    # Enrollment: all courses for everyone, except dispute mediation (party members by rule + 60% of others).
    party_rule = EnrollmentRule(
        course_id=row_id(courses["dispute_mediation"].id),
        kind="party",
        created_by=ctx.manager_user_id,
        created_at=enrolled_at,
    )
    s.add(party_rule)
    s.flush()
    enroll_rows, enrolled = [], {}
    for code, course in courses.items():
        if code == "dispute_mediation":
            mask = workers["party_member"].to_numpy() | (rng.random(n_w) < 0.6)
        else:
            mask = np.ones(n_w, dtype=bool)
        enrolled[code] = set(wid[mask].tolist())
        for w, party in zip(wid[mask], workers["party_member"].to_numpy()[mask], strict=True):
            by_rule = code == "dispute_mediation" and party
            enroll_rows.append(
                {
                    "course_id": course.id,
                    "worker_id": int(w),
                    "enrolled_at": enrolled_at,
                    "source": "rule" if by_rule else "demo",
                    "rule_id": party_rule.id if by_rule else None,
                    "reason": "",
                }
            )
    _bulk(s, Enrollment, enroll_rows)

    # Sessions: (course, start, minutes, audience subdistrict or None).
    plan: list[tuple[str, datetime, int, int | None]] = [
        ("epidemic_screening", datetime(2020, 1, 30, 15, 0), 90, None),
        ("info_collection", FIRST_CLOUD_CLASS, 120, None),
        ("residence_registration", datetime(2020, 2, 27, 14, 30), 90, None),
    ]
    subdistricts = sorted(workers["subdistrict_id"].unique().tolist())
    for i, code in enumerate(MONTHLY_ROTATION):
        month = date(2020, 3 + i, 1)
        for j, sub in enumerate(subdistricts):
            day = month + timedelta(days=(2 - month.weekday()) % 7 + 7 + j)  # 2nd Wednesday, Thu, Fri
            plan.append((code, datetime.combine(day, time(15 if j % 2 else 9, 30)), 90, int(sub)))
    first_sid = _next_id(s, TrainingSession)
    session_rows, seat_rows = [], []
    propensity = np.where(rng.random(n_w) < 0.08, rng.beta(2, 2.5, n_w), rng.beta(12, 1.2, n_w))
    prop = dict(zip(wid.tolist(), propensity, strict=True))
    for k, (code, start, minutes, sub) in enumerate(plan):
        sid = first_sid + k
        course = courses[code]
        end = start + timedelta(minutes=minutes)
        session_rows.append(
            {
                "id": sid,
                "course_id": course.id,
                "series": None,
                "title_zh": "",
                "title_en": "",
                "start_at": start,
                "end_at": end,
                "meeting_url": f"https://meeting.tencent.com/dm/demo{sid:04d}",
                "capacity": None,
                "unit_id": sub,
                "status": SessionStatus.CLOSED.value,
                "secret": secrets.token_hex(16),
                "version": 1,
                "host_user_id": ctx.manager_user_id,
                "created_by": ctx.manager_user_id,
                "closed_at": end,
                "created_at": start - timedelta(days=7),
                "updated_at": start - timedelta(days=7),
            }
        )
        aud = workers[workers["id"].isin(enrolled[code])]
        if sub is not None:
            aud = aud[aud["subdistrict_id"] == sub]
        ids = aud["id"].to_numpy()
        p = np.array([prop[int(w)] for w in ids])
        came = rng.random(len(ids)) < p
        if start == FIRST_CLOUD_CLASS:  # exactly the article's 300
            order = np.argsort(-(p + rng.random(len(ids)) * 0.01))
            came = np.zeros(len(ids), dtype=bool)
            came[order[: min(FIRST_CLOUD_ATTENDED, len(ids))]] = True
        late = came & (rng.random(len(ids)) < 0.12)
        excused = ~came & (rng.random(len(ids)) < 0.4)
        status = np.where(late, "late", np.where(came, "present", np.where(excused, "excused", "absent")))
        offset = np.where(late, rng.integers(11, 40, len(ids)), rng.integers(-14, 10, len(ids)))
        for w, st, off in zip(ids, status, offset, strict=True):
            attended = st in ("present", "late")
            seat_rows.append(
                {
                    "session_id": sid,
                    "worker_id": int(w),
                    "status": str(st),
                    "points": int(getattr(course, f"points_{st}")),
                    "source": "code" if attended else ("excuse" if st == "excused" else "auto"),
                    "checked_in_at": start + timedelta(minutes=int(off)) if attended else None,
                    "minutes_attended": None,
                    "marked_by": None,
                    "marked_at": end if not attended else None,
                }
            )
    _bulk(s, TrainingSession, session_rows)
    _bulk(s, Attendance, seat_rows)
    ctx.log(f"courses: {len(session_rows)} sessions, {len(seat_rows)} seats")

    _seed_attempts(ctx, courses, enrolled, plan, rng)
    _seed_upcoming(ctx, courses)
    _fix_sequences(s, [TrainingSession, QuizAttempt, AttemptAnswer, Certificate])
    s.flush()
    real_now = clock.now()
    send_reminders(s, now=real_now)
    notify_attendance_warnings(s, now=real_now)


def _seed_attempts(ctx: DemoContext, courses, enrolled, plan, rng: np.random.Generator) -> None:  # noqa: ANN001
    s = ctx.session
    bank = pd.DataFrame(
        s.execute(select(col(Question.id), col(Question.course_id), col(Question.kind))).all(),
        columns=["id", "course_id", "kind"],
    )
    opts = pd.DataFrame(
        s.execute(
            select(col(QuestionOption.id), col(QuestionOption.question_id), col(QuestionOption.correct))
        ).all(),
        columns=["id", "question_id", "correct"],
    )
    options = opts.groupby("question_id")["id"].apply(list).to_dict()
    key = opts[opts["correct"]].groupby("question_id")["id"].apply(set).to_dict()
    # Question difficulty; two questions per bank made deliberately ambiguous (weak discrimination).
    difficulty = dict(zip(bank["id"], rng.normal(-0.9, 0.9, len(bank)), strict=True))
    ambiguous = set(bank.groupby("course_id")["id"].apply(lambda x: x.sample(1, random_state=7)).tolist())
    ability = dict(zip(ctx.workers["id"], rng.normal(0.4, 0.9, len(ctx.workers)), strict=True))
    first_session: dict[str, datetime] = {}
    for code, start, _m, _sub in plan:
        first_session.setdefault(code, start)

    attempt_id, answer_id = _next_id(s, QuizAttempt), _next_id(s, AttemptAnswer)
    attempts, answers, certs = [], [], []
    for code, course in courses.items():
        qs = bank[bank["course_id"] == course.id]["id"].to_numpy()
        n_q = min(course.quiz_questions, len(qs))
        for w in sorted(enrolled[code]):
            if rng.random() < 0.1:  # some never try
                continue
            t = first_session[code] + timedelta(days=int(rng.integers(1, 12)), hours=int(rng.integers(-5, 6)))
            theta, scores = ability[int(w)], []
            for number in range(1, course.max_attempts + 1):
                drawn = rng.permutation(qs)[:n_q]
                right = 0
                for pos, q in enumerate(drawn):
                    order = rng.permutation(options[q]).tolist()
                    if q in ambiguous:
                        p = 0.55
                    else:
                        p = 1 / (1 + np.exp(-1.7 * (theta - difficulty[q])))
                    ok = bool(rng.random() < p)
                    if ok:
                        chosen = key[q]
                    else:
                        wrong = [o for o in options[q] if o not in key[q]]
                        chosen = {int(rng.choice(wrong))} if wrong else set()
                        if len(key[q]) > 1 and rng.random() < 0.5:  # partial multiple-choice answer
                            chosen = set(list(key[q])[:-1])
                    right += int(ok)  # a plain int: numpy scalars would be stored as BLOBs by sqlite3
                    answers.append(
                        {
                            "id": answer_id,
                            "attempt_id": attempt_id,
                            "question_id": int(q),
                            "position": pos,
                            "option_order": ",".join(map(str, order)),
                            "chosen": ",".join(map(str, sorted(chosen))),
                            "correct": bool(ok),
                            "answered_at": t + timedelta(minutes=pos + 1),
                        }
                    )
                    answer_id += 1
                score = round(100.0 * right / n_q, 1)
                scores.append(score)
                submitted = t + timedelta(minutes=int(rng.integers(6, course.time_limit_minutes)))
                attempts.append(
                    {
                        "id": attempt_id,
                        "course_id": course.id,
                        "worker_id": int(w),
                        "number": number,
                        "status": "submitted",
                        "started_at": t,
                        "deadline_at": t + timedelta(minutes=course.time_limit_minutes),
                        "submitted_at": submitted,
                        "score": score,
                        "correct_count": right,
                        "question_count": n_q,
                    }
                )
                g = grade(scores, course.grading_method)
                if g is not None and g >= course.pass_mark:
                    certs.append(
                        {
                            "course_id": course.id,
                            "worker_id": int(w),
                            "attempt_id": attempt_id,
                            "score": g,
                            "issued_at": submitted,
                            "valid_until": add_months(submitted, course.validity_months),
                        }
                    )
                    attempt_id += 1
                    break
                attempt_id += 1
                if rng.random() < 0.25:
                    break
                theta += 0.35  # studied the mistakes
                t = t + timedelta(days=int(rng.integers(1, 8)))
    _bulk(s, QuizAttempt, attempts)
    _bulk(s, AttemptAnswer, answers)
    _bulk(s, Certificate, certs)
    ctx.log(f"courses: {len(attempts)} quiz attempts, {len(answers)} answers, {len(certs)} certificates")


def _seed_upcoming(ctx: DemoContext, courses) -> None:  # noqa: ANN001
    """A session open for check-in now, one within a day, one next week for 下沙 — all seats for the enrolled."""
    s = ctx.session
    now = clock.now()
    live_start = now.replace(second=0) - timedelta(minutes=now.minute % 5 + 5)
    xiasha = ctx.workers[
        ctx.workers["employee_no"].isin(
            [a["username"].upper() for a in ctx.accounts if a["role"] == "worker"]
        )
    ]
    xiasha_unit = int(xiasha["community_id"].iloc[0]) if len(xiasha) else None
    # The next 14:30 at least an hour away, unless that is tomorrow's and more than 23 hours off (seeded
    # between 13:30 and 14:30): then the next half hour two hours ahead. Either way within the 24-hour reminder
    # horizon, whatever the hour the demo is seeded (a fixed "tomorrow 14:30" left the inbox empty when seeded
    # after midnight; "the next 14:30" left it empty when seeded at 13:45).
    next_afternoon = datetime.combine(now.date(), time(14, 30))
    if next_afternoon < now + timedelta(hours=1):
        next_afternoon += timedelta(days=1)
    if next_afternoon - now > timedelta(hours=23):
        soon = (now + timedelta(hours=2)).replace(second=0, microsecond=0)
        next_afternoon = soon + timedelta(minutes=-soon.minute % 30)
    upcoming = [
        ("info_collection", live_start, 120, None),
        ("fire_safety", next_afternoon, 90, None),
        (
            "residence_registration",
            datetime.combine(now.date() + timedelta(days=7), time(9, 30)),
            60,
            xiasha_unit,
        ),
    ]
    first = _next_id(s, TrainingSession)
    rows, seats = [], []
    enrolled = pd.DataFrame(
        s.execute(select(col(Enrollment.course_id), col(Enrollment.worker_id))).all(),
        columns=["course_id", "worker_id"],
    )
    for k, (code, start, minutes, unit) in enumerate(upcoming):
        course = courses[code]
        rows.append(
            {
                "id": first + k,
                "course_id": course.id,
                "series": None,
                "title_zh": "",
                "title_en": "",
                "start_at": start,
                "end_at": start + timedelta(minutes=minutes),
                "meeting_url": f"https://meeting.tencent.com/dm/live{first + k:04d}",
                "capacity": None,
                "unit_id": unit,
                "status": SessionStatus.SCHEDULED.value,
                "secret": secrets.token_hex(16),
                "version": 1,
                "host_user_id": ctx.manager_user_id,
                "created_by": ctx.manager_user_id,
                "closed_at": None,
                "created_at": now - timedelta(days=3),
                "updated_at": now - timedelta(days=3),
            }
        )
        ids = enrolled[enrolled["course_id"] == course.id]["worker_id"]
        if unit is not None:
            ids = ids[ids.isin(ctx.workers[ctx.workers["community_id"] == unit]["id"])]
        seats += [{"session_id": first + k, "worker_id": int(w)} for w in ids]
    _bulk(s, TrainingSession, rows)
    _bulk(s, Attendance, seats)
