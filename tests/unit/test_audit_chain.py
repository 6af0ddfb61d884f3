"""The audit trail resists tampering (core.audit_chain): each row chained to the previous one by a keyed
hash; `gridwise audit verify` names the first row changed, removed or inserted; old rows archive to a file
that verifies on its own; on PostgreSQL the table is append-only."""

from __future__ import annotations

import json
import os
import re
import threading
import warnings
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, col, select

from core.audit import CLIENT_ADDRESS, record, record_read, record_row
from core.audit_chain import AuditChainError, archive, lock_down, verify, verify_archive
from core.cli import main
from core.db import make_engine
from core.migrate import import_all_models
from core.models import Role
from core.models_audit import AuditEntry
from core.settings import get_settings
from tests.conftest import PG_URL, create_pg_database, drop_pg_database
from tests.factories import viewer


def _write(session: Session, n: int, start: int = 0) -> list[int]:
    v = viewer(Role.MANAGER)
    ids = [
        row_id
        for row_id in (
            record(session, "worker.save", viewer=v, entity_id=f"W{start + i}").id for i in range(n)
        )
    ]
    session.commit()
    return [i for i in ids if i is not None]


def test_an_intact_chain_verifies_and_each_row_carries_the_client_address(session: Session) -> None:
    token = CLIENT_ADDRESS.set("203.0.113.7")
    try:
        _write(session, 3)
    finally:
        CLIENT_ADDRESS.reset(token)
    record_read(
        session,
        viewer(Role.MANAGER),
        "workers",
        filters={"status": "active"},
        rows=12,
        file_name="workers.csv",
        address="198.51.100.2",
    )
    session.commit()
    verdict = verify(session)
    assert verdict.ok and verdict.checked == 4
    rows = session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all()
    assert [r.address for r in rows] == ["203.0.113.7"] * 3 + ["198.51.100.2"]
    assert rows[0].prev_hash == "" and all(
        b.prev_hash == a.row_hash for a, b in zip(rows, rows[1:], strict=False)
    )
    assert rows[-1].action == "export.workers"
    assert json.loads(rows[-1].detail or "{}") == {
        "filter": {"status": "active"},
        "rows": 12,
        "file": "workers.csv",
    }


def test_changing_one_row_with_sql_is_named(session: Session) -> None:
    ids = _write(session, 5)
    session.connection().execute(text("UPDATE audit_log SET entity_id = 'W999' WHERE id = :i"), {"i": ids[2]})
    session.commit()
    verdict = verify(session)
    assert not verdict.ok and verdict.row_id == ids[2] and verdict.problem == "changed"
    assert f"row {ids[2]}" in verdict.message("en")


def test_removing_a_row_is_named_by_the_gap(session: Session) -> None:
    ids = _write(session, 5)
    session.connection().execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": ids[1]})
    session.commit()
    verdict = verify(session)
    assert not verdict.ok and verdict.row_id == ids[2] and verdict.problem == "removed"
    assert f"between row {ids[0]} and row {ids[2]}" in verdict.message("en")
    zh = verdict.message("zh")  # the finding in the reader's language (#20): numbers, no English words
    assert f"第 {ids[0]} 条与第 {ids[2]} 条" in zh and not re.search(r"[A-Za-z]{2,}", zh)


def test_archiving_a_broken_chain_is_refused_in_the_readers_language(session: Session, tmp_path) -> None:
    """Test that the refusal to archive a broken chain says where it breaks in Chinese, with no English."""
    ids = _write(session, 5)
    session.connection().execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": ids[1]})
    session.commit()
    later = datetime.now() + timedelta(days=400)
    with pytest.raises(AuditChainError) as refused:
        archive(session, tmp_path / "archive", keep_days=180, now=later)
    zh = refused.value.message("zh")
    assert zh.startswith("审计链已断裂") and f"第 {ids[2]} 条" in zh
    assert not re.search(r"[A-Za-z]{2,}", zh.replace("gridwise audit verify", "")), zh
    assert "between row" in str(refused.value)  # the log's English


def test_a_row_inserted_without_the_key_is_named(session: Session) -> None:
    ids = _write(session, 3)
    last = session.get(AuditEntry, ids[-1])
    assert last is not None
    forged = AuditEntry(action="user.update", username="mallory", prev_hash=last.row_hash, row_hash="0" * 64)
    session.add(forged)
    session.commit()
    verdict = verify(session)
    assert not verdict.ok and verdict.row_id == forged.id and verdict.problem == "changed"


