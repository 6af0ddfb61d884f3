"""The command line in its documented forms, on the migrated demo database:
``gridwise notify channel add …``, ``gridwise notify test NAME``, ``gridwise notify deliver [--json]``."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from sqlmodel import Session, select

from core.cli import main
from core.db import get_engine
from core.models import OrgLevel, OrgUnit
from core.notify.models import NotifyChannel
from core.settings import get_settings
from tests.unit._notify_fakes import FakeRobot


@pytest.fixture
def cli_env(demo_db_url, monkeypatch):
    monkeypatch.setenv("GRIDWISE_DATABASE_URL", demo_db_url)
    monkeypatch.setenv("GRIDWISE_SECRET_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    yield demo_db_url
    get_engine(demo_db_url).dispose()
    get_settings.cache_clear()


def _community(url: str) -> OrgUnit:
    with Session(get_engine(url)) as s:
        return s.exec(
            select(OrgUnit).where(OrgUnit.level == OrgLevel.COMMUNITY.value).order_by(OrgUnit.id)
        ).first()


def test_add_a_community_robot_then_test_it(cli_env, httpserver, capsys):
    """Test that `notify channel add … --community CODE` stores a DingTalk robot owned by that community and
    `notify test NAME` sends one signed message through it (exit 0)."""
    robot = FakeRobot("dingtalk", secret="SECcli0123456789").install(httpserver)
    comm = _community(cli_env)
    assert (
        main(
            [
                "notify",
                "channel",
                "add",
                "--kind",
                "dingtalk",
                "--name",
                "社区群",
                "--url",
                robot.url(httpserver),
                "--secret",
                "SECcli0123456789",
                "--community",
                comm.code,
            ]
        )
        == 0
    )
    with Session(get_engine(cli_env)) as s:
        ch = s.exec(select(NotifyChannel).where(NotifyChannel.name == "社区群")).one()
        assert ch.owner_unit_id == comm.id and "SECcli0123456789" not in ch.url_enc + (ch.secret_enc or "")
    assert main(["notify", "test", "社区群"]) == 0
    assert len(robot.received) == 1 and "Gridwise 测试消息" in robot.texts()[0]
    assert "社区群" in capsys.readouterr().out


def test_a_refused_test_exits_1_with_the_providers_error(cli_env, httpserver, capsys):
    """Test that `notify test` on a robot whose key is refused exits 1 and prints the provider's error."""
    robot = FakeRobot("wecom").install(httpserver)
    assert (
        main(
            [
                "notify",
                "channel",
                "add",
                "--kind",
                "wecom",
                "--name",
                "bad",
                "--url",
                robot.url(httpserver, bad_key=True),
            ]
        )
        == 0
    )
    assert main(["notify", "test", "bad"]) == 1
    out = capsys.readouterr().out
    assert "93000" in out and "invalid webhook url" in out


def test_deliver_prints_counts_as_json_and_twice_sends_nothing_twice(cli_env, capsys):
    """Test that `notify deliver --json` prints the counts and a second run claims nothing."""
    assert main(["notify", "deliver", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert set(first) >= {"fanned_out", "claimed", "sent", "failed", "gave_up", "queued"}
    assert main(["notify", "deliver", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["claimed"] == 0 and second["fanned_out"] == 0


def test_unknown_community_and_missing_key_are_clear_errors(cli_env, monkeypatch, capsys):
    """Test that an unknown --community and a missing GRIDWISE_SECRET_KEY exit 2 naming the problem."""
    assert (
        main(
            [
                "notify",
                "channel",
                "add",
                "--kind",
                "wecom",
                "--name",
                "x",
                "--url",
                "https://q.example.org/s?key=k",
                "--community",
                "no-such-place",
            ]
        )
        == 2
    )
    assert "no-such-place" in capsys.readouterr().err
    monkeypatch.delenv("GRIDWISE_SECRET_KEY")
    get_settings.cache_clear()
    assert (
        main(
            [
                "notify",
                "channel",
                "add",
                "--kind",
                "wecom",
                "--name",
                "x",
                "--url",
                "https://q.example.org/s?key=k",
            ]
        )
        == 2
    )
    assert "GRIDWISE_SECRET_KEY" in capsys.readouterr().err
