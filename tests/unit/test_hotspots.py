"""Hotspot detection (issue 24 part 2): the rule on hand-made daily counts, and the SQL counts it reads."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from evaluation.warning.hotspots import BASELINE_DAYS, WINDOW_DAYS, Rule, detect, warnable_days

AS_OF = date(2020, 6, 30)
START = AS_OF - timedelta(days=WINDOW_DAYS + BASELINE_DAYS - 1)


def _background(communities: int = 6, per_day: float = 0.15, seed: int = 1) -> pd.DataFrame:
    """Each community has item D01 (dispute) at ``per_day`` and F01 (fire) at 0.5/day, grid = community × 10."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(1, communities + 1):
        for d in range(WINDOW_DAYS + BASELINE_DAYS):
            day = START + timedelta(days=d)
            for item, cat, lam in (("D01", "dispute", per_day), ("F01", "fire", 0.5)):
                n = int(rng.poisson(lam))
                if n:
                    rows.append((c, c * 10, item, cat, day, n))
    return pd.DataFrame(rows, columns=["community_id", "grid_id", "item_code", "category_code", "day", "n"])


def _plant(counts: pd.DataFrame, community: int, item: str, cat: str, extra: int) -> pd.DataFrame:
    days = [AS_OF - timedelta(days=i % WINDOW_DAYS) for i in range(extra)]
    rows = [(community, community * 10, item, cat, d, 1) for d in days]
    return pd.concat([counts, pd.DataFrame(rows, columns=counts.columns)], ignore_index=True)


def test_a_planted_flare_up_is_warned_with_its_observed_and_expected_counts() -> None:
    counts = _plant(_background(), 3, "D01", "dispute", 9)
    out = detect(counts, AS_OF)
    hit = out[(out["community_id"] == 3) & (out["kind"] == "item") & (out["level"] == "community")]
    assert list(hit["code"]) == ["D01"]
    row = hit.iloc[0]
    background_week = counts[(counts.community_id == 3) & (counts.item_code == "D01")]
    in_window = background_week[background_week["day"] > AS_OF - timedelta(days=WINDOW_DAYS)]["n"].sum()
    assert row["observed"] == in_window
    assert 0.3 < row["expected"] < 2.5  # ~0.15/day × 7
    assert row["score"] < 0.001
    # The same flare-up shows at grid level (grid 30) and in its category.
    assert ((out["level"] == "grid") & (out["grid_id"] == 30) & (out["code"] == "D01")).any()
    assert ((out["kind"] == "category") & (out["code"] == "dispute") & (out["community_id"] == 3)).any()
    # Nobody else warns on this quiet background.
    assert set(out["community_id"]) == {3}


def test_the_replay_skips_only_days_on_which_nothing_can_warn() -> None:
    """warnable_days (the demo's replay runs the job on those days only) holds every day detect warns on, and
    no day whose windows all stay under the minimum count."""
    quiet = _background(per_day=0.3, seed=3)
    quiet = quiet[quiet["item_code"] == "D01"]  # a sparse background: most weeks under the minimum
    counts = _plant(_plant(quiet, 2, "D01", "dispute", 9), 5, "F01", "fire", 8)
    first, last = START + timedelta(days=WINDOW_DAYS - 1), AS_OF
    can = warnable_days(counts, first, last)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    warned = {d for d in days if not detect(counts[counts["day"] <= d], d).empty}
    assert warned and warned <= can
    for d in set(days) - can:  # every window ending on a skipped day is under the minimum
        window = counts[(counts["day"] > d - timedelta(days=WINDOW_DAYS)) & (counts["day"] <= d)]
        for keys in (["community_id", "item_code"], ["grid_id", "category_code"]):
            assert (window.groupby(keys)["n"].sum() < Rule().min_observed).all()
    assert len(can) < len(days)
    assert warnable_days(counts.iloc[0:0], first, last) == set()


def test_quiet_data_raises_nothing_and_empty_data_is_an_empty_list() -> None:
    assert detect(_background(seed=7), AS_OF).empty
    assert detect(_background().iloc[0:0], AS_OF).empty


