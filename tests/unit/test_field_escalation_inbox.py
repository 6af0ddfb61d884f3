"""The overdue job reaches people: 催办 to the assignee's inbox, 督办 also to the community's manager(s),
each notice once however often the job runs."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from core.inbox import inbox
from core.models import Role, User
from core.models_inbox import Notification
from evaluation.field import events as ev
from evaluation.field.escalation import escalate_and_notify, responsible_managers
from evaluation.field.models import Event, EventState
from evaluation.field.registry import ensure_reference_data
from tests.factories import make_org, viewer

T0 = datetime(2020, 6, 1, 8, 0)
DUE = T0 + timedelta(hours=10)
S = EventState


@pytest.fixture
def world(session):
    org = make_org(session)
    ensure_reference_data(session)
    users = {
        "a0": User(
            username="a00",
            display_name="A00",
            password_hash="x",
            role=Role.WORKER.value,
            worker_id=org.workers_a[0].id,
        ),
        "b0": User(
            username="b00",
            display_name="B00",
            password_hash="x",
            role=Role.WORKER.value,
            worker_id=org.workers_b[0].id,
        ),
        "mgr_a": User(
            username="mgr_a",
            display_name="甲社区",
            password_hash="x",
            role=Role.MANAGER.value,
            scope_unit_id=org.comm_a.id,
        ),
        "district": User(
            username="district", display_name="新区", password_hash="x", role=Role.MANAGER.value
        ),
        "gone": User(
            username="gone",
            display_name="离职",
            password_hash="x",
            role=Role.MANAGER.value,
            scope_unit_id=org.comm_a.id,
            is_active=False,
        ),
    }
    session.add_all(users.values())
    session.commit()
    return org, users


def _event(session, org, n: int, worker, community, grid, **kw) -> Event:
    kw.setdefault("due_at", DUE)
    e = Event(
        event_no=f"E{n}",
        item_code="F01",
        category_code="fire",
        grid_id=grid.id,
        community_id=community.id,
        location="下沙村一巷1号",
        priority="normal",
        state=S.HANDLING.value,
        reporter_id=worker.id,
        assignee_id=worker.id,
        reported_at=T0,
        accepted_at=T0,
        dispatched_at=T0,
        signed_at=T0,
        **kw,
    )
    session.add(e)
    session.commit()
    return e


def _notices(session) -> list[Notification]:
    return session.exec(select(Notification).order_by(Notification.kind, Notification.user_id)).all()


def test_urge_then_supervise_then_nothing_twice(session, world):
    """Test the job at three times: overdue → one 催办 to the assignee; 24 h later → 督办 to the assignee and the
    community manager (not the district manager, not an inactive one); run again → no new notices."""
    org, users = world
    e = _event(session, org, 1, org.workers_a[0], org.comm_a, org.grids_a[0])
    _event(session, org, 2, org.workers_a[0], org.comm_a, org.grids_a[0], due_at=DUE + timedelta(days=5))

    assert escalate_and_notify(session, now=DUE - timedelta(hours=1)) == {
        "urged": 0,
        "supervised": 0,
        "urge_notices": 0,
        "supervise_notices": 0,
    }
    out = escalate_and_notify(session, now=DUE + timedelta(minutes=15))
    session.commit()
    assert out == {"urged": 1, "supervised": 0, "urge_notices": 1, "supervise_notices": 0}
    [urge] = _notices(session)
    assert (urge.user_id, urge.kind, urge.link) == (users["a0"].id, "field_urge", "pages/my_tasks.py")
    assert "E1" in urge.title_zh and urge.title_zh.startswith("催办") and "E1" in urge.title_en
    assert "超时未办结" in urge.title_zh and "下沙村一巷1号" in urge.body_zh

    # Still overdue a day after the reminder: 督办.
    later = DUE + timedelta(minutes=15) + timedelta(hours=25)
    out = escalate_and_notify(session, now=later)
    session.commit()
    assert out == {"urged": 0, "supervised": 1, "urge_notices": 0, "supervise_notices": 2}
    sup = [n for n in _notices(session) if n.kind == "field_supervise"]
    assert {n.user_id for n in sup} == {users["a0"].id, users["mgr_a"].id}
    to_mgr = next(n for n in sup if n.user_id == users["mgr_a"].id)
    assert to_mgr.link == "pages/events.py" and "网格员A00" in to_mgr.title_zh and "督办" in to_mgr.title_zh

    # The job runs again (twice, and later): nothing new, in the events or the inboxes.
    for t in (later, later + timedelta(hours=3)):
        assert escalate_and_notify(session, now=t) == {
            "urged": 0,
            "supervised": 0,
            "urge_notices": 0,
            "supervise_notices": 0,
        }
    session.commit()
    assert len(_notices(session)) == 3
    session.expire_all()
    mine = inbox(session, viewer(Role.WORKER, worker=org.workers_a[0], user_id=users["a0"].id))
    assert mine["kind"].tolist().count("field_urge") == 1 and len(mine) == 2
    assert session.get(Event, e.id).escalation == 2


def test_unsigned_event_and_fallback_to_district_manager(session, world):
    """Test that an event not signed for in time says so, and that in a community without its own manager
    the 督办 goes to the nearest manager above it (here the district's)."""
    org, users = world
    e = _event(
        session, org, 3, org.workers_b[0], org.comm_b, org.grids_b[0], sign_due_at=T0 + timedelta(hours=4)
    )
    e.state, e.signed_at = S.DISPATCHED.value, None
    session.add(e)
    session.commit()
    escalate_and_notify(session, now=T0 + timedelta(hours=5))
    escalate_and_notify(session, now=T0 + timedelta(hours=30))
    session.commit()
    notices = _notices(session)
    assert sorted((n.kind, n.user_id) for n in notices) == sorted(
        [  # user ids' order differs by database
            ("field_supervise", users["b0"].id),
            ("field_supervise", users["district"].id),
            ("field_urge", users["b0"].id),
        ]
    )
    assert all("超时未签收" in n.title_zh for n in notices)
    assert responsible_managers(session, [org.comm_a.id, org.comm_b.id]) == {
        org.comm_a.id: [users["mgr_a"].id],
        org.comm_b.id: [users["district"].id],
    }


def test_escalated_again_after_a_redispatch_is_notified_again(session, world):
    """Test that re-dispatching (which resets the escalation) and running late again sends a new 催办, and that
    a worker without an account is skipped without error."""
    org, users = world
    e = _event(session, org, 4, org.workers_a[0], org.comm_a, org.grids_a[0])
    no_account = _event(session, org, 5, org.workers_a[1], org.comm_a, org.grids_a[1])
    escalate_and_notify(session, now=DUE + timedelta(hours=1))
    session.commit()
    session.expire_all()
    assert session.get(Event, no_account.id).escalation == 1  # escalated in the history all the same
    e = session.get(Event, e.id)
    e.state, e.escalation, e.urged_at, e.due_at = S.HANDLING.value, 0, None, DUE + timedelta(days=2)
    session.add(e)
    session.commit()
    escalate_and_notify(session, now=DUE + timedelta(days=2, hours=1))
    session.commit()
    urges = [n for n in _notices(session) if n.kind == "field_urge"]
    assert [n.user_id for n in urges] == [users["a0"].id, users["a0"].id]
    assert len({n.key for n in urges}) == 2
    assert ev.escalate_overdue(session, now=DUE + timedelta(days=2, hours=2)) == {"urged": 0, "supervised": 0}
