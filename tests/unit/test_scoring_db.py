"""Scheme versions, scope, snapshots, bulletin and CLI against a real database (SQLite, PostgreSQL)."""

from __future__ import annotations

import io
import json
from datetime import datetime

import openpyxl
import pytest
from sqlmodel import select

from core.models import Role
from core.scope import ScopeError
from evaluation.field.models import MetricValue
from evaluation.field.registry import ensure_reference_data
from evaluation.scoring.models_scoring import ScoreAdjustment, ScorecardSnapshot
from evaluation.scoring.scheme import SchemeError
from evaluation.scoring.service import compare_party, scorecards
from evaluation.scoring.snapshots import (
    SYSTEM,
    bulletin_bytes,
    freeze_closed_months,
    freeze_period,
    snapshot_frames,
)
from evaluation.scoring.store import active_scheme, save_scheme_version, scheme_versions
from tests.factories import make_org, make_user, viewer

# worker index → (collection, accuracy, retention) numerators out of 100 in June 2020
FIGURES = {
    0: (95, 96, 98),
    1: (90, 92, 97),
    2: (85, 88, 96),
    3: (80, 86, 95),
    4: (75, 84, 94),
    5: (70, 82, 93),
}


@pytest.fixture
def org(session):
    org = make_org(session, workers_per_community=3)
    ensure_reference_data(session)
    workers = org.workers_a + org.workers_b
    for i, w in enumerate(workers):
        for metric, num in zip(
            ("collection_rate", "accuracy_rate", "retention_rate"), FIGURES[i], strict=True
        ):
            session.add(
                MetricValue(
                    worker_id=w.id,
                    period="2020-06",
                    metric=metric,
                    numerator=num,
                    denominator=100,
                    source="import",
                )
            )
    admin = make_user(session, "admin", "x", Role.SYSADMIN)
    session.commit()
    global ADMIN
    ADMIN = viewer(Role.SYSADMIN, user_id=admin.id)
    return org


ADMIN = viewer(Role.SYSADMIN)  # replaced by the fixture with a real user id (created_by is a foreign key)
DISTRICT_MGR = viewer(Role.MANAGER)


def test_default_scheme_is_version_one_and_edits_add_versions(session, org):
    """Test that the shipped default becomes v1 and an admin's edit becomes v2 (v1 kept)."""
    scheme, row = active_scheme(session)
    session.commit()
    assert row.version == 1 and scheme.version == 1
    d = scheme.to_dict()
    d["dimensions"][0]["components"][0]["normalisation"]["target"] = 90
    v2 = save_scheme_version(session, ADMIN, d, note="easier collection target")
    assert v2.version == 2 and v2.is_active
    versions = scheme_versions(session)
    assert versions["version"].tolist() == [2, 1] and versions["is_active"].tolist() == [True, False]
    with pytest.raises(ValueError, match="Nothing changed"):
        save_scheme_version(session, ADMIN, d)
    with pytest.raises(ScopeError):
        save_scheme_version(session, DISTRICT_MGR, d)
    d["dimensions"][0]["components"][0]["weight"] = 99
    with pytest.raises(SchemeError, match="add up to 100"):
        save_scheme_version(session, ADMIN, d)


def test_scope_limits_rows_not_ranks(session, org):
    """Test that a community manager sees only their workers, with district-wide ranks."""
    view = scorecards(session, viewer(Role.MANAGER, org.comm_b), "2020-06")
    assert set(view.cards["worker_id"]) == {w.id for w in org.workers_b}
    assert view.cards["rank"].min() == 4  # the best of community B is 4th in the district
    worker = org.workers_a[0]
    mine = scorecards(session, viewer(Role.WORKER, worker=worker), "2020-06")
    assert mine.cards["worker_id"].tolist() == [worker.id]
    assert set(mine.components["worker_id"]) == {worker.id}


def test_party_comparison_from_the_database(session, org):
    """Test the gap: one party member (collection 95%) against the mean of all six (82.5%): +12.5 pp."""
    out = compare_party(session, DISTRICT_MGR, "2020-06").set_index("metric")
    assert out.at["collection_rate", "party"] == pytest.approx(95)
    assert out.at["collection_rate", "all"] == pytest.approx(82.5)
    assert out.at["collection_rate", "gap_pp"] == pytest.approx(12.5)
    assert out.at["collection_rate", "name_zh"] == "采集率"


