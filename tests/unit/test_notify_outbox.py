"""The outbox against loopback robots: WeCom, DingTalk and Feishu played by pytest-httpserver (checking key,
JSON shape, signature and keyword as the providers do). Success, error codes, rate limits, a refused key,
the network down and back, quiet hours, a job run twice and a crash between sending and recording."""

from __future__ import annotations

import json
from collections import deque
from datetime import timedelta

import pytest
from pytest_httpserver import HTTPServer
from sqlmodel import Session, select

from core.models_audit import AuditEntry
from core.models_inbox import Notification
from core.notify import outbox
from core.notify.channels import add_channel, set_enabled
from core.notify.jobs import deliver
from core.notify.models import NotifyChannel, NotifyFanout
from core.notify.outbox import LEASE, claim_due, deliver_due, fan_out
from core.notify.prefs import save_preference
from core.scope import SYSTEM
from tests.unit._notify_fakes import SECRET, FakeRobot
from tests.unit._notify_world import BASE_URL, NOW, deliveries, make_world, post, secret_key  # noqa: F401

PHONE = "13812345678"  # tests.factories gives every worker this mobile


@pytest.fixture
def world(session: Session, secret_key):  # noqa: F811
    return make_world(session)


def robot_channel(
    session: Session,
    server: HTTPServer,
    kind: str,
    owner,
    *,
    bad_key: bool = False,  # noqa: ANN001
    keyword: str = "",
    name: str | None = None,
) -> tuple[FakeRobot, NotifyChannel]:
    robot = FakeRobot(kind, keyword=keyword).install(server)
    channel = add_channel(
        session,
        SYSTEM,
        kind=kind,
        name=name or f"{kind}-{owner.code if owner else 'district'}",
        url=robot.url(server, bad_key=bad_key),
        secret=SECRET if kind != "wecom" else None,
        owner_unit_id=owner.id if owner else None,
        keyword=keyword,
    )
    session.commit()
    return robot, channel


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu"])
def test_each_robot_accepts_a_signed_well_formed_reminder_in_the_community_group(
    session, engine, world, httpserver, kind
):
    """Test that a worker's reminder reaches their community's robot once, signed, @-ing their mobile, with a
    link back to the page."""
    robot, channel = robot_channel(session, httpserver, kind, world.org.comm_a, keyword="网格")
    post(session, world.workers["A00"], "r1")
    counts = deliver_due(engine, now=NOW)
    assert counts["sent"] == 1 and robot.refused == []
    (text,) = robot.texts()
    assert "培训提醒 r1" in text and f"{BASE_URL}/my_learning" in text and "网格" in text
    if kind != "feishu":  # Feishu's custom bots cannot @ by mobile
        assert robot.mentions() == [[PHONE]]
    (d,) = deliveries(session, channel)
    assert (d.state, d.attempts, d.sent_at) == ("sent", 1, NOW)


def test_an_error_code_in_a_200_answer_is_a_failure_retried_with_backoff(session, engine, world, httpserver):
    """Test that errcode != 0 in an HTTP 200 answer counts as a failure, kept with the provider's words and
    tried again one minute later, then two."""
    robot, channel = robot_channel(session, httpserver, "wecom", world.org.comm_a)
    robot.script = deque(["error", "error"])
    post(session, world.workers["A00"], "r1")
    assert deliver_due(engine, now=NOW)["failed"] == 1
    (d,) = deliveries(session)
    assert (d.state, d.attempts, d.error_kind, d.last_error) == ("failed", 1, "refused", "50000 system busy")
    assert d.next_attempt_at == NOW + timedelta(minutes=1)
    assert deliver_due(engine, now=NOW + timedelta(seconds=30))["claimed"] == 0  # not due yet
    deliver_due(engine, now=NOW + timedelta(minutes=1))
    (d,) = deliveries(session)
    assert (d.state, d.attempts, d.next_attempt_at) == ("failed", 2, NOW + timedelta(minutes=3))
    deliver_due(engine, now=NOW + timedelta(minutes=3))
    assert [d.state for d in deliveries(session)] == ["sent"] and len(robot.received) == 1


def test_a_rate_limit_code_pauses_the_dingtalk_robot_ten_minutes_and_the_message_goes_later(
    session, engine, world, httpserver
):
    """Test that DingTalk's "send too fast" queues the message (not counted, not dropped) and pauses the robot
    for ten minutes, after which it is sent."""
    robot, channel = robot_channel(session, httpserver, "dingtalk", world.org.comm_a)
    robot.script = deque(["rate"])
    post(session, world.workers["A00"], "r1")
    post(session, world.workers["A01"], "r2")
    deliver_due(engine, now=NOW)
    session.refresh(channel)
    assert channel.paused_until == NOW + timedelta(minutes=10) and not channel.flagged
    states = [(d.state, d.attempts, d.error_kind) for d in deliveries(session)]
    assert states[0] == ("failed", 0, "rate_limited") and len(robot.refused) == 1
    assert deliver_due(engine, now=NOW + timedelta(minutes=9))["claimed"] == 0  # the robot is paused
    deliver_due(engine, now=NOW + timedelta(minutes=10))
    assert [d.state for d in deliveries(session)] == ["sent", "sent"] and len(robot.received) == 2


