"""The person's rights: 我的数据 export, correction requests through the inbox, erasure of departed workers
(database-wide), the retention job, and the privacy notice's versioned acceptance."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import JSON, Text, cast, func, or_, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from core.db import make_engine
from core.migrate import FOREIGN_TABLES, import_all_models
from core.models import OrgLevel, Role, User, Worker
from core.models_audit import AuditEntry
from core.models_inbox import Notification
from core.models_rights import PrivacyAcceptance, WorkerDeparture
from core.rights import (
    SYSTEM,
    RightsError,
    accept_notice,
    answer_correction,
    corrections,
    erase_worker,
    is_text,
    my_data,
    my_data_counts,
    my_data_rows,
    needs_notice,
    notice,
    record_my_data_download,
    request_correction,
    retention_sweep,
)
from core.scope import ScopeError, Viewer
from core.settings import get_settings
from tests.factories import make_org, make_user, viewer

NOW = datetime(2026, 12, 6, 9, 0)


def _world(session: Session):
    org = make_org(session)
    me = org.workers_a[0]
    worker_user = make_user(session, "w_a0", "x", role=Role.WORKER, worker_id=me.id)
    mgr_a = make_user(session, "mgr_a", "x", role=Role.MANAGER, scope_unit_id=org.comm_a.id)
    mgr_b = make_user(session, "mgr_b", "x", role=Role.MANAGER, scope_unit_id=org.comm_b.id)
    session.flush()
    me_v = viewer(Role.WORKER, worker=me, user_id=worker_user.id)
    return org, me, me_v, viewer(Role.MANAGER, org.comm_a, user_id=mgr_a.id), mgr_b


def test_my_data_holds_my_rows_only_and_no_credentials(session: Session) -> None:
    """Test that 我的数据 has my record, my account without its password hash, my notices and requests, and no
    other worker's rows; the download leaves an audit row with counts, not data."""
    org, me, me_v, _, _ = _world(session)
    request_correction(session, me_v, field="phone", message="号码已更换为 139…", now=NOW)
    data = my_data(session, me_v)
    assert [r["id"] for r in data["tables"]["worker"]] == [me.id]
    assert "password_hash" not in data["tables"]["app_user"][0]
    assert data["tables"]["correction_request"][0]["field"] == "phone"
    assert all(r["worker_id"] == me.id for r in data["tables"]["correction_request"])
    assert data["tables"]["worker"][0]["name"] == me.name
    counts = my_data_counts(session, me_v)
    assert counts == {name: len(rows) for name, rows in data["tables"].items()}
    assert my_data_rows(session, me_v, "correction_request") == data["tables"]["correction_request"]
    record_my_data_download(session, me_v, counts)
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "rights.export")).one()
    assert me.name not in (entry.detail or "") and '"correction_request": 1' in (entry.detail or "")
    with pytest.raises(RightsError):
        my_data(session, viewer(Role.MANAGER, org.comm_a))
    with pytest.raises(RightsError):
        my_data_counts(session, viewer(Role.MANAGER, org.comm_a))


def test_correction_reaches_the_manager_and_the_answer_reaches_the_worker(session: Session) -> None:
    """Test that a request lands in the inbox of the worker's community manager (not another community's), the
    manager answers in scope, the worker is told, and a second answer or an out-of-scope answer is refused."""
    org, me, me_v, mgr_a_v, mgr_b = _world(session)
    req = request_correction(session, me_v, field="name", message="姓名写错了，应为张三丰", now=NOW)
    inboxes = session.exec(
        select(Notification.user_id).where(Notification.kind == "privacy_correction")
    ).all()
    assert mgr_a_v.user_id in inboxes and mgr_b.id not in inboxes
    mgr_b_v = viewer(Role.MANAGER, org.comm_b, user_id=mgr_b.id)
    assert corrections(session, mgr_b_v).empty
    with pytest.raises(RightsError):
        answer_correction(session, mgr_b_v, req.id, accept=True, note="")
    with pytest.raises(RightsError) as no_note:
        answer_correction(session, mgr_a_v, req.id, accept=False, note="")
    assert no_note.value.key == "note_needed"
    with pytest.raises(ScopeError):
        answer_correction(session, me_v, req.id, accept=True, note="")
    answer_correction(session, mgr_a_v, req.id, accept=True, note="已在档案中改正", now=NOW)
    mine = corrections(session, me_v)
    assert mine.loc[0, "status"] == "accepted" and mine.loc[0, "answer_note"] == "已在档案中改正"
    told = session.exec(select(Notification).where(Notification.kind == "privacy_correction_answer")).one()
    assert told.link == "pages/my_data.py"
    with pytest.raises(RightsError) as twice:
        answer_correction(session, mgr_a_v, req.id, accept=False, note="再答一次")
    assert twice.value.key == "already_answered"
    with pytest.raises(RightsError):
        request_correction(session, me_v, field="name", message="x")