def test_freeze_is_idempotent_and_recompute_makes_a_revision(session, org):
    """Test freezing twice keeps one revision; a recompute after a new deduction adds revision 2 with
    the change recorded; both keep the scheme version they were computed with."""
    snap, created = freeze_period(session, "2020-06", viewer=SYSTEM, now=datetime(2020, 7, 2))
    assert created and snap.revision == 1 and snap.scheme_version == 1
    assert json.loads(snap.input_rows)["metric_values"] == 18
    again, created = freeze_period(session, "2020-06", viewer=SYSTEM)
    assert not created and again.id == snap.id
    cards, comps = snapshot_frames(session, SYSTEM, snap.id)
    assert len(cards) == 6 and (comps["formula"] != "").all()

    worker = org.workers_a[1]
    session.add(ScoreAdjustment(worker_id=worker.id, period="2020-06", code="falsification", cases=1))
    session.commit()
    d = active_scheme(session)[0].to_dict()
    d["bonus_cap"] = 4
    save_scheme_version(session, ADMIN, d)
    rev2, created = freeze_period(
        session, "2020-06", viewer=SYSTEM, new_revision=True, reason="falsification found"
    )
    assert created and rev2.revision == 2 and rev2.scheme_version == 2
    changes = json.loads(rev2.changes)
    assert changes["previous_revision"] == 1 and changes["changed_workers"] == 1
    old, _ = snapshot_frames(session, SYSTEM, snap.id)
    new, _ = snapshot_frames(session, SYSTEM, rev2.id)
    delta = new.set_index("worker_id")["total"] - old.set_index("worker_id")["total"]
    assert delta[worker.id] == pytest.approx(-5)
    assert session.get(ScorecardSnapshot, snap.id).scheme_version == 1


def test_a_community_manager_reads_only_their_community_of_a_frozen_month(session, org):
    """Test that a frozen revision's cards reach a community manager only for their own workers, and that the
    district bulletin (every worker's result) is refused to them."""
    snap, _ = freeze_period(session, "2020-06", viewer=SYSTEM)
    mgr_a = viewer(Role.MANAGER, org.comm_a)
    cards, comps = snapshot_frames(session, mgr_a, snap.id)
    mine = {w.id for w in org.workers_a}
    assert set(cards["worker_id"]) == mine and set(comps["worker_id"]) == mine
    with pytest.raises(ScopeError):
        bulletin_bytes(session, mgr_a, snap.id)
    assert bulletin_bytes(session, DISTRICT_MGR, snap.id) == snap.bulletin


def test_bulletin_workbook_has_the_sections(session, org):
    """Test the bulletin holds ranking, grades, party comparison, event items and overdue sheets."""
    snap, _ = freeze_period(session, "2020-06", viewer=SYSTEM)
    wb = openpyxl.load_workbook(io.BytesIO(snap.bulletin))
    assert wb.sheetnames == ["说明", "排名", "等级分布", "党员对比", "高频事件", "超期统计"]
    ranking = list(wb["排名"].values)
    assert ranking[0][0] == "排名" and len(ranking) == 7


def test_job_freezes_closed_months_once(session, org, engine):
    """Test the scheduled job freezes June in July, and a second run does nothing."""
    assert freeze_closed_months(now=datetime(2020, 6, 20), engine=engine) == {"frozen": 0}  # June still open
    assert freeze_closed_months(now=datetime(2020, 7, 1, 2, 30), engine=engine) == {"frozen": 1}
    assert freeze_closed_months(now=datetime(2020, 7, 2, 2, 30), engine=engine) == {"frozen": 0}
    assert len(session.exec(select(ScorecardSnapshot)).all()) == 1


def test_cli_compare_json(session, org, engine, monkeypatch, capsys):
    """Test `gridwise scores compare --by party --period 2020-06 --json` prints one object per metric."""
    from core.cli import main
    from core.settings import get_settings

    monkeypatch.setenv("GRIDWISE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        assert main(["scores", "compare", "--by", "party", "--period", "2020-06", "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert [r["metric"] for r in rows] == ["collection_rate", "retention_rate", "accuracy_rate"]
        assert {"metric", "name_zh", "party", "all", "gap_pp"} <= rows[0].keys()
        assert main(["scores", "compute", "--period", "2020-06", "--json"]) == 0
        cards = json.loads(capsys.readouterr().out)
        assert len(cards) == 6 and cards[0]["rank"] == 1
    finally:
        get_settings.cache_clear()