def test_a_robot_gets_at_most_twenty_messages_a_minute_and_the_rest_wait_their_turn(
    session, engine, world, httpserver
):
    """Test that 25 due messages for one WeCom robot go out as 20 now and 5 a minute later, none dropped."""
    robot, _ = robot_channel(session, httpserver, "wecom", world.org.comm_a)
    for i in range(25):
        post(session, world.workers["A00"], f"r{i}")
    assert deliver_due(engine, now=NOW)["sent"] == 20
    assert deliver_due(engine, now=NOW + timedelta(seconds=30))["sent"] == 0
    assert deliver_due(engine, now=NOW + timedelta(seconds=61))["sent"] == 5
    assert len(robot.received) == 25 and robot.refused == []
    assert {d.state for d in deliveries(session)} == {"sent"}


def test_a_refused_key_flags_the_channel_and_is_never_retried(session, engine, world, httpserver):
    """Test that a refused key gives up that message at once, holds the channel's other messages and flags
    the channel until an administrator enables it again (with an audit entry)."""
    robot, channel = robot_channel(session, httpserver, "wecom", world.org.comm_a, bad_key=True)
    post(session, world.workers["A00"], "r1")
    post(session, world.workers["A01"], "r2")
    deliver_due(engine, now=NOW)
    deliver_due(engine, now=NOW + timedelta(hours=2))
    assert len(robot.refused) == 1  # one request, no retry, the second message not even tried
    first, second = deliveries(session)
    assert (first.state, first.error_kind) == ("gave_up", "config") and "93000" in first.last_error
    assert (second.state, second.attempts) == ("pending", 0)
    session.refresh(channel)
    assert channel.flagged and "93000" in channel.last_error
    alerts = session.exec(select(Notification).where(Notification.kind == "notify_flagged")).all()
    assert [(n.user_id, n.link) for n in alerts] == [
        (world.admin.id, "pages/notify_channels.py")
    ]  # told once
    set_enabled(session, SYSTEM, channel.id, True)
    session.commit()
    session.refresh(channel)
    assert not channel.flagged
    assert session.exec(select(AuditEntry.action).where(AuditEntry.action == "notify.channel.enable")).all()


def test_the_network_down_then_back(session, engine, world):
    """Test that with the robot's server unreachable the message waits (backing off) and goes once it is back."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    port = server.port
    server.stop()  # nothing listens on the port now
    server = HTTPServer(host="127.0.0.1", port=port)
    robot = FakeRobot("wecom")
    channel = add_channel(
        session,
        SYSTEM,
        kind="wecom",
        name="A group",
        url=robot.url(server),
        owner_unit_id=world.org.comm_a.id,
    )
    session.commit()
    post(session, world.workers["A00"], "r1")
    deliver_due(engine, now=NOW)
    deliver_due(engine, now=NOW + timedelta(minutes=1))
    (d,) = deliveries(session)
    assert (d.state, d.attempts, d.error_kind) == ("failed", 2, "network")
    assert d.next_attempt_at == NOW + timedelta(minutes=3)
    robot.install(server)
    server.start()
    try:
        deliver_due(engine, now=NOW + timedelta(minutes=3))
    finally:
        server.stop()
    (d,) = deliveries(session)
    assert (d.state, d.attempts) == ("sent", 3) and len(robot.received) == 1
    session.refresh(channel)
    assert channel.last_sent_at == NOW + timedelta(minutes=3)


def test_quiet_hours_hold_a_reminder_until_morning_but_not_a_supervision_order(
    session, engine, world, httpserver
):
    """Test that at 23:00 a reminder waits until 07:00 while a 督办 goes out at once."""
    robot, _ = robot_channel(session, httpserver, "wecom", world.org.comm_a)
    night = NOW.replace(hour=23)
    post(session, world.workers["A00"], "remind", at=night)
    post(session, world.workers["A00"], "supervise", kind="field_supervise", at=night)
    deliver_due(engine, now=night)
    assert len(robot.received) == 1 and "supervise" in robot.texts()[0]
    deliver_due(engine, now=night + timedelta(hours=7, minutes=59))
    assert len(robot.received) == 1
    deliver_due(engine, now=night + timedelta(hours=8))  # 07:00 the next day
    assert len(robot.received) == 2 and "remind" in robot.texts()[1]


def test_a_users_own_quiet_hours_and_channel_choice_are_respected(session, engine, world, httpserver):
    """Test that a worker's own quiet hours (12:00–14:00) hold a reminder, and switching the group off stops it."""
    robot, _ = robot_channel(session, httpserver, "wecom", world.org.comm_a)
    a0, a1 = world.workers["A00"], world.workers["A01"]
    save_preference(session, world.viewer(session, a0), language="en", quiet_start="12:00", quiet_end="14:00")
    save_preference(
        session, world.viewer(session, a1), language="zh", quiet_start="", quiet_end="", use_group=False
    )
    session.commit()
    noon = NOW.replace(hour=12, minute=30)
    post(session, a0, "r0", at=noon)
    post(session, a1, "r1", at=noon)
    deliver_due(engine, now=noon)
    assert robot.received == []
    deliver_due(engine, now=noon.replace(hour=14, minute=0))
    assert len(robot.received) == 1 and robot.texts()[0].startswith("Training reminder r0")  # in English