def test_concurrent_writers_keep_one_chain(engine: Engine, session: Session) -> None:
    def writer(k: int) -> None:
        for i in range(10):
            with Session(engine) as s:
                record(s, "view.workers", viewer=viewer(Role.MANAGER), entity_id=f"{k}-{i}")
                s.commit()

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with Session(engine) as s:
        verdict = verify(s)
    assert verdict.ok and verdict.checked == 30, str(verdict)


def _redate(session: Session, n: int, old: datetime) -> list[AuditEntry]:
    """Rows written long ago: re-date the first ``n`` and re-chain all as the writer would have."""
    from core.audit_chain import row_digest

    rows = list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all())
    prev = ""
    for i, r in enumerate(rows):
        if i < n:
            r.at = old + timedelta(minutes=i)
        r.prev_hash = prev
        r.row_hash = row_digest(r)
        prev = r.row_hash
        session.add(r)
    session.commit()
    return rows


def test_old_rows_archive_to_a_file_that_verifies_and_the_chain_continues(session: Session, tmp_path) -> None:
    _write(session, 4)
    old = datetime(2026, 1, 1, 9, 0)
    rows = _redate(session, 3, old)
    path = archive(session, tmp_path / "archive", keep_days=180, now=old + timedelta(days=200))
    session.commit()
    assert path is not None and (path.stat().st_mode & 0o777) == 0o600
    assert verify_archive(path).ok and verify_archive(path).checked == 3
    assert (
        session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all()[0].id == rows[3].id
    )  # the three old rows left the table …
    _write(session, 2, start=10)
    assert (
        verify(session).ok and verify(session).checked == 3
    )  # … and the table's chain continues from the anchor
    lines = path.read_text(encoding="utf-8").splitlines()
    forged = json.loads(lines[2])
    forged["entity_id"] = "W999"
    path.write_text("\n".join([lines[0], lines[1], json.dumps(forged), lines[3]]) + "\n", encoding="utf-8")
    bad = verify_archive(path)
    assert not bad.ok and bad.row_id == forged["id"]
    assert archive(session, tmp_path / "archive", keep_days=180, now=old + timedelta(days=200)) is None


def test_daily_archive_job_moves_old_rows_to_a_verified_file_once(
    engine: Engine, session: Session, tmp_path, monkeypatch
) -> None:
    """Test that the scheduled audit.archive job moves rows older than audit_keep_days to a file that verifies
    and deletes them from the table, records that it did, does nothing when run again, and finishes a run
    that wrote its file but failed before the rows left the table."""
    from core import audit_jobs
    from core.scheduler import job_specs

    assert "core.audit_jobs:daily" in {s.func for s in job_specs()}
    monkeypatch.setenv("GRIDWISE_AUDIT_ARCHIVE_DIR", str(tmp_path / "archive"))
    monkeypatch.setenv("GRIDWISE_AUDIT_KEEP_DAYS", "30")
    get_settings.cache_clear()
    try:
        ids = _write(session, 4)
        _redate(session, 3, datetime(2026, 1, 1, 9, 0))  # three rows older than 30 days, one new

        def failing_record(*_a, **_k):
            raise RuntimeError("crash after the file was written")

        with (
            monkeypatch.context() as m
        ):  # the first run dies after writing its file: nothing leaves the table
            m.setattr(audit_jobs, "record", failing_record)
            with pytest.raises(RuntimeError):
                audit_jobs.daily(engine=engine)
        session.expire_all()
        assert [r.id for r in session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all()] == ids
        assert audit_jobs.daily(engine=engine) == {"archived": 1}
        [path] = list((tmp_path / "archive").iterdir())
        assert verify_archive(path).ok and verify_archive(path).checked == 3
        session.expire_all()
        left = session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all()
        assert [r.id for r in left[:1]] == ids[3:]  # the new row stays, then the job's record of the archive
        assert left[1].action == "audit.archive" and path.name in (left[1].detail or "")
        assert verify(session).ok
        assert audit_jobs.daily(engine=engine) == {"archived": 0}
        assert list((tmp_path / "archive").iterdir()) == [path]
    finally:
        get_settings.cache_clear()


