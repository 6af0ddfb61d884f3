"""The months the scorecard pages offer (service.period_choices): the newest months with field figures, stray
months left out, read from the summary's period index by seeks sized by the answer, never by scanning the
summary (issue #21: with 20,000 workers the old GROUP BY counted 2.7 M rows on every cold page)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import insert, text

from core.models import Role
from evaluation.field.models import MetricValue
from evaluation.scoring import service
from evaluation.scoring.periods import months_between
from tests.factories import viewer

METRICS = ["accuracy_rate", "collection_rate", "hazards_reported"]
FULL = months_between("2019-01", "2020-06")


def _figures(field_org, months: list[str], *, workers: int | None = None) -> list[dict]:
    people = [*field_org.workers_a, *field_org.workers_b][:workers]
    return [
        {
            "worker_id": w.id,
            "period": m,
            "metric": metric,
            "numerator": 1.0,
            "denominator": 2.0,
            "source": "import",
            "updated_at": datetime(2020, 7, 1),
        }
        for m in months
        for w in people
        for metric in METRICS
    ]


@pytest.fixture
def figures(session, field_org):
    """18 full months (6 workers × 3 metrics) and two stray months after them (one worker, one figure)."""
    rows = _figures(field_org, FULL)
    stray = _figures(field_org, ["2020-08", "2020-09"], workers=1)
    rows += [r for r in stray if r["metric"] == METRICS[0]]
    session.execute(insert(MetricValue), rows)
    session.commit()
    return rows


def test_the_newest_full_months_newest_first(session, figures):
    """Test the answer: the newest twelve months holding figures, newest first, stray months left out."""
    got = service.period_choices(session, viewer(Role.MANAGER))
    assert got == FULL[::-1][:12]
    assert service.period_choices(session, viewer(Role.MANAGER), last=3) == ["2020-06", "2020-05", "2020-04"]
    assert service.months_with_figures(session, last=4) == ["2020-09", "2020-08", "2020-06", "2020-05"]
    assert service.months_with_figures(session, below="2019-03", last=5) == ["2019-02", "2019-01"]


def test_no_figures_offers_the_current_month(session, field_org, monkeypatch):
    """Test the fallback: an empty summary offers the current month."""
    monkeypatch.setattr(service, "now", lambda: datetime(2021, 3, 5))
    assert service.period_choices(session, viewer(Role.MANAGER)) == ["2021-03"]


def test_full_months_are_counted_only_as_far_as_the_rule_needs(session, field_org, figures, monkeypatch):
    """Test the answer when months pass FULL_MONTH_FIGURES (5 here; full months hold 18): a stray month is still
    judged against the fullest month's figures (one figure: left out; two, more than a tenth of 18: offered),
    and a month holding FULL_MONTH_FIGURES is offered however full the fullest is."""
    monkeypatch.setattr(service, "FULL_MONTH_FIGURES", 5)
    manager = viewer(Role.MANAGER)
    assert service.period_choices(session, manager, last=3) == ["2020-06", "2020-05", "2020-04"]
    two = [r for r in _figures(field_org, ["2020-07"], workers=1) if r["metric"] in METRICS[:2]]
    session.execute(insert(MetricValue), two)
    assert service.period_choices(session, manager, last=3) == ["2020-07", "2020-06", "2020-05"]
    monkeypatch.setattr(service, "FULL_MONTH_FIGURES", 2)  # now 2020-07 is full: offered, not compared
    assert service.period_choices(session, manager, last=2) == ["2020-07", "2020-06"]
    monkeypatch.setattr(service, "FULL_MONTH_FIGURES", 20_000)  # exact counts: 2 of 18 is over a tenth
    assert service.period_choices(session, manager, last=2) == ["2020-07", "2020-06"]


@pytest.mark.parametrize("full", [20_000, 5])
def test_period_choices_seeks_the_period_index_and_never_scans_the_summary(
    session, figures, monkeypatch, full
):
    """Test (SQLite, with ANALYZE statistics) that every statement on field_metric_value period_choices issues
    searches the period index (a seek per month, a capped range per month; with full months, a capped
    recount of them per stray month): the GROUP BY over the whole summary it replaced scanned every row of
    it, 2.7 M rows in a district of 20,000 workers."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's")
    monkeypatch.setattr(service, "FULL_MONTH_FIGURES", full, raising=False)
    session.execute(text("ANALYZE"))
    conn = session.connection()
    seen: list[tuple[str, object]] = []

    def listen(_conn, _cursor, statement, parameters, _context, _many) -> None:  # noqa: ANN001
        if "field_metric_value" in statement:
            seen.append((statement, parameters))

    sa_event.listen(conn, "before_cursor_execute", listen)
    try:
        assert service.period_choices(session, viewer(Role.MANAGER)) == FULL[::-1][:12]
    finally:
        sa_event.remove(conn, "before_cursor_execute", listen)
    raw = conn.connection.driver_connection
    for statement, parameters in seen:
        plan = [r[-1] for r in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()]
        on_summary = [p for p in plan if "field_metric_value" in p]
        assert on_summary, plan
        assert all(
            p.startswith("SEARCH") and "ix_field_metric_value_period_metric" in p for p in on_summary
        ), plan
    # the months, their capped counts, and with full months one recount for each of the two stray months
    assert len(seen) == (2 if full == 20_000 else 4)
