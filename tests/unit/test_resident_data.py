"""Residents' data in field records (#19 item 5): person references, addresses and free text stay minimal,
are declared personal in the data inventory, and are shown masked on screens, exports, API reads and audit
entries the way workers' contact data is."""

from __future__ import annotations

import math
from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlmodel import select

from api.schemas import EventOut
from core.audit import record
from core.migrate import upgrade
from core.models import Role
from core.models_audit import AuditEntry
from core.privacy import DataClass, inventory, mask_reference, mask_text
from core.scope import SYSTEM
from evaluation.field.models import Deregistration, VerificationTask
from evaluation.field.quality import raise_verification_tasks
from evaluation.field.registry import ensure_reference_data
from tests.factories import make_org, viewer

PHONE, LANDLINE, ID_NO, OLD_ID = "13812345678", "0755-26881234", "11010119900307123X", "110101900307123"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (f"张三 {PHONE} 家门口漏水", "张三 138****5678 家门口漏水"),
        ("请回电 138 1234 5678", "请回电 138****5678"),
        ("+86 13812345678 报", "138****5678 报"),
        (f"座机 {LANDLINE}", "座机 0755****1234"),
        (f"身份证{ID_NO}已注销", "身份证110101********123X已注销"),
        (f"旧证 {OLD_ID}", "旧证 110101********7123"),
    ],
)
def test_residents_numbers_in_free_text_are_masked(text, shown):
    """Test that a mobile, a landline and an 18- or 15-digit ID number written into a note are masked."""
    assert mask_text(text) == shown
    assert mask_text(shown) == shown  # masking twice changes nothing


@pytest.mark.parametrize(
    "text",
    ["E20200930000123 重复上报", "2020-09-30 10:00 已处置", "H00000123 号房", "大鹏新区南澳村海滨路12号", ""],
)
def test_other_numbers_in_free_text_stay(text):
    """Test that event numbers, dates, house codes and door numbers are not taken for phone or ID numbers."""
    assert mask_text(text) == text


def test_missing_text_and_references_show_empty():
    """Test that None and a missing cell (NaN) show as empty text, not "nan"."""
    assert mask_text(None) == mask_text(math.nan) == mask_reference(None) == mask_reference(math.nan) == ""


def test_a_residents_record_reference_is_masked():
    """Test that a person reference keeps its two first and last characters, and an ID number used as a
    reference is masked as an ID number."""
    assert mask_reference("P0000123") == "P0****23"
    assert mask_reference(ID_NO) == "110101********123X"
    assert mask_reference("P12") == "***"


def test_residents_data_in_field_records_is_declared_personal():
    """Test that the inventory classes every column that can hold a resident's data (a person reference, an
    address, free text) as personal or sensitive, not business."""
    classes = {(r.table, r.column): r.data_class for r in inventory()}
    residents = [
        ("field_event", "location"),
        ("field_event", "note"),
        ("field_event", "report_text"),
        ("field_event", "result"),
        ("field_event_transition", "note"),
        ("field_rental_building", "address"),
        ("field_house_record", "standard_address"),
        ("field_deregistration", "person_ref"),
        ("field_verification_task", "ref_key"),
        ("field_verification_task", "title_zh"),
        ("field_verification_task", "title_en"),
        ("field_verification_task", "note"),
    ]
    wrong = [c for c in residents if classes[c] not in (DataClass.PERSONAL, DataClass.SENSITIVE)]
    assert not wrong
    assert classes[("field_deregistration", "reason")] == DataClass.SENSITIVE  # "died"


def test_an_audit_entry_masks_residents_numbers_in_its_free_text(session):
    """Test that a note or a result with a resident's phone or ID number is masked in an audit entry's
    before, after and detail."""
    record(
        session,
        "field.event.feedback",
        viewer=viewer(Role.MANAGER),
        before={"result": f"居民 {ID_NO}"},
        after={"note": f"请回电 {PHONE}", "location": f"甲路1号 {LANDLINE}"},
        detail={"reason": f"电话 {PHONE}"},
    )
    session.flush()
    entry = session.exec(select(AuditEntry)).one()
    blob = f"{entry.before} {entry.after} {entry.detail}"
    assert "138****5678" in blob and "0755****1234" in blob and "110101********123X" in blob
    assert not any(n in blob for n in (PHONE, "26881234", ID_NO))


