"""Personal data on the pages: masked by default, shown in full only on the "show" button (audited), and
every view and download of personal data recorded."""

from __future__ import annotations

import json

from sqlmodel import Session, col, select

from core.db import get_engine
from core.models import Worker
from core.models_audit import AuditEntry
from tests.app.util import texts


def _audit(app_db: str, prefix: str) -> list[AuditEntry]:
    with Session(get_engine(app_db)) as s:
        stmt = (
            select(AuditEntry).where(col(AuditEntry.action).startswith(prefix)).order_by(col(AuditEntry.id))
        )
        return list(s.exec(stmt).all())


def test_the_edit_form_masks_the_phone_until_show_is_pressed(open_page, viewer_of, app_db):
    """Test that the phone shows masked until "show", whose audit row (a page action's unit of work) carries
    the browser's address (AppTest's loopback peer) and no phone."""
    with Session(get_engine(app_db)) as s:
        worker = s.exec(select(Worker).where(Worker.employee_no == "DP0001")).one()
    at = open_page("pages/workers.py", viewer_of("manager"))
    pick = next(s for s in at.selectbox if any(o.startswith("DP0001") for o in s.options))
    pick.set_value("DP0001").run()
    phone_input = next(t for t in at.text_input if t.label == "手机号")
    assert phone_input.value == f"{worker.phone[:3]}****{worker.phone[-4:]}"
    assert worker.phone not in texts(at)
    assert not _audit(app_db, "privacy.reveal")
    next(b for b in at.button if b.label == "显示完整手机号").click().run()
    assert not at.exception
    assert worker.phone in " ".join(i.value for i in at.info)
    [entry] = _audit(app_db, "privacy.reveal")
    assert entry.entity_id == "DP0001" and worker.phone not in (entry.detail or "")
    assert entry.address == "127.0.0.1"


def test_a_manager_opening_the_workers_page_and_downloading_its_csv_is_audited_with_masked_values(
    open_page, viewer_of, app_db
):
    """Done-when (#19): the view and the CSV download leave audit rows (viewer, filter, rows, file, address),
    one view row however often the page reruns, and the rows hold masked values only."""
    at = open_page("pages/workers.py", viewer_of("manager"))
    at.run()  # a rerun with the same filter: still one view row
    views = _audit(app_db, "view.workers")
    assert len(views) == 1 and views[0].username and views[0].address
    detail = json.loads(views[0].detail or "{}")
    assert detail["rows"] > 0 and detail["filter"] == {"community_id": None, "status": None, "search": None}
    at.get("download_button")[0].click().run()  # the CSV
    assert not at.exception
    [export] = _audit(app_db, "export.workers")
    assert json.loads(export.detail or "{}")["file"] == "workers.csv"
    with Session(get_engine(app_db)) as s:
        phones = [p for p in s.exec(select(Worker.phone)).all() if p]
        rows = s.exec(select(AuditEntry)).all()
    blob = " ".join(f"{r.before} {r.after} {r.detail} {r.entity_id}" for r in rows)
    assert phones and not any(p in blob for p in phones)


# Downloads that hold nobody else's personal data: blank import templates, a worker's own data (audited by
# core.rights as rights.my_data), a course's material files.
UNAUDITED_DOWNLOADS = {
    "pages/field_import.py": 2,
    "pages/workers.py": 2,
    "pages/attendance.py": 1,
    "pages/my_data.py": 1,
    "pages/my_learning.py": 1,
}


def test_every_download_of_others_data_goes_through_the_audited_button():
    """Test that pages and ui code offer downloads only through ui.audit_reads.download_button (which
    records viewer, filter, rows and file), except the listed downloads of templates and one's own data."""
    from core.settings import ROOT

    found = {}
    for path in [*ROOT.glob("pages/*.py"), *ROOT.glob("ui/**/*.py")]:
        rel = path.relative_to(ROOT).as_posix()
        if rel == "ui/audit_reads.py":
            continue
        n = path.read_text(encoding="utf-8").count(".download_button(")
        if n:
            found[rel] = n
    assert found == UNAUDITED_DOWNLOADS


def test_downloads_on_other_pages_are_audited_with_masked_values(open_page, viewer_of, app_db):
    """Test that a manager's views and CSV downloads of data quality and rentals each leave a view row and an
    export row naming the file and the row count, with no phone number in any audit row."""
    for page, what, file_name in (
        ("pages/rentals.py", "export.rentals", "rentals.csv"),
        ("pages/data_quality.py", "export.data_quality", "data_quality_"),
    ):
        at = open_page(page, viewer_of("manager"))
        assert not at.exception
        next(b for b in at.get("download_button") if b.proto.label == "下载 CSV").click().run()
        assert not at.exception
        assert len(_audit(app_db, what.replace("export.", "view."))) == 1  # the list's view, once
        [export] = _audit(app_db, what)
        detail = json.loads(export.detail or "{}")
        assert detail["file"].startswith(file_name) and detail["rows"] > 0 and export.address
    with Session(get_engine(app_db)) as s:
        phones = [p for p in s.exec(select(Worker.phone)).all() if p]
        rows = s.exec(select(AuditEntry)).all()
    blob = " ".join(f"{r.before} {r.after} {r.detail} {r.entity_id}" for r in rows)
    assert phones and not any(p in blob for p in phones)
