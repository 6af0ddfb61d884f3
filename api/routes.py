"""/api/v1: events in, attendance and roster in; recommendations, decisions, scorecards and training out.

Every endpoint is thin: check the caller (context.allow), open the request's one unit of work, call the
same domain function the pages and the CLI call, shape the answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session, col, select

from api import pagination
from api.context import Call, allow
from api.errors import ApiError, catalog_error, not_found, refused_rows
from api.fields import FilterTime, known_query_only
from api.idempotency import run_once
from api.schemas import (
    AttendanceIn,
    AttendanceWritten,
    BatchWritten,
    DecisionPage,
    ErrorOut,
    EventAction,
    EventBatch,
    EventIn,
    EventOut,
    EventPage,
    EventWritten,
    Recommendations,
    ScorecardPage,
    TaskPage,
    Training,
    WorkerIn,
    WorkersIn,
    WorkersWritten,
)
from api.tables import to_csv
from core.models import Worker
from core.scope import ScopeError
from core.worker_import import commit_worker_import, preview_worker_import
from courses.attendance import register
from courses.attendance_import import commit_platform_import, preview_platform_import
from courses.learner import worker_training
from evaluation import sync
from evaluation.assignment.explain import exclusion_reasons, explain
from evaluation.assignment.rank import load_presets, preset_for_priority
from evaluation.assignment.service import AssignmentError, load_context, recommend, task_queue
from evaluation.field.event_upsert import upsert_event
from evaluation.field.events import transition
from evaluation.field.imports import ImportRefused, import_file
from evaluation.field.models import Event
from evaluation.scoring.snapshots import latest_snapshot, snapshot_frames
from evaluation.triage.reports import item_for_text, keep_report_text

router = APIRouter(prefix="/api/v1", dependencies=[Depends(known_query_only)])
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorOut} for s in (400, 401, 403, 404, 409, 413, 422, 429, 500, 503)
}
IdemKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        pattern=r"^[\x20-\x7e]+$",
        description="retry-safe key (≤128 chars), "
        "stored per client: the same key again returns the first response",
    ),
]
EVENT_COLUMNS = list(EventIn.model_fields)


def _clean(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    return value


def _records(frame: pd.DataFrame, columns: list[str] | None = None) -> list[dict[str, Any]]:
    frame = frame[columns] if columns is not None else frame
    return [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _event_out(event: Event) -> dict[str, Any]:
    return EventOut.model_validate(event).model_dump(mode="json")


def _write(
    call: Call,
    raw: bytes,
    key: str | None,
    work: Callable[[Session], tuple[int, dict[str, Any]]],
    *,
    entity: str,
    entity_id: object,
    detail: dict[str, Any] | None = None,
) -> JSONResponse:
    """A write: the request's unit of work, ``work(session)`` run once per Idempotency-Key, its answer."""
    with call.unit_of_work(entity=entity, entity_id=entity_id, detail=detail) as session:
        status, out, replayed = run_once(
            session,
            client_id=call.caller.client_id,
            key=key,
            method=call.request.method,
            path=call.request.url.path,
            body=raw,
            work=lambda: work(session),
            defer=call.defer,
        )
    return JSONResponse(
        out, status_code=status, headers={"Idempotent-Replayed": "true"} if replayed else None
    )


async def _raw(request: Request) -> bytes:
    return await request.body()


def _import_events(session: Session, call: Call, items: list[dict[str, Any]], name: str):  # noqa: ANN202

    try:  # a refused row raises, and the request's unit of work rolls back whatever was written
        return import_file(
            session, call.viewer, "events", to_csv(items, EVENT_COLUMNS), name, recompute_figures=False
        )
    except ImportRefused as refused:
        raise refused_rows(refused.report.errors, "events") from refused


# --- events in ------------------------------------------------------------------------------------------


