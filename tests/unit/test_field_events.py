"""The event closed loop: legal and illegal transitions, deadlines, overdue escalation, tasks."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from core.i18n import t
from core.models import Role
from core.scope import ScopeError
from evaluation.field import events as ev
from evaluation.field.api import assign_task, open_tasks, worker_load
from evaluation.field.models import Event, EventState, EventTransition
from evaluation.field.registry import ensure_reference_data
from tests.factories import make_org, viewer

T0 = datetime(2020, 6, 1, 8, 0)
S = EventState


def test_pure_table_allows_the_documented_path():
    """Test that the happy path of DOMAIN.md §4.2 is legal step by step."""
    path = [
        ("submit", S.REPORTED),
        ("accept", S.ACCEPTED),
        ("register", S.REGISTERED),
        ("dispatch", S.DISPATCHED),
        ("sign", S.SIGNED),
        ("start", S.HANDLING),
        ("feedback", S.FEEDBACK),
        ("check_pass", S.CLOSED),
    ]
    state = S.DRAFT
    for action, expected in path:
        state = ev.next_state(state, action, note="done")
        assert state == expected
    assert ev.next_state(S.CLOSED, "rate", satisfaction="basic") == S.EVALUATED
    assert ev.next_state(S.CLOSED, "rate", satisfaction="unsatisfied") == S.REOPENED
    assert ev.next_state(S.REOPENED, "start") == S.HANDLING
    assert ev.next_state(S.FEEDBACK, "check_fail", note="not fixed") == S.HANDLING


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (S.REPORTED, "sign"),
        (S.CLOSED, "feedback"),
        (S.VOIDED, "accept"),
        (S.DISPATCHED, "feedback"),
        (S.EVALUATED, "rate"),
        (S.HANDLING, "check_pass"),
    ],
)
def test_illegal_transitions_are_refused_with_the_allowed_list(state, action):
    """Test that an illegal action names the current state and what is allowed, in both languages, with the
    state and action names translated (no raw English state code in the Chinese text)."""
    with pytest.raises(ev.IllegalTransition) as refused:
        ev.next_state(state, action, note="x")
    exc = refused.value
    assert exc.key == "field.err.illegal_state"
    for lang in ("zh", "en"):
        text = exc.message(lang)
        assert t(f"field.state.{state.value}", lang) in text and t(f"field.action.{action}", lang) in text
        for legal in ev.allowed_actions(state):
            assert t(f"field.action.{legal}", lang) in text
    assert str(exc) == exc.message("en")
    assert not re.search(r"[A-Za-z]", exc.message("zh").replace("SLA", ""))


def test_role_and_note_rules():
    """Test that a worker may not accept, feedback needs a note and rate needs a satisfaction."""
    with pytest.raises(ev.IllegalTransition, match="worker may not “Accept”"):
        ev.next_state(S.REPORTED, "accept", role=Role.WORKER)
    with pytest.raises(ev.IllegalTransition, match="needs a note"):
        ev.next_state(S.HANDLING, "feedback", role=Role.WORKER, note="  ")
    with pytest.raises(ev.IllegalTransition, match="satisfaction"):
        ev.next_state(S.CLOSED, "rate")


def _event(session, org, **kw) -> Event:
    base = dict(
        event_no=f"E{kw.pop('n', 1)}",
        item_code="F01",
        category_code="fire",
        grid_id=org.grids_a[0].id,
        community_id=org.comm_a.id,
        priority="normal",
        state=S.REGISTERED.value,
        reporter_id=org.workers_a[0].id,
        reported_at=T0,
        accepted_at=T0 + timedelta(hours=1),
    )
    base.update(kw)
    e = Event(**base)
    session.add(e)
    session.flush()
    return e


def test_full_loop_in_the_database_stamps_times_and_history(session):
    """Test that assign → sign → start → feedback → fail → feedback → pass → unsatisfied records every step."""
    org = make_org(session)
    ensure_reference_data(session)
    mgr = viewer(Role.MANAGER)
    w = org.workers_a[1]
    me = viewer(Role.WORKER, worker=w)
    e = _event(session, org)
    assign_task(
        session,
        mgr,
        task_id=f"event:{e.id}",
        worker_id=w.id,
        reason_zh="本网格",
        reason_en="own grid",
        assigned_by=1,
        now=T0 + timedelta(hours=2),
    )
    assert e.state == S.DISPATCHED.value and e.assignee_id == w.id and e.assign_reason_en == "own grid"
    assert e.sign_due_at == T0 + timedelta(hours=6)  # normal: sign within 4 h
    ev.transition(session, me, event_id=e.id, action="sign", now=T0 + timedelta(hours=3))
    assert e.due_at == T0 + timedelta(hours=3 + 72)  # handle limit runs from signing
    ev.transition(session, me, event_id=e.id, action="start", now=T0 + timedelta(hours=4))
    ev.transition(session, me, event_id=e.id, action="feedback", note="已清理", now=T0 + timedelta(hours=30))
    ev.transition(
        session, mgr, event_id=e.id, action="check_fail", note="仍有杂物", now=T0 + timedelta(hours=31)
    )
    assert e.rework_count == 1 and e.state == S.HANDLING.value
    ev.transition(
        session, me, event_id=e.id, action="feedback", note="再次清理", now=T0 + timedelta(hours=40)
    )
    ev.transition(session, mgr, event_id=e.id, action="check_pass", now=T0 + timedelta(hours=41))
    ev.transition(
        session, mgr, event_id=e.id, action="rate", satisfaction="unsatisfied", now=T0 + timedelta(hours=50)
    )
    assert e.state == S.REOPENED.value and e.reopen_count == 1 and e.closed_at is None
    hist = ev.event_history(session, mgr, e.id)
    assert hist["action"].tolist() == [
        "dispatch",
        "sign",
        "start",
        "feedback",
        "check_fail",
        "feedback",
        "check_pass",
        "rate",
    ]
    assert hist["at"].is_monotonic_increasing


def test_worker_cannot_move_someone_elses_task(session):
    """Test that a worker acting on a task assigned to a colleague is refused."""
    org = make_org(session)
    ensure_reference_data(session)
    e = _event(session, org, state=S.DISPATCHED.value, assignee_id=org.workers_a[1].id)
    other = viewer(Role.WORKER, worker=org.workers_a[2])
    with pytest.raises(ScopeError):
        ev.transition(session, other, event_id=e.id, action="sign", now=T0)
    assert session.get(Event, e.id).state == S.DISPATCHED.value


def test_manager_outside_scope_cannot_assign(session):
    """Test that a community-B manager cannot dispatch a community-A event."""
    org = make_org(session)
    ensure_reference_data(session)
    e = _event(session, org)
    with pytest.raises(ScopeError):
        assign_task(
            session,
            viewer(Role.MANAGER, org.comm_b),
            task_id=f"event:{e.id}",
            worker_id=org.workers_a[0].id,
            reason_zh="x",
            reason_en="x",
            assigned_by=1,
        )


def test_overdue_job_urges_then_supervises_idempotently(session):
    """Test that an overdue event is urged once, then supervised 24 h later, and reruns change nothing."""
    org = make_org(session)
    ensure_reference_data(session)
    due = T0 + timedelta(hours=10)
    late = _event(session, org, n=1, state=S.HANDLING.value, assignee_id=org.workers_a[0].id, due_at=due)
    _event(
        session,
        org,
        n=2,
        state=S.HANDLING.value,
        assignee_id=org.workers_a[0].id,
        due_at=due + timedelta(days=9),
    )
    unsigned = _event(
        session,
        org,
        n=3,
        state=S.DISPATCHED.value,
        assignee_id=org.workers_a[1].id,
        sign_due_at=T0 + timedelta(hours=1),
        due_at=T0 + timedelta(hours=73),
    )
    _event(session, org, n=4, state=S.CLOSED.value, due_at=due, closed_at=due + timedelta(days=1))
    assert ev.escalate_overdue(session, now=due - timedelta(minutes=1)) == {"urged": 1, "supervised": 0}
    session.expire_all()
    assert session.get(Event, unsigned.id).escalation == 1
    assert ev.escalate_overdue(session, now=due + timedelta(hours=1)) == {"urged": 1, "supervised": 0}
    assert ev.escalate_overdue(session, now=due + timedelta(hours=2)) == {"urged": 0, "supervised": 0}
    assert ev.escalate_overdue(session, now=due + timedelta(hours=26)) == {"urged": 0, "supervised": 2}
    assert ev.escalate_overdue(session, now=due + timedelta(hours=30)) == {"urged": 0, "supervised": 0}
    session.expire_all()
    assert session.get(Event, late.id).escalation == 2
    actions = [
        t.action
        for t in session.exec(select(EventTransition).where(EventTransition.event_id == late.id)).all()
    ]
    assert actions == ["urge", "supervise"]


def test_open_tasks_and_load(session):
    """Test that open_tasks lists registered events with titles and worker_load counts held tasks."""
    org = make_org(session)
    ensure_reference_data(session)
    e = _event(session, org)
    _event(session, org, n=2, state=S.CLOSED.value)
    tasks = open_tasks(session, viewer(Role.MANAGER), now=T0)
    assert tasks["task_id"].tolist() == [f"event:{e.id}"]
    assert tasks.loc[0, "title_zh"].startswith("生命安全通道")
    assert open_tasks(session, viewer(Role.MANAGER, org.comm_b), now=T0).empty
    assign_task(
        session,
        viewer(Role.MANAGER),
        task_id=f"event:{e.id}",
        worker_id=org.workers_a[2].id,
        reason_zh="近",
        reason_en="near",
        assigned_by=1,
        now=T0,
    )
    load = worker_load(session, now=T0 + timedelta(days=1)).set_index("worker_id")
    assert load.loc[org.workers_a[2].id, "open_tasks"] == 1
    assert load.loc[org.workers_a[2].id, "tasks_last_30d"] == 1
    assert load.loc[org.workers_a[0].id, "open_tasks"] == 0
    mine = open_tasks(session, viewer(Role.WORKER, worker=org.workers_a[2]), now=T0)
    assert mine["task_id"].tolist() == [f"event:{e.id}"]


def test_state_counts_count_open_events_only(session):
    """Test that the 事件闭环 counts list open states with their overdue events, and closed or evaluated
    events (most of a long history) are not counted (issue #21: counts over open states by index)."""
    org = make_org(session)
    ensure_reference_data(session)
    due = T0 + timedelta(hours=10)
    _event(session, org, n=1, state=S.HANDLING.value, assignee_id=org.workers_a[0].id, due_at=due)
    _event(session, org, n=2, state=S.REGISTERED.value)
    _event(session, org, n=3, state=S.CLOSED.value, due_at=due, closed_at=due + timedelta(days=1))
    _event(session, org, n=4, state=S.EVALUATED.value, due_at=due, closed_at=due)
    counts = ev.state_counts(session, viewer(Role.MANAGER), now=due + timedelta(hours=1))
    by_state = dict(zip(counts["state"], zip(counts["events"], counts["overdue"], strict=True), strict=True))
    assert by_state == {S.HANDLING.value: (1, 1), S.REGISTERED.value: (1, 0)}
