"""Import a meeting platform's attendance export (腾讯会议 / 钉钉 / Zoom style: one row per join).

Each row names a participant (employee number, or name) with join and leave times. A person's minutes
are the union of their intervals clipped to the session, so rejoining does not double count; the share
of the session's minutes then decides present / late / absent by the course's thresholds. Rows are
matched to the session's seats; whatever cannot be matched is reported, nothing is guessed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import update
from sqlmodel import Session, col, select

from core import clock
from core.audit import record
from core.models import Worker
from core.scope import ScopeError, Viewer, worker_scope_clause
from core.tabular import Column, RowError, Schema, read_table
from core.uploads import upload_problem
from courses._sql import must_get, require_manager
from courses.attendance import register
from courses.errors import CoursesError
from courses.models import Attendance, AttendanceStatus, Course, SessionStatus, TrainingSession

PLATFORM_SCHEMA = Schema(
    name="meeting_attendance",
    columns=[
        Column(
            "employee_no",
            ["工号", "员工编号", "编号", "Employee No.", "employee number", "user id"],
            label_zh="工号",
            label_en="Employee No.",
            example="DP0001",
        ),
        Column(
            "name",
            ["姓名", "参会者", "参会人", "用户名", "昵称", "Name", "Participant", "user name"],
            label_zh="姓名",
            label_en="Name",
            example="王伟",
        ),
        Column(
            "join_at",
            ["入会时间", "加入时间", "进入时间", "Join time", "joined", "join"],
            kind="datetime",
            required=True,
            label_zh="入会时间",
            label_en="Join time",
            example="2020-03-03 14:02",
        ),
        Column(
            "leave_at",
            ["离会时间", "退出时间", "离开时间", "Leave time", "left", "leave"],
            kind="datetime",
            required=True,
            label_zh="离会时间",
            label_en="Leave time",
            example="2020-03-03 15:58",
        ),
    ],
)
MATCHED_COLUMNS = [
    "worker_id",
    "employee_no",
    "name",
    "minutes",
    "new_status",
    "current_status",
    "will_change",
]
RANK = {AttendanceStatus.ABSENT.value: 0, AttendanceStatus.LATE.value: 1, AttendanceStatus.PRESENT.value: 2}


def classify(minutes: float, session_minutes: float, *, present_min_pct: int, late_min_pct: int) -> str:
    """present at ≥ present_min_pct of the session's minutes, late at ≥ late_min_pct, else absent."""
    share = 100.0 * minutes / session_minutes if session_minutes > 0 else 0.0
    if share >= present_min_pct:
        return AttendanceStatus.PRESENT.value
    if share >= late_min_pct:
        return AttendanceStatus.LATE.value
    return AttendanceStatus.ABSENT.value


def union_minutes(intervals: pd.DataFrame, start: datetime, end: datetime) -> float:
    """Minutes covered by the union of [join_at, leave_at) intervals, clipped to [start, end)."""
    iv = intervals[["join_at", "leave_at"]].copy()
    iv["join_at"] = iv["join_at"].clip(lower=pd.Timestamp(start))
    iv["leave_at"] = iv["leave_at"].clip(upper=pd.Timestamp(end))
    iv = iv[iv["leave_at"] > iv["join_at"]].sort_values("join_at")
    total, cur_s, cur_e = pd.Timedelta(0), None, None
    for s, e in zip(
        iv["join_at"], iv["leave_at"], strict=True
    ):  # a person's few rows, not a loop over the table
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total.total_seconds() / 60.0


