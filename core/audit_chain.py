"""The audit trail's tamper evidence: every row chained to the previous one by a keyed hash, a verifier
that names the first row changed, removed or inserted, archives of old rows that verify on their own and
leave an anchor the table's chain continues from, and (PostgreSQL) the grants and trigger that make the
table append-only.

The chain key is ``GRIDWISE_AUDIT_KEY`` (empty: generated once into ``var/audit.key``, 0600, outside the
database; keep it with the other keys, apart from backups). It never changes for an installation: archives
are verified with it. Somebody who can write the database but does not hold the key cannot forge a row.

Concurrency: on PostgreSQL the writer takes a transaction-scoped advisory lock before reading the chain
head, so two transactions never chain to the same row (the lock is held until commit: audited writes
serialise there); on SQLite an empty UPDATE takes the database's single write lock first.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, text
from sqlmodel import Session, col, select

from core import clock
from core.db import commit_with
from core.errors import GridwiseError, InternalError
from core.i18n import t
from core.models import AppSetting
from core.models_audit import AuditEntry
from core.sealed import key_file, read_or_create_key
from core.settings import get_settings
from core.sql import Statement, pipelined

ANCHOR = "audit_anchor"  # app_setting: the row_hash of the last archived row (the chain continues from it)
LOCK_ID = 7_420_190_19  # pg_advisory_xact_lock key of the chain head
ARCHIVE_KIND = "gridwise-audit-archive"


class AuditChainError(GridwiseError):
    prefix = "privacy.err."


def audit_key() -> bytes:
    s = get_settings()
    return _audit_key(s.audit_key, s.audit_key_file)


@lru_cache(maxsize=8)
def _audit_key(configured: str, file_setting: str) -> bytes:
    """The key for these settings, its file read (or made) once per process: it never changes for an
    installation, and every audited write hashes with it."""
    key = configured.strip() or read_or_create_key(key_file(file_setting, "audit.key"))
    return key.encode()


def _canonical(row: AuditEntry | dict[str, Any]) -> bytes:
    get = row.get if isinstance(row, dict) else (lambda k: getattr(row, k))
    at = get("at")
    at_text = at.isoformat(timespec="microseconds") if isinstance(at, datetime) else str(at)
    fields = [get(k) for k in ("user_id", "username", "action", "entity", "entity_id", "before", "after")]
    fields += [get("detail"), get("address") or "", get("prev_hash") or ""]
    return json.dumps([at_text, *fields], ensure_ascii=False, separators=(",", ":")).encode()


def row_digest(row: AuditEntry | dict[str, Any], key: bytes | None = None) -> str:
    """HMAC-SHA256 of the row's content and its ``prev_hash``."""
    return hmac.new(key or audit_key(), _canonical(row), hashlib.sha256).hexdigest()


def anchor(session: Session) -> str:
    setting = session.get(AppSetting, ANCHOR)
    return setting.value if setting else ""


_HEAD = text("SELECT row_hash FROM audit_log ORDER BY id DESC LIMIT 1")
# PostgreSQL: the lock and the head in one round trip, two statements of one simple query. The head is read
# by a statement of its own, so under READ COMMITTED its snapshot is taken after the lock was granted (a
# writer that held the lock has committed by then and its row is seen). One round trip fewer inside the
# section every audited write passes one at a time (lock granted → commit), where each round trip also
# waits for this process's GIL.
_PG_LOCK_AND_HEAD = (
    f"SELECT pg_advisory_xact_lock({LOCK_ID}); SELECT row_hash FROM audit_log ORDER BY id DESC LIMIT 1"
)
_SQLITE_WRITE_LOCK = text("UPDATE app_setting SET key = key WHERE 1 = 0")
_INSERT = AuditEntry.__table__.insert()  # type: ignore[attr-defined]  # SQLModel sets __table__
_PG_LOCK = text(f"SELECT pg_advisory_xact_lock({LOCK_ID})")
_COLUMNS = tuple(c.name for c in AuditEntry.__table__.columns if c.name != "id")  # type: ignore[attr-defined]
_INSERT_ID = _INSERT.values({c: bindparam(c) for c in _COLUMNS}).returning(  # the id back, every column bound
    AuditEntry.__table__.c.id  # type: ignore[attr-defined]
)


def _pg_locked_head(conn: Connection) -> str | None:
    dbapi = conn.connection.dbapi_connection
    if dbapi is None:  # pragma: no cover - a connection in use has its driver connection
        raise InternalError("no driver connection")
    cursor = dbapi.cursor()
    try:
        cursor.execute(_PG_LOCK_AND_HEAD)  # no parameters: the simple query protocol, both statements
        cursor.nextset()
        row = cursor.fetchone()
    finally:
        cursor.close()
    return row[0] if row is not None else None