@router.post(
    "/events",
    response_model=EventWritten,
    status_code=201,
    responses={
        **ERRORS,
        200: {"model": EventWritten, "description": "An existing event was updated (or was already so)"},
        201: {"model": EventWritten, "description": "The event was created"},
    },
    tags=["events"],
    summary="Create or update one event (upsert by event_no, the events import's rules)",
)
def put_event(
    *,
    body: EventIn,
    raw: Annotated[bytes, Depends(_raw)],
    idempotency_key: IdemKey = None,
    call: Annotated[Call, Depends(allow("events.write"))],
) -> JSONResponse:
    """The event's state follows from its timestamps exactly as in the events import (the same rules,
    applied to this one event without a file). 201 when created, 200 when an existing event was updated
    or was already so. One audit entry per request (api.events.write)."""

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        raw, suggestion = body.model_dump(exclude={"text"}), None
        if body.item is None:  # text only: the item is suggested from it (evaluation.triage), unconfirmed
            if not (body.text or "").strip():
                raise ApiError(
                    422,
                    "item_or_text",
                    "give the item, or the text to suggest it from",
                    "请给出事项，或给出可识别事项的文字",
                    field="item",
                )
            raw["item"], suggestion = item_for_text(session, event_no=body.event_no, text=body.text or "")
        try:  # the import's rules on the one row, without building a file (evaluation.field.event_upsert)
            done = upsert_event(session, call.viewer, raw, source=f"api-{call.caller.name}")
        except ImportRefused as refused:
            raise refused_rows(refused.report.errors, "events", single=True) from refused
        if body.text:
            keep_report_text(session, done.event, text=body.text, suggestion=suggestion)
        written = EventWritten(
            created=done.status == "added",
            changed=done.status == "changed",
            event=EventOut.model_validate(done.event if body.text else done.row),
        )
        return (201 if written.created else 200), written.model_dump(mode="json")

    return _write(call, raw, idempotency_key, work, entity="event", entity_id=body.event_no)


@router.post(
    "/events/batch",
    response_model=BatchWritten,
    responses=ERRORS,
    tags=["events"],
    summary="Upload many events at once: all or nothing, with row errors like the file import",
)
def put_events(
    *,
    body: EventBatch,
    request: Request,
    raw: Annotated[bytes, Depends(_raw)],
    idempotency_key: IdemKey = None,
    call: Annotated[Call, Depends(allow("events.write"))],
) -> JSONResponse:
    limit = request.app.state.limits.max_batch
    if len(body.events) > limit:
        raise catalog_error(
            413,
            "batch_too_large",
            "api.error.batch_too_large",
            field="events",
            n=len(body.events),
            limit=limit,
        )

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        rows, texts = [], {}
        for e in body.events:  # an event sent with text and no item takes the suggestion, unconfirmed
            row = e.model_dump(exclude={"text"})
            if e.text and e.text.strip():
                suggestion = None
                if e.item is None:
                    row["item"], suggestion = item_for_text(session, event_no=e.event_no, text=e.text)
                texts[e.event_no] = (e.text, suggestion)
            rows.append(row)
        report = _import_events(session, call, rows, f"api-{call.caller.name}-batch.csv")
        if texts:
            with_text = session.exec(select(Event).where(col(Event.event_no).in_(list(texts)))).all()
            for event in with_text:
                text, suggestion = texts[event.event_no]
                keep_report_text(session, event, text=text, suggestion=suggestion)
        written = BatchWritten(
            rows_read=report.rows_read, added=report.added, changed=report.changed, unchanged=report.unchanged
        )
        return 200, written.model_dump(mode="json")

    return _write(call, raw, idempotency_key, work, entity="events", entity_id=f"{len(body.events)} events")


@router.post(
    "/events/{event_no}/actions",
    response_model=EventOut,
    responses=ERRORS,
    tags=["events"],
    summary="Apply a step of the event's closed loop (accept, register, dispatch, check_pass, rate …)",
)
def act_on_event(
    *,
    body: EventAction,
    event_no: str = Path(max_length=40),
    raw: Annotated[bytes, Depends(_raw)],
    idempotency_key: IdemKey = None,
    call: Annotated[Call, Depends(allow("events.write"))],
) -> JSONResponse:
    def work(session: Session) -> tuple[int, dict[str, Any]]:
        event = _event(session, call, event_no)
        assignee = None
        if body.assignee_no:
            try:
                worker = sync.worker_by_no(session, call.viewer, body.assignee_no)
            except ScopeError:
                worker = None
            if worker is None:
                raise catalog_error(
                    422,
                    "unknown_worker",
                    "api.error.unknown_worker",
                    field="assignee_no",
                    ident=body.assignee_no,
                )
            assignee = worker.id
        done = transition(
            session,
            call.viewer,
            event_id=event.id or 0,
            action=body.action,
            note=body.note,
            satisfaction=body.satisfaction,
            extend_hours=body.extend_hours,
            assignee_id=assignee,
        )
        return 200, _event_out(done)

    return _write(
        call, raw, idempotency_key, work, entity="event", entity_id=event_no, detail={"action": body.action}
    )


