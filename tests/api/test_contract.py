"""The API keeps its document: times with their offset in and out, 200 and 201 where both happen, input a
platform can get wrong refused in the one shape with catalog messages in both languages, and "not yours"
answered exactly as "not there" (404) for every resource."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from api.config import ApiLimits
from api.errors import from_domain
from api.idempotency import run_once
from core.clock import now as clock_now
from core.models import Worker
from core.models_api import ApiClient, ApiIdempotency
from evaluation.field.models import Event
from tests.api.conftest import NOW, ApiWorld
from tests.api.test_api import ERROR_KEYS, _event

CJK = "\u4e00"


def _refused(r: Any, status: int, code: str) -> dict[str, Any]:
    body = r.json()
    assert r.status_code == status, body
    assert ERROR_KEYS <= set(body) and body["code"] == code, body
    assert any(ch >= CJK for ch in body["message_zh"]), body  # Chinese, not English behind a prefix
    assert body["message_en"].isascii() or "请" not in body["message_en"], body
    return body


# --- times ----------------------------------------------------------------------------------------------


def test_every_time_the_api_sends_carries_the_districts_offset(api, api_world) -> None:
    """Test that event times in a single read, a list, a created event and an action all end in +08:00."""
    c = api("comm_a")
    one = c.get("/api/v1/events/A-REG").json()
    assert one["reported_at"] == (NOW - timedelta(hours=3)).isoformat() + "+08:00"
    assert one["updated_at"].endswith("+08:00")
    listed = c.get("/api/v1/events").json()["items"]
    assert listed and all(e["reported_at"].endswith("+08:00") for e in listed)
    created = c.post("/api/v1/events", json=_event(api_world, "TZ-1")).json()["event"]
    assert created["reported_at"] == "2020-06-01T09:00:00+08:00"
    acted = c.post("/api/v1/events/A-REP/actions", json={"action": "accept"}).json()
    assert acted["accepted_at"].endswith("+08:00")
    decisions = c.get("/api/v1/decisions").json()["items"]
    assert decisions and all(d["decided_at"].endswith("+08:00") for d in decisions)
    assert c.get("/api/v1/scorecards/2020-05").json()["frozen_at"] == NOW.isoformat() + "+08:00"


def test_a_time_with_an_offset_is_converted_and_one_without_is_shanghai_time(api, api_world, session) -> None:
    """Test that 01:00Z is stored as 09:00 Shanghai wall-clock, and a naive 09:00 is taken as 09:00 there."""
    c = api("comm_a")
    utc = c.post("/api/v1/events", json=_event(api_world, "TZ-UTC", reported_at="2020-06-01T01:00:00Z"))
    naive = c.post("/api/v1/events", json=_event(api_world, "TZ-NAIVE", reported_at="2020-06-01T09:00:00"))
    assert (
        utc.json()["event"]["reported_at"]
        == naive.json()["event"]["reported_at"]
        == "2020-06-01T09:00:00+08:00"
    )
    session.expire_all()
    stored = session.exec(select(Event.reported_at).where(Event.event_no.in_(["TZ-UTC", "TZ-NAIVE"]))).all()
    assert stored == [datetime(2020, 6, 1, 9, 0)] * 2


def test_posting_an_event_answers_201_when_new_and_200_when_updated_as_documented(api, api_world) -> None:
    """Test that the first post of an event is 201, an update 200, and the document lists both."""
    c = api("comm_a")
    assert c.post("/api/v1/events", json=_event(api_world, "ST-1")).status_code == 201
    again = c.post("/api/v1/events", json=_event(api_world, "ST-1", location="别处"))
    assert again.status_code == 200 and again.json()["changed"] is True and again.json()["created"] is False
    doc = c.app.openapi()  # the served openapi.json is off unless GRIDWISE_API_DOCS
    assert {"200", "201"} <= set(doc["paths"]["/api/v1/events"]["post"]["responses"])


def test_no_operation_answers_with_an_untyped_object(api) -> None:
    """Test that every success response of every operation names a schema whose items are typed too."""
    doc = api("comm_a").app.openapi()
    schemas = doc["components"]["schemas"]

    def untyped(schema: dict[str, Any]) -> bool:
        if "$ref" in schema:
            return False
        if schema.get("type") == "array":
            return untyped(schema.get("items", {}))
        return schema.get("type") == "object" and not schema.get("properties")

    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status, resp in op["responses"].items():
                schema = resp.get("content", {}).get("application/json", {}).get("schema", {})
                assert schema, (method, path, status)
                assert not untyped(schema), (method, path, status)
    for name, schema in schemas.items():
        for field, prop in schema.get("properties", {}).items():
            for option in prop.get("anyOf", [prop]):
                assert not untyped(option), (name, field)


# --- input a platform can get wrong ---------------------------------------------------------------------


@pytest.mark.parametrize("when", ["1364-05-01T09:00:00", "5019-06-01T09:00:00+08:00", "1999-12-31T23:59:59"])
def test_a_time_outside_the_plausible_window_is_refused_in_both_languages(api, api_world, when: str) -> None:
    """Test that the year 1364, the year 5019 and the last second of 1999 are refused by the window, with
    the field named, not stored and not passed on to pandas."""
    r = api("comm_a").post("/api/v1/events", json=_event(api_world, "WIN-1", reported_at=when))
    body = _refused(r, 422, "invalid_request")
    assert body["errors"][0]["code"] == "invalid.time_window" and body["field"] == "reported_at"
    assert "允许范围" in body["message_zh"] and "window" in body["message_en"]
    assert "nanosecond" not in r.text


def test_a_time_more_than_a_day_ahead_is_refused_and_the_window_is_configurable(api_world) -> None:
    """Test that tomorrow-plus-an-hour is refused by default, and that an operator can move the window."""
    ahead = (clock_now() + timedelta(hours=25)).isoformat()
    r = api_world.client("comm_a").post("/api/v1/events", json=_event(api_world, "WIN-2", reported_at=ahead))
    assert r.json()["errors"][0]["code"] == "invalid.time_window"
    strict = api_world.client(
        "comm_a", limits=ApiLimits(rate_per_second=1000, burst=1000, earliest=datetime(2021, 1, 1))
    )
    late = strict.post("/api/v1/events", json=_event(api_world, "WIN-3"))  # 2020-06-01: now too early
    assert late.json()["errors"][0]["code"] == "invalid.time_window", late.text
    assert "2021-01-01" in late.json()["message_en"]


@pytest.mark.parametrize(
    ("change", "code", "zh"),
    [
        ({"event_no": "A\nB"}, "invalid.control_characters", "控制字符"),
        ({"event_no": "A\x1b[31mB"}, "invalid.control_characters", "控制字符"),
        ({"location": "路口\x00"}, "invalid.control_characters", "控制字符"),
        ({"event_no": "E" * 41}, "invalid.string_too_long", "超过 40 个字符"),
        ({"result": "长" * 501}, "invalid.string_too_long", "超过 500 个字符"),
        ({"reporter": "DP0001"}, "invalid.extra_forbidden", "不是本接口的字段"),
        ({"reported_at": "yesterday"}, "invalid.datetime", "不是有效的日期时间"),
        ({"lat": 123.0}, "invalid.range", "须≤ 90"),
    ],
)
def test_input_a_platform_gets_wrong_is_refused_with_a_catalog_message(
    api, api_world, session, change: dict[str, Any], code: str, zh: str
) -> None:
    """Test that control characters, over-long text, unknown fields, a non-time and an impossible latitude
    are each refused (422) naming the field, in Chinese and in English, and nothing is written."""
    body = _refused(
        api("comm_a").post("/api/v1/events", json=_event(api_world, "BAD-1", **change)),
        422,
        "invalid_request",
    )
    (err,) = body["errors"]
    assert err["code"] == code and err["field"] == next(iter(change)), err
    assert zh in err["message_zh"] and err["message_en"].startswith(next(iter(change))), err
    assert err["row"] is None and err["index"] is None  # one event on its own: no rows
    assert session.exec(select(Event).where(Event.event_no.startswith("BAD-"))).first() is None
    assert session.exec(select(Event).where(Event.event_no.startswith("A\n"))).first() is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/events?udpated_since=2020-06-01T00:00:00"),
        ("GET", "/api/v1/tasks?sort=due"),
        ("GET", "/api/v1/scorecards/2020-05?community=A"),
        ("POST", "/api/v1/events?dry_run=true"),
    ],
)
def test_a_query_parameter_the_operation_does_not_declare_is_refused(
    api, api_world, session, method: str, path: str
) -> None:
    """Test that a misspelt or unknown query parameter is refused (422, the parameter named, both
    languages) instead of being ignored, which would silently widen a read or skip a write's option."""
    name = path.split("?", 1)[1].split("=", 1)[0]
    body = _event(api_world, "QRY-1") if method == "POST" else None
    r = api("comm_a").request(method, path, json=body)
    refused = _refused(r, 422, "invalid_request")
    (err,) = refused["errors"]
    assert err["code"] == "invalid.extra_forbidden" and err["field"] == name, err
    assert "不是本接口的字段" in err["message_zh"] and err["message_en"].startswith(name), err
    assert session.exec(select(Event).where(Event.event_no == "QRY-1")).first() is None


