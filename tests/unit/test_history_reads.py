"""Reads over a bounded recent period or over open work: the right answer, from the rows their period or
state selects, however many years of closed events are kept (issue #21: a page's cost must not grow with
history). The answers are checked on both backends; the plans on SQLite, where ANALYZE statistics of a long
history made the planner read the whole event table through the scope (grid) or assignee index."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import insert, text
from sqlmodel import col, select

from core.models import Role
from evaluation.assignment.quality import dispatch_quality
from evaluation.field import events as ev
from evaluation.field.models import Event, EventState
from evaluation.field.registry import ensure_reference_data
from evaluation.field.tasks import category_performance, open_tasks, worker_load
from evaluation.triage.reports import suggestion_acceptance, unconfirmed_events
from evaluation.warning.hotspots import daily_counts
from tests.factories import make_org, viewer

NOW = datetime(2020, 6, 20, 12, 0)
S = EventState
OPEN = sorted(s.value for s in ev.OPEN_STATES)
# the states a long history is made of (the demo's: mostly evaluated, then closed and voided)
HISTORY_STATES = [S.EVALUATED.value] * 4 + [S.CLOSED.value, S.VOIDED.value]


def _row(org, n: str, *, grid=None, comm=None, **kw) -> dict:
    row = dict(
        event_no=n,
        item_code="F01",
        category_code="fire",
        grid_id=(grid or org.grids_a[0]).id,
        community_id=(comm or org.comm_a).id,
        priority="normal",
        state=S.CLOSED.value,
        reported_at=NOW - timedelta(days=60),
        escalation=0,
        rework_count=0,
        reopen_count=0,
        return_count=0,
        postponed=False,
        item_confirmed=True,
        source="app",
        updated_at=NOW,
    )
    row.update(kw)
    return row


def _history(org, years: int, per_year: int) -> list[dict]:
    """Finished, fed-back events of past years, spread over both communities' workers and grids."""
    rows = []
    workers = [*org.workers_a, *org.workers_b]
    grids = {w.id: w.grid_id for w in workers}
    comms = {w.id: w.community_id for w in workers}
    for y in range(2, years + 2):
        for i in range(per_year):
            w = workers[i % len(workers)]
            at = NOW - timedelta(days=365 * y + i % 300)
            rows.append(
                _row(
                    org,
                    f"H{y}-{i}",
                    state=HISTORY_STATES[i % len(HISTORY_STATES)],
                    grid_id=grids[w.id],
                    community_id=comms[w.id],
                    assignee_id=w.id,
                    reported_at=at,
                    dispatched_at=at,
                    signed_at=at + timedelta(hours=1),
                    due_at=at + timedelta(days=2),
                    feedback_at=at + timedelta(days=1),
                    closed_at=at + timedelta(days=1),
                    satisfaction="satisfied",
                    rework_count=1,
                )
            )
    return rows


def _recent(org) -> list[dict]:
    a0, a1, b0 = org.workers_a[0], org.workers_a[1], org.workers_b[0]
    d = lambda days: NOW - timedelta(days=days)  # noqa: E731
    return [
        # held by a0, dispatched 2 days ago: open and recent
        _row(org, "R1", state=S.HANDLING.value, assignee_id=a0.id, dispatched_at=d(2), due_at=d(-1)),
        # a0, closed on time 8 days ago after a rework, satisfied
        _row(
            org,
            "R2",
            assignee_id=a0.id,
            dispatched_at=d(10),
            feedback_at=d(9),
            due_at=d(8),
            closed_at=d(8),
            rework_count=1,
            satisfaction="satisfied",
        ),
        # a1, dispatched 40 days ago (not in the last 30), fed back late, unsatisfied
        _row(
            org,
            "R3",
            category_code="security",
            item_code="S01",
            grid=org.grids_a[1],
            assignee_id=a1.id,
            dispatched_at=d(40),
            feedback_at=d(35),
            due_at=d(37),
            closed_at=d(35),
            satisfaction="unsatisfied",
        ),
        # b0 in community B, dispatched yesterday
        _row(
            org,
            "R4",
            state=S.DISPATCHED.value,
            grid=org.grids_b[0],
            comm=org.comm_b,
            assignee_id=b0.id,
            dispatched_at=d(1),
            due_at=d(-2),
        ),
        # registered, nobody holds it yet
        _row(org, "R5", state=S.REGISTERED.value, grid=org.grids_a[1], due_at=d(-3)),
        # open but no worker's task yet (reported, accepted) or any more (fed back, awaiting closure)
        _row(org, "R9", state=S.REPORTED.value, reported_at=d(1)),
        _row(org, "R10", state=S.ACCEPTED.value, reported_at=d(1)),
        _row(org, "R11", state=S.FEEDBACK.value, reported_at=d(2)),
        # fed back recently with no assignee: no worker's performance
        _row(org, "R6", dispatched_at=d(6), feedback_at=d(5), closed_at=d(5), satisfaction="basic"),
        # came with a suggested item, not confirmed yet (A), and one confirmed as suggested (B)
        _row(
            org,
            "R7",
            state=S.REGISTERED.value,
            reported_at=d(3),
            suggested_item="F01",
            item_confirmed=False,
        ),
        _row(
            org,
            "R8",
            grid=org.grids_b[0],
            comm=org.comm_b,
            reported_at=d(4),
            suggested_item="F01",
            item_confirmed=True,
        ),
    ]