def chain_head(session: Session) -> str:
    """The hash the next row chains to, taken under the chain lock (PostgreSQL) for this transaction."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        last = _pg_locked_head(conn)
    else:
        # SQLite: take the database's write lock before reading the head (the driver would otherwise read
        # outside any transaction and two writers could chain to the same row); it is held until commit.
        conn.execute(_SQLITE_WRITE_LOCK)
        last = conn.execute(_HEAD).scalar()
    return last if last is not None else anchor(session)


def seal_entry(
    session: Session, entry: AuditEntry, *, before: Sequence[Statement] = (), commit: bool = False
) -> AuditEntry:
    """Chain ``entry`` to the head and write it at once, on the session's connection (the next row of this
    transaction chains to it). A Core insert: the ORM's unit of work costs more than the rest of the row,
    and nothing else pending in the session is flushed by it. ``entry`` comes back with its id, not
    attached to the session (``seal_row``: the same for the row's values, without the model).

    ``before``: statements of the transaction whose results nobody needs, sent ahead of the chain lock;
    ``commit``: the entry is the unit of work's last write and commits with it (core.db.commit_with). On
    PostgreSQL that makes two round trips in all — (before…, lock, head), then (insert, COMMIT) — so the
    lock, which audited writes pass one at a time, is held for one round trip, not for the commit's disk
    write (core.db.commit_with releases it before the flush and waits for the flush after)."""
    row = seal_row(session, {c: getattr(entry, c) for c in _COLUMNS}, before=before, commit=commit)
    entry.prev_hash, entry.row_hash, entry.id = row["prev_hash"], row["row_hash"], row["id"]
    return entry


def seal_row(
    session: Session, row: dict[str, Any], *, before: Sequence[Statement] = (), commit: bool = False
) -> dict[str, Any]:
    """``seal_entry`` for an entry's column values (every column but ``id``; ``prev_hash`` and ``row_hash``
    are set here, and ``id`` once written): a caller that never reads the entry back (the API's call)
    builds no model for it, which costs more than hashing and writing the row."""
    conn = session.connection()
    if conn.dialect.name == "postgresql" and (before or commit):
        head = pipelined(session, [*before, (_PG_LOCK, {}), (_HEAD, {})])[-1]
        row["prev_hash"] = head[0][0] if head else anchor(session)
        row["row_hash"] = row_digest(row)
        insert = [(_INSERT_ID, {c: row[c] for c in _COLUMNS})]
        rows = commit_with(session, insert) if commit else pipelined(session, insert)
        row["id"] = rows[0][0][0]
        return row
    for stmt, params in before:
        conn.execute(stmt, dict(params))
    row["prev_hash"] = chain_head(session)
    row["row_hash"] = row_digest(row)
    result = conn.execute(_INSERT, {c: row[c] for c in _COLUMNS})
    row["id"] = result.inserted_primary_key[0]  # type: ignore[index]  # one row inserted, its key
    return row


@dataclass(frozen=True)
class Verdict:
    """What the verifier found, said by a catalog key (``privacy.audit.*``) and its parameters:
    ``message(lang)`` in the reader's language, ``str(verdict)`` in English (logs)."""

    ok: bool
    checked: int
    row_id: int | None = None  # the first row found wrong (or the first row after a gap)
    problem: str = ""  # "changed" | "removed" | "inserted" | ""
    key: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str) -> str:
        return t(self.key, lang, **self.params)

    def __str__(self) -> str:
        return self.message("en")


class AuditChainBroken(AuditChainError):
    """The chain is broken, so nothing was archived; the verifier's finding said in the reader's language."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        super().__init__("audit_broken", problem=verdict.message("en"))

    def message(self, lang: str) -> str:
        return t(self.prefix + self.key, lang, problem=self.verdict.message(lang))


def _check(rows: Iterable[dict[str, Any]], start: str, key: bytes) -> Verdict:
    prev, prev_id, n = start, None, 0
    for row in rows:
        rid = row["id"]
        if row["prev_hash"] != prev:
            if prev_id is None:
                return Verdict(False, n, rid, "removed", "privacy.audit.removed_before", {"row": rid})
            return Verdict(
                False, n, rid, "removed", "privacy.audit.removed_between", {"before": prev_id, "row": rid}
            )
        if row_digest(row, key) != row["row_hash"]:
            return Verdict(
                False,
                n,
                rid,
                "changed",
                "privacy.audit.changed",
                {"row": rid, "at": row["at"], "action": row["action"]},
            )
        prev, prev_id, n = row["row_hash"], rid, n + 1
    return Verdict(True, n, key="privacy.audit.verified", params={"n": n})


def _table_rows(session: Session) -> Iterator[dict[str, Any]]:
    stmt = select(AuditEntry).order_by(col(AuditEntry.id)).execution_options(yield_per=2000)
    for entry in session.exec(stmt):
        yield entry.model_dump()


def verify(session: Session) -> Verdict:
    """Walk the table's chain from the archive anchor: the first row changed, removed or inserted."""
    return _check(_table_rows(session), anchor(session), audit_key())


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.isoformat(timespec="microseconds") if isinstance(v, datetime) else v) for k, v in row.items()
    }


