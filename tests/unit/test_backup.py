"""Encrypted backups of SQLite and PostgreSQL: restore, the restore drill, the key, the daily job."""

from __future__ import annotations

import stat
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text
from sqlmodel import Session, func, select

from core.audit import record
from core.backup import BackupError, check_file, drill, generate_key, prune, restore_into, write_backup
from core.db import make_engine
from core.migrate import import_all_models, upgrade
from core.models import OrgLevel, Role, Worker
from core.models_audit import AuditEntry
from core.scope import Viewer
from core.settings import get_settings
from evaluation.scoring.service import scorecards
from tests.conftest import PG_URL, create_pg_database, drop_pg_database
from tests.factories import make_org

DISTRICT = Viewer(user_id=0, role=Role.MANAGER, scope_level=OrgLevel.DISTRICT, scope_unit_id=None)
KEY = generate_key()
PHONE = "13812345678"  # every worker of tests.factories.make_org has it


def _key(raw: str = KEY) -> bytes:
    from core.backup import backup_key

    return backup_key(raw)


@pytest.fixture(autouse=True)
def _fresh_settings():
    """Settings re-read after each test's environment changes are undone (monkeypatch tears down first)."""
    yield
    get_settings.cache_clear()


@pytest.fixture
def small_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    engine = make_engine(url)
    import_all_models().create_all(engine)
    with Session(engine) as s:
        make_org(s)
        s.commit()
    engine.dispose()
    return url


