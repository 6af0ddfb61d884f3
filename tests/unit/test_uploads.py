"""Upload policy: each kind accepted by its content, each disguise refused with the file named in both
languages, the size limit, and the domain imports refusing a disguised file without writing."""

from __future__ import annotations

import io
import tomllib
import zipfile
from datetime import datetime

import openpyxl
import pytest

from core.models import Role
from core.settings import ROOT, Settings, get_settings
from core.uploads import (
    ATTACHMENT_KINDS,
    MB,
    TABLE_KINDS,
    UploadError,
    check_upload,
    max_upload_bytes,
)
from core.worker_import import commit_worker_import, preview_worker_import
from tests.factories import make_org, viewer

CSV = "工号,姓名,网格编码\nN01,欧阳晓明,D1A0\n"


def _zip(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in parts.items():
            z.writestr(name, body)
    return buf.getvalue()


def _xlsx() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["工号", "姓名"])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


DOCX = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
PPTX = _zip({"[Content_Types].xml": b"<Types/>", "ppt/presentation.xml": b"<p:presentation/>"})
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(range(256)) * 4
GOOD = {  # filename → content, each accepted
    "roster.csv": CSV.encode("utf-8-sig"),
    "花名册.csv": CSV.encode("gb18030"),
    "unicode.txt": CSV.encode("utf-16"),
    "roster.xlsx": _xlsx(),
    "notes.md": "# 标题\n正文".encode(),
    "guide.pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
    "map.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(20),
    "photo.JPG": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(20),
    "anim.gif": b"GIF89a\x01\x00\x01\x00" + bytes(10),
    "handbook.docx": DOCX,
    "slides.pptx": PPTX,
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_each_kind_is_accepted_by_its_content(name):
    """Test that every allowed kind passes, as attachment and (csv/txt/xlsx) as an import table."""
    ext = name.rsplit(".", 1)[1].lower()
    expected = {"jpg": "jpeg"}.get(ext, ext)
    assert check_upload(GOOD[name], name, kinds=ATTACHMENT_KINDS | {"csv"}, max_bytes=MB) == expected
    if expected in TABLE_KINDS:
        assert check_upload(GOOD[name], name, kinds=TABLE_KINDS) == expected


def _bomb() -> bytes:
    return _zip({"[Content_Types].xml": b"<Types/>", "xl/worksheets/sheet1.xml": bytes(60 * MB)})


DISGUISES = [  # (filename, content, kinds, error key, what the content is said to be)
    ("roster.xlsx", EXE, TABLE_KINDS, "mismatch", "program"),
    ("roster.xlsx", _zip({"readme.txt": b"hi"}), TABLE_KINDS, "mismatch", "zip"),
    ("roster.xlsx", DOCX, TABLE_KINDS, "mismatch", "docx"),
    ("roster.xlsx", CSV.encode(), TABLE_KINDS, "mismatch", "text"),
    ("roster.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), TABLE_KINDS, "mismatch", "ole"),
    ("roster.xlsx", _bomb(), TABLE_KINDS, "zip_bomb", None),
    ("roster.xlsx", b"PK\x03\x04" + bytes(range(200)), TABLE_KINDS, "damaged", None),
    ("roster.csv", EXE, TABLE_KINDS, "mismatch", "program"),
    ("roster.csv", b"a,b\n1,\x002\n", TABLE_KINDS, "mismatch", "binary"),
    ("roster.csv", "a,b\n1,\x002\n".encode("utf-16"), TABLE_KINDS, "mismatch", "binary"),
    ("roster.csv", bytes([0x81, 0x20, 0xFF, 0xFE, 0x80]) * 50, TABLE_KINDS, "mismatch", "binary"),
    ("roster.csv", _xlsx(), TABLE_KINDS, "mismatch", "xlsx"),
    ("roster.csv", b"%PDF-1.4\n", TABLE_KINDS, "mismatch", "pdf"),
    ("guide.pdf", b"<html><script>alert(1)</script></html>", ATTACHMENT_KINDS, "mismatch", "text"),
    ("map.png", b"\xff\xd8\xff\xe0" + bytes(20), ATTACHMENT_KINDS, "mismatch", "jpeg"),
    ("slides.pptx", DOCX, ATTACHMENT_KINDS, "mismatch", "docx"),
    ("setup.exe", EXE, ATTACHMENT_KINDS, "bad_type", None),
    ("roster", CSV.encode(), TABLE_KINDS, "bad_type", None),
    ("guide.pdf", GOOD["guide.pdf"], TABLE_KINDS, "bad_type", None),
    ("empty.csv", b"", TABLE_KINDS, "empty", None),
]


@pytest.mark.parametrize(
    ("name", "data", "kinds", "key", "actual"), DISGUISES, ids=[f"{d[0]}-{d[3]}-{d[4]}" for d in DISGUISES]
)
def test_each_disguise_is_refused_naming_the_file(name, data, kinds, key, actual):
    """Test that a file whose content is not what its name says (or not allowed here) is refused, with the
    file named in a Chinese and an English message that say different things."""
    with pytest.raises(UploadError) as caught:
        check_upload(data, name, kinds=kinds, max_bytes=100 * MB)
    exc = caught.value
    assert exc.key == key and exc.params.get("actual") == actual
    zh, en = exc.message("zh"), exc.message("en")
    assert name in zh and name in en and zh != en and str(exc) == en
    assert "core.upload" not in zh + en  # every key and kind has its text
    assert isinstance(exc, ValueError)  # the documented expected failure type


def test_size_limit_and_its_setting(monkeypatch):
    """Test the limit (exactly at it passes, one byte over is refused with both sizes) and that
    GRIDWISE_MAX_UPLOAD_MB sets it, its default matching Streamlit's server.maxUploadSize."""
    data = b"a,b\n" + b"1,2\n" * (MB // 4)
    assert check_upload(data, "big.csv", kinds=TABLE_KINDS, max_bytes=len(data)) == "csv"
    with pytest.raises(UploadError) as caught:
        check_upload(data + b"3", "big.csv", kinds=TABLE_KINDS, max_bytes=len(data))
    assert caught.value.key == "too_large"
    assert "big.csv" in caught.value.message("zh") and "1.0 MB" in caught.value.message("en")
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] == Settings.model_fields["max_upload_mb"].default
    monkeypatch.setenv("GRIDWISE_MAX_UPLOAD_MB", "3")
    get_settings.cache_clear()
    try:
        assert max_upload_bytes() == 3 * MB
    finally:
        get_settings.cache_clear()


def test_path_in_the_name_is_not_echoed():
    """Test that the message shows the file's own name, not a path the browser or a user sent."""
    with pytest.raises(UploadError) as caught:
        check_upload(EXE, "../../etc/roster.xlsx", kinds=TABLE_KINDS)
    assert "roster.xlsx" in caught.value.message("en") and "etc" not in caught.value.message("en")


# ------------------------------------------------------------------------ the domain imports (CLI path)


def test_field_import_refuses_a_disguised_workbook_without_writing(session):
    """Test that run_import (what `gridwise import` and the page call) reports a program named .xlsx as one
    file-level problem and writes nothing."""
    from evaluation.field.models import MetricValue
    from evaluation.field.registry import ensure_reference_data
    from tests.unit._field_import import import_and_commit

    make_org(session)
    ensure_reference_data(session)
    session.commit()
    report = import_and_commit(
        session, viewer(Role.MANAGER), "metrics", EXE, "figures.xlsx", now=datetime(2020, 10, 1)
    )
    assert not report.ok and not report.written and report.error_count == 1
    (error,) = report.errors
    assert error.code == "upload_mismatch" and error.row is None and "figures.xlsx" in error.message("en")
    assert session.query(MetricValue).count() == 0


def test_roster_import_refuses_a_binary_csv(session):
    """Test that the roster preview refuses a binary .csv with the policy's message, and cannot be committed."""
    make_org(session)
    admin = viewer(Role.SYSADMIN)
    preview = preview_worker_import(session, admin, EXE, "花名册.csv")
    assert not preview.ok and [e.code for e in preview.errors] == ["upload_mismatch"]
    assert "花名册.csv" in preview.errors[0].message("zh")
    with pytest.raises(ValueError):
        commit_worker_import(session, admin, preview)


def test_attendance_import_and_course_attachment_refuse_disguises(session):
    """Test the meeting-attendance preview and a course attachment with disguised content."""
    from courses.attendance_import import preview_platform_import
    from courses.catalog import attach_file
    from courses.models import CourseFile
    from courses.training_sessions import SessionPlan, schedule
    from tests.unit._courses_world import make_world

    w = make_world(session)
    course = w.courses["residence_registration"]
    (ts,) = schedule(
        session,
        w.manager,
        SessionPlan(
            course_id=course.id,
            first_day=datetime(2020, 3, 3).date(),
            start=datetime(2020, 3, 3, 14).time(),
            end=datetime(2020, 3, 3, 16).time(),
        ),
        now=datetime(2020, 3, 1),
    )
    preview = preview_platform_import(
        session, w.manager, session_id=ts.id, data=_bomb(), filename="会议.xlsx"
    )
    assert [e.code for e in preview.errors] == ["upload_zip_bomb"] and preview.matched.empty
    with pytest.raises(UploadError) as caught:
        attach_file(session, w.manager, course_id=course.id, filename="讲义.pdf", data=EXE)
    assert caught.value.key == "mismatch" and "讲义.pdf" in caught.value.message("zh")
    assert session.query(CourseFile).count() == 0
    attach_file(session, w.manager, course_id=course.id, filename="讲义.pdf", data=GOOD["guide.pdf"])
    assert session.query(CourseFile).count() == 1