def test_the_minimum_count_holds_even_when_expected_is_tiny() -> None:
    counts = _plant(_background(per_day=0.0), 2, "S05", "security", 3)  # 3 events of a never-seen item
    assert detect(counts, AS_OF).empty
    counts = _plant(counts, 2, "S05", "security", 1)
    assert not detect(counts, AS_OF).empty
    assert detect(counts, AS_OF, Rule(min_observed=5)).empty


def test_a_busy_community_is_judged_by_its_own_history_not_the_district_average() -> None:
    counts = _background()
    busy = _background(communities=1, per_day=1.2, seed=3).assign(community_id=9, grid_id=90)
    out = detect(pd.concat([counts, busy], ignore_index=True), AS_OF)
    assert not ((out["community_id"] == 9) & (out["code"] == "D01")).any()  # ~8 a week is its normal


def test_a_new_community_is_expected_to_look_like_the_district_average() -> None:
    counts = _background()
    # Community 7 appeared 3 days before the window with one event; 7 disputes this week.
    new = [(7, 70, "F01", "fire", AS_OF - timedelta(days=WINDOW_DAYS + 2), 1)]
    new += [(7, 70, "D01", "dispute", AS_OF - timedelta(days=i), 1) for i in range(7)]
    counts = pd.concat([counts, pd.DataFrame(new, columns=counts.columns)], ignore_index=True)
    out = detect(counts, AS_OF)
    row = out[(out["community_id"] == 7) & (out["code"] == "D01") & (out["level"] == "community")]
    assert len(row) == 1
    # expected ≈ the district's rate per community (~0.15/day × 7 ≈ 1), not 0 for "no own history".
    assert 0.5 < row.iloc[0]["expected"] < 1.8


def _events(session, org, rows: list[tuple]) -> None:  # noqa: ANN001
    """rows: (grid, item, category, reported_at, state)."""
    from evaluation.field.models import Event

    for n, (grid, item, cat, at, state) in enumerate(rows):
        session.add(
            Event(
                event_no=f"H{n}",
                item_code=item,
                category_code=cat,
                grid_id=grid.id,
                community_id=grid.parent_id,
                priority="normal",
                state=state,
                reported_at=at,
            )
        )
    session.commit()


def test_counts_are_grouped_in_sql_per_day_leaving_out_voided_events(session, field_org) -> None:  # noqa: ANN001
    from datetime import datetime

    from evaluation.warning.hotspots import daily_counts, hotspots

    g = field_org.grids_a[0]
    day = datetime(2020, 6, 29, 9, 0)
    rows = [(g, "D01", "dispute", day + timedelta(minutes=i), "closed") for i in range(6)]
    rows += [(g, "D01", "dispute", day, "voided")]
    rows += [(field_org.grids_b[0], "F01", "fire", day - timedelta(days=30), "closed")]
    _events(session, field_org, rows)
    counts = daily_counts(session, date(2020, 5, 1), AS_OF)
    mine = counts[counts["item_code"] == "D01"]
    assert list(mine["n"]) == [6] and list(mine["day"]) == [date(2020, 6, 29)]
    assert int(mine["community_id"].iloc[0]) == field_org.comm_a.id
    out = hotspots(session, AS_OF)
    hit = out[(out["level"] == "community") & (out["kind"] == "item")]
    assert list(hit["code"]) == ["D01"] and int(hit["observed"].iloc[0]) == 6