def _text_columns() -> list:
    out = []
    for table in import_all_models().sorted_tables:
        if (
            table.name in FOREIGN_TABLES or table.name == "audit_log"
        ):  # kept by law, append-only: see erase_worker
            continue
        for column in table.columns:
            if is_text(column.type) or isinstance(column.type, JSON):
                out.append((table, column))
    return out


def database_hits(session: Session, needles: list[str]) -> list[str]:
    """Every table.column whose text (JSON as text) contains one of ``needles``: the database-wide search (the audit
    trail aside: it is append-only and kept for its legal retention, PIPL art. 47 para. 2)."""
    hits = []
    for table, column in _text_columns():
        as_text = cast(column, Text) if isinstance(column.type, JSON) else column
        conds = [func.replace(as_text, n, "") != as_text for n in needles]
        n = session.execute(sa_select(func.count()).select_from(table).where(or_(*conds))).scalar_one()
        if n:
            hits.append(f"{table.name}.{column.name}: {n}")
    return hits


def test_erase_departed_worker_small_world(session: Session) -> None:
    """Test erasure on both databases: only administrators, only workers who left, once; the worker row and id
    stay, the name, employee number and phone are gone from every text column of every table (free text and
    audit before/after included), the account is closed."""
    org, me, me_v, mgr_a_v, _ = _world(session)
    me.phone = "13900001111"  # the factory gives every worker the same number
    session.add(me)
    session.flush()
    name, phone, no = me.name, me.phone, me.employee_no
    request_correction(session, me_v, field="other", message=f"我是{name}，电话 {phone}", now=NOW)
    session.add(
        AuditEntry(action="worker.save", username="x", after=f'{{"name": "{name}", "phone": "{phone}"}}')
    )
    session.flush()
    admin = viewer(Role.SYSADMIN, user_id=0)
    with pytest.raises(RightsError) as active:
        erase_worker(session, admin, me.id)
    assert active.value.key == "not_left"
    me.status = "left"
    session.add(me)
    session.flush()
    with pytest.raises(ScopeError):
        erase_worker(session, mgr_a_v, me.id)
    assert database_hits(session, [name, phone, no])
    erase_worker(session, admin, me.id, now=NOW)
    assert database_hits(session, [name, phone, no]) == []
    session.expire_all()
    erased = session.get(Worker, me.id)
    assert erased is not None and erased.name == f"已删除人员 #{me.id}" and erased.phone is None
    account = session.exec(select(User).where(User.worker_id == me.id)).one()
    assert not account.is_active and account.username.startswith("erased-")
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "rights.erase")).one().entity_id == str(
        me.id
    )
    with pytest.raises(RightsError) as again:
        erase_worker(session, admin, me.id)
    assert again.value.key == "already_erased"
    # other workers untouched
    assert session.get(Worker, org.workers_a[1].id).name == org.workers_a[1].name


