"""The demo district and the Alembic migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, func, select

from core.db import make_engine
from core.demo import seed_demo
from core.errors import GridwiseError
from core.migrate import FOREIGN_TABLES, import_all_models, upgrade
from core.models import OrgUnit, User, Worker
from core.settings import ROOT
from tests.conftest import PG_URL, create_pg_database, drop_pg_database

BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])


@pytest.fixture(params=BACKENDS)
def migrated_url(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}" if request.param == "sqlite" else create_pg_database("gw_mig")
    upgrade(url)
    yield url
    if request.param == "postgres":
        drop_pg_database(url)


def test_migrations_build_exactly_the_models(migrated_url):
    """Test that `alembic upgrade head` yields the schema the models describe (no missing migration)."""
    engine = make_engine(migrated_url)
    metadata = import_all_models()
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "include_object": lambda o, n, t, r, c: not (t == "table" and n in FOREIGN_TABLES),
            },
        )
        diff = compare_metadata(ctx, metadata)
    engine.dispose()
    assert diff == [], diff


@pytest.fixture(params=BACKENDS)
def demo_engine(request, tmp_path):
    """A throwaway database of its own: the demo seeded here must not leak users into the shared test engine."""
    url = f"sqlite:///{tmp_path / 'demo.db'}" if request.param == "sqlite" else create_pg_database("gw_demo")
    engine = make_engine(url)
    import_all_models().create_all(engine)
    yield engine
    engine.dispose()
    if request.param == "postgres":
        drop_pg_database(url)


def test_demo_district_is_deterministic_and_dapeng_shaped(demo_engine, tmp_path):
    """Test that seed-demo builds 3 subdistricts, ~25 communities, ~300 workers, 54 party members."""
    engine = demo_engine
    with Session(engine) as s:
        accounts = seed_demo(s, seed=7, scale=0.0, extensions=(), log=lambda _m: None)
        s.commit()
        levels = dict(s.exec(select(OrgUnit.level, func.count()).group_by(OrgUnit.level)).all())
        party = s.exec(select(func.count()).where(Worker.party_member)).one()
        names = s.exec(select(Worker.name).order_by(Worker.id).limit(5)).all()
        users = s.exec(select(func.count(User.id))).one()
    assert levels["subdistrict"] == 3 and 23 <= levels["community"] <= 27
    assert 250 <= levels["grid"] <= 350 and party == 54
    assert {a["username"] for a in accounts} >= {"admin", "secadmin", "auditor", "manager", "xiasha"}
    assert users == levels["grid"] + 5  # a worker per grid; three administrators (one per duty), two managers
    with pytest.raises(GridwiseError, match="already holds workers"):
        with Session(engine) as s:
            seed_demo(s, seed=7, scale=0.0, extensions=(), log=lambda _m: None)
    # Same seed, same district: compare with a second database.
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    import_all_models().create_all(other)
    with Session(other) as s:
        seed_demo(s, seed=7, scale=0.0, extensions=(), log=lambda _m: None)
        s.commit()
        assert s.exec(select(Worker.name).order_by(Worker.id).limit(5)).all() == names
    other.dispose()


def test_cli_migrate_seed_and_json(tmp_path):
    """Test the console script: --help lists commands; migrate + seed-demo --json print accounts."""
    env = {**os.environ, "GRIDWISE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    exe = [sys.executable, "-m", "core.cli"]
    help_out = subprocess.run([*exe, "--help"], capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    assert "migrate" in help_out.stdout and "seed-demo" in help_out.stdout
    subprocess.run([*exe, "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    seeded = subprocess.run(
        [*exe, "seed-demo", "--scale", "0", "--json"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    accounts = json.loads(seeded.stdout)
    assert accounts[0]["username"] == "admin"
    again = subprocess.run([*exe, "seed-demo"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert again.returncode == 2 and "already holds" in again.stderr
    if_empty = subprocess.run([*exe, "seed-demo", "--if-empty"], cwd=ROOT, env=env, capture_output=True)
    assert if_empty.returncode == 0