@pytest.mark.parametrize("when", [1591002000, "1591002000", "0.66"])
def test_a_number_is_not_read_as_a_time(api, api_world, when: object) -> None:
    """Test that a number (or numeric text) for a time is refused, in a body and in a filter, rather than
    read as seconds since 1970 as pydantic's lax mode would."""
    c = api("comm_a")
    posted = _refused(
        c.post("/api/v1/events", json=_event(api_world, "NUM-1", reported_at=when)), 422, "invalid_request"
    )
    assert posted["errors"][0]["code"] == "invalid.datetime" and posted["field"] == "reported_at"
    listed = _refused(c.get("/api/v1/events", params={"updated_since": when}), 422, "invalid_request")
    assert listed["errors"][0]["code"] == "invalid.datetime" and listed["field"] == "updated_since"


def test_a_note_may_have_line_breaks_but_no_other_control_character(api, api_world) -> None:
    """Test that a multi-line note is accepted while an escape character in it is refused."""
    c = api("comm_a")
    ok = c.post("/api/v1/events/A-REP/actions", json={"action": "accept", "note": "第一行\n第二行"})
    assert ok.status_code == 200, ok.text
    bad = c.post("/api/v1/events/A-REG/actions", json={"action": "dispatch", "note": "x\x07"})
    assert _refused(bad, 422, "invalid_request")["errors"][0]["code"] == "invalid.control_characters"


