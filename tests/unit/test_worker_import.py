"""Worker roster import: encodings as Chinese Excel writes them, every bad row listed, all or nothing."""

from __future__ import annotations

import io

import openpyxl
from sqlmodel import func, select

from core.models import Role, Worker
from core.worker_import import commit_worker_import, preview_worker_import
from tests.factories import make_org, viewer

HEADER = "工号,姓名,网格编码,是否党员,入职日期,状态,手机号\r\n"


def _csv(org, rows: list[str], encoding: str) -> bytes:
    text = HEADER + "".join(
        r.format(a0=org.grids_a[0].code, a1=org.grids_a[1].code, b0=org.grids_b[0].code) + "\r\n"
        for r in rows
    )
    return text.encode(encoding)


def _count(session) -> int:
    return session.exec(select(func.count(Worker.id))).one()


def test_gb18030_roster_previews_then_commits_and_reimport_changes_nothing(session):
    """Test a GB18030 file: preview counts, commit, then the same file again is all unchanged."""
    org = make_org(session)
    admin = viewer(Role.SYSADMIN)
    data = _csv(
        org,
        ["N01,欧阳晓明,{a0},是,2020/6/1,在岗,13900001111", "N02,张三,{a1},否,2019-03-01,请假,"],
        "gb18030",
    )
    preview = preview_worker_import(session, admin, data, "花名册.csv")
    assert preview.ok, preview.errors
    assert (preview.rows_read, len(preview.new), len(preview.changed)) == (2, 2, 0)
    assert commit_worker_import(session, admin, preview) == (2, 0)
    session.commit()
    n01 = session.exec(select(Worker).where(Worker.employee_no == "N01")).one()
    assert n01.name == "欧阳晓明" and n01.party_member and n01.community_id == org.comm_a.id
    assert str(n01.hire_date) == "2020-06-01"
    again = preview_worker_import(session, admin, data, "花名册.csv")
    assert (len(again.new), len(again.changed), again.unchanged) == (0, 0, 2)


def test_utf8_bom_corrected_file_updates_in_place(session):
    """Test that a corrected UTF-8-with-BOM file updates the same worker rather than adding one."""
    org = make_org(session)
    admin = viewer(Role.SYSADMIN)
    commit_worker_import(
        session,
        admin,
        preview_worker_import(
            session, admin, _csv(org, ["N01,李明,{a0},否,2020-06-01,在岗,"], "utf-8-sig"), "a.csv"
        ),
    )
    session.commit()
    before = _count(session)
    fixed = preview_worker_import(
        session, admin, _csv(org, ["N01,李明明,{a1},否,2020-06-01,在岗,"], "utf-8-sig"), "a.csv"
    )
    assert len(fixed.changed) == 1 and len(fixed.new) == 0
    commit_worker_import(session, admin, fixed)
    session.commit()
    assert _count(session) == before
    n01 = session.exec(select(Worker).where(Worker.employee_no == "N01")).one()
    assert n01.name == "李明明" and n01.grid_id == org.grids_a[1].id


def test_bad_rows_are_all_listed_and_nothing_is_written(session):
    """Test that every bad row is reported with its row number and column, and nothing is written."""
    org = make_org(session)
    admin = viewer(Role.SYSADMIN)
    before = _count(session)
    data = _csv(
        org,
        [
            "N01,李明,{a0},是,2020-06-01,在岗,",
            "N02,,{a0},否,2020-06-01,在岗,",  # row 3: name missing
            "N03,王五,NOPE,否,2020-06-01,在岗,",  # row 4: unknown grid
            "N04,赵六,{a1},否,2020-13-01,在岗,",  # row 5: bad date
            "N01,李明,{a1},是,2020-06-01,在岗,",
        ],  # row 6: duplicate employee no.
        "gb18030",
    )
    preview = preview_worker_import(session, admin, data, "bad.csv")
    assert not preview.ok
    found = {(e.row, e.code) for e in preview.errors}
    assert {r for r, _ in found} >= {3, 4, 5, 6}
    unknown = next(e for e in preview.errors if e.row == 4)
    assert (unknown.code, unknown.column, unknown.value) == ("unknown_grid", "grid_code", "NOPE")
    assert unknown.message("zh") == "第 4 行「网格编码」列的值“NOPE”不是您管理范围内的网格编码"
    assert unknown.message("en") == 'Row 4, column "grid code": "NOPE" is not a grid in your scope'
    assert any(e.row == 5 and "入职日期" in e.message("zh") for e in preview.errors)
    try:
        commit_worker_import(session, admin, preview)
    except ValueError:
        pass
    else:
        raise AssertionError("a file with errors was committed")
    session.rollback()
    assert _count(session) == before


def test_xlsx_roster_and_scope(session):
    """Test an Excel roster, and that a community manager cannot import into another community."""
    org = make_org(session)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["工号", "姓名", "网格编码", "入职日期"])
    ws.append(["X01", "陈七", org.grids_b[0].code, "2021-01-05"])
    buf = io.BytesIO()
    wb.save(buf)
    mgr_a = viewer(Role.MANAGER, org.comm_a)
    preview = preview_worker_import(session, mgr_a, buf.getvalue(), "roster.xlsx")
    assert not preview.ok and preview.errors[0].row == 2
    ok = preview_worker_import(session, viewer(Role.MANAGER, org.comm_b), buf.getvalue(), "roster.xlsx")
    assert ok.ok and len(ok.new) == 1


def test_unreadable_file_is_refused_with_a_message(session):
    """Test that random bytes give an error, not an exception."""
    make_org(session)
    preview = preview_worker_import(session, viewer(Role.SYSADMIN), b"\x00\xff\xfe\x81garbage", "x.csv")
    assert not preview.ok and preview.errors[0].message("en")