def test_verify_command_exits_non_zero_and_names_the_row(tmp_path, monkeypatch, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    eng = make_engine(url)
    import_all_models().create_all(eng)
    with Session(eng) as s:
        ids = _write(s, 4)
        s.connection().execute(text("UPDATE audit_log SET detail = '{}' WHERE id = :i"), {"i": ids[1]})
        s.commit()
    eng.dispose()
    monkeypatch.setenv("GRIDWISE_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        assert main(["--lang", "en", "audit", "verify"]) == 1
        out = capsys.readouterr()
        assert out.out.strip() == str(ids[1]) and f"row {ids[1]}" in out.err
        assert main(["--lang", "zh", "audit", "verify"]) == 1  # in the chosen language (#20)
        out = capsys.readouterr()
        assert out.err.startswith("被篡改") and f"第 {ids[1]} 条" in out.err
    finally:
        get_settings.cache_clear()


@pytest.mark.skipif(not PG_URL, reason="needs GRIDWISE_TEST_POSTGRES_URL")
def test_postgres_refuses_update_and_delete_of_audit_rows() -> None:
    """Done-when (#19): on PostgreSQL the application's role gets a permission error on UPDATE and DELETE,
    and the trigger refuses them even to the table's owner (the tests connect as a superuser)."""
    url = create_pg_database("gw_audit_lock")
    role = f"gw_app_{os.getpid()}"
    admin = make_engine(url)
    try:
        import_all_models().create_all(admin)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        with Session(admin) as s:
            _write(s, 2)
            lock_down(s, role)
            s.commit()
        app = create_engine(make_url(url).set(username=role, password=None))
        with app.connect() as conn:  # the application's role: INSERT and SELECT work …
            conn.execute(
                text(
                    "INSERT INTO audit_log (at, username, action, entity, entity_id, address, prev_hash, row_hash) VALUES (now(), 'x', 'view.x', '', '', '', '', '')"
                )
            )
            assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 3
            conn.commit()
            for sql in ("UPDATE audit_log SET username = 'y'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
                with pytest.raises(Exception, match="permission denied"):  # … UPDATE, DELETE, TRUNCATE do not
                    conn.execute(text(sql))
                conn.rollback()
        app.dispose()
        with admin.connect() as conn:  # the owner (here a superuser) is stopped by the trigger
            for sql in ("UPDATE audit_log SET username = 'y'", "DELETE FROM audit_log"):
                with pytest.raises(Exception, match="append-only"):
                    conn.execute(text(sql))
                conn.rollback()
    finally:
        admin.dispose()
        drop_pg_database(url)
        with create_engine(PG_URL, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))


def test_sealing_a_row_warns_nothing_and_returns_its_id(session: Session) -> None:
    """Test that writing an audit row raises no warning (it was SQLAlchemy's deprecation of
    ``flush([objects])``, once per row) and that the row comes back with its id, chained."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = record(session, "worker.save", viewer=viewer(Role.MANAGER), entity_id="W1")
        second = record(session, "worker.save", viewer=viewer(Role.MANAGER), entity_id="W2")
    session.commit()
    assert first.id is not None and second.id == first.id + 1
    assert second.prev_hash == first.row_hash
    assert verify(session).ok


def test_a_row_recorded_without_its_model_is_the_row_record_writes(session: Session) -> None:
    """Test that record_row (the API's per-request entry, written without building the model) writes
    the row record would write, chained between rows written by record, and returns its id."""
    first = record(session, "api.events.write", viewer=viewer(Role.MANAGER), entity="event", entity_id="E1")
    row_id = record_row(
        session,
        "api.events.write",
        viewer=viewer(Role.MANAGER),
        entity="event",
        entity_id="E2",
        detail={"client": "c"},
        address="10.0.0.9",
    )
    third = record(session, "api.events.write", viewer=viewer(Role.MANAGER), entity="event", entity_id="E3")
    session.commit()
    row = session.get(AuditEntry, row_id)
    assert row is not None and row_id == first.id + 1 == third.id - 1
    assert (row.entity_id, row.detail, row.address, row.username) == (
        "E2",
        '{"client": "c"}',
        "10.0.0.9",
        first.username,
    )
    assert row.prev_hash == first.row_hash and third.prev_hash == row.row_hash
    assert verify(session).ok