def test_every_refusal_in_a_batch_is_numbered_as_a_file_row(api, api_world) -> None:
    """Test that a schema failure and an import-rule failure of the item at index 3 both say row 5."""
    c = api("comm_a")
    events = [_event(api_world, f"NUM-{i}") for i in range(5)]
    events[3]["event_no"] = "NUM\t3"
    schema = _refused(c.post("/api/v1/events/batch", json={"events": events}), 422, "invalid_request")
    events[3]["event_no"], events[3]["grid_code"] = "NUM-3", "no-such-grid"
    rules = _refused(c.post("/api/v1/events/batch", json={"events": events}), 422, "rows_refused")
    for body in (schema, rules):
        (err,) = body["errors"]
        assert (err["index"], err["row"]) == (3, 5) and body["row"] == 5, body
        assert "第 5 行" in err["message_zh"] and "Row 5" in err["message_en"]


# --- not yours = not there ------------------------------------------------------------------------------

MISSING_AND_THEIRS = [
    ("get event", "GET", "/api/v1/events/{}", None, ("NO-SUCH", "A-REG")),
    ("event action", "POST", "/api/v1/events/{}/actions", {"action": "accept"}, ("NO-SUCH", "A-REP")),
    ("training", "GET", "/api/v1/workers/{}/training", None, ("Z99", "A00")),
    ("recommendations", "GET", "/api/v1/tasks/{}/recommendations", None, ("event:999999", "event:{A-REG}")),
]


@pytest.mark.parametrize("case", MISSING_AND_THEIRS, ids=lambda c: c[0])
def test_a_record_of_another_scope_is_answered_as_one_that_does_not_exist(
    api, api_world: ApiWorld, case: tuple
) -> None:
    """Test that community B's key gets the same 404 (code, field, messages bar the id) for A's record as
    for a record nobody has, so it learns nothing about what exists elsewhere."""
    _, method, path, body, (missing, theirs) = case
    theirs = theirs.replace("{A-REG}", str(api_world.events["A-REG"]))
    c = api("comm_b")
    gone = _refused(c.request(method, path.format(missing), json=body), 404, "not_found")
    other = _refused(c.request(method, path.format(theirs), json=body), 404, "not_found")
    assert gone["field"] == other["field"]
    assert gone["message_en"].replace(missing, "?") == other["message_en"].replace(theirs, "?")
    assert gone["message_zh"].replace(missing, "?") == other["message_zh"].replace(theirs, "?")