def _seed(session, *, years: int, per_year: int):  # noqa: ANN202
    org = make_org(session)
    ensure_reference_data(session)
    session.execute(insert(Event), [*_history(org, years, per_year), *_recent(org)])
    session.flush()
    return org


def test_period_and_open_reads_answer_from_their_rows_only(session):
    """Test that workload, past performance, the open queue and suggestions count the recent or open events
    in scope and none of the years of closed history (every history event is fed back, dispatched and
    satisfied: counting one would change an answer)."""
    org = _seed(session, years=3, per_year=30)
    a0, a1, b0 = org.workers_a[0], org.workers_a[1], org.workers_b[0]

    load = worker_load(session, now=NOW).set_index("worker_id")
    assert load.loc[a0.id, ["open_tasks", "tasks_last_30d"]].tolist() == [1, 2]
    assert load.loc[a1.id, ["open_tasks", "tasks_last_30d"]].tolist() == [0, 0]
    assert load.loc[b0.id, ["open_tasks", "tasks_last_30d"]].tolist() == [1, 1]

    perf = category_performance(session, since=(NOW - timedelta(days=365)).date())
    got = {
        (int(r.worker_id), r.category_code): (r.handled, r.ontime, r.rework, r.satisfied, r.rated)
        for r in perf.itertuples(index=False)
    }
    assert got == {(a0.id, "fire"): (1, 1, 1, 1, 1), (a1.id, "security"): (1, 0, 0, 0, 1)}

    district, comm_a, comm_b = (
        viewer(Role.MANAGER),
        viewer(Role.MANAGER, org.comm_a),
        viewer(Role.MANAGER, org.comm_b),
    )
    assert sorted(open_tasks(session, comm_a, now=NOW)["task_id"]) == sorted(
        f"event:{i}" for i in _ids(session, "R1", "R5", "R7")
    )
    assert open_tasks(session, comm_b, now=NOW)["task_id"].tolist() == [f"event:{_ids(session, 'R4')[0]}"]
    assert sorted(ev.event_queue(session, comm_a, states=OPEN, now=NOW)["event_no"]) == [
        "R1",
        "R10",
        "R11",
        "R5",
        "R7",
        "R9",
    ]
    assert ev.event_queue(session, comm_b, states=OPEN, now=NOW)["event_no"].tolist() == ["R4"]
    assert len(ev.event_queue(session, district, states=OPEN, now=NOW)) == 7
    finished = [S.CLOSED.value, S.EVALUATED.value]  # not open states only: read through the scope's index
    want = {
        r["event_no"]
        for r in _history(org, 3, 30)
        if r["state"] in finished and r["community_id"] == org.comm_a.id
    }
    got_a = set(ev.event_queue(session, comm_a, states=finished, now=NOW)["event_no"])
    assert want and got_a == want | {"R2", "R3", "R6"}

    assert unconfirmed_events(session, comm_a)["event_no"].tolist() == ["R7"]
    assert unconfirmed_events(session, comm_b).empty
    start = NOW - timedelta(days=30)
    assert suggestion_acceptance(session, district, start=start) == {
        "confirmed": 1,
        "accepted": 1,
        "changed": 0,
        "pending": 1,
        "rate": 1.0,
    }
    assert suggestion_acceptance(session, comm_a, start=start)["confirmed"] == 0

    # the days behind a warning (预警): the events reported in the window, none of the history's
    days = daily_counts(session, (NOW - timedelta(days=10)).date(), NOW.date())
    got_days = {(r.item_code, r.day.isoformat()): r.n for r in days.itertuples(index=False)}
    assert got_days == {
        ("F01", (NOW - timedelta(days=d)).date().isoformat()): n for d, n in ((1, 2), (2, 1), (3, 1), (4, 1))
    }

    q = dispatch_quality(session, district, start=NOW - timedelta(days=30), end=NOW, now=NOW).iloc[0]
    assert q["dispatched"] == 4  # R1, R2, R4, R6: nothing of the history
    by_comm = dispatch_quality(session, comm_b, start=NOW - timedelta(days=30), end=NOW, now=NOW)
    assert by_comm.iloc[0]["dispatched"] == 1