def _from_json(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "at": datetime.fromisoformat(row["at"])}


def verify_archive(path: Path) -> Verdict:
    """An archive file on its own: its rows chain from the anchor in its header to the hash it ends with."""
    with path.open(encoding="utf-8") as fh:
        header = json.loads(fh.readline())
        if header.get("kind") != ARCHIVE_KIND:
            return Verdict(
                False, 0, problem="changed", key="privacy.audit.not_archive", params={"path": path}
            )
        verdict = _check(
            (_from_json(json.loads(line)) for line in fh if line.strip()), header["anchor"], audit_key()
        )
    if verdict.ok and verdict.checked != header["rows"]:
        return Verdict(
            False,
            verdict.checked,
            None,
            "removed",
            "privacy.audit.rows_missing",
            {"rows": header["rows"], "checked": verdict.checked},
        )
    return verdict


def archive(
    session: Session, out_dir: Path, *, keep_days: int | None = None, now: datetime | None = None
) -> Path | None:
    """Move rows older than ``keep_days`` (setting ``audit_keep_days``, at least 180 by default) to a
    JSON-lines file in ``out_dir`` (0600, written and synced before any row leaves the table); the table's
    chain then continues from the anchor. Nothing to archive: None. Refuses a broken chain."""
    keep = get_settings().audit_keep_days if keep_days is None else keep_days
    cutoff = (now or clock.now()) - timedelta(days=keep)
    last_id = session.exec(
        select(AuditEntry.id).where(AuditEntry.at < cutoff).order_by(col(AuditEntry.id).desc()).limit(1)
    ).first()
    if last_id is None:
        return None
    start = anchor(session)
    rows = [
        r
        for r in _table_rows(session)
        if r["id"] <= last_id  # a prefix of the chain, in order
    ]
    verdict = _check(rows, start, audit_key())
    if not verdict.ok:
        raise AuditChainBroken(verdict)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"audit-{rows[0]['id']}-{rows[-1]['id']}.jsonl"
    # Written under a temporary name and renamed: a run that wrote the file and then failed before the rows
    # left the table is repeated by the next run, which writes the same rows (the same verified prefix of the
    # chain) under the same name.
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        header = {"kind": ARCHIVE_KIND, "anchor": start, "rows": len(rows), "last_hash": rows[-1]["row_hash"]}
        fh.write(json.dumps(header) + "\n")
        for r in rows:
            fh.write(json.dumps(_json_row(r), ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SET LOCAL gridwise.audit_archive = 'on'")
        )  # the append-only trigger's exception
    session.execute(text("DELETE FROM audit_log WHERE id <= :i"), {"i": last_id})
    setting = session.get(AppSetting, ANCHOR) or AppSetting(key=ANCHOR)
    setting.value = rows[-1]["row_hash"]
    session.add(setting)
    session.flush()
    return path


LOCK_DOWN_SQL = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('gridwise.audit_archive', true) = 'on' THEN
        RETURN OLD;  -- gridwise audit archive, after writing the rows to a verified file
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
"""


def lock_down(session: Session, role: str | None) -> None:
    """PostgreSQL: a trigger refusing UPDATE, DELETE and TRUNCATE of audit rows (for every role, the owner
    too), and for the application's ``role`` only INSERT and SELECT on the table."""
    if session.get_bind().dialect.name != "postgresql":
        raise AuditChainError("lock_down_postgres")
    session.execute(text(LOCK_DOWN_SQL))
    if role:
        quoted = '"' + role.replace('"', '""') + '"'
        session.execute(text(f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {quoted}"))
        session.execute(text(f"GRANT SELECT, INSERT ON audit_log TO {quoted}"))
        session.execute(text(f"GRANT USAGE, SELECT ON SEQUENCE audit_log_id_seq TO {quoted}"))
