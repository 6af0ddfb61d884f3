"""Each multi-step evaluation action is one unit of work: when its LAST write fails, every earlier step is
undone with it — no table differs from before the action.

The last write is found by running the action once in a unit of work that is thrown away, counting the
INSERT/UPDATE/DELETE statements it sends; the action then runs again in the caller's unit of work
(core.db.unit_of_work, as a page or the CLI runs it) with that statement made to fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.db import unit_of_work
from core.models import Role, Worker
from core.scope import SYSTEM
from evaluation.assignment import service as assign_service
from evaluation.field.imports import import_file
from evaluation.field.models import VisitDay
from evaluation.field.quality import raise_verification_tasks
from evaluation.scoring.snapshots import freeze_period
from evaluation.scoring.store import activate_version, active_scheme, save_scheme_version
from tests.factories import viewer
from tests.unit import test_assignment_service as dispatch_tests
from tests.unit import test_scoring_db as scoring_tests
from tests.unit.test_authz_matrix import fingerprint

dispatch_world = dispatch_tests.world  # certified workers and three open events
scored_org = scoring_tests.org  # six workers' June 2020 figures and an admin user
FIELD_NOW = datetime(2020, 9, 30, 12, 0)
WRITES = ("INSERT", "UPDATE", "DELETE")


class LastWriteFailed(RuntimeError):
    pass


class _ThrownAway(Exception):
    pass


@contextmanager
def _on_write(engine: Engine, fn: Callable[[str], None]) -> Iterator[None]:
    def listener(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if statement.lstrip().upper().startswith(WRITES):
            fn(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def _tables(engine: Engine) -> dict[str, str]:
    with Session(engine) as s:
        return fingerprint(s)


def fail_at_last_write(engine: Engine, action: Callable[[Session], Any]) -> list[str]:
    """Run ``action`` in a unit of work whose last write fails; return the statements it wrote up to then
    and assert that no table changed."""
    sent: list[str] = []
    with _on_write(engine, sent.append), pytest.raises(_ThrownAway), unit_of_work(engine) as s:
        action(s)
        s.flush()  # what the unit of work's commit would still write (pending audit entries …)
        raise _ThrownAway
    before = _tables(engine)
    seen = 0

    def fail_last(_statement: str) -> None:
        nonlocal seen
        seen += 1
        if seen == len(sent):
            raise LastWriteFailed(_statement)

    with _on_write(engine, fail_last), pytest.raises(LastWriteFailed), unit_of_work(engine) as s:
        action(s)
    assert seen == len(sent)
    assert _tables(engine) == before
    return sent


def _touches(statements: list[str], *tables: str) -> bool:
    return all(any(t in s for s in statements) for t in tables)


def test_a_batch_assignment_whose_last_write_fails_assigns_nothing(session, dispatch_world):
    """Test that "assign all open" leaves every task unassigned, no decision and no audit entry when its last
    write fails."""
    engine = session.get_bind()
    with Session(engine) as s:
        proposal = assign_service.propose_batch(s, dispatch_world.manager, "routine", now=dispatch_tests.NOW)
    assert len(proposal.assigned) == 2
    sent = fail_at_last_write(
        engine,
        lambda s: assign_service.commit_batch(s, dispatch_world.manager, proposal, now=dispatch_tests.NOW),
    )
    assert _touches(sent, "field_event", "assignment_decision", "audit_log")


def test_an_override_whose_last_write_fails_leaves_the_task_open(session, dispatch_world):
    """Test that one assignment (the event dispatched, its audit entries, the decision) is undone whole."""
    a1 = dispatch_world.org.workers_a[1]
    task_id = dispatch_tests._task_id(session, 1)
    sent = fail_at_last_write(
        session.get_bind(),
        lambda s: assign_service.assign(
            s,
            dispatch_world.manager,
            task_id=task_id,
            worker_id=a1.id,
            preset="routine",
            override_reason="熟悉",
            now=dispatch_tests.NOW,
        ),
    )
    assert _touches(sent, "field_event", "assignment_decision")


def test_a_scheme_save_and_activation_whose_last_write_fails_change_nothing(session, scored_org):
    """Test that saving a scheme version (deactivate the others, add the new one, audit) and activating an
    older one are undone whole when the last write fails."""
    engine = session.get_bind()
    admin = scoring_tests.ADMIN
    scheme, v1 = active_scheme(session)
    session.commit()
    d = scheme.to_dict()
    first, second = d["dimensions"][0]["components"][:2]
    first["weight"], second["weight"] = first["weight"] + 5, second["weight"] - 5
    sent = fail_at_last_write(engine, lambda s: save_scheme_version(s, admin, d, note="x"))
    assert _touches(sent, "scoring_scheme", "audit_log")
    with unit_of_work(engine) as s:
        save_scheme_version(s, admin, d, note="x")
    sent = fail_at_last_write(engine, lambda s: activate_version(s, admin, v1.id))
    assert _touches(sent, "scoring_scheme", "audit_log")


def test_a_freeze_whose_last_write_fails_leaves_the_month_unfrozen(session, scored_org):
    """Test that freezing a month (snapshot, every worker's entries and components, audit, bulletin) leaves
    nothing behind when its last write fails."""
    sent = fail_at_last_write(
        session.get_bind(), lambda s: freeze_period(s, "2020-06", viewer=SYSTEM, now=datetime(2020, 7, 2))
    )
    assert _touches(sent, "scorecard_snapshot", "scorecard_entry", "audit_log")


def test_an_event_import_whose_last_write_fails_leaves_no_event(session, field_org):
    """Test that an events import (events, the figures recomputed from them, the audit entry) is undone whole
    when its last write fails."""
    data = (
        "事件编号,事项,网格编码,地点,上报时间,受理时间\n"
        "R-1,C03,D1A0,甲社区路口,2020-06-01 09:00,2020-06-01 09:30\n"
        "R-2,C03,D1A1,甲社区东门,2020-06-02 10:00,2020-06-02 10:20\n"
    ).encode()
    sent = fail_at_last_write(
        session.get_bind(),
        lambda s: import_file(s, viewer(Role.MANAGER), "events", data, "e.csv", now=FIELD_NOW),
    )
    assert _touches(sent, "field_metric_value", "audit_log")


def test_raising_verification_tasks_whose_last_write_fails_raises_none(session, field_org):
    """Test that raising verification tasks (the tasks, then the audit entry) leaves no task when the last
    write fails."""
    worker = session.exec(select(Worker)).first()
    session.add(VisitDay(worker_id=worker.id, day=date(2020, 6, 1), visits=200))
    session.commit()
    sent = fail_at_last_write(
        session.get_bind(), lambda s: raise_verification_tasks(s, SYSTEM, now=FIELD_NOW)
    )
    assert _touches(sent, "field_verification_task", "audit_log")