def _event(session: Session, call: Call, event_no: str) -> Event:
    try:
        event = sync.event_by_no(session, call.viewer, event_no)
    except ScopeError:
        event = None
    if event is None:
        raise not_found("event", event_no, field="event_no")
    return event


@router.get("/events/{event_no}", response_model=EventOut, responses=ERRORS, tags=["events"])
def get_event(
    *, event_no: str = Path(max_length=40), call: Annotated[Call, Depends(allow("events.read"))]
) -> dict[str, Any]:
    with call.unit_of_work(entity="event", entity_id=event_no) as session:
        return _event_out(_event(session, call, event_no))


@router.get(
    "/events",
    response_model=EventPage,
    responses=ERRORS,
    tags=["events"],
    summary="Events in scope ordered by (updated_at, id), for incremental sync",
)
def list_events(
    *,
    request: Request,
    updated_since: FilterTime | None = None,
    cursor: str | None = None,
    limit: int = Query(100, ge=1, le=500),
    call: Annotated[Call, Depends(allow("events.read"))],
) -> dict[str, Any]:
    with call.unit_of_work() as session:
        rows = sync.events_page(
            session, call.viewer, updated_since=updated_since, after=pagination.decode(cursor), limit=limit
        )
        items = [_event_out(e) for e in rows]
    nxt = pagination.encode(rows[-1].updated_at, rows[-1].id or 0) if len(rows) == limit else None
    return {"items": items, "next_cursor": nxt}


# --- attendance and roster in ---------------------------------------------------------------------------


@router.post(
    "/attendance",
    response_model=AttendanceWritten,
    responses=ERRORS,
    tags=["training"],
    summary="A meeting platform's join/leave records for one training session",
)
def put_attendance(
    *,
    body: AttendanceIn,
    raw: Annotated[bytes, Depends(_raw)],
    idempotency_key: IdemKey = None,
    call: Annotated[Call, Depends(allow("attendance.write"))],
) -> JSONResponse:
    def work(session: Session) -> tuple[int, dict[str, Any]]:
        data = to_csv(
            [p.model_dump() for p in body.participants], ["employee_no", "name", "join_at", "leave_at"]
        )
        if register(session, call.viewer, body.session_id).empty:  # before any rule that would tell it exists
            raise not_found("session", body.session_id, field="session_id")
        try:
            preview = preview_platform_import(
                session,
                call.viewer,
                session_id=body.session_id,
                data=data,
                filename=f"api-{call.caller.name}-attendance.csv",
            )
        except ScopeError as exc:  # no seat of the client's workers there: not there, as far as it may know
            raise not_found("session", body.session_id, field="session_id") from exc
        if not preview.ok:
            raise refused_rows(preview.errors, "participants")
        changed = commit_platform_import(session, call.viewer, preview)
        written = AttendanceWritten.model_validate(
            {
                "changed": changed,
                "matched": _records(preview.matched),
                "unmatched": preview.unmatched,
                "ambiguous": preview.ambiguous,
            }
        )
        return 200, written.model_dump(mode="json")

    return _write(call, raw, idempotency_key, work, entity="session", entity_id=body.session_id)


@router.post(
    "/workers",
    response_model=WorkersWritten,
    responses=ERRORS,
    tags=["workers"],
    summary="Roster upserts by employee number (all or nothing, as the roster import)",
)
def put_workers(
    *,
    body: WorkersIn,
    raw: Annotated[bytes, Depends(_raw)],
    idempotency_key: IdemKey = None,
    call: Annotated[Call, Depends(allow("workers.write"))],
) -> JSONResponse:
    def work(session: Session) -> tuple[int, dict[str, Any]]:
        data = to_csv([w.model_dump() for w in body.workers], list(WorkerIn.model_fields))
        preview = preview_worker_import(session, call.viewer, data, f"api-{call.caller.name}-workers.csv")
        if not preview.ok:
            raise refused_rows(preview.errors, "roster")
        added, updated = commit_worker_import(session, call.viewer, preview)
        written = WorkersWritten(
            rows_read=preview.rows_read, added=added, updated=updated, unchanged=preview.unchanged
        )
        return 200, written.model_dump(mode="json")

    return _write(
        call, raw, idempotency_key, work, entity="workers", entity_id=f"{len(body.workers)} workers"
    )


# --- out: tasks, recommendations, decisions -------------------------------------------------------------


