"""Dispatch judges tasks at the field clock: the pinned "today" in a demo database, the wall clock elsewhere.

The world is test_assignment_service's: fire-safety certificates issued 30 days before 2020-06-01 and
valid 300 days (until 2021-03-28, long expired by the wall clock), three registered events.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import select

from core import clock
from core.models import AppSetting
from courses.models import Attendance, TrainingSession
from evaluation.assignment import service
from evaluation.assignment.models import AssignmentDecision
from evaluation.field.models import Event, EventState
from evaluation.field.registry import AS_OF_SETTING
from tests.unit import test_assignment_service as dispatch_tests

AS_OF = dispatch_tests.NOW  # the pinned field "today" of these tests
_task_id = dispatch_tests._task_id
world = dispatch_tests.world  # the dispatch tests' fixture: certified workers and three events


def _pin(session, at: datetime = AS_OF) -> None:
    session.add(AppSetting(key=AS_OF_SETTING, value=at.isoformat()))
    session.commit()


def _seat(session, world, worker, start: datetime, hours: float = 2) -> None:
    ts = TrainingSession(
        course_id=world.courses["fire_safety"].id,
        start_at=start,
        end_at=start + timedelta(hours=hours),
        secret="s",
    )
    session.add(ts)
    session.flush()
    session.add(Attendance(session_id=ts.id, worker_id=worker.id))
    session.commit()


def test_a_pinned_database_ranks_by_the_certificates_and_training_of_its_day(session, world):
    """Test that, with no ``now``, certificates valid on the pinned day qualify although the wall clock is
    past their expiry, a class around the real date does not count as training, and a class during the
    task's window on the pinned day does."""
    _pin(session)
    a0, a1, a2 = world.org.workers_a
    _seat(session, world, a1, clock.now() - timedelta(minutes=30))  # a live class today: irrelevant in 2020
    _seat(session, world, a0, AS_OF + timedelta(hours=1))  # a class inside the pinned day's response window
    task, ranked, excluded = service.recommend(session, world.manager, _task_id(session, 1), "routine")
    assert list(ranked["worker_id"]) == [a1.id]
    rules = excluded.set_index("worker_id")["rule"]
    assert rules.to_dict() == {a0.id: "in_training", a2.id: "not_qualified"}
    ctx = service.load_context(session, world.manager)
    assert ctx.now == AS_OF


def test_an_explicit_now_wins_and_an_expired_certificate_excludes(session, world):
    """Test that an explicit ``now`` after the certificates expired excludes both certified workers as
    expired, even in a pinned database."""
    _pin(session)
    later = datetime(2021, 4, 1, 9, 0)  # the certificates ran until 2021-03-28
    _, ranked, excluded = service.recommend(
        session, world.manager, _task_id(session, 1), "routine", now=later
    )
    assert ranked.empty
    a0, a1, _ = world.org.workers_a
    expired = excluded[excluded["worker_id"].isin([a0.id, a1.id])]
    assert set(expired["rule"]) == {"not_qualified"}
    assert all("过期" in r for r in service.exclusion_reasons(expired, "zh"))


def test_without_a_pinned_day_the_wall_clock_judges(session, world):
    """Test a real deployment: no setting, so the wall clock decides and the 2020 certificates have expired."""
    before = clock.now()
    ctx = service.load_context(session, world.manager)
    assert before <= ctx.now <= clock.now()
    _, ranked, excluded = service.recommend(session, world.manager, _task_id(session, 1), "routine", ctx=ctx)
    assert ranked.empty and set(excluded["rule"]) == {"not_qualified"}


def test_assign_and_batch_stamp_the_decision_when_the_event_is_dispatched(session, world):
    """Test that a decision's decided_at is the event's dispatched_at (the pinned day), for one task and a batch."""
    _pin(session)
    a0 = world.org.workers_a[0]
    d = service.assign(
        session, world.manager, task_id=_task_id(session, 1), worker_id=a0.id, preset="routine"
    )
    e1 = session.exec(select(Event).where(Event.event_no == "E1")).one()
    assert d.decided_at == e1.dispatched_at == AS_OF
    assert (
        e1.state == EventState.DISPATCHED.value and e1.due_at > e1.accepted_at
    )  # deadlines from the same day
    done = service.commit_batch(
        session, world.manager, service.propose_batch(session, world.manager, "routine")
    )
    assert done["assigned"] == 1  # E2; E3 (community B) has nobody qualified
    e2 = session.exec(select(Event).where(Event.event_no == "E2")).one()
    batch = session.exec(
        select(AssignmentDecision).where(AssignmentDecision.task_id == _task_id(session, 2))
    ).one()
    assert batch.decided_at == e2.dispatched_at == AS_OF
