"""Channel secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) keyed by ``GRIDWISE_SECRET_KEY``, and the
masked forms that pages, audit entries and logs show instead."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from cryptography.fernet import Fernet, InvalidToken

from core.errors import GridwiseError
from core.settings import get_settings

GENERATE = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


class SecretKeyError(GridwiseError):
    prefix = "notify.err."


def _fernet() -> Fernet:
    key = get_settings().secret_key.strip()
    if not key:
        raise SecretKeyError("no_secret_key", command=GENERATE)
    try:
        return Fernet(key.encode())
    except (ValueError, TypeError):
        raise SecretKeyError("bad_secret_key", command=GENERATE) from None


def key_ready() -> bool:
    """Whether channel secrets can be saved (GRIDWISE_SECRET_KEY is set to a valid key)."""
    try:
        _fernet()
    except SecretKeyError:
        return False
    return True


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretKeyError("wrong_secret_key") from None


def mask(value: str) -> str:
    """``"SECabcdef123456"`` → ``"SEC…56"``: enough to tell two secrets apart, never enough to use one."""
    if not value:
        return ""
    if len(value) <= 8:
        return "…"
    return f"{value[:3]}…{value[-2:]}"


_TOKENISH = re.compile(r"[A-Za-z0-9_\-]{16,}")


def mask_url(url: str) -> str:
    """A URL with its credentials hidden: the password, every query value and long path tokens
    (``…/bot/v2/hook/<token>``) are masked, the host stays readable."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}{':***' if parts.password else ''}@{netloc}"
    path = "/".join(mask(seg) if _TOKENISH.fullmatch(seg) else seg for seg in parts.path.split("/"))
    query = "&".join(
        f"{k}={v if k in ('from', 'test_to', 'cafile') else mask(v)}"
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    )
    return urlunsplit((parts.scheme, netloc, path, query, ""))
