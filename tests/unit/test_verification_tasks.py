"""A verification task from assignment to 已反馈: the worker is told (once) with a link to that very task, sees
where and by when, and their report closes it once; others cannot report it; an empty report is refused."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from core.errors import GridwiseError
from core.models import Role
from core.models_inbox import Notification as Notice
from core.scope import ScopeError
from evaluation.field.models import VerificationTask
from evaluation.field.tasks import assign_task
from evaluation.field.verification import my_verifications, report_verification
from tests.factories import make_org, make_user, viewer

NOW = datetime(2020, 9, 30, 18, 0)


@pytest.fixture
def world(session):
    org = make_org(session)
    a0 = org.workers_a[0]
    user = make_user(session, "a0", "x", role=Role.WORKER, worker_id=a0.id, scope_unit_id=a0.grid_id)
    task = VerificationTask(
        kind="address_codes",
        ref_key="大鹏街道 岭南路 12 号",
        community_id=org.comm_a.id,
        grid_id=org.grids_a[0].id,
        lat=22.6,
        lon=114.4,
        title_zh="核查房屋编码:大鹏街道 岭南路 12 号 有 2 个编码",
        title_en="Check house codes: 2 codes at one address",
        created_at=NOW - timedelta(days=9),
        due_at=NOW - timedelta(days=2),
    )
    session.add(task)
    session.commit()
    manager = viewer(Role.MANAGER, org.comm_a, user_id=99)
    worker = viewer(Role.WORKER, org.grids_a[0], worker=a0, user_id=user.id)
    return org, task, manager, worker, user


def _assign(session, manager, task, worker_id) -> None:
    assign_task(
        session,
        manager,
        task_id=f"verification:{task.id}",
        worker_id=worker_id,
        reason_zh="本网格",
        reason_en="own grid",
        assigned_by=manager.user_id,
        now=NOW,
    )


def test_assignment_tells_the_worker_once_with_a_link_to_the_task(session, world):
    """Test that assigning a task puts one notice in the worker's inbox whose link opens that task,
    and assigning it to them again adds none."""
    org, task, manager, worker, user = world
    _assign(session, manager, task, worker.worker_id)
    _assign(session, manager, task, worker.worker_id)
    session.commit()
    notices = session.exec(select(Notice).where(Notice.user_id == user.id)).all()
    assert len(notices) == 1
    assert notices[0].link == f"pages/my_tasks.py?task=verification:{task.id}"
    assert notices[0].kind == "task_assigned" and "岭南路 12 号" in notices[0].title_zh


def test_the_worker_sees_where_and_that_it_is_overdue(session, world):
    """Test that the worker's list has the task with its grid, community, map point and an overdue mark."""
    org, task, manager, worker, _ = world
    _assign(session, manager, task, worker.worker_id)
    session.commit()
    mine = my_verifications(session, worker, now=NOW)
    assert mine["task_id"].tolist() == [f"verification:{task.id}"]
    row = mine.iloc[0]
    assert (row.grid_zh, row.community_zh, row.overdue) == ("甲0", "甲社区", True)
    assert (row.lat, row.lon) == (22.6, 114.4)


def test_the_report_closes_the_task_once_and_only_for_its_assignee(session, world):
    """Test that an empty report is refused, another worker cannot report it, the assignee's report closes
    it with the note (已反馈), and a second tap changes nothing."""
    org, task, manager, worker, _ = world
    _assign(session, manager, task, worker.worker_id)
    session.commit()
    other = viewer(Role.WORKER, org.grids_a[1], worker=org.workers_a[1], user_id=98)
    with pytest.raises(ScopeError):
        report_verification(session, other, task_id=task.id, note="看过了", now=NOW)
    with pytest.raises(GridwiseError) as empty:
        report_verification(session, worker, task_id=task.id, note="  ", now=NOW)
    assert empty.value.key == "field.err.verification_note"
    assert report_verification(session, worker, task_id=task.id, note="门牌 12 号两个编码,已合并", now=NOW)
    session.commit()
    assert report_verification(session, worker, task_id=task.id, note="再点一次", now=NOW) is False
    session.commit()
    session.refresh(task)
    assert (task.state, task.note, task.done_at) == ("done", "门牌 12 号两个编码,已合并", NOW)
    assert my_verifications(session, worker, now=NOW).empty
