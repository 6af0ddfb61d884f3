"""Encrypted, verifiable backups of the whole database, SQLite or PostgreSQL.

Why a logical dump in Python rather than pg_dump / the SQLite file copy:
- one format for both databases: a backup of a pilot's SQLite file restores into the production PostgreSQL
  server (and back), and the restore drill loads any backup into a scratch SQLite file or PostgreSQL database;
- no dependence on a pg_dump binary whose major version must match the server's;
- the dump never exists in clear on disk: rows are compressed and encrypted as they are read.

Consistency: every table is read in ONE transaction that sees one snapshot (PostgreSQL REPEATABLE READ, read
only; SQLite a read transaction, which in WAL mode keeps its snapshot while the app goes on writing).

File format (``.gwbak``): ``MAGIC`` · a key id (8 bytes, from the key) · a random nonce prefix (7 bytes), then
chunks, each a 4-byte big-endian length and an AES-256-GCM ciphertext of at most ``CHUNK`` bytes of a zlib
stream. A chunk's nonce is the prefix, its 4-byte counter and a last-chunk flag, and the header is its
associated data, so a reordered, dropped, truncated or altered chunk, or a file made with another key, fails
authentication. The plain stream is JSON lines: the manifest (schema revision, tables, columns, row counts),
then per table a header line and one JSON array per row.

The key is the ``backup_key`` setting (GRIDWISE_BACKUP_KEY): 32 random bytes in URL-safe base64 (``gridwise
backup keygen`` prints one), never the application's ``secret_key``: a stolen database server does not give
away the backups, and a stolen backup is useless without the key kept elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import struct
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import (
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    Table,
    Time,
    select,
    text,
)
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session

from core.audit import record
from core.audit_chain import verify
from core.clock import now as clock_now
from core.db import is_sqlite, make_engine, unit_of_work
from core.errors import GridwiseError, InternalError
from core.migrate import FOREIGN_TABLES, alembic_config, import_all_models
from core.settings import get_settings

log = logging.getLogger(__name__)

MAGIC = b"GWBAK\x00\x01\n"  # format 1
CHUNK = 1 << 20  # plain bytes per encrypted chunk
BATCH = 2000  # rows per INSERT on restore
SUFFIX = ".gwbak"
SKIP_TABLES = FOREIGN_TABLES | {"alembic_version"}


class BackupError(GridwiseError):
    prefix = "backup.err."


# --- the key ------------------------------------------------------------------------------------------------


def generate_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def backup_key(raw: str | None = None) -> bytes:
    """The backup key from ``raw`` or the ``backup_key`` setting; refuses a missing, malformed or reused key."""
    settings = get_settings()
    raw = settings.backup_key if raw is None else raw
    if not raw.strip():
        raise BackupError("no_key")
    try:
        key = base64.urlsafe_b64decode(raw.strip().encode())
    except ValueError as exc:
        raise BackupError("bad_key") from exc
    if len(key) != 32:
        raise BackupError("bad_key")
    if settings.secret_key and raw.strip() == settings.secret_key.strip():
        raise BackupError("same_key")
    return key


def _key_id(key: bytes) -> bytes:
    return hmac.new(key, b"gridwise backup key id", hashlib.sha256).digest()[:8]


# --- encrypted stream ---------------------------------------------------------------------------------------


class _EncryptingWriter:
    """zlib-compress, then encrypt in CHUNK-sized authenticated pieces."""

    def __init__(self, out: IO[bytes], key: bytes) -> None:
        self.out, self.aead = out, AESGCM(key)
        self.prefix = secrets.token_bytes(7)
        self.header = MAGIC + _key_id(key) + self.prefix
        out.write(self.header)
        self.zip = zlib.compressobj(6)
        self.buf = bytearray()
        self.counter = 0

    def write(self, data: bytes) -> None:
        self.buf += self.zip.compress(data)
        while len(self.buf) > CHUNK:  # keep at least one byte back: the last chunk is flagged at close
            self._seal(bytes(self.buf[:CHUNK]), last=False)
            del self.buf[:CHUNK]

    def close(self) -> None:
        self.buf += self.zip.flush()
        while len(self.buf) > CHUNK:
            self._seal(bytes(self.buf[:CHUNK]), last=False)
            del self.buf[:CHUNK]
        self._seal(bytes(self.buf), last=True)

    def _seal(self, plain: bytes, *, last: bool) -> None:
        nonce = self.prefix + struct.pack(">IB", self.counter, 1 if last else 0)
        sealed = self.aead.encrypt(nonce, plain, self.header)
        self.out.write(struct.pack(">I", len(sealed)) + sealed)
        self.counter += 1


def _plain_chunks(src: IO[bytes], key: bytes) -> Iterator[bytes]:
    """The decrypted, decompressed stream of a backup file; BackupError on a wrong key or any damage."""
    header = src.read(len(MAGIC) + 8 + 7)
    if len(header) < len(MAGIC) + 15 or not header.startswith(MAGIC):
        raise BackupError("not_backup")
    if not hmac.compare_digest(header[len(MAGIC) : len(MAGIC) + 8], _key_id(key)):
        raise BackupError("wrong_key")
    prefix = header[-7:]
    aead, unzip = AESGCM(key), zlib.decompressobj()
    counter = 0
    while True:
        size_raw = src.read(4)
        if len(size_raw) < 4:
            raise BackupError("damaged")  # ended before the chunk flagged last
        (size,) = struct.unpack(">I", size_raw)
        sealed = src.read(size)
        plain, last = None, False
        for flag in (0, 1):
            try:
                plain = aead.decrypt(prefix + struct.pack(">IB", counter, flag), sealed, header)
                last = flag == 1
                break
            except InvalidTag:
                continue
        if plain is None:
            raise BackupError("damaged")
        counter += 1
        try:
            yield unzip.decompress(plain)
            if last:
                yield unzip.flush()
        except zlib.error as exc:
            raise BackupError("damaged") from exc
        if last:
            if src.read(1):
                raise BackupError("damaged")  # bytes after the last chunk
            return


def _lines(src: IO[bytes], key: bytes) -> Iterator[Any]:
    pending = b""
    for piece in _plain_chunks(src, key):
        pending += piece
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield json.loads(line)
    if pending.strip():
        yield json.loads(pending)


# --- values -------------------------------------------------------------------------------------------------


def _kind(column_type: Any) -> str:
    if isinstance(column_type, DateTime):
        return "dt"
    if isinstance(column_type, Date):
        return "d"
    if isinstance(column_type, Time):
        return "t"
    if isinstance(column_type, LargeBinary):
        return "b"
    if isinstance(column_type, Numeric) and not isinstance(column_type, Float) and column_type.asdecimal:
        return "dec"
    return ""


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date | dtime):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Decimal):
        return str(value)
    return value


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "dt": datetime.fromisoformat,
    "d": date.fromisoformat,
    "t": dtime.fromisoformat,
    "b": base64.b64decode,
    "dec": Decimal,
}


def _decoder(kind: str) -> Callable[[Any], Any] | None:
    return _DECODERS.get(kind)


# --- reading a consistent snapshot ---------------------------------------------------------------------------


def _snapshot(engine: Engine) -> Connection:
    """A connection inside one read-only transaction that sees one snapshot of every table."""
    if is_sqlite(engine):
        conn = engine.connect()
        conn.exec_driver_sql("BEGIN")  # pysqlite begins only before writes; a read transaction = a snapshot
        return conn
    conn = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
    return conn


def _tables(conn: Connection) -> list[Table]:
    meta = MetaData()
    meta.reflect(conn)
    return [t for t in meta.sorted_tables if t.name not in SKIP_TABLES]


def _revision(conn: Connection) -> str | None:
    try:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # noqa: BLE001 - a schema made by create_all (tests) has no alembic_version
        return None


@dataclass(frozen=True)
class BackupResult:
    path: Path
    bytes: int
    rows: int
    tables: int
    seconds: float
    manifest: dict[str, Any]


def write_backup(engine: Engine, target: Path, *, key: bytes | None = None) -> BackupResult:
    """Dump every table of ``engine``'s database, consistently, into the new encrypted file ``target``."""
    key = key or backup_key()
    target = Path(target)
    if target.exists():
        raise BackupError("exists", path=str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    partial = target.with_name(target.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    total = 0
    try:
        with os.fdopen(fd, "wb") as out:
            writer = _EncryptingWriter(out, key)
            conn = _snapshot(engine)
            try:
                tables = _tables(conn)
                counts = {
                    t.name: conn.execute(select(text("count(*)")).select_from(t)).scalar_one() for t in tables
                }
                manifest: dict[str, Any] = {
                    "format": 1,
                    "created_at": clock_now().isoformat(),
                    "dialect": engine.dialect.name,
                    "revision": _revision(conn),
                    "tables": {
                        t.name: {
                            "rows": counts[t.name],
                            "columns": [c.name for c in t.columns],
                            "kinds": [_kind(c.type) for c in t.columns],
                        }
                        for t in tables
                    },
                }
                writer.write(json.dumps({"manifest": manifest}, ensure_ascii=False).encode() + b"\n")
                for table in tables:
                    writer.write(json.dumps({"table": table.name}).encode() + b"\n")
                    order = list(table.primary_key.columns) or list(table.columns)
                    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(
                        select(table).order_by(*order)
                    )
                    written = 0
                    for part in result.partitions(BATCH):
                        lines = [
                            json.dumps([_encode(v) for v in row], ensure_ascii=False, separators=(",", ":"))
                            for row in part
                        ]
                        writer.write(("\n".join(lines) + "\n").encode())
                        written += len(part)
                    if written != counts[table.name]:  # the snapshot makes this impossible; say so if not
                        raise InternalError(
                            f"{table.name}: counted {counts[table.name]} rows, read {written}"
                        )
                    total += written
                writer.write(json.dumps({"end": total}).encode() + b"\n")
            finally:
                conn.rollback()
                conn.close()
            writer.close()
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupResult(
        target, target.stat().st_size, total, len(manifest["tables"]), time.perf_counter() - started, manifest
    )


# --- loading into an empty schema -----------------------------------------------------------------------------


def check_file(source: Path, *, key: bytes | None = None) -> dict[str, Any]:
    """Decrypt and authenticate the whole file without writing anything; returns its manifest."""
    key = key or backup_key()
    source = Path(source)
    if not source.is_file():
        raise BackupError("missing", path=str(source))
    manifest: dict[str, Any] | None = None
    with source.open("rb") as src:
        for item in _lines(src, key):
            if manifest is None:
                if not isinstance(item, dict) or "manifest" not in item:
                    raise BackupError("not_backup")
                manifest = item["manifest"]
    if manifest is None:
        raise BackupError("damaged")
    return manifest


def _make_schema(conn: Connection, revision: str | None) -> None:
    if revision is None:
        import_all_models().create_all(conn)
        return
    # alembic (~0.3 s to import) loads only when a restore builds a schema
    from alembic import command

    cfg = alembic_config(conn.engine.url.render_as_string(hide_password=False))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


def _upgrade_to_head(conn: Connection, revision: str | None) -> None:
    if revision is None:
        return
    # alembic (~0.3 s to import) loads only when a restore builds a schema
    from alembic import command

    cfg = alembic_config(conn.engine.url.render_as_string(hide_password=False))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


def _load(conn: Connection, source: Path, key: bytes) -> dict[str, int]:
    """Insert every row of the backup into the (empty) schema on ``conn``; returns rows per table."""
    manifest: dict[str, Any] = {}
    loaded: dict[str, int] = {}
    table: Table | None = None
    decoders: list[Callable[[Any], Any] | None] = []
    names: list[str] = []
    batch: list[dict[str, Any]] = []
    meta = MetaData()

    def flush() -> None:
        if table is not None and batch:
            conn.execute(table.insert(), batch)
            loaded[table.name] = loaded.get(table.name, 0) + len(batch)
            batch.clear()

    with source.open("rb") as src:
        for item in _lines(src, key):
            if isinstance(item, list):
                batch.append(
                    {
                        n: (d(v) if d is not None and v is not None else v)
                        for n, d, v in zip(names, decoders, item, strict=True)
                    }
                )
                if len(batch) >= BATCH:
                    flush()
            elif "manifest" in item:
                manifest = item["manifest"]
                _make_schema(conn, manifest["revision"])
                meta.reflect(conn)
            elif "table" in item:
                flush()
                name = item["table"]
                if name not in meta.tables:
                    raise BackupError("schema_mismatch", table=name)
                table = meta.tables[name]
                spec = manifest["tables"][name]
                names = spec["columns"]
                decoders = [_decoder(k) for k in spec["kinds"]]
                loaded.setdefault(name, 0)
        flush()
    expected = {n: spec["rows"] for n, spec in manifest["tables"].items()}
    if loaded != expected:
        raise BackupError("count_mismatch")
    if conn.dialect.name == "postgresql":
        _reset_sequences(conn, meta)
    _upgrade_to_head(conn, manifest["revision"])
    return loaded


def _reset_sequences(conn: Connection, meta: MetaData) -> None:
    for table in meta.sorted_tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, Integer):
            continue
        seq = conn.execute(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": f'"{table.name}"', "c": pk[0].name}
        ).scalar()
        if seq:
            conn.execute(
                text(
                    f'SELECT setval(:s, COALESCE((SELECT MAX("{pk[0].name}") FROM "{table.name}"), 0) + 1, false)'
                ),
                {"s": seq},
            )


def _drop_everything(conn: Connection) -> None:
    meta = MetaData()
    meta.reflect(conn)
    for table in reversed(meta.sorted_tables):
        if table.name not in FOREIGN_TABLES:
            table.drop(conn)


def _sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("memory_db")
    return Path(database)


def restore_into(url: str, source: Path, *, key: bytes | None = None) -> dict[str, int]:
    """Replace the database at ``url`` with the backup ``source`` (stop the app first).

    The whole file is authenticated first, so a wrong or missing key, or a damaged file, changes nothing.
    SQLite: built in a new file beside the database, then moved over it in one step. PostgreSQL: dropped,
    re-created and loaded in ONE transaction (PostgreSQL's DDL is transactional): all or nothing.
    """
    key = key or backup_key()
    source = Path(source)
    check_file(source, key=key)
    if is_sqlite(url):
        target = _sqlite_file(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.restore-", suffix=".db")
        os.close(fd)  # mkstemp made it 0600; SQLite keeps the mode
        tmp = Path(tmp_name)
        engine = make_engine(f"sqlite:///{tmp}")
        try:
            with engine.begin() as conn:
                loaded = _load(conn, source, key)
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
            for suffix in ("-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            os.replace(tmp, target)
        finally:
            engine.dispose()
            for path in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
                path.unlink(missing_ok=True)
        return loaded
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _drop_everything(conn)
            return _load(conn, source, key)
    finally:
        engine.dispose()


# --- the restore drill ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DrillResult:
    ok: bool
    scratch: str
    tables: int
    rows: int
    seconds: float
    mismatches: dict[str, tuple[int, int]]
    audit: str  # "ok", or the audit chain verifier's finding


def _audit_check(engine: Engine) -> str:
    """The audit chain's verdict on the restored copy: "ok", or where the chain breaks."""
    with Session(engine) as session:
        verdict = verify(session)
    return "ok" if verdict.ok else str(verdict)  # the drill's report is English, as the rest of it


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(text("count(*)")).select_from(t)).scalar_one() for t in _tables(conn)
        }


def drill(source: Path, *, url: str | None = None, key: bytes | None = None) -> DrillResult:
    """Restore ``source`` into a scratch database and compare it with the backup's manifest.

    The scratch database is a temporary SQLite file when the configured database is SQLite, and a new
    database on the same PostgreSQL server otherwise (dropped afterwards). Nothing else is touched.
    """
    key = key or backup_key()
    url = url or get_settings().database_url
    started = time.perf_counter()
    manifest = check_file(Path(source), key=key)
    expected = {n: spec["rows"] for n, spec in manifest["tables"].items()}
    if is_sqlite(url):
        with tempfile.TemporaryDirectory(prefix="gridwise-drill-") as tmp:
            scratch = f"sqlite:///{Path(tmp) / 'drill.db'}"
            restore_into(scratch, Path(source), key=key)
            engine = make_engine(scratch)
            try:
                found, audit = _counts(engine), _audit_check(engine)
            finally:
                engine.dispose()
            where = "temporary SQLite file"
    else:
        name = f"{make_url(url).database}_drill_{uuid.uuid4().hex[:8]}"
        admin = sa_create_engine(url, isolation_level="AUTOCOMMIT")
        scratch = make_url(url).set(database=name).render_as_string(hide_password=False)
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            restore_into(scratch, Path(source), key=key)
            engine = make_engine(scratch)
            try:
                found, audit = _counts(engine), _audit_check(engine)
            finally:
                engine.dispose()
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
        where = f"scratch PostgreSQL database {name} (dropped)"
    mismatches = {
        n: (expected.get(n, 0), found.get(n, 0))
        for n in set(expected) | set(found)
        if expected.get(n, 0) != found.get(n, 0) and n in expected
    }
    ok = not mismatches and audit == "ok"
    return DrillResult(
        ok, where, len(expected), sum(expected.values()), time.perf_counter() - started, mismatches, audit
    )


# --- the daily job and its retention ----------------------------------------------------------------------


def backup_dir() -> Path:
    return Path(get_settings().backup_dir)


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups (by name, which starts with the date) in ``directory``."""
    files = sorted(directory.glob(f"gridwise-*{SUFFIX}"))
    doomed = files[: max(0, len(files) - max(1, keep))]
    for path in doomed:
        path.unlink()
    return doomed


def daily_name(at: datetime) -> str:
    return f"gridwise-{at:%Y%m%d}{SUFFIX}"


def record_backup_action(engine: Engine, action: str, **detail: Any) -> None:
    """The audit entry of a backup, restore or drill (in the live database, its own unit of work)."""
    with unit_of_work(engine) as session:
        record(
            session,
            action,
            username="system",
            entity="backup",
            entity_id=detail.get("file", ""),
            detail=detail,
        )


def iter_backups(directory: Path) -> Iterable[Path]:
    return sorted(directory.glob(f"*{SUFFIX}"))
