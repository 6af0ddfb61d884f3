"""The person's rights (PIPL art. 44–47): see and download one's data, ask for a correction, be erased after
leaving, and be told what is done with one's data (the privacy notice).

"Everything Gridwise holds about a worker" is found from the schema, not from a hand-kept list: every table
with a column that references the worker (``worker.id``), and the account's own tables (a ``user_id`` that
references the account), so a table added later is in the export without an edit here. Credentials (password
hashes, tokens, secrets) are left out.

Erasure keeps the worker row and its id (scores, attendance, hours and the district's statistics stay as they
were, frozen monthly scorecards untouched) and removes what identifies the person: the name becomes
"已删除人员 #id", the employee number "ERASED-id", contact data and gender are cleared, the account is closed
and renamed, and every text column of every table that mentions the name, employee number or phone number
(free text, audit before/after) has it replaced by the pseudonym.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import pandas as pd
from sqlalchemy import (
    JSON,
    Enum,
    String,
    Text,
    TypeDecorator,
    and_,
    cast,
    func,
    literal,
    or_,
    union_all,
    update,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core import clock
from core.audit import record
from core.errors import GridwiseError, InternalError
from core.inbox import notify
from core.migrate import FOREIGN_TABLES, import_all_models
from core.models import OrgLevel, Role, User, Worker, WorkerStatus, row_id
from core.models_rights import CorrectionRequest, CorrectionStatus, PrivacyAcceptance, WorkerDeparture
from core.privacy import contact_columns
from core.scope import ScopeError, Viewer, worker_scope_clause
from core.settings import DATA_DIR, get_settings

NOTICE_FILE = DATA_DIR / "privacy" / "notice.json"
CORRECTION_FIELDS = ("name", "phone", "grid", "hire_date", "training", "score", "task", "other")
SECRET_PARTS = ("password", "secret", "token", "hash", "totp")
SKIP_EXPORT = {"audit_log", "web_session", *FOREIGN_TABLES}
PSEUDONYM = "已删除人员 #{id}"
AUDIT_TABLE = "audit_log"
SYSTEM = Viewer(
    user_id=0, role=Role.SYSADMIN, scope_level=OrgLevel.DISTRICT, scope_unit_id=None, display_name="system"
)


class RightsError(GridwiseError):
    prefix = "rights.err."


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return None
    return value


def _secret(name: str) -> bool:
    return any(part in name.lower() for part in SECRET_PARTS)


# --- 我的数据 ------------------------------------------------------------------------------------------------


def _refs(table: Any, target: str) -> list[Any]:
    return [c for c in table.columns if any(fk.column.table.name == target for fk in c.foreign_keys)]


def exported_tables() -> list[Any]:
    """The tables 我的数据 reads: the worker's record, the account, and every table referring to either."""
    return [
        table
        for table in import_all_models().sorted_tables
        if table.name not in SKIP_EXPORT
        and (
            table.name in ("worker", "app_user")
            or _refs(table, "worker")
            or any(c.name == "user_id" for c in _refs(table, "app_user"))
        )
    ]


def exported_columns(table: Any) -> list[Any]:
    """A table's columns in 我的数据: all but credentials."""
    return [c for c in table.columns if not _secret(c.name)]


def _mine(table: Any, viewer: Viewer) -> Any:
    """The rows of ``table`` that are about the signed-in worker: their record, their account, or a row
    referring to either."""
    if table.name == "worker":
        return table.c.id == viewer.worker_id
    if table.name == "app_user":
        return table.c.id == viewer.user_id
    return or_(
        *[c == viewer.worker_id for c in _refs(table, "worker")],
        *[c == viewer.user_id for c in _refs(table, "app_user") if c.name == "user_id"],
    )


def _own_worker(viewer: Viewer) -> None:
    if viewer.worker_id is None:
        raise RightsError("no_worker")


def my_data_counts(session: Session, viewer: Viewer) -> dict[str, int]:
    """How many rows each table holds about the signed-in worker (tables holding none left out), in one query:
    what 我的数据 shows before a table is opened, and what its download's audit row names."""
    _own_worker(viewer)
    counts = [
        sa_select(literal(table.name).label("name"), func.count().label("n"))
        .select_from(table)
        .where(_mine(table, viewer))
        for table in exported_tables()
    ]
    held = dict(session.execute(union_all(*counts)).tuples().all())
    return {table.name: held[table.name] for table in exported_tables() if held.get(table.name)}


