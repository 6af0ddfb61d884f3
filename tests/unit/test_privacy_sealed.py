"""Contact data at rest (core.sealed): sealed in the database, a keyed hash for look-ups, masked in audit
entries, shown in full only on an audited request, re-sealed under a new key all or nothing."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlmodel import Session, select

from core.audit import record
from core.db import make_engine
from core.migrate import import_all_models, upgrade
from core.models import Role, Worker, WorkerCreate
from core.models_audit import AuditEntry
from core.notify.models import NotifyPreference
from core.org import reveal_phone, save_worker, worker_by_phone
from core.privacy import mask_contact, mask_email, masked
from core.privacy_keys import rotate_key
from core.scope import ScopeError
from core.sealed import DataKeyError, data_key, lookup_hash, seal, unseal
from tests.factories import make_org, make_user, viewer

PHONE = "13987654321"


def test_a_sealed_value_opens_with_its_key_only() -> None:
    stored = seal(PHONE)
    assert stored and stored.startswith("s1:") and PHONE not in stored
    assert unseal(stored) == PHONE
    assert seal(PHONE) != stored  # a fresh nonce each time: equal phones do not look equal
    with pytest.raises(DataKeyError):
        unseal(stored, Fernet.generate_key().decode())
    assert lookup_hash("139-8765 4321") == lookup_hash(PHONE) != lookup_hash("13987654320")


def test_the_phone_is_sealed_in_the_table_and_found_by_its_hash(session: Session) -> None:
    org = make_org(session)
    mgr = viewer(Role.MANAGER, org.comm_a)
    save_worker(
        session, mgr, WorkerCreate(employee_no="A77", name="王芳", grid_id=org.grids_a[0].id, phone=PHONE)
    )
    session.commit()
    raw_phone, raw_hash = (
        session.connection()
        .execute(text("SELECT phone, phone_hash FROM worker WHERE employee_no = 'A77'"))
        .one()
    )
    assert PHONE not in raw_phone and raw_phone.startswith("s1:")
    assert raw_hash == lookup_hash(PHONE)
    found = worker_by_phone(session, mgr, "139 8765 4321")
    assert found is not None and found.employee_no == "A77" and found.phone == PHONE
    assert worker_by_phone(session, viewer(Role.MANAGER, org.comm_b), PHONE) is None  # out of scope


def test_audit_entries_hold_masked_contact_data_only(session: Session) -> None:
    org = make_org(session)
    mgr = viewer(Role.MANAGER, org.comm_a)
    data = WorkerCreate(employee_no="A78", name="李强", grid_id=org.grids_a[0].id, phone=PHONE)
    save_worker(session, mgr, data)
    save_worker(session, mgr, data.model_copy(update={"phone": "13700001111"}))
    record(session, "notify.test", viewer=mgr, detail={"to": "zhang.wei@example.org", "mentions": [PHONE]})
    session.commit()
    rows = session.exec(select(AuditEntry)).all()
    blob = json.dumps([(r.before, r.after, r.detail) for r in rows], ensure_ascii=False)
    assert PHONE not in blob and "13700001111" not in blob and "zhang.wei" not in blob
    assert "139****4321" in blob and "137****1111" in blob and "z***@example.org" in blob


def test_showing_a_phone_in_full_is_audited_and_refused_outside_scope(session: Session) -> None:
    org = make_org(session)
    worker = org.workers_a[0]
    mgr = viewer(Role.MANAGER, org.comm_a)
    assert reveal_phone(session, mgr, worker.id) == "13812345678"
    session.commit()
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "privacy.reveal")).one()
    assert entry.entity_id == worker.employee_no and "13812345678" not in (entry.detail or "")
    with pytest.raises(ScopeError):
        reveal_phone(session, viewer(Role.MANAGER, org.comm_b), worker.id)
    with pytest.raises(ScopeError):
        reveal_phone(session, viewer(Role.WORKER, org.comm_a, worker=worker), worker.id)


def test_masks() -> None:
    assert mask_contact("13812345678") == "138****5678"
    assert mask_email("zhang.wei@example.org") == "z***@example.org"
    assert mask_contact("group") == "group"
    assert masked({"phone": "13812345678", "name": "张三", "x": {"email": "a@b.cn"}}) == {
        "phone": "138****5678",
        "name": "张三",
        "x": {"email": "a***@b.cn"},
    }


def test_rotating_the_key_reseals_everything_or_nothing(session: Session) -> None:
    org = make_org(session)
    user = make_user(session, "pref_user", "x")
    session.add(NotifyPreference(user_id=user.id, email="li@example.org", mobile="13600000000"))
    session.commit()
    old, new = data_key(), Fernet.generate_key().decode()
    counts = rotate_key(session, old_key=old, new_key=new)
    session.commit()
    assert counts["worker"] == len(org.workers_a) + len(org.workers_b) and counts["notify_preference"] == 1
    phone, phone_hash = (
        session.connection().execute(text("SELECT phone, phone_hash FROM worker LIMIT 1")).one()
    )
    email = session.connection().execute(text("SELECT email FROM notify_preference")).scalar_one()
    assert unseal(phone, new) == "13812345678" and phone_hash == lookup_hash("13812345678", new)
    assert unseal(email, new) == "li@example.org"
    with pytest.raises(DataKeyError):
        unseal(phone, old)
    # A value the old key cannot open stops the rotation: the caller's transaction writes nothing.
    session.connection().execute(
        text("UPDATE worker SET phone = :p WHERE id = :i"), {"p": seal("1", old), "i": org.workers_b[0].id}
    )
    session.commit()
    before = session.connection().execute(text("SELECT id, phone FROM worker ORDER BY id")).all()
    with pytest.raises(DataKeyError):
        rotate_key(session, old_key=new, new_key=Fernet.generate_key().decode())
    session.rollback()
    assert session.connection().execute(text("SELECT id, phone FROM worker ORDER BY id")).all() == before


def test_the_database_file_holds_no_phone_in_clear(tmp_path) -> None:
    """Done-when (#19): searching the SQLite database file for a known worker's phone finds nothing."""
    url = f"sqlite:///{tmp_path / 'clear.db'}"
    engine = make_engine(url)
    import_all_models().create_all(engine)
    with Session(engine) as session:
        org = make_org(session)
        save_worker(
            session,
            viewer(Role.MANAGER, org.comm_a),
            WorkerCreate(employee_no="A79", name="赵敏", grid_id=org.grids_a[0].id, phone=PHONE),
        )
        session.add(NotifyPreference(user_id=make_user(session, "u", "x").id, email="zhao.min@example.org"))
        session.commit()
    engine.dispose()
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("clear.db"))
    assert b"A79" in data  # the row is there …
    assert PHONE.encode() not in data and b"13812345678" not in data  # … its phone is not
    assert b"zhao.min" not in data


def test_the_migration_seals_phones_stored_in_clear(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0012_duties")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO org_unit (id, code, name_zh, name_en, level, path, is_active) VALUES (1, 'G', 'g', 'g', 'grid', '/1/', 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO worker (id, employee_no, name, grid_id, community_id, subdistrict_id, party_member,"
                " status, phone, created_at, updated_at) VALUES (1, 'W1', 'n', 1, 1, 1, 0, 'active', :p,"
                " '2026-01-01', '2026-01-01')"
            ),
            {"p": PHONE},
        )
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        phone, phone_hash = conn.execute(text("SELECT phone, phone_hash FROM worker")).one()
    with Session(engine) as session:
        assert session.exec(select(Worker.phone)).one() == PHONE
    engine.dispose()
    assert phone.startswith("s1:") and PHONE not in phone and phone_hash == lookup_hash(PHONE)