def test_the_daily_job_run_twice_stores_one_warning_and_sends_one_notice_each(session, field_org) -> None:  # noqa: ANN001
    from datetime import datetime

    from sqlmodel import select

    from core.models import Role
    from core.models_inbox import Notification
    from evaluation.warning.jobs import raise_warnings
    from evaluation.warning.models import HotspotWarning
    from tests.factories import make_user

    g = field_org.grids_a[0]
    day = datetime(2020, 6, 29, 9, 0)
    _events(
        session, field_org, [(g, "D01", "dispute", day + timedelta(minutes=i), "closed") for i in range(6)]
    )
    comm = make_user(session, "m_comm", "x", Role.MANAGER, scope_unit_id=field_org.comm_a.id)
    sub = make_user(session, "m_sub", "x", Role.MANAGER, scope_unit_id=field_org.sub.id)
    other = make_user(session, "m_other", "x", Role.MANAGER, scope_unit_id=field_org.comm_b.id)
    session.commit()
    now = datetime(2020, 6, 30, 6, 20)
    first = raise_warnings(session, now=now)
    session.commit()
    second = raise_warnings(session, now=now)
    session.commit()
    stored = session.exec(select(HotspotWarning)).all()
    assert first["new"] == len(stored) >= 1 and second["new"] == 0 and second["notices"] == 0
    assert {(w.kind, w.code) for w in stored if w.grid_id == 0} == {("item", "D01"), ("category", "dispute")}
    notes = session.exec(select(Notification)).all()
    per_user = {u.id: sum(1 for n in notes if n.user_id == u.id) for u in (comm, sub, other)}
    assert per_user[comm.id] == per_user[sub.id] == len(stored) and per_user[other.id] == 0
    assert any("D01" in n.title_zh and "6" in n.body_zh for n in notes)


def test_an_ongoing_flare_up_is_one_warning_and_one_notice_over_consecutive_days(session, field_org) -> None:  # noqa: ANN001
    """Test that daily runs while a flare-up goes on update one warning (latest window, peak) and notify once."""
    from datetime import datetime

    from sqlmodel import select

    from core.models import Role
    from core.models_inbox import Notification
    from evaluation.warning.jobs import raise_warnings
    from evaluation.warning.models import HotspotWarning
    from tests.factories import make_user

    g = field_org.grids_a[0]
    day = datetime(2020, 6, 29, 9, 0)
    rows = [(g, "D01", "dispute", day + timedelta(minutes=i), "closed") for i in range(6)]
    rows += [(g, "D01", "dispute", day + timedelta(days=1, minutes=i), "closed") for i in range(2)]
    # A second flare-up of the same item, weeks after the first has died down.
    later = datetime(2020, 8, 10, 9, 0)
    rows += [(g, "D01", "dispute", later + timedelta(minutes=i), "closed") for i in range(7)]
    _events(session, field_org, rows)
    mgr = make_user(session, "m_comm", "x", Role.MANAGER, scope_unit_id=field_org.comm_a.id)
    session.commit()

    def run(d: date) -> dict[str, int]:
        out = raise_warnings(session, now=datetime.combine(d, datetime.min.time()).replace(hour=6, minute=20))
        session.commit()
        return out

    first = run(date(2020, 6, 30))
    keys = {(w.grid_id, w.kind, w.code) for w in session.exec(select(HotspotWarning)).all()}
    assert first["new"] == len(keys) >= 2
    for d in range(1, 6):  # the 6 events stay in the 7-day window until 5 July
        again = run(date(2020, 6, 30) + timedelta(days=d))
        assert again["new"] == 0 and again["notices"] == 0
    run(date(2020, 7, 2))  # a repeated run of an earlier day changes nothing
    stored = session.exec(select(HotspotWarning)).all()
    assert len(stored) == len(keys)
    community_item = next(w for w in stored if (w.grid_id, w.kind, w.code) == (0, "item", "D01"))
    assert community_item.window_end == date(2020, 6, 30)
    assert community_item.last_window_end == date(2020, 7, 5)
    assert community_item.peak == 8 and community_item.observed == 8
    notes = session.exec(select(Notification).where(Notification.user_id == mgr.id)).all()
    assert len(notes) == len(stored)
    assert all(n.link and n.link.startswith("pages/warnings.py?warning=") for n in notes)

    again = run(date(2020, 8, 11))  # more than a week after the last warned window: a new flare-up
    assert again["new"] >= 1
    assert len(session.exec(select(HotspotWarning)).all()) == len(stored) + again["new"]