def my_data_rows(session: Session, viewer: Viewer, table_name: str) -> list[dict[str, Any]]:
    """Every row of one table about the signed-in worker, as JSON-ready data, credentials left out."""
    _own_worker(viewer)
    table = import_all_models().tables[table_name]
    if table not in exported_tables():
        raise InternalError(f"{table_name} is not a table of 我的数据")
    cols = exported_columns(table)
    order = list(table.primary_key.columns) or cols[:1]
    rows = session.execute(sa_select(*cols).where(_mine(table, viewer)).order_by(*order)).mappings()
    return [{k: _json_safe(v) for k, v in r.items()} for r in rows]


def my_data(session: Session, viewer: Viewer) -> dict[str, Any]:
    """Everything stored about the signed-in worker: their record, their account, and every row of every table
    that refers to them, as JSON-ready data (``tables``: name → list of rows)."""
    _own_worker(viewer)
    out: dict[str, Any] = {
        "generated_at": clock.now().isoformat(),
        "worker_id": viewer.worker_id,
        "tables": {},
    }
    for table in exported_tables():
        rows = my_data_rows(session, viewer, table.name)
        if rows:
            out["tables"][table.name] = rows
    return out


def my_data_file(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")


def record_my_data_download(session: Session, viewer: Viewer, counts: dict[str, int]) -> None:
    """The audit row of a 我的数据 download: what was handed out (tables and row counts, my_data_counts), not
    the data."""
    record(
        session,
        "rights.export",
        viewer=viewer,
        entity="worker",
        entity_id=viewer.worker_id,
        detail={"tables": counts},
    )


# How 我的数据 names a row that one of its columns points to (that row's zh and en columns), and the id
# columns that point to a table without declaring a foreign key.
NAMED_BY: dict[str, tuple[str, str]] = {
    "org_unit": ("name_zh", "name_en"),
    "worker": ("name", "name"),
    "app_user": ("display_name", "display_name"),
    "course": ("title_zh", "title_en"),
    "training_session": ("title_zh", "title_en"),  # or its course's title, with the start (below)
    "course_lesson": ("title_zh", "title_en"),
    "course_enrollment_rule": ("kind", "kind"),
    "quiz_attempt": ("number", "started_at"),
    "training_hours": ("credited_on", "credited_on"),
    "training_evidence": ("filename", "filename"),
    "field_rental_building": ("address", "address"),
    "field_metric": ("name_zh", "name_en"),
    "served_scorecard": ("period", "period"),
    "scorecard_snapshot": ("period", "period"),
    "notification": ("title_zh", "title_en"),
    "notify_channel": ("name", "name"),
}
IMPLIED_REFS = {
    "community_id": "org_unit",
    "subdistrict_id": "org_unit",
    "assigned_by": "app_user",
    "graded_by": "app_user",
}


def referenced(table: str, column: str) -> tuple[str, str] | None:
    """The table and key column that ``table.column`` points to, or None when it holds no reference."""
    found = import_all_models().tables[table].c.get(column)
    for fk in found.foreign_keys if found is not None else ():
        return fk.column.table.name, fk.column.name
    return (IMPLIED_REFS[column], "id") if column in IMPLIED_REFS else None


def my_data_names(session: Session, data: dict[str, Any]) -> dict[str, dict[Any, tuple[Any, Any]]]:
    """What the rows 我的数据 points to are called: target table → key → (zh, en) of its NAMED_BY columns,
    so the page can show a grid, a course or a manager by name instead of an internal id."""
    wanted: dict[tuple[str, str], set[Any]] = {}
    for table, rows in data["tables"].items():
        for column in rows[0] if rows else ():
            points_to = referenced(table, column)
            if points_to is not None and points_to[0] in NAMED_BY:
                wanted.setdefault(points_to, set()).update(r[column] for r in rows if r[column] is not None)
    out: dict[str, dict[Any, tuple[Any, Any]]] = {}
    tables = import_all_models().tables
    for (target, key), ids in wanted.items():
        named = tables[target]
        zh, en = NAMED_BY[target]
        query = sa_select(named.c[key], named.c[zh], named.c[en]).where(named.c[key].in_(sorted(ids)))
        out.setdefault(target, {}).update({k: (a, b) for k, a, b in session.execute(query)})
    if (
        "training_session" in out
    ):  # a session is its course and when it began: "消防安全隐患排查 2020-01-30 14:30"
        sessions, courses = tables["training_session"], tables["course"]
        query = (
            sa_select(sessions.c.id, sessions.c.start_at, courses.c.title_zh, courses.c.title_en)
            .join(courses, courses.c.id == sessions.c.course_id)
            .where(sessions.c.id.in_(list(out["training_session"])))
        )
        for key, start, zh, en in session.execute(query):
            own_zh, own_en = out["training_session"][key]
            when = f"{start:%Y-%m-%d %H:%M}" if start else ""
            out["training_session"][key] = (
                f"{own_zh or zh} {when}".strip(),
                f"{own_en or en} {when}".strip(),
            )
    return out


# --- correction requests -------------------------------------------------------------------------------------


def _managers_of(session: Session, worker: Worker) -> list[int]:
    units = [worker.community_id, worker.subdistrict_id, worker.grid_id]
    ids = session.exec(
        select(User.id).where(
            col(User.is_active),
            User.role == Role.MANAGER.value,
            or_(col(User.scope_unit_id).in_(units), col(User.scope_unit_id).is_(None)),
        )
    ).all()
    if not ids:
        ids = session.exec(select(User.id).where(col(User.is_active), User.role == Role.SYSADMIN.value)).all()
    return [i for i in ids if i is not None]


def request_correction(
    session: Session, viewer: Viewer, *, field: str, message: str, now: datetime | None = None
) -> CorrectionRequest:
    """A worker asks for their data to be corrected; the managers in charge of them get an inbox notice."""
    if viewer.worker_id is None or viewer.role != Role.WORKER:
        raise RightsError("no_worker")
    if field not in CORRECTION_FIELDS:
        raise RightsError("bad_field")
    message = message.strip()
    if not 4 <= len(message) <= 1000:
        raise RightsError("bad_message")
    worker = session.get(Worker, viewer.worker_id)
    if worker is None:
        raise RightsError("no_worker")
    at = now or clock.now()
    req = CorrectionRequest(worker_id=viewer.worker_id, user_id=viewer.user_id, field=field, message=message)
    req.created_at = at
    session.add(req)
    session.flush()
    rid = row_id(req.id)
    notify(
        session,
        [
            {
                "key": f"correction:{rid}:{uid}",
                "kind": "privacy_correction",
                "title_zh": f"{worker.name} 申请更正个人信息（{rid} 号）",
                "title_en": f"{worker.name} asks for a correction of their data (no. {rid})",
                "body_zh": message[:200],
                "body_en": message[:200],
                "link": f"pages/corrections.py?request={rid}",
                "created_at": at,
                "user_id": uid,
            }
            for uid in _managers_of(session, worker)
        ],
        now=at,
    )
    record(
        session,
        "rights.correction_request",
        viewer=viewer,
        entity="correction_request",
        entity_id=rid,
        after={"field": field, "length": len(message)},
    )
    return req


def _frame(rows: list[Any], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([dict(r) for r in rows], columns=columns)


CORRECTION_COLUMNS = [
    "id",
    "worker_id",
    "employee_no",
    "worker_name",
    "field",
    "message",
    "status",
    "answer_note",
    "created_at",
    "answered_at",
]


def corrections(session: Session, viewer: Viewer, *, open_only: bool = False) -> pd.DataFrame:
    """Correction requests of the workers in the viewer's scope (a worker: their own), newest first."""
    q: Any = (
        sa_select(
            col(CorrectionRequest.id),
            col(CorrectionRequest.worker_id),
            col(Worker.employee_no),
            col(Worker.name).label("worker_name"),
            col(CorrectionRequest.field),
            col(CorrectionRequest.message),
            col(CorrectionRequest.status),
            col(CorrectionRequest.answer_note),
            col(CorrectionRequest.created_at),
            col(CorrectionRequest.answered_at),
        )
        .join(Worker, col(Worker.id) == col(CorrectionRequest.worker_id))
        .where(worker_scope_clause(viewer))
        .order_by(col(CorrectionRequest.id).desc())
    )
    if open_only:
        q = q.where(col(CorrectionRequest.status) == CorrectionStatus.OPEN.value)
    return _frame(list(session.execute(q).mappings().all()), CORRECTION_COLUMNS)


def answer_correction(
    session: Session,
    viewer: Viewer,
    request_id: int,
    *,
    accept: bool,
    note: str,
    now: datetime | None = None,
) -> CorrectionRequest:
    """A manager in scope accepts or declines a request with a note; the worker is told in their inbox."""
    if not viewer.is_manager:
        raise ScopeError("scope.err.not_allowed")
    req = session.get(CorrectionRequest, request_id)
    if req is None:
        raise RightsError("no_request")
    in_scope = session.exec(
        select(Worker.id).where(Worker.id == req.worker_id, worker_scope_clause(viewer))
    ).first()
    if in_scope is None:
        raise RightsError("no_request")  # out of scope looks like absent
    if req.status != CorrectionStatus.OPEN.value:
        raise RightsError("already_answered")
    note = note.strip()
    if not accept and len(note) < 2:
        raise RightsError("note_needed")
    at = now or clock.now()
    before = {"status": req.status}
    req.status = (CorrectionStatus.ACCEPTED if accept else CorrectionStatus.DECLINED).value
    req.answer_note = note[:1000]
    req.answered_by = viewer.user_id or None
    req.answered_at = at
    session.add(req)
    verdict_zh, verdict_en = ("已采纳", "accepted") if accept else ("未采纳", "declined")
    notify(
        session,
        [
            {
                "key": f"correction-answer:{request_id}",
                "kind": "privacy_correction_answer",
                "title_zh": f"您的更正申请（{request_id} 号）{verdict_zh}",
                "title_en": f"Your correction request (no. {request_id}) was {verdict_en}",
                "body_zh": note[:200],
                "body_en": note[:200],
                "link": "pages/my_data.py",
                "created_at": at,
                "worker_id": req.worker_id,
            }
        ],
        now=at,
    )
    record(
        session,
        "rights.correction_answer",
        viewer=viewer,
        entity="correction_request",
        entity_id=request_id,
        before=before,
        after={"status": req.status},
    )
    session.flush()
    return req


# --- erasure of departed workers -----------------------------------------------------------------------------


def _contains(dialect: str, column: Any, needle: str) -> Any:
    if dialect == "postgresql":
        return func.strpos(column, needle) > 0
    return func.instr(column, needle) > 0


def is_text(column_type: Any) -> bool:
    """A text column (String, Text, sqlmodel's AutoString, an enum stored as text)."""
    base = column_type.impl if isinstance(column_type, TypeDecorator) else column_type
    return isinstance(base, String) and not isinstance(base, Enum | JSON)


def _scrub_everywhere(session: Session, worker_id: int, replacements: list[tuple[str, str]]) -> int:
    """Replace each (old, new) in the text columns of every table; returns how many cells changed.

    Left alone: the audit trail (append-only and hash-chained; PIPL art. 47 para. 2 — logs the law requires to
    be kept (网络安全法 art. 21: at least six months) are only stored and protected until their retention ends,
    then archived by the audit retention job), the worker and account tables (their row is rewritten directly, and a namesake keeps their
    name), contact columns (encrypted per owner; the owner's are cleared), and in a table with a ``worker_id``
    the rows of other workers. Free text elsewhere (event notes, audit before/after) is scrubbed wherever the
    name appears: a namesake mentioned in free text loses the mention, never their record."""
    contact = contact_columns()
    dialect = session.get_bind().dialect.name
    changed = 0
    for table in import_all_models().sorted_tables:
        if table.name in FOREIGN_TABLES or table.name in ("worker", "app_user", AUDIT_TABLE):
            continue
        owner = table.c.get("worker_id")
        for column in table.columns:
            is_json = isinstance(column.type, JSON)
            if not (is_text(column.type) or is_json) or column.primary_key:
                continue
            if column.name in contact.get(table.name, []):
                continue
            for old, new in replacements:
                if is_json:
                    as_text = cast(column, Text)
                    value: Any = cast(func.replace(as_text, old, new), column.type)
                    where = _contains(dialect, as_text, old)
                else:
                    value, where = func.replace(column, old, new), _contains(dialect, column, old)
                if owner is not None:
                    where = and_(where, owner == worker_id)
                result = session.execute(update(table).where(where).values({column.name: value}))
                changed += int(getattr(result, "rowcount", 0) or 0)
    return changed


def erase_worker(
    session: Session, viewer: Viewer, worker_id: int, *, reason: str = "admin", now: datetime | None = None
) -> dict[str, int]:
    """Remove or pseudonymise a departed worker's personal data (administrators; the retention job)."""
    if not viewer.is_admin:
        raise ScopeError("scope.err.not_allowed")
    worker = session.get(Worker, worker_id)
    if worker is None:
        raise RightsError("no_worker")
    if worker.status != WorkerStatus.LEFT.value:
        raise RightsError("not_left")
    departure = session.get(WorkerDeparture, worker_id)
    if departure is not None and departure.erased_at is not None:
        raise RightsError("already_erased")
    at = now or clock.now()
    pseudonym = PSEUDONYM.format(id=worker_id)
    replacements: list[tuple[str, str]] = []
    for old in (worker.name, worker.phone, worker.employee_no):
        if old and len(old.strip()) >= 2:
            replacements.append((old, pseudonym))
            escaped = json.dumps(old)[1:-1]  # as it appears inside JSON written with ensure_ascii
            if escaped != old:
                replacements.append((escaped, pseudonym))
    users = session.exec(select(User).where(User.worker_id == worker_id)).all()
    for user in users:
        if user.display_name and len(user.display_name) >= 2 and user.display_name != worker.name:
            replacements.append((user.display_name, pseudonym))
        if user.username and len(user.username) >= 3:
            replacements.append((user.username, f"erased-{row_id(user.id)}"))
    # Longest first, so that a name inside a longer string is not replaced before the longer one.
    replacements.sort(key=lambda r: len(r[0]), reverse=True)
    session.flush()
    cells = _scrub_everywhere(session, worker_id, replacements)
    session.expire_all()
    worker = session.get(Worker, worker_id)
    assert worker is not None
    worker.name = pseudonym
    worker.employee_no = f"ERASED-{worker_id}"
    worker.phone = None
    worker.gender = None
    if hasattr(worker, "phone_hash"):
        worker.phone_hash = None
    worker.updated_at = at
    session.add(worker)
    for user in session.exec(select(User).where(User.worker_id == worker_id)).all():
        user.username = f"erased-{row_id(user.id)}"
        user.display_name = pseudonym
        user.is_active = False
        user.password_hash = "!erased"
        session.add(user)
    _clear_contact_rows(session, worker_id, [row_id(u.id) for u in users])
    if departure is None:
        departure = WorkerDeparture(worker_id=worker_id, left_seen_on=at.date())
    departure.erased_at, departure.erased_by, departure.erased_reason = at, viewer.user_id or None, reason
    session.add(departure)
    record(
        session,
        "rights.erase",
        viewer=viewer,
        entity="worker",
        entity_id=worker_id,
        detail={"reason": reason, "cells": cells, "accounts": len(users)},
    )
    session.flush()
    return {"cells": cells, "accounts": len(users)}


def _clear_contact_rows(session: Session, worker_id: int, user_ids: list[int]) -> None:
    """Contact columns (the inventory's ``contact`` class) of rows that belong to the person: emptied."""
    tables = import_all_models().tables
    for name, columns in contact_columns().items():
        table = tables.get(name)
        if table is None or name == "worker":
            continue
        owners = [c == worker_id for c in _refs(table, "worker")]
        owners += [c.in_(user_ids) for c in _refs(table, "app_user")] if user_ids else []
        if not owners:
            continue
        values = {c: (None if table.c[c].nullable else "") for c in columns}
        session.execute(update(table).where(or_(*owners)).values(values))


def departed_workers(session: Session, viewer: Viewer) -> pd.DataFrame:
    """Workers who left, with when they were first seen as left and whether they were erased (administrators)."""
    if not viewer.is_admin:
        raise ScopeError("scope.err.not_allowed")
    q: Any = (
        sa_select(
            col(Worker.id).label("worker_id"),
            col(Worker.employee_no),
            col(Worker.name),
            col(WorkerDeparture.left_seen_on),
            col(WorkerDeparture.erased_at),
        )
        .outerjoin(WorkerDeparture, col(WorkerDeparture.worker_id) == col(Worker.id))
        .where(col(Worker.status) == WorkerStatus.LEFT.value)
        .order_by(col(Worker.id))
    )
    return _frame(
        list(session.execute(q).mappings().all()),
        ["worker_id", "employee_no", "name", "left_seen_on", "erased_at"],
    )


def retention_sweep(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Start the retention clock of workers newly seen as left, stop it for those back at work, and erase those
    whose clock passed ``erase_after_days`` (0: never). The clock starts the first day the job sees a worker as
    left (never earlier than that: a database upgraded today erases nobody before the setting's days pass)."""
    at = now or clock.now()
    today = at.date()
    left = set(session.exec(select(Worker.id).where(Worker.status == WorkerStatus.LEFT.value)).all())
    known = {d.worker_id: d for d in session.exec(select(WorkerDeparture)).all()}
    started = 0
    for wid in sorted(i for i in left - set(known) if i is not None):
        session.add(WorkerDeparture(worker_id=wid, left_seen_on=today))
        started += 1
    stopped = 0
    for wid, dep in known.items():
        if wid not in left and dep.erased_at is None:
            session.delete(dep)
            stopped += 1
    session.flush()
    days = get_settings().erase_after_days
    erased = 0
    if days > 0:
        due = session.exec(
            select(WorkerDeparture.worker_id).where(
                col(WorkerDeparture.erased_at).is_(None),
                col(WorkerDeparture.left_seen_on) <= today - timedelta(days=days),
                col(WorkerDeparture.worker_id).in_(left),
            )
        ).all()
        for wid in due:
            erase_worker(session, SYSTEM, wid, reason="retention", now=at)
            erased += 1
    return {"started": started, "stopped": stopped, "erased": erased}


# --- the privacy notice ----------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def notice() -> dict[str, Any]:
    """The shipped privacy notice: ``version`` and per language ``title`` and ``body`` (Markdown)."""
    return json.loads(NOTICE_FILE.read_text(encoding="utf-8"))


def needs_notice(session: Session, viewer: Viewer) -> bool:
    """True when the signed-in user has not accepted the current version of the notice."""
    if not viewer.user_id:
        return False
    found = session.exec(
        select(PrivacyAcceptance.id).where(
            and_(
                col(PrivacyAcceptance.user_id) == viewer.user_id,
                col(PrivacyAcceptance.version) == notice()["version"],
            )
        )
    ).first()
    return found is None


def accept_notice(session: Session, viewer: Viewer, *, version: str, now: datetime | None = None) -> bool:
    """Record that the user accepted ``version`` (idempotent); returns whether it was new."""
    if version != notice()["version"]:
        raise RightsError("stale_notice")
    if not needs_notice(session, viewer):
        return False
    session.add(PrivacyAcceptance(user_id=viewer.user_id, version=version, accepted_at=now or clock.now()))
    record(session, "rights.notice_accept", viewer=viewer, entity="privacy_notice", entity_id=version)
    session.flush()
    return True


def accepted_versions(session: Session, viewer: Viewer) -> pd.DataFrame:
    rows = session.execute(
        sa_select(col(PrivacyAcceptance.version), col(PrivacyAcceptance.accepted_at))
        .where(col(PrivacyAcceptance.user_id) == viewer.user_id)
        .order_by(col(PrivacyAcceptance.accepted_at))
    ).mappings()
    return _frame(list(rows), ["version", "accepted_at"])


def seed_demo(ctx: Any) -> None:
    """Demo: the demo accounts have accepted the current notice (a real account is asked at first sign-in)."""
    session: Session = ctx.session
    version = notice()["version"]
    ids = session.exec(select(User.id).where(col(User.is_demo))).all()
    for uid in (i for i in ids if i is not None):
        session.add(PrivacyAcceptance(user_id=uid, version=version, accepted_at=clock.now()))