@router.get(
    "/tasks",
    response_model=TaskPage,
    responses=ERRORS,
    tags=["dispatch"],
    summary="Open tasks in scope (events, verification tasks, overdue patrols), by task id",
)
def list_tasks(
    *,
    cursor: str | None = None,
    limit: int = Query(100, ge=1, le=500),
    call: Annotated[Call, Depends(allow("recommendations.read"))],
) -> dict[str, Any]:
    with call.unit_of_work() as session:
        queue = task_queue(session, call.viewer)
    cols = [
        "task_id",
        "kind",
        "item_code",
        "category_code",
        "priority",
        "community_id",
        "due_at",
        "assignee_id",
        "title_zh",
        "title_en",
    ]
    queue = queue.assign(
        _kind=queue["task_id"].str.split(":").str[0], _n=pd.to_numeric(queue["task_id"].str.split(":").str[1])
    ).sort_values(["_kind", "_n"])
    if cursor:
        kind, _, n = cursor.partition(":")
        if not (n.isascii() and n.isdigit()):
            raise catalog_error(400, "bad_cursor", "api.error.bad_cursor", field="cursor")
        queue = queue[(queue["_kind"] > kind) | ((queue["_kind"] == kind) & (queue["_n"] > int(n)))]
    page = queue.head(limit)
    nxt = str(page["task_id"].iloc[-1]) if len(queue) > limit else None
    return {"items": _records(page, cols), "next_cursor": nxt}


@router.get(
    "/tasks/{task_id}/recommendations",
    response_model=Recommendations,
    responses=ERRORS,
    tags=["dispatch"],
    summary="Ranked candidates for an open task with their reasons, as the dispatch page shows them",
)
def recommendations(
    *,
    task_id: str = Path(
        max_length=40, pattern=r"^(event|verification|patrol):[0-9]{1,9}$", examples=["event:12"]
    ),
    preset: str | None = Query(None, description="routine | urgent | complex …; default by priority"),
    limit: int = Query(10, ge=1, le=100),
    call: Annotated[Call, Depends(allow("recommendations.read"))],
) -> dict[str, Any]:
    if preset is not None and preset not in load_presets():
        raise catalog_error(
            422,
            "unknown_preset",
            "api.error.unknown_preset",
            field="preset",
            preset=preset,
            choices=", ".join(sorted(load_presets())),
        )
    with call.unit_of_work(entity="task", entity_id=task_id) as session:
        ctx = load_context(session, call.viewer)
        try:
            task, ranked, excluded = recommend(session, call.viewer, task_id, preset or "routine", ctx=ctx)
        except AssignmentError as exc:  # no open task of that id in the client's scope: "not there"
            if exc.key != "assign.error.no_task":
                raise
            raise not_found("task", task_id, field="task_id") from exc
        chosen = preset or preset_for_priority(task["priority"]).code
        if chosen != (preset or "routine"):  # the page's default: the preset of the task's priority
            task, ranked, excluded = recommend(session, call.viewer, task_id, chosen, ctx=ctx, task=task)
        top = ranked.head(limit)
        candidates = [
            {
                "rank": int(r["rank"]),
                "worker_id": int(r["worker_id"]),
                "employee_no": _clean(r["employee_no"]),
                "name": _clean(r["name"]),
                "score": round(float(r["score"]), 2),
                "reasons_zh": zh,
                "reasons_en": en,
            }
            for (_, r), zh, en in zip(top.iterrows(), explain(top, "zh"), explain(top, "en"), strict=True)
        ]
        ex = excluded.head(limit)
        left_out = [
            {
                "worker_id": int(r["worker_id"]),
                "employee_no": _clean(r["employee_no"]),
                "name": _clean(r["name"]),
                "rule": _clean(r["rule"]),
                "reason_zh": zh,
                "reason_en": en,
            }
            for (_, r), zh, en in zip(
                ex.iterrows(), exclusion_reasons(ex, "zh"), exclusion_reasons(ex, "en"), strict=True
            )
        ]
    return {
        "task": {
            k: _clean(task.get(k))
            for k in (
                "task_id",
                "kind",
                "item_code",
                "priority",
                "community_id",
                "due_at",
                "assignee_id",
                "title_zh",
                "title_en",
            )
        },
        "preset": chosen,
        "candidates": candidates,
        "excluded": left_out,
    }


