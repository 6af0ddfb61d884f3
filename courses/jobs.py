"""Scheduled jobs of the courses area (run by core.scheduler; ``gridwise courses jobs-run`` runs them by hand).

Each works out what is due from the database and is safe to run twice, late, or after a gap: sessions
close by a conditional UPDATE, attempts are claimed once, notices are keyed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import clock
from core.audit import record
from core.db import unit_of_work
from core.scheduler import JobSpec
from courses import attendance, enrollment, notifications, quizzes


def _run(fn: Callable[..., int], now: datetime | None, engine: Engine | None) -> int:
    """One job run, one unit of work: the job's writes commit together or not at all."""
    with unit_of_work(engine) as session:
        return int(fn(session, now=now or clock.now()))


def send_reminders(now: datetime | None = None, engine: Engine | None = None) -> int:
    """Reminders 24 h and 1 h before each session to the seated who have not checked in."""
    return _run(notifications.send_reminders, now, engine)


def close_sessions(now: datetime | None = None, engine: Engine | None = None) -> int:
    """Sessions that have ended: the unmarked become absent and the session is closed."""
    return _run(attendance.close_ended_sessions, now, engine)


def auto_submit_quizzes(now: datetime | None = None, engine: Engine | None = None) -> int:
    """Open attempts past their deadline are submitted as they stood at the deadline."""
    return _run(quizzes.auto_submit_expired, now, engine)


def certificate_expiry(now: datetime | None = None, engine: Engine | None = None) -> int:
    """Notices for certificates expiring within 30 days, and quizzes due within 3 days."""
    return _run(notifications.notify_expiring_certificates, now, engine) + _run(
        notifications.notify_quiz_deadlines, now, engine
    )


def attendance_warnings(now: datetime | None = None, engine: Engine | None = None) -> int:
    """One warning a month to each worker on the attendance warning list."""
    return _run(attendance.notify_attendance_warnings, now, engine)


def _apply_rules(session: Session, *, now: datetime) -> int:
    n = enrollment.apply_rules(session, now=now)
    if n:
        record(
            session,
            "course.rule.apply",
            username="scheduler",
            entity="job",
            entity_id="courses.enrollment_rules",
            detail={"enrolled": n},
        )
    return n


def apply_enrollment_rules(now: datetime | None = None, engine: Engine | None = None) -> int:
    """Re-apply standing enrollment rules, so workers who joined since are enrolled and seated."""
    return _run(_apply_rules, now, engine)


JOBS: list[JobSpec] = [
    JobSpec(
        "courses.reminders",
        "courses.jobs:send_reminders",
        {"trigger": "interval", "minutes": 5},
        "Session reminders (24 h, 1 h)",
    ),
    JobSpec(
        "courses.close_sessions",
        "courses.jobs:close_sessions",
        {"trigger": "interval", "minutes": 5},
        "Close ended sessions (unmarked → absent)",
    ),
    JobSpec(
        "courses.auto_submit",
        "courses.jobs:auto_submit_quizzes",
        {"trigger": "interval", "minutes": 1},
        "Submit quiz attempts at their deadline",
    ),
    JobSpec(
        "courses.certificate_expiry",
        "courses.jobs:certificate_expiry",
        {"trigger": "interval", "hours": 1},
        "Certificate expiry and quiz deadline notices",
    ),
    JobSpec(
        "courses.attendance_warnings",
        "courses.jobs:attendance_warnings",
        {"trigger": "cron", "hour": 8, "minute": 0},
        "Attendance warnings",
    ),
    JobSpec(
        "courses.enrollment_rules",
        "courses.jobs:apply_enrollment_rules",
        {"trigger": "interval", "minutes": 15},
        "Re-apply enrollment rules",
    ),
]
JOB_FUNCTIONS: dict[str, Callable[..., int]] = {
    "reminders": send_reminders,
    "close-sessions": close_sessions,
    "auto-submit": auto_submit_quizzes,
    "certificate-expiry": certificate_expiry,
    "attendance-warnings": attendance_warnings,
    "enrollment-rules": apply_enrollment_rules,
}


def run_all(now: datetime | None = None, engine: Engine | None = None) -> dict[str, int]:
    """Every job once, in dependency order (close and submit before the notices that count them)."""
    order = [
        "enrollment-rules",
        "auto-submit",
        "close-sessions",
        "reminders",
        "certificate-expiry",
        "attendance-warnings",
    ]
    return {name: JOB_FUNCTIONS[name](now=now, engine=engine) for name in order}
