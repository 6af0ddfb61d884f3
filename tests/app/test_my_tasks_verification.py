"""我的任务 with a verification task a manager assigned: the card says what, where and by when, the task opened
from the message comes first, and the worker's finding closes it (已反馈), in Chinese and English."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import Session

from core.db import get_engine, unit_of_work
from core.models import Worker
from evaluation.field.models import VerificationTask
from evaluation.field.tasks import assign_task
from tests.app.util import texts


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_worker_reports_an_assigned_verification_from_the_message_link(open_page, viewer_of, app_db, lang):
    """Test that the assigned task shows with its address, grid and overdue mark, first when opened from the
    message, and that sending a finding closes it with a confirmation."""
    me = viewer_of("dp0183")
    with Session(get_engine(app_db)) as s:
        worker = s.get(Worker, me.worker_id)
        grid_id, community_id = worker.grid_id, worker.community_id
    with unit_of_work(get_engine(app_db)) as s:
        task = VerificationTask(
            kind="address_codes",
            ref_key=f"测试地址 {lang}",
            community_id=community_id,
            grid_id=grid_id,
            lat=22.6,
            lon=114.5,
            title_zh=f"核查房屋编码:南澳街道 海滨路 8 号 ({lang})",
            title_en=f"Check house codes: 8 Haibin Rd ({lang})",
            created_at=datetime(2020, 9, 20, 9),
            due_at=datetime(2020, 9, 27, 9),  # before the demo's field clock (2020-09-30): overdue
        )
        s.add(task)
        s.flush()
        task_id = f"verification:{task.id}"
        assign_task(
            s,
            viewer_of("manager"),
            task_id=task_id,
            worker_id=me.worker_id,
            reason_zh="本网格",
            reason_en="own grid",
            assigned_by=viewer_of("manager").user_id,
        )
    at = open_page(None, me, lang=lang)
    at.query_params["task"] = task_id
    at.switch_page("pages/my_tasks.py").run()
    assert not at.exception, at.exception
    shown = texts(at)
    title = "南澳街道 海滨路 8 号" if lang == "zh" else "8 Haibin Rd"
    assert title in shown
    assert ("已超期" if lang == "zh" else "Overdue") in shown
    assert ("消息中的任务" if lang == "zh" else "The task from your message") in shown
    assert ("目前没有派给你的任务" if lang == "zh" else "no tasks") not in shown
    send = "提交核查结果" if lang == "zh" else "Send the finding"
    at.text_area[0].set_value("门牌两个编码,已请社区合并")  # in a form: sent with the button
    next(b for b in at.button if b.label == send).click().run()
    assert not at.exception, at.exception
    assert ("已反馈" if lang == "zh" else "Reported") in " ".join(s.value for s in at.success)
    with Session(get_engine(app_db)) as s:
        done = s.get(VerificationTask, int(task_id.split(":")[1]))
        assert done.state == "done" and done.note == "门牌两个编码,已请社区合并"
