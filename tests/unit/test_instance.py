"""Demo and production are different instances (issue #18 item 1): seed-demo only in demo mode, no demo
account on a production instance (the app, the API and the scheduler refuse to start), no password stored
in clear, and the first administrator must change the password `gridwise create-admin` was given."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from core.db import make_engine, unit_of_work
from core.demo import DEMO_PASSWORD, DEMO_SETTING, demo_accounts, seed_demo
from core.instance import InstanceRefused, check_instance
from core.migrate import upgrade
from core.models import AppSetting, User
from core.settings import ROOT, get_settings

GRIDWISE = [sys.executable, "-m", "core.cli"]


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch):
    """This process as a production instance (GRIDWISE_DEMO=false) given its data key and audit key."""
    from cryptography.fernet import Fernet

    monkeypatch.setenv("GRIDWISE_DEMO", "false")
    monkeypatch.setenv("GRIDWISE_DATA_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("GRIDWISE_AUDIT_KEY", "a-long-random-audit-chain-key-for-this-test")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _env(url: str, demo: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GRIDWISE_DEMO"}
    return {**env, "GRIDWISE_DATABASE_URL": url, "GRIDWISE_SCHEDULER_ENABLED": "false"} | (
        {"GRIDWISE_DEMO": "true"} if demo else {}
    )


def test_seed_demo_is_refused_without_demo_mode(engine, production):
    """Test that seeding the demo district outside demo mode is refused with a message naming GRIDWISE_DEMO,
    in both languages, and writes nothing."""
    with Session(engine) as s:
        with pytest.raises(InstanceRefused) as refused:
            seed_demo(s, scale=0.0, extensions=(), log=lambda _m: None)
        assert s.exec(select(User.id)).first() is None
    assert "GRIDWISE_DEMO=true" in str(refused.value) and "create-admin" in str(refused.value)
    assert "演示模式" in refused.value.message("zh")


def test_cli_seed_demo_refuses_without_demo_mode_and_create_admin_forces_a_change(
    tmp_path, monkeypatch, production, capsys
):
    """Test `gridwise seed-demo` on a production instance (exit 2, the catalog message, nothing seeded, even
    with --if-empty), and that the administrator from `gridwise create-admin` must change the password."""
    from core import cli

    url = f"sqlite:///{tmp_path / 'prod.db'}"
    monkeypatch.setenv("GRIDWISE_DATABASE_URL", url)
    get_settings.cache_clear()
    upgrade(url)
    for args in (["seed-demo"], ["seed-demo", "--if-empty"]):
        assert cli.main(args) == 2
        assert "GRIDWISE_DEMO=true" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("Kestrel-Harbour-41\n"))
    assert cli.main(["create-admin", "chief", "--password-stdin"]) == 0
    eng = make_engine(url)
    with Session(eng) as s:
        users = s.exec(select(User)).all()
        assert [(u.username, u.must_change_password, u.is_demo) for u in users] == [("chief", True, False)]
    eng.dispose()


def test_demo_accounts_keep_no_password_in_the_database_and_are_listed_only_in_demo_mode(engine, monkeypatch):
    """Test that the stored list of demo accounts holds no password, that the sign-in page's list has the
    published one in demo mode, and that a production instance lists nothing for the same database."""
    with unit_of_work(engine) as s:
        seed_demo(s, scale=0.0, extensions=(), log=lambda _m: None)
    try:
        with Session(engine) as s:
            stored = s.get(AppSetting, DEMO_SETTING).value
            assert DEMO_PASSWORD not in stored and "password" not in json.loads(stored)["accounts"][0]
            listed = demo_accounts(s)
            assert listed[0]["username"] == "admin" and listed[0]["password"] == DEMO_PASSWORD
            monkeypatch.setenv("GRIDWISE_DEMO", "false")
            get_settings.cache_clear()
            assert demo_accounts(s) == []
    finally:
        get_settings.cache_clear()
        from tests.conftest import _wipe

        _wipe(engine)


def test_a_production_instance_refuses_a_database_with_demo_accounts(demo_db_url, production):
    """Test that the start-up check refuses a demo database on a production instance with the way out
    (demo mode or a database of its own + create-admin), and that the API and the scheduler refuse too."""
    from api.app import create_app
    from core import scheduler

    eng = make_engine(demo_db_url)
    with pytest.raises(InstanceRefused) as refused:
        check_instance(eng)
    message = str(refused.value)
    assert "demo accounts" in message and "GRIDWISE_DEMO=true" in message and "create-admin" in message
    with pytest.raises(InstanceRefused):
        create_app(eng)
    eng.dispose()
    os.environ["GRIDWISE_DATABASE_URL"], saved = demo_db_url, os.environ.get("GRIDWISE_DATABASE_URL")
    try:
        get_settings.cache_clear()
        assert scheduler.run_forever() == 2  # refuses before it would start the jobs and sleep
    finally:
        if saved is None:
            os.environ.pop("GRIDWISE_DATABASE_URL")
        else:
            os.environ["GRIDWISE_DATABASE_URL"] = saved
        get_settings.cache_clear()


def test_a_production_instance_accepts_its_own_database_and_a_fresh_one(tmp_path, production):
    """Test that an unmigrated database and a migrated one with a real administrator pass the check."""
    url = f"sqlite:///{tmp_path / 'prod.db'}"
    eng = make_engine(url)
    check_instance(eng)  # nothing migrated yet
    upgrade(url)
    with unit_of_work(eng) as s:
        s.add(User(username="chief", display_name="chief", password_hash="x", role="admin"))
    check_instance(eng)
    eng.dispose()


def test_a_production_instance_refuses_to_start_without_its_data_key_and_audit_key(
    tmp_path, monkeypatch, production
):
    """Test that a production instance (the app's check, the API, the scheduler) refuses to start while the
    data key or the audit key is not configured, naming the missing ones in the reader's language, and starts
    once each is given, in the environment or as a key file that holds it."""
    from api.app import create_app
    from core import scheduler

    url = f"sqlite:///{tmp_path / 'prod.db'}"
    upgrade(url)
    eng = make_engine(url)
    monkeypatch.setenv("GRIDWISE_DATABASE_URL", url)
    for unset in (
        "GRIDWISE_DATA_KEY",
        "GRIDWISE_AUDIT_KEY",
        "GRIDWISE_DATA_KEY_FILE",
        "GRIDWISE_AUDIT_KEY_FILE",
    ):
        monkeypatch.delenv(unset, raising=False)
    get_settings.cache_clear()
    with pytest.raises(InstanceRefused) as refused:
        check_instance(eng)
    assert "GRIDWISE_DATA_KEY, GRIDWISE_AUDIT_KEY" in str(refused.value)
    assert "正式实例未配置密钥" in refused.value.message("zh")
    with pytest.raises(InstanceRefused):
        create_app(eng)
    assert scheduler.run_forever() == 2
    monkeypatch.setenv("GRIDWISE_AUDIT_KEY", "a-long-random-audit-chain-key-for-this-test")
    get_settings.cache_clear()
    with pytest.raises(InstanceRefused, match="GRIDWISE_DATA_KEY not configured"):
        check_instance(eng)
    key_file = tmp_path / "data.key"
    monkeypatch.setenv("GRIDWISE_DATA_KEY_FILE", str(key_file))  # named, but no such file yet
    get_settings.cache_clear()
    with pytest.raises(InstanceRefused, match="GRIDWISE_DATA_KEY not configured"):
        check_instance(eng)
    key_file.write_text("k" * 44 + "\n")
    check_instance(eng)
    monkeypatch.setenv("GRIDWISE_DEMO", "true")  # a demo generates its keys into var/
    monkeypatch.delenv("GRIDWISE_DATA_KEY_FILE")
    monkeypatch.delenv("GRIDWISE_AUDIT_KEY")
    get_settings.cache_clear()
    check_instance(eng)
    eng.dispose()


def test_the_streamlit_server_refuses_to_start_beside_demo_accounts(demo_db_template: Path, tmp_path):
    """Test that `streamlit run ui/server.py` on a demo database without demo mode exits at once with the
    message, instead of serving the published accounts."""
    db = tmp_path / "demo.db"
    db.write_bytes(demo_db_template.read_bytes())
    cmd = [sys.executable, "-m", "streamlit", "run", "ui/server.py", "--server.headless", "true"]
    cmd += ["--server.port", "0", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    out = subprocess.run(
        cmd, cwd=ROOT, env=_env(f"sqlite:///{db}", demo=False), capture_output=True, text=True, timeout=90
    )
    assert out.returncode != 0
    assert "refuses to start" in out.stderr and "GRIDWISE_DEMO=true" in out.stderr, out.stderr
