"""Served training-plan progress (issue #21): the ledger job writes per worker, year and month what the
dashboard and the bulletin read; the reads equal the computation they replace, by scope; the job is idempotent;
a closed month keeps its figures; external training and corrections update the served hours at once."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from sqlmodel import Session, select

from courses.training import jobs, ledger, progress, serving, supervision
from courses.training.models_progress import TrainingOverdue, TrainingProgress
from tests.unit.test_training import NOW, _supervised_world, world  # noqa: F401 - the fixture

JUNE = date(2020, 6, 30)


def _rows(session: Session) -> list[tuple]:
    got = session.exec(select(TrainingProgress)).all()
    over = session.exec(select(TrainingOverdue)).all()
    return sorted(tuple(r.model_dump().items()) for r in [*got, *over])


def test_served_figures_equal_the_computed_status(session, world):  # noqa: F811
    """Test that the dashboard's served headline, communities, workers behind, pre-service and overdue lists
    equal plan_status's for the same day, for the district and, limited to it, for a community manager."""
    _supervised_world(session, world)
    serving.serve(session, now=NOW)
    for who in (world.manager, world.manager_a):
        figures = progress.figures_at(session, who, year=2020)
        assert figures is not None and (figures.month, figures.as_of) == (6, JUNE)
        st = supervision.plan_status(session, who, year=2020, as_of=JUNE)
        assert progress.headline(session, who, figures) == supervision.headline(st)
        served = progress.communities(session, who, figures)
        computed = supervision.community_summary(st)
        cols = ["community_id", "workers", "required_to_date", "credited", "completion", "behind"]
        pd.testing.assert_frame_equal(served[cols], computed[cols], check_dtype=False)
        behind = progress.workers(session, who, figures, flag="behind")
        assert set(behind["employee_no"]) == set(st[st["behind"]]["employee_no"])
        pre = progress.workers(session, who, figures, flag="preservice_overdue")
        assert set(pre["employee_no"]) == set(st[st["preservice_overdue"]]["employee_no"])
        over = progress.overdue(session, who, figures)
        computed_over = supervision.overdue_courses(session, who, year=2020, as_of=JUNE)
        assert sorted(zip(over["worker_id"], over["course_code"], over["days_over"], strict=True)) == sorted(
            zip(
                computed_over["worker_id"],
                computed_over["course_code"],
                computed_over["days_over"],
                strict=True,
            )
        )
    assert progress.served_months(session, world.manager, year=2020) == [1, 2, 3, 4, 5, 6]
    a_only = progress.workers(session, world.manager_a, figures, flag="behind")
    assert set(a_only["worker_id"]) <= {w.id for w in world.org.workers_a}


def test_the_job_run_twice_leaves_the_same_rows(session, world):  # noqa: F811
    """Test that the ledger job (credit, then serve) run twice at the same time leaves the same rows."""
    _supervised_world(session, world)
    engine = session.get_bind()
    session.commit()  # the job opens its own unit of work on the same database
    jobs.credit_hours(now=NOW, engine=engine)
    first = _rows(session)
    session.expire_all()
    jobs.credit_hours(now=NOW, engine=engine)
    session.expire_all()
    assert first and _rows(session) == first


def test_a_closed_month_keeps_its_figures(session, world):  # noqa: F811
    """Test that a month computed after it ended is not recomputed, while the current month is."""
    _supervised_world(session, world)
    serving.serve(session, now=NOW)
    assert serving.months_due(session, year=2020, today=date(2020, 7, 10)) == [7]
    assert serving.months_due(session, year=2020, today=JUNE) == [6]


def test_external_training_and_a_correction_update_the_served_hours(session, world):  # noqa: F811
    """Test that recording external training and correcting it change the served credited hours, their kind
    and the behind flag at once (no job run), in every month as of which the hours count."""
    _supervised_world(session, world)
    serving.serve(session, now=NOW)
    b0 = world.org.workers_b[0]

    def row(month: int) -> TrainingProgress:
        got = session.get(TrainingProgress, (b0.id, 2020, month))
        assert got is not None
        session.refresh(got)
        return got

    assert row(6).credited == 0.0 and row(6).behind
    entry = ledger.record_external(
        session, world.manager, worker_id=b0.id, hours=5, on=date(2020, 6, 1), note="外训", now=NOW
    )
    assert (row(6).credited, row(6).credited_external, row(6).behind) == (5.0, 5.0, False)
    assert row(5).credited == 0.0  # as of 31 May: the hours count from 1 June
    ledger.correct_entry(session, world.manager, entry_id=entry.id, hours=-1, note="多记", now=NOW)
    assert (row(6).credited, row(6).credited_correction) == (4.0, -1.0)
    st = supervision.plan_status(session, world.manager, year=2020, as_of=JUNE).set_index("worker_id")
    assert row(6).credited == st.loc[b0.id, "credited"] and row(6).behind == st.loc[b0.id, "behind"]
    assert row(6).updated_at == NOW