def test_a_warnings_open_events_rank_first_in_the_dispatch_queue(session, field_org) -> None:  # noqa: ANN001
    """Test that unassigned events of a current warning come before other unassigned tasks, urgent ones too."""
    from datetime import datetime

    from core.models import Role
    from evaluation.assignment.service import task_queue
    from evaluation.warning.jobs import raise_warnings
    from tests.factories import viewer

    g, other = field_org.grids_a[0], field_org.grids_b[0]
    day = datetime(2020, 6, 29, 9, 0)
    rows = [(g, "D01", "dispute", day + timedelta(minutes=i), "closed") for i in range(5)]
    rows += [(g, "D01", "dispute", day + timedelta(hours=2), "registered")]  # the flare-up's open event
    rows += [(other, "F01", "fire", day + timedelta(hours=3), "registered")]  # urgent, elsewhere
    rows += [(g, "D01", "dispute", day - timedelta(days=40), "registered")]  # before the flare-up
    _events(session, field_org, rows)
    from sqlmodel import select

    from evaluation.field.models import Event

    for e in session.exec(select(Event).where(Event.item_code == "F01")).all():
        e.priority = "urgent"
        session.add(e)
    session.commit()
    now = datetime(2020, 6, 30, 8, 0)
    manager = viewer(Role.MANAGER, field_org.district)
    before = task_queue(session, manager, now=now)
    assert not before["warned"].any()
    assert before.iloc[0]["item_code"] == "F01"  # urgent first while nothing is warned
    raise_warnings(session, now=now)
    session.commit()
    queue = task_queue(session, manager, now=now)
    events = queue[queue["kind"] == "event"]
    warned = events[events["warned"]]
    assert len(warned) == 1 and warned.iloc[0]["item_code"] == "D01"
    assert queue.iloc[0]["task_id"] == warned.iloc[0]["task_id"]
    # A week after the warning was last raised, it no longer ranks anything first.
    later = task_queue(session, manager, now=now + timedelta(days=8))
    assert not later["warned"].any()


def test_acknowledging_twice_writes_once_and_out_of_scope_is_refused(session, field_org) -> None:  # noqa: ANN001
    """Test that a double click acknowledges once (one audit row) and another community's manager is refused."""
    from datetime import datetime

    import pytest
    from sqlmodel import select

    from core.models import Role
    from core.models_audit import AuditEntry
    from core.scope import ScopeError
    from evaluation.warning.jobs import raise_warnings
    from evaluation.warning.models import HotspotWarning
    from evaluation.warning.service import WarningError, acknowledge, warning_series, warnings_in_scope
    from tests.factories import viewer

    g = field_org.grids_a[0]
    day = datetime(2020, 6, 29, 9, 0)
    _events(
        session, field_org, [(g, "D01", "dispute", day + timedelta(minutes=i), "closed") for i in range(6)]
    )
    raise_warnings(session, now=datetime(2020, 6, 30, 6, 20))
    session.commit()
    w = session.exec(select(HotspotWarning).where(HotspotWarning.grid_id == 0)).first()
    mine, other = viewer(Role.MANAGER, field_org.comm_a), viewer(Role.MANAGER, field_org.comm_b)
    assert len(warnings_in_scope(session, mine)) >= 2 and warnings_in_scope(session, other).empty
    series = warning_series(session, mine, w.id)
    assert int(series["week"].iloc[-1]) == w.observed and series["week"].min() >= 0
    with pytest.raises(ScopeError):
        acknowledge(session, other, w.id, "看过了")
    with pytest.raises(WarningError):
        acknowledge(session, mine, w.id, "   ")
    assert acknowledge(session, mine, w.id, "已安排调解") is True
    assert acknowledge(session, mine, w.id, "已安排调解") is False
    session.commit()
    session.refresh(w)
    assert w.ack_note == "已安排调解" and w.acknowledged_at is not None
    audits = session.exec(select(AuditEntry).where(AuditEntry.action == "warning.acknowledge")).all()
    assert len(audits) == 1