def _ids(session, *numbers: str) -> list[int]:
    return list(
        session.exec(select(Event.id).where(col(Event.event_no).in_(numbers)).order_by(Event.event_no))
    )


# The indexes a read of open work or of a recent period may be driven by; never the scope's grid index nor
# the assignee's, and never a scan: those read every year kept.
BOUNDED = (
    "ix_field_event_state_due",
    "ix_field_event_dispatched_at",
    "ix_field_event_feedback_at",
    "ix_field_event_reported_at",
    "ix_field_event_suggested",
)


def _bounded(step: str) -> bool:
    """A seek through a state or time index, or a walk of the partial index of suggested events."""
    return (step.startswith("SEARCH") and any(i in step for i in BOUNDED)) or step.startswith(
        "SCAN field_event USING INDEX ix_field_event_suggested"
    )


def test_history_reads_are_driven_by_their_period_or_state_index(session):
    """Test (SQLite, with ANALYZE statistics of a long closed history) that every query on field_event these
    reads issue seeks through a state or time index: at 10× the demo's history SQLite had read the whole
    table through the grid or assignee index (2.3–4.5× a page's cost, bench/bench_growth.py)."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's; PostgreSQL plans from its own statistics")
    org = _seed(session, years=12, per_year=1000)
    session.commit()
    session.execute(text("ANALYZE"))
    district, comm_a = viewer(Role.MANAGER), viewer(Role.MANAGER, org.comm_a)
    start = NOW - timedelta(days=90)
    reads = {
        "worker_load": lambda: worker_load(session, now=NOW),
        "category_performance": lambda: category_performance(
            session, since=(NOW - timedelta(days=365)).date()
        ),
        "open_tasks": lambda: open_tasks(session, district, now=NOW),
        "open_tasks (community)": lambda: open_tasks(session, comm_a, now=NOW),
        "event_queue": lambda: ev.event_queue(session, district, states=OPEN, now=NOW),
        "state_counts": lambda: ev.state_counts(session, comm_a, now=NOW),
        "unconfirmed_events": lambda: unconfirmed_events(session, district),
        "suggestion_acceptance": lambda: suggestion_acceptance(session, district, start=start),
        "dispatch_quality": lambda: dispatch_quality(session, district, start=start, end=NOW, by="item_code"),
        "daily_counts": lambda: daily_counts(session, (NOW - timedelta(days=62)).date(), NOW.date()),
    }
    conn = session.connection()
    seen: list[tuple[str, str, object]] = []

    def listen(_conn, _cursor, statement, parameters, _context, _many) -> None:  # noqa: ANN001
        if "field_event" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append((current[0], statement, parameters))

    current = [""]
    sa_event.listen(conn, "before_cursor_execute", listen)
    try:
        for name, read in reads.items():
            current[0] = name
            read()
    finally:
        sa_event.remove(conn, "before_cursor_execute", listen)
    assert {name for name, _, _ in seen} == set(reads)
    bad = []
    raw = conn.connection.driver_connection
    for name, statement, parameters in seen:
        plan = [r[-1] for r in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()]
        on_events = [p for p in plan if " field_event " in f"{p} "]
        if not on_events or not all(_bounded(p) for p in on_events):
            bad.append(f"{name}: {' | '.join(on_events)}")

    assert not bad, "\n".join(bad)
