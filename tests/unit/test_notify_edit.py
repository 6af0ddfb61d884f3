"""Editing a channel (a fixed key releases what the refused key held, once) and the daily cleanup of old
deliveries, against the loopback fake robots of test_notify_outbox."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from core.models import Role
from core.models_audit import AuditEntry
from core.notify.channels import channels_frame, get_channel, update_channel
from core.notify.jobs import JOBS, cleanup
from core.notify.models import NotifyChannel, NotifyDelivery
from core.notify.outbox import deliver_due, purge_old
from core.scope import SYSTEM, ScopeError
from tests.factories import viewer
from tests.unit._notify_fakes import KEY, SECRET, TOKEN
from tests.unit._notify_world import NOW, deliveries, make_world, post, secret_key  # noqa: F401
from tests.unit.test_notify_outbox import robot_channel


@pytest.fixture
def world(session: Session, secret_key):  # noqa: F811
    return make_world(session)


def test_a_fixed_key_clears_the_flag_and_the_held_messages_go_once(session, engine, world, httpserver):
    """Test that after the robot refused a wrong key, editing the channel's URL to the right key clears the
    flag and both the refused message and the one held behind it reach the group exactly once."""
    robot, channel = robot_channel(session, httpserver, "wecom", world.org.comm_a, bad_key=True)
    post(session, world.workers["A00"], "r1")
    post(session, world.workers["A01"], "r2")
    deliver_due(engine, now=NOW)
    session.refresh(channel)
    assert channel.flagged and len(robot.refused) == 1 and robot.texts() == []
    update_channel(session, SYSTEM, channel.id, url=robot.url(httpserver), now=NOW + timedelta(minutes=5))
    session.commit()
    session.refresh(channel)
    assert not channel.flagged and channel.url_hint.endswith("key=wec…ef")
    counts = deliver_due(engine, now=NOW + timedelta(minutes=5))
    assert counts["sent"] == 2
    assert sorted("r1" if "r1" in t else "r2" for t in robot.texts()) == ["r1", "r2"]
    assert deliver_due(engine, now=NOW + timedelta(hours=3))["sent"] == 0
    assert len(robot.texts()) == 2 and len(robot.refused) == 1  # each message once, nothing again
    assert {d.state for d in deliveries(session, channel)} == {"sent"}


def test_a_new_signing_secret_is_stored_encrypted_and_never_in_the_audit(session, engine, world, httpserver):
    """Test that changing a DingTalk robot's secret, name and keyword signs the next message with the new
    secret, and the audit entry names what changed without the secret or the token."""
    robot, channel = robot_channel(session, httpserver, "dingtalk", world.org.comm_a, keyword="网格")
    update_channel(session, SYSTEM, channel.id, name="下沙社区群", secret=SECRET, keyword="【网格】")
    session.commit()
    assert channel.name == "下沙社区群" and SECRET not in (channel.secret_enc or "")
    assert channels_frame(session, SYSTEM)["keyword"].tolist() == ["【网格】"]
    (entry,) = session.exec(select(AuditEntry).where(AuditEntry.action == "notify.channel.edit")).all()
    dumped = f"{entry.before}{entry.after}{entry.detail}"
    assert SECRET not in dumped and TOKEN not in dumped and "下沙社区群" in dumped
    assert "key_changed" in json.loads(entry.detail)["changed"]
    post(session, world.workers["A00"], "r1")
    assert deliver_due(engine, now=NOW)["sent"] == 1 and robot.refused == []
    assert "【网格】" in robot.texts()[0]


def test_a_bad_edit_changes_nothing(session, world, httpserver):
    """Test that a URL that is not http(s) or a name taken by another channel is refused with a message
    naming it, and the channel keeps its old URL."""
    robot, channel = robot_channel(session, httpserver, "wecom", world.org.comm_a)
    _, other = robot_channel(session, httpserver, "wecom", world.org.comm_b)
    hint = channel.url_hint
    with pytest.raises(ValueError, match="http"):
        update_channel(session, SYSTEM, channel.id, url="ftp://example.org/x")
    with pytest.raises(ValueError, match=other.name):
        update_channel(session, SYSTEM, channel.id, name=other.name)
    session.rollback()
    assert get_channel(session, SYSTEM, channel.id).url_hint == hint and KEY not in hint


@pytest.mark.parametrize(("who", "allowed"), [("manager_a", True), ("manager_b", False), ("worker", False)])
def test_only_a_manager_of_the_channels_community_may_edit_it(session, world, httpserver, who, allowed):
    """Test that A's manager may rename A's robot, while B's manager and a worker get a ScopeError."""
    _, channel = robot_channel(session, httpserver, "wecom", world.org.comm_a)
    v = {
        "manager_a": viewer(Role.MANAGER, world.org.comm_a),
        "manager_b": viewer(Role.MANAGER, world.org.comm_b),
        "worker": viewer(Role.WORKER, worker=world.org.workers_a[0]),
    }[who]
    if allowed:
        assert update_channel(session, v, channel.id, name="A group").name == "A group"
    else:
        with pytest.raises(ScopeError):
            update_channel(session, v, channel.id, name="stolen")


def test_the_cleanup_removes_only_old_finished_deliveries_and_is_idempotent(
    session, engine, world, httpserver, monkeypatch
):
    """Test that the daily cleanup removes sent and given-up deliveries older than 90 days, keeps newer ones
    and anything still waiting, and a second run removes nothing."""
    _, channel = robot_channel(session, httpserver, "wecom", world.org.comm_a)
    old = NOW - timedelta(days=91)
    for i, (state, at) in enumerate(
        [
            ("sent", old),
            ("gave_up", old),
            ("failed", old),
            ("pending", old),
            ("sent", NOW - timedelta(days=89)),
        ]
    ):
        session.add(
            NotifyDelivery(
                key=f"k{i}",
                channel_id=channel.id,
                payload="{}",
                state=state,
                created_at=at,
                next_attempt_at=at,
            )
        )
    session.commit()
    assert cleanup(now=NOW, engine=engine) == {"removed": 2}
    assert cleanup(now=NOW, engine=engine) == {"removed": 0}
    assert sorted(d.key for d in deliveries(session)) == ["k2", "k3", "k4"]
    monkeypatch.setenv("GRIDWISE_NOTIFY_KEEP_DAYS", "30")
    from core.settings import get_settings

    get_settings.cache_clear()
    try:
        assert purge_old(session, now=NOW) == 1  # the 89-day-old sent one, under a 30-day setting
    finally:
        get_settings.cache_clear()
    session.rollback()


def test_the_cleanup_runs_daily():
    """Test that the scheduler's job list holds notify.cleanup once a day (and after a restart)."""
    (spec,) = [s for s in JOBS if s.id == "notify.cleanup"]
    assert spec.func == "core.notify.jobs:cleanup" and spec.trigger["trigger"] == "cron" and spec.run_at_start


def test_channels_frame_is_scoped_for_a_community_manager(session, world, httpserver):
    """Test that B's manager lists B's channel and not A's."""
    robot_channel(session, httpserver, "wecom", world.org.comm_a)
    _, b = robot_channel(session, httpserver, "wecom", world.org.comm_b)
    names = channels_frame(session, viewer(Role.MANAGER, world.org.comm_b))["name"].tolist()
    assert names == [b.name]
    assert session.exec(select(NotifyChannel)).all()
