"""Import of a meeting platform's attendance export (CSV in GB18030 and Excel), matched to the seats."""

from __future__ import annotations

import io
from datetime import datetime, time

import openpyxl
import pytest
from sqlmodel import select

from courses.attendance import check_in, checkin_code, decide_excuse, request_excuse
from courses.attendance_import import commit_platform_import, preview_platform_import
from courses.enrollment import enroll
from courses.errors import CoursesError
from courses.models import Attendance
from courses.training_sessions import SessionPlan, schedule
from tests.unit._courses_world import make_world

NOW = datetime(2020, 3, 2, 9, 0)
START = datetime(2020, 3, 3, 14, 0)


@pytest.fixture
def setup(session):
    w = make_world(session, workers_per_community=4)
    course = w.courses["residence_registration"]  # 120-minute session below; present ≥ 80%, late ≥ 50%
    enroll(session, w.manager, course_id=course.id, worker_ids=[x.id for x in w.org.workers_a], now=NOW)
    (ts,) = schedule(
        session,
        w.manager,
        SessionPlan(course_id=course.id, first_day=START.date(), start=time(14), end=time(16)),
        now=NOW,
    )
    return w, course, ts


def _status(session, ts):
    return dict(
        session.exec(
            select(Attendance.worker_id, Attendance.status).where(Attendance.session_id == ts.id)
        ).all()
    )


def test_gb18030_csv_with_rejoins_names_and_strangers(session, setup):
    """Test that a Tencent-Meeting-style CSV (GB18030, Chinese headers, a title row, a rejoin, a name-only row,
    an unknown participant) classifies by minutes and re-importing changes nothing."""
    w, course, ts = setup
    a, b, c, d = w.org.workers_a
    csv = (
        "腾讯会议参会明细\n"
        "用户名,工号,入会时间,离会时间\n"
        f"{a.name},{a.employee_no},2020-03-03 13:58,2020-03-03 15:10\n"
        f"{a.name},{a.employee_no},2020-03-03 15:05,2020-03-03 16:02\n"  # rejoin, overlapping: 120 min
        f"{b.name},,2020-03-03 14:20,2020-03-03 15:30\n"  # matched by name: 70 min = 58% → late
        f"{c.name},{c.employee_no},2020-03-03 14:00,2020-03-03 14:30\n"  # 30 min → absent
        "路人甲,,2020-03-03 14:00,2020-03-03 16:00\n"
    ).encode("gb18030")
    preview = preview_platform_import(session, w.manager, session_id=ts.id, data=csv, filename="参会明细.csv")
    assert preview.ok and preview.unmatched == ["路人甲"]
    got = preview.matched.set_index("worker_id")
    assert got.loc[a.id, "minutes"] == 120 and got.loc[a.id, "new_status"] == "present"
    assert got.loc[b.id, "minutes"] == 70 and got.loc[b.id, "new_status"] == "late"
    assert got.loc[c.id, "new_status"] == "absent"
    assert commit_platform_import(session, w.manager, preview) == 3
    assert _status(session, ts) == {a.id: "present", b.id: "late", c.id: "absent", d.id: None}
    again = preview_platform_import(session, w.manager, session_id=ts.id, data=csv, filename="参会明细.csv")
    assert commit_platform_import(session, w.manager, again) == 0


def test_excel_export_keeps_excuses_and_better_self_check_ins(session, setup):
    """Test that an .xlsx import never overrides an approved excuse or a better self check-in."""
    w, course, ts = setup
    a, b, c, _ = w.org.workers_a
    check_in(session, w.worker(a), session_id=ts.id, code=checkin_code(ts.secret, START), now=START)
    req = request_excuse(session, w.worker(b), session_id=ts.id, reason="入户核查", now=NOW)
    decide_excuse(session, w.manager, excuse_id=req.id, approve=True, now=NOW)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Employee No.", "Name", "Join time", "Leave time"])
    ws.append(
        [a.employee_no, a.name, datetime(2020, 3, 3, 14, 0), datetime(2020, 3, 3, 14, 20)]
    )  # would be absent
    ws.append([b.employee_no, b.name, datetime(2020, 3, 3, 14, 0), datetime(2020, 3, 3, 14, 5)])
    ws.append(
        [c.employee_no, c.name, datetime(2020, 3, 3, 14, 10), datetime(2020, 3, 3, 16, 0)]
    )  # 110 → present
    buf = io.BytesIO()
    wb.save(buf)
    preview = preview_platform_import(
        session, w.manager, session_id=ts.id, data=buf.getvalue(), filename="zoom.xlsx"
    )
    commit_platform_import(session, w.manager, preview)
    st = _status(session, ts)
    assert (st[a.id], st[b.id], st[c.id]) == ("present", "excused", "present")


def test_a_file_with_errors_imports_nothing(session, setup):
    """Test that a row with an unreadable time is reported with its row number and blocks the import."""
    w, _, ts = setup
    a = w.org.workers_a[0]
    csv = (
        "工号,入会时间,离会时间\n"
        f"{a.employee_no},2020-03-03 14:00,2020-03-03 16:00\n"
        f"{a.employee_no},明天下午,2020-03-03 16:00\n"
    ).encode("utf-8-sig")
    preview = preview_platform_import(session, w.manager, session_id=ts.id, data=csv, filename="x.csv")
    assert not preview.ok and preview.errors[0].row == 3
    with pytest.raises(CoursesError):
        commit_platform_import(session, w.manager, preview)
    assert set(_status(session, ts).values()) == {None}


def test_export_where_nobody_is_seated_previews_as_unmatched(session, setup):
    """Test that an export naming only people not seated at this session (e.g. another session's file) is
    previewed with everyone unmatched and nothing to change, instead of crashing (found by fuzzing)."""
    w, course, ts = setup
    csv = (
        "用户名,工号,入会时间,离会时间\n路人甲,,2020-03-03 14:00,2020-03-03 16:00\n"
        "路人乙,X99,2020-03-03 14:10,2020-03-03 15:00\n"
    ).encode("gb18030")
    preview = preview_platform_import(session, w.manager, session_id=ts.id, data=csv, filename="别的会议.csv")
    assert preview.ok and preview.matched.empty
    assert preview.unmatched == ["X99", "路人甲"]
    assert commit_platform_import(session, w.manager, preview) == 0
    assert set(_status(session, ts).values()) == {None}
