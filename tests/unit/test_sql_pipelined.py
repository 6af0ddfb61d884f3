"""core.sql.pipelined (the API's single-event path sends its statements through it) and the audit entry that
commits its transaction (core.db.commit_with, through core.audit.record(commit=True)): on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import bindparam, event, select, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func

from core.audit import record
from core.audit_chain import verify
from core.db import commit_with, db_fault
from core.models import AppSetting, Role
from core.models_audit import AuditEntry
from core.sql import pipelined
from tests.factories import viewer

_BY_KEY = select(col(AppSetting.value)).where(col(AppSetting.key) == bindparam("k"))
_ADD = AppSetting.__table__.insert().values(key=bindparam("k"), value=bindparam("v"))  # type: ignore[attr-defined]
_ALL = select(col(AppSetting.key)).order_by(col(AppSetting.key))


def _executed(session: Session) -> list[str]:
    """The statements SQLAlchemy executes from now on (on PostgreSQL pipelined sends none through it)."""
    seen: list[str] = []
    event.listen(session.get_bind(), "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_statements_run_in_order_and_return_their_rows(session: Session) -> None:
    """Test that pipelined runs the statements in order in the session's transaction (a later statement
    sees an earlier one's row) and returns each one's rows, [] for a statement returning none."""
    rows = pipelined(
        session,
        [(_ADD, {"k": "p.a", "v": "1"}), (_ADD, {"k": "p.b", "v": "2"}), (_BY_KEY, {"k": "p.b"}), (_ALL, {})],
    )
    assert rows[0] == [] and rows[1] == []
    assert [tuple(r) for r in rows[2]] == [("2",)]
    assert [r[0] for r in rows[3]] == ["p.a", "p.b"]
    assert pipelined(session, [(_BY_KEY, {"k": "missing"})]) == [[]]
    session.rollback()  # they were in the session's transaction
    assert session.execute(select(func.count()).select_from(AppSetting)).scalar_one() == 0


def test_an_error_is_sqlalchemys_and_rolls_the_transaction_back(session: Session) -> None:
    """Test that a failing statement raises SQLAlchemy's exception (with the driver's as ``orig``, so
    core.db.db_fault and the API's error mapping read it as any other) and that the statements after it
    did not run."""
    pipelined(session, [(_ADD, {"k": "dup", "v": "1"})])
    with pytest.raises(IntegrityError) as refused:
        pipelined(session, [(_ADD, {"k": "other", "v": "1"}), (_ADD, {"k": "dup", "v": "2"}), (_ALL, {})])
    assert refused.value.orig is not None and db_fault(refused.value) is None
    session.rollback()
    assert session.execute(select(func.count()).select_from(AppSetting)).scalar_one() == 0


def test_commit_ends_the_transaction_with_the_statements(session: Session, engine: Any) -> None:
    """Test that commit_with makes the statements (and what the session had pending) durable: another
    connection sees them before the session's own commit, which then has nothing left to do (PostgreSQL;
    on SQLite the caller's commit commits)."""
    session.add(AppSetting(key="pending", value="x"))  # flushed first, committed with the rest
    commit_with(session, [(_ADD, {"k": "c.a", "v": "1"})])
    if engine.dialect.name == "postgresql":
        with engine.connect() as other:
            keys = other.execute(text("SELECT key FROM app_setting ORDER BY key")).scalars().all()
        assert keys == ["c.a", "pending"]
    session.commit()
    assert session.execute(_ALL).scalars().all() == ["c.a", "pending"]


def test_an_audit_entry_that_commits_chains_and_sends_the_deferred_writes_first(session: Session) -> None:
    """Test that record(commit=True, before_entry=...) writes the deferred statements and the entry in
    the transaction, commits them, and keeps the chain verifiable across entries written both ways."""
    seen = _executed(session)
    first = record(session, "worker.save", viewer=viewer(Role.MANAGER), entity_id="W1")
    second = record(
        session,
        "api.events.write",
        viewer=viewer(Role.MANAGER),
        entity_id="E1",
        before_entry=[(_ADD, {"k": "deferred", "v": "1"})],
        commit=True,
    )
    session.commit()
    third = record(session, "worker.save", viewer=viewer(Role.MANAGER), entity_id="W2")
    session.commit()
    assert first.id is not None and second.id == first.id + 1 and third.id == second.id + 1
    assert session.get(AppSetting, "deferred") is not None
    assert session.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == 3
    verdict = verify(session)
    assert verdict.ok and verdict.checked == 3
    through_sqlalchemy = sum(sql.startswith("INSERT INTO audit_log") for sql in seen)
    # PostgreSQL: the committing entry's lock, head, insert and commit go through the driver's pipeline
    assert through_sqlalchemy == (2 if session.get_bind().dialect.name == "postgresql" else 3)


def test_postgresql_commit_releases_the_locks_before_the_flush_and_returns_after_it(
    session: Session, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that on PostgreSQL commit_with's COMMIT does not wait for the disk (the audit chain's lock, which
    every audited write queues for, is released when it runs) and that the same round trip then waits for
    the flush: when commit_with returns, the WAL up to the transaction's commit is on disk."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's commit")
    sent: list[list[str]] = []

    def spy(session: Session, statements: Any) -> list[list[Any]]:
        sent.append([str(stmt) for stmt, _ in statements])
        return pipelined(session, statements)

    monkeypatch.setattr("core.db.pipelined", spy)
    rows = commit_with(
        session, [(_ADD, {"k": "c.a", "v": "1"}), (text("SELECT pg_current_wal_insert_lsn()::text"), {})]
    )
    (lsn,) = rows[1][0]  # WAL written by the transaction ends before its commit record, after this
    assert len(sent) == 1  # one round trip
    tail = sent[0][2:]
    assert tail[0] == "SET LOCAL synchronous_commit TO off" and tail[1] == "COMMIT"
    assert "pg_logical_emit_message(true" in tail[2]
    with engine.connect() as other:
        durable = other.execute(
            text("SELECT pg_current_wal_flush_lsn() >= CAST(:lsn AS pg_lsn)"), {"lsn": lsn}
        ).scalar_one()
        assert other.execute(text("SELECT value FROM app_setting WHERE key = 'c.a'")).scalar_one() == "1"
    assert durable
    assert session.connection().connection.dbapi_connection.info.transaction_status == 0  # IDLE: committed