@router.get(
    "/decisions",
    response_model=DecisionPage,
    responses=ERRORS,
    tags=["dispatch"],
    summary="Assignment decisions in scope ordered by (decided_at, id)",
)
def list_decisions(
    *,
    updated_since: FilterTime | None = None,
    cursor: str | None = None,
    limit: int = Query(100, ge=1, le=500),
    call: Annotated[Call, Depends(allow("decisions.read"))],
) -> dict[str, Any]:
    with call.unit_of_work() as session:
        rows = sync.decisions_page(
            session, call.viewer, since=updated_since, after=pagination.decode(cursor), limit=limit
        )
        ids = {r.chosen_worker_id for r in rows} | {
            r.recommended_worker_id for r in rows if r.recommended_worker_id
        }
        numbers = (
            dict(session.exec(select(Worker.id, Worker.employee_no).where(col(Worker.id).in_(ids))).all())
            if ids
            else {}
        )
        items = [
            {
                **r.model_dump(),
                "chosen_employee_no": numbers.get(r.chosen_worker_id),
                "recommended_employee_no": numbers.get(r.recommended_worker_id or -1),
            }
            for r in rows
        ]
    nxt = pagination.encode(rows[-1].decided_at, rows[-1].id or 0) if len(rows) == limit else None
    return {"items": items, "next_cursor": nxt}


# --- out: scorecards and training ----------------------------------------------------------------------


@router.get(
    "/scorecards/{period}",
    response_model=ScorecardPage,
    responses=ERRORS,
    tags=["scores"],
    summary="The frozen scorecards of a month (its latest revision), workers in scope, by worker id",
)
def scorecards(
    *,
    period: str = Path(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", examples=["2020-06"]),
    cursor: str | None = None,
    limit: int = Query(100, ge=1, le=500),
    call: Annotated[Call, Depends(allow("scorecards.read"))],
) -> dict[str, Any]:
    with call.unit_of_work(entity="period", entity_id=period) as session:
        snap = latest_snapshot(session, period)
        if snap is None:
            raise catalog_error(404, "not_frozen", "api.error.not_frozen", field="period", ident=period)
        cards, comps = snapshot_frames(session, call.viewer, snap.id or 0)
        numbers = (
            dict(
                session.exec(
                    select(Worker.id, Worker.employee_no).where(
                        col(Worker.id).in_([int(w) for w in cards["worker_id"]])
                    )
                ).all()
            )
            if len(cards)
            else {}
        )
    cards = cards.sort_values("worker_id")
    if cursor:
        if not (cursor.isascii() and cursor.isdigit()):
            raise catalog_error(400, "bad_cursor", "api.error.bad_cursor", field="cursor")
        cards = cards[cards["worker_id"] > int(cursor)]
    page = cards.head(limit)
    by_worker = {
        w: _records(g.drop(columns="worker_id"))
        for w, g in comps[comps["worker_id"].isin(page["worker_id"])].groupby("worker_id")
    }
    items = [
        {
            **card,
            "employee_no": numbers.get(card["worker_id"]),
            "components": by_worker.get(card["worker_id"], []),
        }
        for card in _records(page)
    ]
    return {
        "period": period,
        "revision": snap.revision,
        "scheme_code": snap.scheme_code,
        "scheme_version": snap.scheme_version,
        "frozen_at": snap.computed_at,
        "items": items,
        "next_cursor": str(int(page["worker_id"].iloc[-1])) if len(cards) > limit else None,
    }


@router.get(
    "/workers/{employee_no}/training",
    response_model=Training,
    responses=ERRORS,
    tags=["training"],
    summary="A worker's courses: grade, attempts, certificate validity (as in the worker's My learning)",
)
def training(
    *, employee_no: str = Path(max_length=32), call: Annotated[Call, Depends(allow("training.read"))]
) -> dict[str, Any]:
    with call.unit_of_work(entity="worker", entity_id=employee_no) as session:
        try:
            worker = sync.worker_by_no(session, call.viewer, employee_no)
        except ScopeError:
            worker = None
        if worker is None:
            raise not_found("worker", employee_no, field="employee_no")
        courses = worker_training(session, call.viewer, worker_id=worker.id or 0)
    cols = [
        "code",
        "title_zh",
        "title_en",
        "skill_area",
        "grade",
        "attempts_used",
        "attempts_left",
        "certificate_valid",
        "certificate_valid_until",
        "quiz_due_at",
    ]
    return {
        "employee_no": worker.employee_no,
        "name": worker.name,
        "status": worker.status,
        "courses": _records(courses, cols) if len(courses) else [],
    }
