"""Shared fixtures: a database per backend (SQLite always, PostgreSQL when configured) and a
seeded demo database built once per test run through the real migrations."""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel

from core.db import make_engine
from core.migrate import import_all_models
from evaluation.field.registry import forget_field_reference

ROOT = Path(__file__).resolve().parents[1]
# The suite runs as a demo instance (core.instance): its fixtures seed the demo district and its servers
# (e2e, cluster, API) start on copies of it. Tests of a production instance set GRIDWISE_DEMO=false
# themselves (monkeypatch, or a subprocess env without it).
os.environ["GRIDWISE_DEMO"] = "true"
PG_URL = os.environ.get("GRIDWISE_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])
DEMO_SCALE = 0.02  # the test demo: the whole org, 2% of the article's field volumes


def _pg_admin() -> Engine:
    return sa_create_engine(PG_URL, isolation_level="AUTOCOMMIT")


def create_pg_database(prefix: str) -> str:
    """A fresh PostgreSQL database for this test process; returns its URL."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """An empty schema (create_all) on each backend, shared by the tests of this process."""
    metadata = import_all_models()
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'unit.db'}"
    else:
        url = create_pg_database("gw_unit")
    eng = make_engine(url)
    metadata.create_all(eng)
    yield eng
    eng.dispose()
    if request.param == "postgres":
        drop_pg_database(url)


def _wipe(eng: Engine) -> None:
    forget_field_reference()  # the single-event path's copy of the SLA limits: of the data wiped here
    tables = [t for t in SQLModel.metadata.sorted_tables]
    with eng.begin() as conn:
        # DELETE, children first, on both backends: a test leaves a few rows, and PostgreSQL's TRUNCATE of every
        # table gives each a new file (0.3-1 s a test here, most of a PostgreSQL unit test's time; DELETE: 40 ms).
        if eng.dialect.name == "postgresql":
            # One round trip for all of it (a round trip per table: 228 ms a test on a loaded 2-core machine; one:
            # 52 ms): the DELETEs, then ids from 1 again, as TRUNCATE … RESTART IDENTITY (and SQLite) give. No
            # parameters, so psycopg sends the statements as one simple query.
            conn.exec_driver_sql(
                "".join(f'DELETE FROM "{table.name}"; ' for table in reversed(tables))
                + "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relkind = 'S' AND n.nspname = current_schema()"
            )
        else:
            # On the DB-API cursor, in the same transaction: SQLAlchemy's work per statement was most of it (68
            # tables: 14-19 ms a test through table.delete(), 1.4 ms through the cursor, load 6).
            cursor = conn.connection.cursor()
            for table in reversed(tables):
                cursor.execute(f'DELETE FROM "{table.name}"')


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on an empty database; every table is emptied afterwards."""
    with Session(engine, expire_on_commit=False) as s:
        yield s
    _wipe(engine)


@pytest.fixture
def field_org(session: Session):
    """The small two-community org of tests.factories with the field area's reference data stored."""
    from evaluation.field.registry import ensure_reference_data
    from tests.factories import make_org

    org = make_org(session)
    ensure_reference_data(session)
    session.commit()
    return org


@pytest.fixture(scope="session")
def demo_db_template(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """An SQLite file migrated with Alembic and seeded with the (small) demo district; tests copy it.

    Built once per run: under xdist the processes share the run's base directory, and the first to take the
    lock builds the file (about 20 s of CPU) while the other waits for it."""
    if worker_id == "master":
        return _build_demo_db(tmp_path_factory.mktemp("demo") / "demo.db")
    shared = tmp_path_factory.getbasetemp().parent / "demo-template"
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        path = shared / "demo.db"
        if not (shared / "done").exists():
            _build_demo_db(path)
            (shared / "done").touch()
    return path


def _build_demo_db(path: Path) -> Path:
    from core.db import unit_of_work
    from core.demo import seed_demo
    from core.migrate import upgrade

    url = f"sqlite:///{path}"
    upgrade(url)
    eng = make_engine(url)
    # No-op once every model has its migration (tests/unit/test_migrations.py checks that); lets an
    # area's tables exist in tests while its migration is being written.
    import_all_models().create_all(eng)
    with unit_of_work(eng) as s:
        seed_demo(s, seed=2020, scale=DEMO_SCALE, log=lambda _m: None)
    with eng.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    eng.dispose()
    return path


@pytest.fixture
def cli_db(demo_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The demo database copy as the one `gridwise` commands use (scheduler off), for CLI tests."""
    from core.db import get_engine
    from core.settings import get_settings

    monkeypatch.setenv("GRIDWISE_DATABASE_URL", demo_db_url)
    monkeypatch.setenv("GRIDWISE_SCHEDULER_ENABLED", "false")
    get_settings.cache_clear()
    yield demo_db_url
    get_engine(demo_db_url).dispose()
    get_settings.cache_clear()


@pytest.fixture
def demo_db_url(demo_db_template: Path, tmp_path: Path) -> str:
    """A private copy of the seeded demo database for one test."""
    target = tmp_path / "demo.db"
    shutil.copy(demo_db_template, target)
    return f"sqlite:///{target}"
