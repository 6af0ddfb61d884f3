"""Contact data at rest: sealed (Fernet: AES-128-CBC + HMAC-SHA256) with ``GRIDWISE_DATA_KEY``, and a keyed
hash (HMAC-SHA256) beside it for look-ups, so the database file never holds a phone number or an e-mail
address in clear.

``Sealed`` is the column type of every contact column (``Field(sa_type=Sealed)``, declared ``contact`` in
the model's ``__data_classes__``): values are sealed when written and opened when read, so domain code sees
plain values and must mask them before showing (``core.privacy.mask_contact``). A stored value starts with
``s1:``; a value without it is a row written before sealing (migration 0013 seals those).

The key: ``GRIDWISE_DATA_KEY`` (a Fernet key; not the channel-secret key ``GRIDWISE_SECRET_KEY``). Left empty
(the demo and a developer's machine), a key is generated once into ``GRIDWISE_DATA_KEY_FILE`` (default
``var/data.key``, mode 0600) — outside the database, so a copy of the database alone reveals nothing. Keep
that file (or the setting) apart from database backups: without it sealed values are lost.
``gridwise privacy rotate-key`` re-seals everything under a new key in one transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from core.errors import GridwiseError
from core.settings import VAR_DIR, get_settings

PREFIX = "s1:"
GENERATE = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


class DataKeyError(GridwiseError):
    prefix = "privacy.err."


def key_file(setting: str, default_name: str) -> Path:
    return Path(setting) if setting else VAR_DIR / default_name


def read_or_create_key(path: Path) -> str:
    """The key in ``path``, generated (0600, atomically: two processes starting together agree) when absent."""
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(Fernet.generate_key().decode() + "\n")
    try:
        os.link(tmp, path)  # fails when another process made it first: theirs wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text(encoding="ascii").strip()


def data_key() -> str:
    s = get_settings()
    return s.data_key.strip() or read_or_create_key(key_file(s.data_key_file, "data.key"))


@lru_cache(maxsize=8)
def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except (ValueError, TypeError):
        raise DataKeyError("bad_data_key", command=GENERATE) from None


@lru_cache(maxsize=8)
def _hash_key(key: str) -> bytes:
    # A subkey for look-up hashes, derived so that the sealing key itself never serves as an HMAC key.
    return hmac.new(key.encode(), b"gridwise lookup hash v1", hashlib.sha256).digest()


def seal(plain: str | None, key: str | None = None) -> str | None:
    if plain is None or plain == "" or plain.startswith(PREFIX):
        return plain
    return PREFIX + _fernet(key or data_key()).encrypt(plain.encode()).decode()


def unseal(stored: str | None, key: str | None = None) -> str | None:
    if not stored or not stored.startswith(PREFIX):
        return stored
    try:
        return _fernet(key or data_key()).decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise DataKeyError("wrong_data_key") from None


def normalise(value: str) -> str:
    """What two spellings of one address share: no spaces or dashes, lower case."""
    return value.strip().replace(" ", "").replace("-", "").lower()


def lookup_hash(value: str | None, key: str | None = None) -> str | None:
    """The keyed hash of a contact value (64 hex characters; None for no value): equal values, equal hashes,
    and nobody without the key can test a guess against it."""
    if not value:
        return None
    return hmac.new(_hash_key(key or data_key()), normalise(value).encode(), hashlib.sha256).hexdigest()


class Sealed(TypeDecorator[str]):
    """A text column stored sealed (see the module docstring). Not comparable in SQL: look up by the hash."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return seal(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return unseal(value)