def test_retention_job_starts_the_clock_and_erases_after_the_setting(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test that the retention sweep notes a departure the day it sees it, erases only after
    erase_after_days, forgets a worker who came back, and never erases with the setting at 0."""
    org, me, _, _, _ = _world(session)
    other = org.workers_b[0]
    for w in (me, other):
        w.status = "left"
        session.add(w)
    session.flush()
    monkeypatch.setenv("GRIDWISE_ERASE_AFTER_DAYS", "30")
    get_settings.cache_clear()
    try:
        assert retention_sweep(session, now=NOW) == {"started": 2, "stopped": 0, "erased": 0}
        other.status = "active"
        session.add(other)
        session.flush()
        assert retention_sweep(session, now=NOW + timedelta(days=29)) == {
            "started": 0,
            "stopped": 1,
            "erased": 0,
        }
        assert retention_sweep(session, now=NOW + timedelta(days=30)) == {
            "started": 0,
            "stopped": 0,
            "erased": 1,
        }
        session.expire_all()
        assert session.get(Worker, me.id).name.startswith("已删除人员")
        assert session.get(WorkerDeparture, me.id).erased_reason == "retention"
        monkeypatch.setenv("GRIDWISE_ERASE_AFTER_DAYS", "0")
        get_settings.cache_clear()
        other.status = "left"
        session.add(other)
        session.flush()
        retention_sweep(session, now=NOW)
        assert retention_sweep(session, now=NOW + timedelta(days=9999))["erased"] == 0
    finally:
        get_settings.cache_clear()


def test_privacy_notice_is_asked_once_per_version(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Test that a new account must accept the notice, accepting twice records one row, and a new version of
    the notice asks again."""
    _, _, me_v, _, _ = _world(session)
    assert needs_notice(session, me_v)
    version = notice()["version"]
    assert accept_notice(session, me_v, version=version) is True
    assert accept_notice(session, me_v, version=version) is False
    assert not needs_notice(session, me_v)
    assert len(session.exec(select(PrivacyAcceptance)).all()) == 1
    with pytest.raises(RightsError):
        accept_notice(session, me_v, version="1999-01-01")
    monkeypatch.setattr("core.rights.notice", lambda: {**notice(), "version": "2099-01-01"})
    assert needs_notice(session, me_v)
    assert not needs_notice(session, SYSTEM)


def test_erasing_in_the_demo_keeps_frozen_scorecards(demo_db_url: str) -> None:
    """Test, on the demo district, that erasing a departed worker who has frozen monthly scorecards leaves every
    frozen scorecard (totals, grades, ranks, components) unchanged, and that a database-wide search then finds
    neither their name nor their phone."""
    from evaluation.scoring.snapshots import freeze_period, snapshot_frames, snapshots_frame

    district = Viewer(user_id=0, role=Role.MANAGER, scope_level=OrgLevel.DISTRICT, scope_unit_id=None)
    engine = make_engine(demo_db_url)
    try:
        with Session(engine) as s:
            for period in ("2020-07", "2020-08"):
                freeze_period(s, period, viewer=district)
            s.commit()
            snaps = snapshots_frame(s)
            assert len(snaps) == 2
            target = s.execute(
                text("SELECT worker_id FROM scorecard_entry ORDER BY worker_id LIMIT 1")
            ).scalar()
            worker = s.get(Worker, target)
            name, phone = worker.name, worker.phone
            assert phone
            before = {int(i): snapshot_frames(s, district, int(i)) for i in snaps["id"]}
            worker.status = "left"
            s.add(worker)
            s.commit()
            assert database_hits(s, [name, phone])
            erase_worker(s, viewer(Role.SYSADMIN, user_id=0), target)
            s.commit()
            assert database_hits(s, [name, phone]) == []
            after = {int(i): snapshot_frames(s, district, int(i)) for i in snaps["id"]}
        for sid, (cards, comps) in before.items():
            pd.testing.assert_frame_equal(after[sid][0], cards)
            pd.testing.assert_frame_equal(after[sid][1], comps)
    finally:
        engine.dispose()


def test_the_model_registry_is_walked_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test that asking for every table again (我的数据 asks once per column it shows: 528 times a view, each a
    walk of three packages) does not walk the packages again, and returns the same metadata."""
    import_all_models()
    walks = []
    monkeypatch.setattr("core.migrate.pkgutil.walk_packages", lambda *a, **k: walks.append(a) or iter(()))
    assert import_all_models() is import_all_models() and not walks
    assert {"worker", "app_user", "audit_log"} <= set(import_all_models().tables)