@dataclass
class ImportPreview:
    session_id: int
    matched: pd.DataFrame  # worker_id, employee_no, name, minutes, new_status, current_status, will_change
    errors: list[RowError] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # participants not seated at this session
    ambiguous: list[str] = field(default_factory=list)  # names shared by several seated workers
    filename: str = ""
    sha256: str = ""
    rows_read: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def preview_platform_import(
    session: Session, viewer: Viewer, *, session_id: int, data: bytes, filename: str
) -> ImportPreview:
    require_manager(viewer)
    ts = session.get(TrainingSession, session_id)
    if ts is None or ts.status == SessionStatus.CANCELLED.value:
        raise CoursesError("session_not_held")
    course = must_get(session, Course, ts.course_id)
    if (problem := upload_problem(data, filename)) is not None:  # e.g. an .xlsx that is not a workbook
        return ImportPreview(
            session_id,
            pd.DataFrame(columns=MATCHED_COLUMNS),
            [problem],
            filename=filename,
            sha256=hashlib.sha256(data).hexdigest(),
        )
    result = read_table(data, filename, PLATFORM_SCHEMA)
    file: dict[str, Any] = {
        "filename": filename,
        "sha256": hashlib.sha256(data).hexdigest(),
        "rows_read": result.rows_read,
    }
    rows = result.rows
    errors = list(result.errors)
    seats = register(session, viewer, session_id)
    empty = pd.DataFrame(columns=MATCHED_COLUMNS)
    if seats.empty:
        raise ScopeError("scope.err.no_seats_of_yours")
    if rows.empty:
        return ImportPreview(session_id, empty, errors, **file)
    no_id = rows["employee_no"].isna() & rows["name"].isna()
    for r in rows.loc[no_id, "_row"]:
        errors.append(
            RowError(
                int(r),
                "employee_no",
                None,
                "missing_person",
                f"第 {int(r)} 行:工号和姓名都为空",
                f"Row {int(r)}: neither employee number nor name",
            )
        )
    rows = rows[~no_id].copy()
    by_no = dict(zip(seats["employee_no"].str.upper(), seats["worker_id"], strict=True))
    name_counts = seats["name"].value_counts()
    by_name = {n: w for n, w in zip(seats["name"], seats["worker_id"], strict=True) if name_counts[n] == 1}
    rows["worker_id"] = rows["employee_no"].str.strip().str.upper().map(by_no)
    by_name_ids = rows["name"].str.strip().map(by_name)
    rows["worker_id"] = rows["worker_id"].fillna(by_name_ids)
    who = rows["employee_no"].fillna(rows["name"]).astype(str)
    ambiguous = sorted(
        set(
            rows.loc[rows["worker_id"].isna() & rows["name"].isin(name_counts[name_counts > 1].index), "name"]
        )
    )
    unmatched = sorted(set(who[rows["worker_id"].isna()]) - set(ambiguous))
    rows = rows.dropna(subset=["worker_id"])
    if rows.empty:  # nobody in the file is seated here (e.g. another session's export)
        return ImportPreview(session_id, empty, errors, unmatched, ambiguous, **file)
    minutes = (
        rows.groupby("worker_id")[["join_at", "leave_at"]]
        .apply(lambda g: union_minutes(g, ts.start_at, ts.end_at))
        .rename("minutes")
    )
    session_minutes = (ts.end_at - ts.start_at).total_seconds() / 60.0
    out = seats.set_index("worker_id")[["employee_no", "name", "status", "source"]].join(minutes, how="inner")
    out["minutes"] = out["minutes"].round().astype(int)
    out["new_status"] = [
        classify(m, session_minutes, present_min_pct=course.present_min_pct, late_min_pct=course.late_min_pct)
        for m in out["minutes"]
    ]
    keep_current = (out["status"] == AttendanceStatus.EXCUSED.value) | (
        out["source"].isin(["code", "link"])
        & (out["status"].map(RANK).fillna(-1) > out["new_status"].map(RANK))
    )
    out["will_change"] = ~keep_current & (out["status"] != out["new_status"])
    out = out.rename(columns={"status": "current_status"}).drop(columns="source").reset_index()
    out["worker_id"] = out["worker_id"].astype(int)
    return ImportPreview(session_id, out, errors, unmatched, ambiguous, **file)


def commit_platform_import(
    session: Session, viewer: Viewer, preview: ImportPreview, *, now: datetime | None = None
) -> int:
    """Apply a previewed import (all rows or none): statuses, points and minutes. Re-importing the same file
    changes nothing. Returns the number of seats whose status changed."""
    require_manager(viewer)
    if not preview.ok:
        raise CoursesError("import_has_errors")
    ids = {
        int(w) for w in preview.matched["worker_id"]
    }  # a preview is data: check it is the viewer's to write
    if len(
        set(session.exec(select(col(Worker.id)).where(col(Worker.id).in_(ids), worker_scope_clause(viewer))))
    ) != len(ids):
        raise ScopeError("scope.err.some_workers_out_of_scope")
    now = now or clock.now()
    ts = must_get(session, TrainingSession, preview.session_id)
    course = must_get(session, Course, ts.course_id)
    changed = 0
    for r in preview.matched.itertuples():  # one UPDATE per seated participant (≤ a few hundred)
        values: dict[str, Any] = {"minutes_attended": int(r.minutes)}
        if r.will_change:
            values.update(
                status=r.new_status,
                points=getattr(course, f"points_{r.new_status}"),
                source="import",
                marked_by=viewer.user_id,
                marked_at=now,
            )
            changed += 1
        session.execute(
            update(Attendance)
            .where(col(Attendance.session_id) == ts.id, col(Attendance.worker_id) == int(r.worker_id))
            .values(**values)
        )
    moved = preview.matched[preview.matched["will_change"].astype(bool)]
    record(
        session,
        "import.attendance",
        viewer=viewer,
        entity="file",
        entity_id=preview.filename[:64],
        before=dict(
            zip(
                moved["employee_no"],
                moved["current_status"].astype(object).where(moved["current_status"].notna(), None),
                strict=True,
            )
        ),
        after=dict(zip(moved["employee_no"], moved["new_status"], strict=True)),
        detail={
            "filename": preview.filename,
            "sha256": preview.sha256,
            "session_id": ts.id,
            "rows_read": preview.rows_read,
            "seats_matched": len(preview.matched),
            "changed": changed,
            "unmatched": len(preview.unmatched),
        },
    )
    return changed
