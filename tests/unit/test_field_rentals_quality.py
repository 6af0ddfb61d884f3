"""Rental grading (thresholds, veto, patrol interval, coverage, patrol tasks) and the data-quality checks."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import func
from sqlmodel import select

from core.models import Role
from core.models_audit import AuditEntry
from core.scope import SYSTEM, ScopeError
from evaluation.field.api import open_tasks
from evaluation.field.findings import checked_at, finding_rows, run_checks, served_summary
from evaluation.field.models import (
    Deregistration,
    Event,
    HouseRecord,
    QualityCheck,
    QualityFinding,
    RentalBuilding,
    RentalPatrol,
    VerificationTask,
    VisitDay,
)
from evaluation.field.quality import KINDS, quality_summary, raise_verification_tasks
from evaluation.field.registry import ensure_reference_data
from evaluation.field.rentals import (
    criteria,
    grade_building,
    grade_for,
    patrol_coverage,
    patrol_figures,
    record_patrol,
)
from tests.factories import make_org, make_user, viewer

NOW = datetime(2020, 9, 30, 12, 0)


def _scores(total_fraction: float) -> dict[str, float]:
    c = criteria()
    return {code: float(m) * total_fraction for code, m in zip(c["code"], c["max"], strict=True)}


@pytest.mark.parametrize(
    ("fraction", "grade"),
    [
        (1.0, "green"),
        (0.85, "green"),
        (0.84, "yellow"),
        (0.70, "yellow"),
        (0.69, "orange"),
        (0.60, "orange"),
        (0.59, "red"),
        (0.0, "red"),
    ],
)
def test_grade_thresholds(fraction, grade):
    """Test 绿 ≥ 85, 黄 70–84, 橙 60–69, 红 < 60 on the 100-point standard."""
    got, total = grade_for(_scores(fraction))
    assert got == grade and total == pytest.approx(100 * fraction)


def test_veto_forces_red_and_bad_scores_are_refused():
    """Test that a veto item makes a perfect building red and out-of-range scores are refused."""
    assert grade_for(_scores(1.0), ["V1"]) == ("red", 100.0)
    bad = _scores(1.0) | {"HW1": 7}
    with pytest.raises(ValueError, match="HW1 must be between 0 and 6"):
        grade_for(bad)
    with pytest.raises(ValueError, match="missing"):
        grade_for({"HW1": 1})


def test_grade_sets_patrol_interval_coverage_and_patrol_tasks(session):
    """Test that grading, patrols and coverage fit together and overdue patrols become tasks."""
    org = make_org(session)
    ensure_reference_data(session)
    mgr = viewer(Role.MANAGER)
    g = org.grids_a[0]
    b = RentalBuilding(code="B1", address="下沙村一巷1号", grid_id=g.id, community_id=g.parent_id)
    session.add(b)
    session.flush()
    grade_building(session, mgr, building_id=b.id, scores=_scores(0.65), now=NOW - timedelta(days=30))
    assert b.grade == "orange"  # weekly patrol
    record_patrol(
        session, mgr, building_id=b.id, worker_id=org.workers_a[0].id, visited_at=NOW - timedelta(days=20)
    )
    record_patrol(
        session, mgr, building_id=b.id, worker_id=org.workers_a[0].id, visited_at=NOW - timedelta(days=20)
    )
    record_patrol(
        session, mgr, building_id=b.id, worker_id=org.workers_a[0].id, visited_at=NOW - timedelta(days=10)
    )
    cov = patrol_coverage(session, mgr, start=NOW - timedelta(days=28), end=NOW)
    assert cov[["due", "made"]].iloc[0].tolist() == [4, 2]  # 28 days / 7 → 4 due; 2 made (the repeat is one)
    # The grade also drives 出租屋巡查覆盖率 per worker × month (credited to the grid's worker).
    figures = patrol_figures(session, now=NOW).set_index("period")
    assert figures.loc["2020-08", ["numerator", "denominator"]].tolist() == [0, 1]  # graded on the 31st
    assert figures.loc["2020-09", ["numerator", "denominator"]].tolist() == [2, 5]  # 29.5 days / 7
    assert set(figures["worker_id"]) == {org.workers_a[0].id}
    tasks = open_tasks(session, mgr, now=NOW)
    assert tasks["task_id"].tolist() == [f"patrol:{b.id}"]
    assert tasks.loc[0, "due_at"] == NOW - timedelta(days=3)
    record_patrol(session, mgr, building_id=b.id, worker_id=org.workers_a[0].id, visited_at=NOW)
    assert open_tasks(session, mgr, now=NOW).empty


def _planted_problems(session):
    """Community A: one address with two house codes and a day of 150 visits; community B: a duplicate
    report of one building within a day and a reversed deregistration."""
    org = make_org(session)
    ensure_reference_data(session)
    a, b = org.grids_a[0], org.grids_b[0]
    session.add_all(
        [
            HouseRecord(house_code="H1", standard_address="甲路1号", grid_id=a.id, community_id=a.parent_id),
            HouseRecord(house_code="H2", standard_address="甲路1号", grid_id=a.id, community_id=a.parent_id),
            HouseRecord(house_code="H3", standard_address="乙路2号", grid_id=b.id, community_id=b.parent_id),
            VisitDay(worker_id=org.workers_a[0].id, day=date(2020, 6, 1), visits=150),
            VisitDay(worker_id=org.workers_a[0].id, day=date(2020, 6, 2), visits=30),
            Deregistration(
                person_ref="P1",
                community_id=b.parent_id,
                grid_id=b.id,
                reason="moved_out",
                deregistered_at=datetime(2020, 5, 1),
                reversed_at=datetime(2020, 5, 9),
            ),
            Deregistration(
                person_ref="P2",
                community_id=b.parent_id,
                grid_id=b.id,
                reason="moved_out",
                deregistered_at=datetime(2020, 5, 1),
            ),
        ]
    )
    base = dict(
        item_code="F02",
        category_code="fire",
        grid_id=b.id,
        community_id=b.parent_id,
        priority="urgent",
        state="closed",
        building_code="B9",
    )
    session.add_all(
        [
            Event(event_no="X1", reported_at=datetime(2020, 6, 1, 9), **base),
            Event(event_no="X2", reported_at=datetime(2020, 6, 1, 20), **base),  # same day: duplicate
            Event(event_no="X3", reported_at=datetime(2020, 6, 5, 9), **base),
        ]
    )  # days later: not
    session.flush()
    return org


def test_data_quality_checks_and_idempotent_tasks(session):
    """Test each check on planted problems, the per-community counts, and tasks raised once."""
    org = _planted_problems(session)
    summary = quality_summary(session, viewer(Role.MANAGER)).set_index("community_id")
    assert summary.loc[
        org.comm_a.id, ["address_codes", "visit_overflow", "duplicate_event", "reversed_dereg"]
    ].tolist() == [1, 1, 0, 0]
    assert summary.loc[
        org.comm_b.id, ["address_codes", "visit_overflow", "duplicate_event", "reversed_dereg"]
    ].tolist() == [0, 0, 1, 1]
    assert raise_verification_tasks(session, SYSTEM, now=NOW) == {
        "address_codes": 1,
        "visit_overflow": 1,
        "duplicate_event": 1,
        "reversed_dereg": 1,
    }
    assert sum(raise_verification_tasks(session, SYSTEM, now=NOW).values()) == 0
    assert session.exec(select(func.count()).select_from(VerificationTask)).one() == 4
    tasks = open_tasks(session, viewer(Role.MANAGER, org.comm_b), now=NOW)
    assert set(tasks["kind"]) == {"verification"} and len(tasks) == 2
    assert any("X2" in t for t in tasks["title_en"])
    codes = session.exec(select(VerificationTask).where(VerificationTask.kind == "address_codes")).one()
    assert re.fullmatch(r"Check house codes: 2 codes at one address \(\w+, \w+\)", codes.title_en)  # no 、


def test_a_community_manager_raises_verification_tasks_only_for_their_community(session):
    """Test that a community manager's "raise verification tasks" creates tasks for their own community's
    problems only, records who raised what, and that a worker may not raise any."""
    org = _planted_problems(session)
    session.commit()
    manager_a = viewer(Role.MANAGER, org.comm_a, user_id=make_user(session, "mgr_a", "x").id)
    with pytest.raises(ScopeError):
        raise_verification_tasks(session, viewer(Role.WORKER, org.comm_a), now=NOW)
    made = raise_verification_tasks(session, manager_a, now=NOW)
    session.commit()
    assert made == {"address_codes": 1, "visit_overflow": 1, "duplicate_event": 0, "reversed_dereg": 0}
    raised = session.exec(select(VerificationTask.community_id)).all()
    assert raised == [org.comm_a.id, org.comm_a.id]  # community B's two problems still wait for B's managers
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "field.verification.raise")).one()
    assert entry.user_id == manager_a.user_id and json.loads(entry.after) == made
    assert json.loads(entry.detail) == {"communities": [org.comm_a.id]}
    assert raise_verification_tasks(session, SYSTEM, now=NOW) == {
        "address_codes": 0,
        "visit_overflow": 0,
        "duplicate_event": 1,
        "reversed_dereg": 1,
    }


def test_a_worker_logs_patrols_only_in_their_community_or_where_assigned(session):
    """Test that a worker of community B cannot log a patrol of A's building unless it is assigned to them,
    and that a refused patrol writes nothing."""
    org = make_org(session)
    ensure_reference_data(session)
    g = org.grids_a[0]
    b = RentalBuilding(code="B1", address="下沙村一巷1号", grid_id=g.id, community_id=g.parent_id)
    session.add(b)
    session.flush()
    own, stranger = org.workers_a[1], org.workers_b[0]
    record_patrol(session, viewer(Role.WORKER, worker=own), building_id=b.id, visited_at=NOW)
    with pytest.raises(ScopeError):
        record_patrol(
            session,
            viewer(Role.WORKER, worker=stranger),
            building_id=b.id,
            visited_at=NOW + timedelta(hours=1),
        )
    assert session.exec(select(func.count()).select_from(RentalPatrol)).one() == 1
    b.patrol_assignee_id = stranger.id
    session.add(b)
    session.flush()
    record_patrol(
        session, viewer(Role.WORKER, worker=stranger), building_id=b.id, visited_at=NOW + timedelta(hours=2)
    )
    assert session.exec(select(func.count()).select_from(RentalPatrol)).one() == 2


def test_quality_results_run_each_check_once_and_give_the_same_summary(session, monkeypatch):
    """Test that the data-quality page's reads (quality_results, then the summary from them) run each check
    once and count what quality_summary counts on its own (issue #21: the address check ran twice a view)."""
    from evaluation.field import quality

    _planted_problems(session)
    manager = viewer(Role.MANAGER)
    alone = quality_summary(session, manager)
    calls: list[str] = []
    for kind, check in list(quality.CHECKS.items()):
        monkeypatch.setitem(
            quality.CHECKS, kind, lambda s, v, _k=kind, _c=check: calls.append(_k) or _c(s, v)
        )
    results = quality.quality_results(session, manager)
    from_results = quality_summary(session, manager, results=results)
    assert sorted(calls) == sorted(quality.KINDS)  # once each, the summary ran none again
    pd.testing.assert_frame_equal(from_results, alone)
    assert len(results["address_codes"]) == 2


def _finding_rows(session):
    cols = ("kind", "community_id", "grid_id", "seq", "ref_key", "worker_id", "house_code", "day", "visits")
    return sorted(
        session.exec(select(*(getattr(QualityFinding, c) for c in cols))).all(),
        key=lambda r: (r[0], r[3], r[1]),
    )


def test_the_data_quality_job_keeps_the_same_findings_when_run_twice(session):
    """Test that the daily job's run (core.scope.SYSTEM) keeps each flagged row once with its run records, that
    running it again replaces them with the same rows (not twice as many), and that a problem fixed between
    runs leaves the results."""
    org = _planted_problems(session)
    first = run_checks(session, SYSTEM, now=NOW, raise_tasks=True)
    assert first["found"] == {
        "address_codes": 1,
        "visit_overflow": 1,
        "duplicate_event": 1,
        "reversed_dereg": 1,
    }
    assert sum(first["raised"].values()) == 4
    rows, runs = _finding_rows(session), session.exec(select(QualityCheck)).all()
    assert len(rows) == 5  # two house records at one address, one day, one duplicate, one reversal
    assert len(runs) == 2 * len(KINDS)  # every community of the district, every check, zeros included
    again = run_checks(session, SYSTEM, now=NOW + timedelta(days=1), raise_tasks=True)
    assert again["found"] == first["found"] and sum(again["raised"].values()) == 0
    assert _finding_rows(session) == rows
    assert len(session.exec(select(QualityCheck)).all()) == len(runs)
    assert checked_at(session, SYSTEM) == NOW + timedelta(days=1)
    session.exec(select(VisitDay).where(VisitDay.visits == 150)).one().visits = 60  # corrected
    session.flush()
    run_checks(session, SYSTEM, now=NOW + timedelta(days=2))
    assert [r for r in _finding_rows(session) if r[0] == "visit_overflow"] == []
    summary = served_summary(session, viewer(Role.MANAGER)).set_index("community_id")
    assert summary.loc[org.comm_a.id, list(KINDS)].tolist() == [1, 0, 0, 0]


def test_served_results_are_the_checks_figures_scoped_to_the_viewer(session):
    """Test that the served summary counts what the checks count, that a community manager reads only their
    community's figures and rows, and that their 重新检查 replaces their community's results only (the
    other community keeps the job's, and its time)."""
    org = _planted_problems(session)
    session.commit()
    district = viewer(Role.MANAGER)
    run_checks(session, SYSTEM, now=NOW)
    served = served_summary(session, district)
    pd.testing.assert_frame_equal(
        served[[*quality_summary(session, district).columns]], quality_summary(session, district)
    )
    assert served.set_index("community_id").loc[org.comm_a.id, "address_codes_rows"] == 2
    manager_a = viewer(Role.MANAGER, org.comm_a, user_id=make_user(session, "mgr_a", "x").id)
    mine = served_summary(session, manager_a)
    assert mine["community_id"].tolist() == [org.comm_a.id] and mine["total"].tolist() == [2]
    for kind in KINDS:
        rows = finding_rows(session, manager_a, kind)
        assert set(rows["community_id"]) <= {org.comm_a.id}
        assert finding_rows(session, manager_a, kind, community_id=org.comm_b.id).empty
    assert finding_rows(session, manager_a, "address_codes")["house_code"].tolist() == ["H1", "H2"]
    assert finding_rows(session, district, "reversed_dereg")["person_ref"].tolist() == ["P1"]
    assert len(finding_rows(session, district, "address_codes", limit=1)) == 1
    with pytest.raises(ScopeError):
        run_checks(session, viewer(Role.WORKER, org.comm_a), now=NOW)
    session.add(VisitDay(worker_id=org.workers_b[0].id, day=date(2020, 6, 3), visits=99))  # B's new problem
    session.flush()
    later = NOW + timedelta(hours=3)
    assert run_checks(session, manager_a, now=later)["found"]["visit_overflow"] == 1  # A's only
    assert checked_at(session, manager_a) == later and checked_at(session, district) == NOW
    assert finding_rows(session, district, "visit_overflow")["worker_id"].tolist() == [org.workers_a[0].id]
    entry = session.exec(select(AuditEntry).where(AuditEntry.user_id == manager_a.user_id)).one()
    assert entry.action == "field.quality.check" and json.loads(entry.after)["visit_overflow"] == 1