def test_the_demo_setting_name_is_the_field_clocks():
    """Test that serving reads the demo's pinned day from the setting the field clock reads."""
    from evaluation.field.registry import AS_OF_SETTING

    assert serving.AS_OF_SETTING == AS_OF_SETTING


def test_served_today_follows_now_then_the_pinned_day(session):
    """Test that the served day is ``now``'s when given, else the demo database's pinned day."""
    from core.models import AppSetting

    session.add(AppSetting(key=serving.AS_OF_SETTING, value="2020-09-30T18:00:00"))
    session.flush()
    assert serving.served_today(session) == date(2020, 9, 30)
    assert serving.served_today(session, datetime(2021, 1, 2, 3)) == date(2021, 1, 2)


def test_standing_counts_the_plan_year_to_date_and_the_preservice_window():
    """Test the one status computation (plan_status, the served rows and their recount all call it): hours of
    the plan year up to as_of, in all and by kind; pre-service hours from the hire date to the deadline, even
    after as_of; the complete, behind and pre-service-overdue flags."""
    rows = pd.DataFrame(
        {
            "worker_id": [1, 1, 2],
            "year": [2020, 2020, 2020],
            "month": [5, 6, 6],
            "as_of": [date(2020, 5, 31), JUNE, JUNE],
            "hire_date": [date(2020, 5, 1), date(2020, 5, 1), date(2015, 3, 1)],
            "required_year": [10.0, 10.0, 4.0],
            "required_to_date": [5.0, 6.0, 2.0],
            "preservice_hours": [8.0, 8.0, 0.0],
            "preservice_deadline": [pd.Timestamp(2020, 6, 10), pd.Timestamp(2020, 6, 10), pd.NaT],
        },
        index=[7, 8, 9],  # any index: the result's is 0..n-1
    )
    entries = pd.DataFrame(
        [
            (1, date(2019, 12, 31), 9.0, "external"),  # last year: counts nowhere
            (1, date(2020, 5, 2), 3.0, "session"),
            (1, date(2020, 6, 5), 2.5, "lesson"),  # after 31 May: June's only, but pre-service in both
            (1, date(2020, 6, 20), 1.0, "quiz"),  # after the pre-service deadline
            (2, date(2020, 2, 1), 4.0, "external"),
            (2, date(2020, 3, 1), -0.5, "correction"),
        ],
        columns=["worker_id", "credited_on", "hours", "source"],
    )
    got = progress.standing(rows, entries)
    assert list(got.index) == [0, 1, 2]
    assert got["credited"].tolist() == [3.0, 6.5, 3.5]
    assert got["credited_session"].tolist() == [3.0, 3.0, 0.0]
    assert got["credited_lesson"].tolist() == [0.0, 2.5, 0.0]
    assert got["credited_quiz"].tolist() == [0.0, 1.0, 0.0]
    assert got["credited_external"].tolist() == [0.0, 0.0, 4.0]
    assert got["credited_correction"].tolist() == [0.0, 0.0, -0.5]
    assert got["preservice_credited"].tolist() == [5.5, 5.5, 0.0]
    assert got["complete"].tolist() == [False, False, False]
    assert got["behind"].tolist() == [True, False, False]  # 3 < 0.8 × 5; 6.5 ≥ 0.8 × 6; 3.5 ≥ 0.8 × 2
    assert got["preservice_overdue"].tolist() == [False, True, False]  # 31 May: not yet due; 30 June: due


def test_a_recount_leaves_freshly_served_rows_as_they_are(session, world):  # noqa: F811
    """Test that recounting the hours of rows the job has just served changes none of them (both count with
    progress.standing), the updated_at stamp aside."""
    _supervised_world(session, world)
    serving.serve(session, now=NOW)
    session.expire_all()
    before = _rows(session)
    ids = [w.id for w in [*world.org.workers_a, *world.org.workers_b]]
    assert progress.recount_hours(session, worker_ids=ids, now=NOW) > 0
    session.expire_all()
    assert _rows(session) == before