def test_a_job_run_twice_sends_nothing_twice(session, engine, world, httpserver):
    """Test that the scheduler's job run twice at the same moment fans out and sends each message once."""
    robot, _ = robot_channel(session, httpserver, "feishu", world.org.comm_a)
    post(session, world.workers["A00"], "r1")
    first = deliver(now=NOW, engine=engine)
    second = deliver(now=NOW, engine=engine)
    assert (first["fanned_out"], first["sent"]) == (1, 1)
    assert (second["fanned_out"], second["sent"], second["queued"]) == (0, 0, 0)
    assert fan_out(session, now=NOW) == 0 and len(robot.received) == 1
    assert len(session.exec(select(NotifyFanout)).all()) == 1


def test_two_runners_never_claim_the_same_delivery(session, engine, world, httpserver):
    """Test that a delivery claimed by one runner is not claimed by another while its lease lasts."""
    robot_channel(session, httpserver, "wecom", world.org.comm_a)
    post(session, world.workers["A00"], "r1")
    with Session(engine) as s:
        fan_out(s, now=NOW)
        s.commit()
    with Session(engine) as s1, Session(engine) as s2:
        assert len(claim_due(s1, now=NOW)) == 1
        s1.commit()
        assert claim_due(s2, now=NOW + LEASE - timedelta(seconds=1)) == []


def test_a_crash_between_sending_and_recording_resends_once_the_lease_lapses(
    session, engine, world, httpserver, monkeypatch
):
    """Test the crash rule (at-least-once): the process dies after the provider accepted a message and before
    the outbox recorded it; nothing is resent while the lease lasts, then it is sent once more and recorded."""
    robot, _ = robot_channel(session, httpserver, "wecom", world.org.comm_a)
    post(session, world.workers["A00"], "r1")

    def crash(*_a, **_k):  # noqa: ANN002, ANN003
        raise KeyboardInterrupt("killed between the provider's answer and the record")

    monkeypatch.setattr(outbox, "record_outcome", crash)
    with pytest.raises(KeyboardInterrupt):
        deliver_due(engine, now=NOW)
    monkeypatch.undo()
    assert len(robot.received) == 1
    (d,) = deliveries(session)
    assert (d.state, d.attempts, d.claimed_until) == ("sending", 1, NOW + LEASE)
    assert deliver_due(engine, now=NOW + LEASE - timedelta(seconds=1))["claimed"] == 0
    assert deliver_due(engine, now=NOW + LEASE + timedelta(seconds=1))["sent"] == 1
    assert len(robot.received) == 2  # the documented duplicate
    (d,) = deliveries(session)
    assert (d.state, d.attempts) == ("sent", 2)


def test_a_manager_notice_goes_to_their_units_group_as_markdown(session, engine, world, httpserver):
    """Test that a community manager's notice reaches that community's group (markdown, no @ without a mobile)."""
    robot, _ = robot_channel(session, httpserver, "dingtalk", world.org.comm_a)
    post(session, world.manager_a, "m1", kind="field_supervise", link="pages/events.py")
    deliver_due(engine, now=NOW)
    (body,) = robot.received
    assert body["msgtype"] == "markdown" and f"[打开]({BASE_URL}/events)" in body["markdown"]["text"]
    assert body["at"]["atMobiles"] == []


def test_old_notices_stay_in_the_inbox_only(session, engine, world, httpserver):
    """Test that notices older than two days (from before the channel existed) are not sent out."""
    robot, _ = robot_channel(session, httpserver, "wecom", world.org.comm_a)
    post(session, world.workers["A00"], "old", at=NOW - timedelta(days=3))
    assert deliver_due(engine, now=NOW)["fanned_out"] == 0 and robot.received == []


def test_payload_is_short(session, engine, world, httpserver):
    """Test that a long notice body is cut to a short message (the link carries the rest)."""
    from core.inbox import notify

    robot, _ = robot_channel(session, httpserver, "wecom", world.org.comm_a)
    notify(
        session,
        [
            {
                "user_id": world.workers["A00"].id,
                "key": "long",
                "kind": "remind24",
                "title_zh": "长消息",
                "body_zh": "很长的正文。" * 200,
                "created_at": NOW,
            }
        ],
    )
    session.commit()
    deliver_due(engine, now=NOW)
    (d,) = deliveries(session)
    assert len(json.loads(d.payload)["text"]) <= outbox.TEXT_MAX and len(robot.texts()[0]) < 300


def test_the_scheduler_runs_the_delivery_job_every_minute():
    """Test that the scheduler's job list holds notify.deliver, every minute, calling the same function as the CLI."""
    from core.scheduler import job_specs

    (spec,) = [s for s in job_specs() if s.id == "notify.deliver"]
    assert spec.func == "core.notify.jobs:deliver" and spec.trigger == {"trigger": "interval", "minutes": 1}