def _names(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            return list(s.exec(select(Worker.name).order_by(Worker.id)).all())
    finally:
        engine.dispose()


def test_backup_restore_round_trip_and_file_mode(small_db: str, tmp_path: Path) -> None:
    """Test that an encrypted backup (0600, never overwriting) restores the rows deleted after it was taken."""
    names = _names(small_db)
    result = write_backup(make_engine(small_db), tmp_path / "copy.gwbak", key=_key())
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    assert result.manifest["tables"]["worker"]["rows"] == len(names)
    engine = make_engine(small_db)
    with Session(engine) as s:
        s.delete(s.exec(select(Worker)).first())
        s.commit()
        assert s.exec(select(func.count(Worker.id))).one() == len(names) - 1
    engine.dispose()
    loaded = restore_into(small_db, result.path, key=_key())
    assert loaded["worker"] == len(names)
    assert _names(small_db) == names
    with pytest.raises(BackupError) as exc:
        write_backup(make_engine(small_db), result.path, key=_key())
    assert exc.value.key == "exists"


def test_backup_file_holds_no_phone_number_in_clear(small_db: str, tmp_path: Path) -> None:
    """Test that searching the backup file for a worker's phone number (and name) finds nothing."""
    result = write_backup(make_engine(small_db), tmp_path / "copy.gwbak", key=_key())
    raw = result.path.read_bytes()
    assert PHONE.encode() not in raw
    assert "网格员".encode() not in raw and b"worker" not in raw  # no table names or rows in clear either
    assert check_file(result.path, key=_key())["tables"]["worker"]["rows"] == 6


def test_restore_without_or_with_wrong_key_fails_clearly_and_writes_nothing(
    small_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that a restore with no key, another key or a damaged file refuses with a catalog message and
    leaves the live database exactly as it was."""
    result = write_backup(make_engine(small_db), tmp_path / "copy.gwbak", key=_key())
    live = Path(small_db.removeprefix("sqlite:///"))
    engine = make_engine(small_db)
    with Session(engine) as s:
        s.delete(s.exec(select(Worker)).first())
        s.commit()
    engine.dispose()
    before = live.read_bytes()
    monkeypatch.setenv("GRIDWISE_BACKUP_KEY", "")
    get_settings.cache_clear()
    try:
        with pytest.raises(BackupError) as missing:
            restore_into(small_db, result.path)
        assert missing.value.key == "no_key"
        assert "GRIDWISE_BACKUP_KEY" in missing.value.message("zh")
        with pytest.raises(BackupError) as wrong:
            restore_into(small_db, result.path, key=_key(generate_key()))
        assert wrong.value.key == "wrong_key" and "未写入任何数据" in wrong.value.message("zh")
        damaged = tmp_path / "damaged.gwbak"
        data = bytearray(result.path.read_bytes())
        data[len(data) // 2] ^= 0x01
        damaged.write_bytes(bytes(data))
        with pytest.raises(BackupError) as bad:
            restore_into(small_db, damaged, key=_key())
        assert bad.value.key == "damaged"
        truncated = tmp_path / "truncated.gwbak"
        truncated.write_bytes(result.path.read_bytes()[:-20])
        with pytest.raises(BackupError) as cut:
            restore_into(small_db, truncated, key=_key())
        assert cut.value.key == "damaged"
        monkeypatch.setenv("GRIDWISE_SECRET_KEY", KEY)
        get_settings.cache_clear()
        with pytest.raises(BackupError) as same:
            _key(KEY)
        assert same.value.key == "same_key"
    finally:
        get_settings.cache_clear()
    assert live.read_bytes() == before
    assert len(_names(small_db)) == 5


def test_new_sqlite_database_file_is_private(tmp_path: Path) -> None:
    """Test that the SQLite file Gridwise creates is readable by its owner only."""
    path = tmp_path / "fresh.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x int)")
    engine.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_sqlite_restore_drill_passes_and_counts_every_table(small_db: str, tmp_path: Path) -> None:
    """Test that `backup verify` restores into a temporary SQLite file and finds the manifest's counts."""
    result = write_backup(make_engine(small_db), tmp_path / "copy.gwbak", key=_key())
    checked = drill(result.path, url=small_db, key=_key())
    assert checked.ok and not checked.mismatches
    assert checked.rows == result.rows and checked.tables == result.tables


@pytest.mark.skipif(not PG_URL, reason="needs GRIDWISE_TEST_POSTGRES_URL")
def test_postgres_backup_restore_drill_into_scratch_database(tmp_path: Path) -> None:
    """Test that a backup of a migrated PostgreSQL database passes the restore drill into a scratch
    PostgreSQL database, restores into SQLite too, and that a restore into PostgreSQL brings back the rows
    (and sequences continue after the restored ids)."""
    url = create_pg_database("gw_backup")
    try:
        upgrade(url)
        engine = make_engine(url)
        with Session(engine) as s:
            make_org(s)
            record(s, "worker.save", username="t", entity="worker", entity_id="1")  # chained like every entry
            s.commit()
        result = write_backup(engine, tmp_path / "pg.gwbak", key=_key())
        assert result.manifest["dialect"] == "postgresql" and result.manifest["revision"]
        assert PHONE.encode() not in result.path.read_bytes()

        checked = drill(result.path, url=url, key=_key())
        assert checked.ok, checked
        assert checked.audit == "ok"
        assert "PostgreSQL" in checked.scratch and checked.rows == result.rows

        sqlite_url = f"sqlite:///{tmp_path / 'from-pg.db'}"
        restore_into(sqlite_url, result.path, key=_key())
        names = _names(url)
        assert _names(sqlite_url) == names

        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log"))
        engine.dispose()
        restore_into(url, result.path, key=_key())
        engine = make_engine(url)
        with Session(engine) as s:
            assert s.exec(select(func.count(AuditEntry.id))).one() == 1
            s.add(AuditEntry(action="worker.save", username="t", entity="worker", entity_id="2"))
            s.commit()  # the id sequence continues after the restored rows
        engine.dispose()
        assert _names(url) == names
    finally:
        drop_pg_database(url)


def test_daily_job_writes_once_a_day_and_keeps_the_newest(
    small_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that backup.daily writes today's copy once (a rerun does nothing), audits it, and keeps only
    backup_keep copies."""
    from core.backup_jobs import daily

    directory = tmp_path / "backups"
    directory.mkdir()
    for day in ("20200101", "20200102", "20200103"):
        (directory / f"gridwise-{day}.gwbak").write_bytes(b"old")
    monkeypatch.setenv("GRIDWISE_BACKUP_KEY", KEY)
    monkeypatch.setenv("GRIDWISE_BACKUP_DIR", str(directory))
    monkeypatch.setenv("GRIDWISE_BACKUP_KEEP", "2")
    get_settings.cache_clear()
    engine = make_engine(small_db)
    try:
        assert daily(now=datetime(2020, 1, 4, 2, 10), engine=engine) == {"written": 1, "removed": 2}
        assert daily(now=datetime(2020, 1, 4, 9, 0), engine=engine) == {"written": 0, "removed": 0}
    finally:
        get_settings.cache_clear()
    assert sorted(p.name for p in directory.iterdir()) == [
        "gridwise-20200103.gwbak",
        "gridwise-20200104.gwbak",
    ]
    with Session(engine) as s:
        rows = s.exec(select(AuditEntry).where(AuditEntry.action == "backup.create")).all()
    engine.dispose()
    assert len(rows) == 1 and "gridwise-20200104.gwbak" in (rows[0].detail or "")
    assert prune(directory, 5) == []


def test_cli_backup_verify_and_restore(
    small_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test the commands: backup FILE, backup verify FILE, restore FILE; restore without the key exits 2."""
    from core.cli import main

    monkeypatch.setenv("GRIDWISE_DATABASE_URL", small_db)
    monkeypatch.setenv("GRIDWISE_BACKUP_KEY", KEY)
    monkeypatch.setenv("GRIDWISE_SCHEDULER_ENABLED", "false")
    get_settings.cache_clear()
    target = tmp_path / "cli.gwbak"
    try:
        assert main(["backup", str(target)]) == 0
        assert main(["backup", "verify", str(target)]) == 0
        assert main(["restore", str(target)]) == 0
        monkeypatch.setenv("GRIDWISE_BACKUP_KEY", "")
        get_settings.cache_clear()
        assert main(["restore", str(target)]) == 2
    finally:
        get_settings.cache_clear()
    engine = make_engine(small_db)
    with Session(engine) as s:
        actions = set(s.exec(select(AuditEntry.action)).all())
    engine.dispose()
    assert {"backup.restore"} <= actions  # the restored database records its restore


def _cards(url: str, period: str) -> pd.DataFrame:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            view = scorecards(s, DISTRICT, period)
            return view.cards.sort_values("worker_id").reset_index(drop=True)
    finally:
        engine.dispose()


def test_restored_demo_yields_identical_scorecards(demo_db_url, tmp_path):
    """Test that a backup of the demo district, restored after its field figures and attendance were damaged,
    scores every worker exactly as before (and that the damage did change the scores, so the test can fail)."""
    period = "2020-06"
    before = _cards(demo_db_url, period)
    engine = make_engine(demo_db_url)
    result = write_backup(engine, tmp_path / "demo.gwbak", key=_key())
    engine.dispose()

    engine = make_engine(demo_db_url)
    with engine.begin() as conn:  # damage: drop half of June's imported figures and all attendance
        conn.execute(text("DELETE FROM field_metric_value WHERE period = :p AND id % 2 = 0"), {"p": period})
        conn.execute(text("DELETE FROM course_attendance"))
    engine.dispose()
    damaged = _cards(demo_db_url, period)
    assert not damaged[["worker_id", "total"]].equals(before[["worker_id", "total"]])

    restore_into(demo_db_url, result.path, key=_key())
    after = _cards(demo_db_url, period)
    pd.testing.assert_frame_equal(after, before)