def test_the_api_masks_residents_numbers_in_an_events_location_and_result():
    """Test that an event read through the API carries a hand-typed phone number masked."""
    stamp = datetime(2020, 9, 30, 12, 0)
    out = EventOut.model_validate(
        {
            "id": 1,
            "event_no": "E1",
            "item_code": "F02",
            "category_code": "fire",
            "grid_id": 1,
            "community_id": 1,
            "location": f"甲路1号 联系 {PHONE}",
            "lat": None,
            "lon": None,
            "priority": "urgent",
            "state": "closed",
            "reporter_id": None,
            "assignee_id": None,
            "reported_at": None,
            "accepted_at": None,
            "dispatched_at": None,
            "signed_at": None,
            "feedback_at": None,
            "closed_at": None,
            "sign_due_at": None,
            "due_at": None,
            "result": f"已联系业主 {PHONE}",
            "satisfaction": None,
            "rework_count": 0,
            "reopen_count": 0,
            "escalation": 0,
            "updated_at": stamp,
        }
    ).model_dump(mode="json")
    assert out["location"] == "甲路1号 联系 138****5678" and out["result"] == "已联系业主 138****5678"


def test_a_verification_task_names_the_residents_record_masked(session):
    """Test that the task raised for a reversed deregistration keeps the full reference as its key only: its
    titles (shown to the worker and the manager) name it masked."""
    org = make_org(session)
    ensure_reference_data(session)
    grid = org.grids_b[0]
    session.add(
        Deregistration(
            person_ref="P0000123",
            community_id=grid.parent_id,
            grid_id=grid.id,
            reason="moved_out",
            deregistered_at=datetime(2020, 5, 1),
            reversed_at=datetime(2020, 5, 9),
        )
    )
    session.flush()
    assert raise_verification_tasks(session, SYSTEM, now=datetime(2020, 9, 30))["reversed_dereg"] == 1
    task = session.exec(select(VerificationTask).where(VerificationTask.kind == "reversed_dereg")).one()
    assert task.ref_key == "P0000123"
    assert "P0****23" in task.title_zh and "P0****23" in task.title_en
    assert "P0000123" not in task.title_zh + task.title_en


def test_the_migration_masks_the_references_in_tasks_made_before_masking(tmp_path):
    """Test that upgrading a database whose reversed-deregistration tasks name the resident's full reference
    (as tasks made before masking did) leaves titles with the masked reference only, the very titles a new
    task gets, the key untouched, and other kinds of task as they were."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0021_warning_flareups")
    eng = sa.create_engine(url)
    with eng.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO org_unit (id, code, name_zh, name_en, level, path, is_active) "
            "VALUES (1, 'C1', '甲社区', 'Community A', 'community', '/1/', 1)"
        )
        for id_, kind, key, zh, en in (
            (1, "reversed_dereg", "P0000123", "核查异常注销:P0000123 注销后又恢复", "Check: P0000123"),
            (2, "duplicate_event", "E-1", "核查重复上报:E-1", "Check duplicate: E-1"),
        ):
            conn.exec_driver_sql(
                "INSERT INTO field_verification_task (id, kind, ref_key, community_id, title_zh, title_en, "
                "state, created_at) VALUES (?, ?, ?, 1, ?, ?, 'open', '2020-06-01 00:00:00')",
                (id_, kind, key, zh, en),
            )
    upgrade(url)
    with eng.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT kind, ref_key, title_zh, title_en FROM field_verification_task ORDER BY id"
        ).all()
    eng.dispose()
    assert rows[0] == (
        "reversed_dereg",
        "P0000123",
        "核查异常注销:P0****23 注销后又恢复",
        "Check abnormal deregistration: P0****23 was reversed",
    )
    assert rows[1] == ("duplicate_event", "E-1", "核查重复上报:E-1", "Check duplicate: E-1")