def test_attendance_for_a_session_of_another_scope_is_answered_as_a_missing_one(api, api_world) -> None:
    """Test that posting attendance for A's session with B's key is the same 404 as for no session."""
    body = {
        "participants": [
            {"employee_no": "B00", "join_at": "2020-06-02T14:00", "leave_at": "2020-06-02T15:00"}
        ]
    }
    c = api("comm_b")
    gone = _refused(c.post("/api/v1/attendance", json={**body, "session_id": 999999}), 404, "not_found")
    other = _refused(
        c.post("/api/v1/attendance", json={**body, "session_id": api_world.live_session}), 404, "not_found"
    )
    assert gone["field"] == other["field"] == "session_id"


def test_an_out_of_scope_list_read_shows_nothing_of_the_other_scope(api, api_world) -> None:
    """Test that B's lists of events, tasks, decisions and scorecards hold none of A's records."""
    c = api("comm_b")
    a_ids = {api_world.events["A-REG"], api_world.events["A-REP"]}
    assert not a_ids & {e["id"] for e in c.get("/api/v1/events").json()["items"]}
    assert not {f"event:{i}" for i in a_ids} & {t["task_id"] for t in c.get("/api/v1/tasks").json()["items"]}
    assert "A00" not in {d["chosen_employee_no"] for d in c.get("/api/v1/decisions").json()["items"]}
    assert "A00" not in {s["employee_no"] for s in c.get("/api/v1/scorecards/2020-05").json()["items"]}


# --- the error handler and idempotency ------------------------------------------------------------------


def test_a_domain_refusal_keeps_its_catalog_key_and_both_languages() -> None:
    """Test that a GridwiseError keeps its key as the code with its zh and en catalog texts, and that an
    uncatalogued ValueError gets a Chinese sentence rather than English behind a Chinese prefix."""
    from evaluation.assignment.service import AssignmentError

    err = from_domain(AssignmentError("assign.error.no_task", task="event:1"))
    assert (err.status, err.code) == (409, "assign.error.no_task")
    assert "event:1" in err.message_zh and any(ch >= CJK for ch in err.message_zh)
    plain = from_domain(ValueError("something English"))
    assert plain.status == 400 and "something English" not in plain.message_zh
    assert not plain.message_zh.startswith("请求被拒绝：")


def test_a_taken_idempotency_key_does_not_roll_back_the_callers_earlier_writes(
    api_world: ApiWorld, session: Session
) -> None:
    """Test that replaying a stored key, and refusing a reused one, leave what the caller's transaction
    wrote before them in place (no rollback of the caller's session)."""
    from core.db import unit_of_work

    client = session.exec(select(ApiClient).where(ApiClient.name == "comm_a")).one()
    with unit_of_work(api_world.engine) as other:  # another request stored its answer under the key
        run_once(
            other,
            client_id=client.id,
            key="k1",
            method="POST",
            path="/p",
            body=b"x",
            work=lambda: (201, {"a": 1}),
        )
    grid = api_world.org.grids_a[0]
    session.add(
        Worker(
            employee_no="EARLY-1",
            name="先写",
            grid_id=grid.id,
            community_id=grid.parent_id,
            subdistrict_id=api_world.org.sub.id,
        )
    )
    session.flush()
    status, out, replayed = run_once(
        session, client_id=client.id, key="k1", method="POST", path="/p", body=b"x", work=lambda: (500, {})
    )
    assert (status, out, replayed) == (201, {"a": 1}, True)
    with pytest.raises(Exception, match="different request"):
        run_once(
            session,
            client_id=client.id,
            key="k1",
            method="POST",
            path="/p",
            body=b"y",
            work=lambda: (500, {}),
        )
    assert session.exec(select(Worker).where(Worker.employee_no == "EARLY-1")).one().name == "先写"
    session.commit()
    assert session.exec(select(Worker).where(Worker.employee_no == "EARLY-1")).first() is not None
    assert len(session.exec(select(ApiIdempotency).where(ApiIdempotency.key == "k1")).all()) == 1
