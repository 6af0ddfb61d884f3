"""Org tree, workers and scope filtering in SQL."""

from __future__ import annotations

import pytest

from core.models import Role, WorkerCreate, WorkerStatus
from core.org import (
    headcount,
    mask_phone,
    save_worker,
    set_worker_status,
    worker_by_employee_no,
    worker_names,
    workers_frame,
)
from core.scope import ScopeError
from tests.factories import make_org, viewer


def test_phone_is_masked():
    """Test that phone numbers show only their first three and last four digits."""
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone(None) == "" and mask_phone("123") == "***"


def test_scope_limits_workers_in_sql(session):
    """Test that a community manager sees their community, a worker only themselves."""
    org = make_org(session)
    district = workers_frame(session, viewer(Role.MANAGER))
    comm_a = workers_frame(session, viewer(Role.MANAGER, org.comm_a))
    me = workers_frame(session, viewer(Role.WORKER, worker=org.workers_b[1]))
    assert len(district) == 6
    assert set(comm_a["employee_no"]) == {"A00", "A01", "A02"}
    assert list(me["employee_no"]) == ["B01"]
    assert (district["phone"] == "138****5678").all()


def test_worker_names_are_the_workers_to_pick_from_without_their_phones(session):
    """Test that the enrolment picker's list (worker_names) is the active workers in scope that workers_frame
    lists — the same people, numbers and names, in the same order — and carries no phone."""
    org = make_org(session)
    set_worker_status(session, viewer(Role.MANAGER), org.workers_a[1].id, WorkerStatus.LEFT)
    for who in (viewer(Role.MANAGER), viewer(Role.MANAGER, org.comm_a)):
        names = worker_names(session, who, status="active")
        full = workers_frame(session, who, status="active")
        assert names.to_dict("list") == full[["id", "employee_no", "name"]].to_dict("list")
        assert "phone" not in names.columns
    assert list(worker_names(session, viewer(Role.MANAGER, org.comm_a), status="active")["employee_no"]) == [
        "A00",
        "A02",
    ]


def test_headcount_counts_party_members_by_community(session):
    """Test the home page's headcount: workers and party members per community."""
    org = make_org(session)
    hc = headcount(session, viewer(Role.MANAGER, org.sub)).set_index("community_zh")
    assert hc.loc["甲社区", "workers"] == 3 and hc.loc["甲社区", "party_members"] == 1
    assert hc.loc["乙社区", "party_members"] == 0


def test_save_worker_is_idempotent_and_derives_community(session):
    """Test that saving by employee number updates in place and fills community/subdistrict."""
    org = make_org(session)
    mgr = viewer(Role.MANAGER, org.comm_a)
    data = WorkerCreate(employee_no="A99", name="新人", grid_id=org.grids_a[0].id)
    first = save_worker(session, mgr, data)
    again = save_worker(session, mgr, data.model_copy(update={"name": "新人二"}))
    session.commit()
    assert first.id == again.id and again.name == "新人二"
    assert again.community_id == org.comm_a.id and again.subdistrict_id == org.sub.id


def test_manager_cannot_write_outside_scope(session):
    """Test that a community manager cannot add to or change another community's workers."""
    org = make_org(session)
    mgr = viewer(Role.MANAGER, org.comm_a)
    with pytest.raises(ScopeError):
        save_worker(session, mgr, WorkerCreate(employee_no="X1", name="外", grid_id=org.grids_b[0].id))
    with pytest.raises(ScopeError):
        set_worker_status(session, mgr, org.workers_b[0].id, WorkerStatus.LEFT)
    with pytest.raises(ScopeError):
        save_worker(
            session,
            viewer(Role.WORKER, worker=org.workers_a[0]),
            WorkerCreate(employee_no="A98", name="自", grid_id=org.grids_a[0].id),
        )


def test_a_worker_is_opened_by_employee_number_only_within_scope(session):
    """Test that a community manager opens their own worker by employee number and gets nothing for another community's."""
    org = make_org(session)
    mgr = viewer(Role.MANAGER, org.comm_a)
    assert worker_by_employee_no(session, mgr, " A01 ").id == org.workers_a[1].id
    assert worker_by_employee_no(session, mgr, org.workers_b[0].employee_no) is None
