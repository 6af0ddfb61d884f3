"""An API world: the two-community org with courses, a session in community A with worker a0 seated,
events in both communities, a frozen scorecard and a decision; clients for the district, community A
and community B, and one allowed nothing but reading events. ``api(client_name)`` is a TestClient
sending that client's key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.app import create_app
from api.config import ApiLimits
from core.api_clients import OPERATIONS, create_client
from core.scope import SYSTEM
from courses.models import TrainingSession
from evaluation.field.models import Event, EventState
from tests.factories import MiniOrg
from tests.unit._courses_world import make_world

NOW = datetime(2020, 6, 1, 10, 0)


@dataclass
class ApiWorld:
    org: MiniOrg
    keys: dict[str, str]
    live_session: int
    events: dict[str, int]  # event_no → id
    engine: Engine

    def client(
        self, who: str | None, *, limits: ApiLimits | None = None, raise_errors: bool = True
    ) -> TestClient:
        app = create_app(self.engine, limits or ApiLimits(rate_per_second=1000, burst=1000))
        headers = {"Authorization": f"Bearer {self.keys[who]}"} if who else {}
        return TestClient(app, headers=headers, raise_server_exceptions=raise_errors)


def _event(org: MiniOrg, grid, no: str, state: EventState, **kw) -> Event:  # noqa: ANN001
    return Event(
        event_no=no,
        item_code="C03",
        category_code="city",
        grid_id=grid.id,
        community_id=grid.parent_id,
        lat=grid.lat,
        lon=grid.lon,
        priority="normal",
        state=state.value,
        reported_at=NOW - timedelta(hours=3),
        updated_at=NOW,
        **kw,
    )


@pytest.fixture
def api_world(session: Session, engine: Engine) -> ApiWorld:
    from courses.enrollment import enroll
    from courses.training_sessions import SessionPlan, schedule
    from evaluation.assignment.models import AssignmentDecision
    from evaluation.field.registry import ensure_reference_data
    from evaluation.scoring.models_scoring import ScorecardEntry, ScorecardSnapshot, ScoringScheme

    w = make_world(session)
    org = w.org
    ensure_reference_data(session)
    course = w.courses["fire_safety"]
    enroll(
        session,
        w.manager,
        course_id=course.id,
        worker_ids=[org.workers_a[0].id, org.workers_b[0].id],
        now=NOW - timedelta(days=1),
    )
    start = datetime.combine((NOW + timedelta(days=1)).date(), datetime.min.time()).replace(hour=14)
    (live,) = schedule(
        session,
        w.manager,
        SessionPlan(
            course_id=course.id,
            first_day=start.date(),
            start=start.time(),
            end=(start + timedelta(hours=1)).time(),
            unit_id=org.comm_a.id,
        ),
        now=NOW,
    )
    events = [
        _event(org, org.grids_a[0], "A-REG", EventState.REGISTERED, accepted_at=NOW - timedelta(hours=2)),
        _event(org, org.grids_a[1], "A-REP", EventState.REPORTED),
        _event(org, org.grids_b[0], "B-REG", EventState.REGISTERED, accepted_at=NOW - timedelta(hours=2)),
    ]
    session.add_all(events)
    scheme = ScoringScheme(code="t", version=1, name_zh="测", name_en="t", definition="{}", is_active=False)
    session.add(scheme)
    session.flush()
    snap = ScorecardSnapshot(
        period="2020-05",
        revision=1,
        scheme_id=scheme.id,
        scheme_code="t",
        scheme_version=1,
        workers_scored=2,
        computed_at=NOW,
    )
    session.add(snap)
    session.flush()
    session.add_all(
        [
            ScorecardEntry(
                snapshot_id=snap.id,
                worker_id=wk.id,
                total=90.0,
                base=90.0,
                bonus=0.0,
                deduction=0.0,
                grade="优秀",
                rank=1,
                coverage=1.0,
                prorated=False,
            )
            for wk in (org.workers_a[0], org.workers_b[0])
        ]
    )
    session.add_all(
        [
            AssignmentDecision(
                task_id=f"event:{99 + i}",
                kind="event",
                chosen_worker_id=wk.id,
                community_id=wk.community_id,
                preset="routine",
                decided_at=NOW,
            )
            for i, wk in enumerate((org.workers_a[0], org.workers_b[0]))
        ]
    )
    keys = {}
    for name, unit, ops in (
        ("district", None, OPERATIONS),
        ("comm_a", org.comm_a.id, OPERATIONS),
        ("comm_b", org.comm_b.id, OPERATIONS),
        ("reader", None, ("events.read",)),
    ):
        _, keys[name] = create_client(session, SYSTEM, name=name, scope_unit_id=unit, operations=ops)
    session.commit()
    return ApiWorld(org, keys, live.id, {e.event_no: e.id for e in events}, engine)


@pytest.fixture
def api(api_world: ApiWorld) -> Iterator[Callable[[str | None], TestClient]]:
    made: list[TestClient] = []

    def make(who: str | None) -> TestClient:
        c = api_world.client(who)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def live_session(session: Session, world: ApiWorld) -> TrainingSession:
    return session.get(TrainingSession, world.live_session)
