"""Scope of notification channels, tested like the authorization matrix: which notices reach which channel
(a community's notices only its own channels), and who may manage which channel."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from core.models import Role
from core.notify.channels import (
    add_channel,
    channels_frame,
    delivery_log,
    get_channel,
    send_test,
    set_enabled,
)
from core.notify.models import NotifyChannel, NotifyDelivery
from core.notify.outbox import fan_out
from core.notify.prefs import save_preference
from core.scope import SYSTEM, ScopeError
from tests.factories import viewer
from tests.unit._notify_world import NOW, make_world, post, secret_key  # noqa: F401


@pytest.fixture
def world(session: Session, secret_key):  # noqa: F811
    w = make_world(session)
    org = w.org
    # One group robot per unit, one email server per unit (the URLs are never called: fan-out only).
    for owner, tag in ((org.comm_a, "A"), (org.comm_b, "B"), (org.sub, "SUB"), (None, "DIST")):
        oid = owner.id if owner else None
        add_channel(
            session,
            SYSTEM,
            kind="wecom",
            name=f"group-{tag}",
            url=f"http://127.0.0.1:9/cgi-bin/webhook/send?key=K{tag}",
            owner_unit_id=oid,
        )
        add_channel(
            session,
            SYSTEM,
            kind="email",
            name=f"mail-{tag}",
            url=f"smtp://127.0.0.1:9?from={tag}@x.org",
            owner_unit_id=oid,
        )
    session.commit()
    return w


def _routes(session: Session) -> dict[str, set[str]]:
    """Notice key → names of the channels its deliveries go through."""
    fan_out(session, now=NOW)
    session.commit()
    rows = session.exec(
        select(NotifyDelivery.key, NotifyChannel.name).join(
            NotifyChannel, NotifyChannel.id == NotifyDelivery.channel_id
        )
    ).all()
    from core.models_inbox import Notification

    keys = dict(session.exec(select(Notification.id, Notification.key)).all())
    out: dict[str, set[str]] = {}
    for dkey, name in rows:
        nid = int(dkey.split(":")[0][1:])
        out.setdefault(keys[nid], set()).add(name)
    return out


# recipient → the channels its notice may reach (and no other)
GROUP_MATRIX = {
    "worker_a": {"group-A"},
    "worker_b": {"group-B"},
    "manager_a": {"group-A"},
    "manager_b": {"group-B"},
    "manager_sub": {"group-SUB"},
    "admin": {"group-DIST"},
}


def test_each_notice_reaches_only_its_own_units_group(session, world):
    """Test the routing matrix: a community's notices reach its own group only — never another community's,
    the subdistrict's or the district's — and a manager's reach their own unit's group."""
    who = {
        "worker_a": world.workers["A00"],
        "worker_b": world.workers["B00"],
        "manager_a": world.manager_a,
        "manager_b": world.manager_b,
        "manager_sub": world.manager_sub,
        "admin": world.admin,
    }
    for key, user in who.items():
        post(session, user, key)
    assert _routes(session) == GROUP_MATRIX


def test_a_personal_email_uses_the_nearest_mail_server_on_the_own_chain_and_skips_the_group(session, world):
    """Test that a worker with an email address gets it through their community's mail server (not B's),
    a subdistrict manager through the subdistrict's, and is then not also @-ed in the group."""
    a0, b0 = world.workers["A00"], world.workers["B00"]
    for user, mail in (
        (a0, "a0@example.org"),
        (b0, "b0@example.org"),
        (world.manager_sub, "sub@example.org"),
    ):
        save_preference(
            session, world.viewer(session, user), language="zh", quiet_start="", quiet_end="", email=mail
        )
    session.commit()
    post(session, a0, "a0")
    post(session, b0, "b0")
    post(session, world.manager_sub, "sub")
    assert _routes(session) == {"a0": {"mail-A"}, "b0": {"mail-B"}, "sub": {"mail-SUB"}}
    recipients = set(session.exec(select(NotifyDelivery.recipient)).all())
    assert recipients == {"a0@example.org", "b0@example.org", "sub@example.org"}


def test_a_community_without_its_own_group_gets_nothing_from_its_parents_group(session, world):
    """Test that disabling A's group sends A's reminders nowhere outside (the subdistrict's group is not a
    fallback)."""
    ch = session.exec(select(NotifyChannel).where(NotifyChannel.name == "group-A")).one()
    set_enabled(session, SYSTEM, ch.id, False)
    session.commit()
    post(session, world.workers["A00"], "a0")
    assert _routes(session) == {}


# Channel management: viewer → may they manage A's channel? (add for A, test, disable, see it, see its log)
MANAGE = [
    ("admin", True),
    ("district_manager", True),
    ("manager_sub", True),
    ("manager_a", True),
    ("manager_b", False),
    ("worker_a", False),
]


def _viewer(world, session, name):  # noqa: ANN001, ANN202
    org = world.org
    return {
        "admin": SYSTEM,
        "district_manager": viewer(Role.MANAGER),
        "manager_sub": viewer(Role.MANAGER, org.sub),
        "manager_a": viewer(Role.MANAGER, org.comm_a),
        "manager_b": viewer(Role.MANAGER, org.comm_b),
        "worker_a": viewer(Role.WORKER, worker=org.workers_a[0]),
    }[name]


@pytest.mark.parametrize(("who", "allowed"), MANAGE)
def test_who_may_manage_a_communitys_channel(session, world, who, allowed):
    """Test that only those whose scope covers community A may add, test, disable, list or read the log of
    A's channels; the others get a ScopeError (or see nothing) and change nothing."""
    v = _viewer(world, session, who)
    ch = session.exec(select(NotifyChannel).where(NotifyChannel.name == "group-A")).one()
    names = set(channels_frame(session, v)["name"])
    assert ("group-A" in names) is allowed and ("group-B" in names) is (
        who in ("admin", "district_manager", "manager_sub", "manager_b")
    )
    assert delivery_log(session, v, channel_id=ch.id).empty
    actions = [
        lambda: add_channel(
            session,
            v,
            kind="wecom",
            name=f"new-{who}",
            url="http://127.0.0.1:9/x?key=k",
            owner_unit_id=world.org.comm_a.id,
        ),
        lambda: set_enabled(session, v, ch.id, False),
        lambda: get_channel(session, v, "group-A"),
    ]
    for act in actions:
        if allowed:
            act()
        else:
            with pytest.raises(ScopeError):
                act()
    session.rollback()
    if not allowed:
        with pytest.raises(ScopeError):
            send_test(session, v, ch.id)
