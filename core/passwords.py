"""The password policy (等保 2.0 身份鉴别 a): length, character classes, not the username, not a common
password, not a recent one, and a maximum age. Settings ``GRIDWISE_PASSWORD_*`` (core.settings); every refusal
is a ``PasswordRefused`` with a catalog key (``auth.err.pw_*``), in zh and en."""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Iterable
from functools import lru_cache

from core.errors import GridwiseError
from core.settings import DATA_DIR, get_settings

COMMON_PASSWORDS = DATA_DIR / "common_passwords.txt"


class PasswordRefused(GridwiseError):
    """A new password the policy refuses (the message says which rule)."""


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of passwords refused as common (lower case; '#' lines are comments)."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


def character_classes(password: str) -> int:
    """How many of the four classes the password uses: lower case, capitals, digits, anything else."""
    return sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not (c.islower() or c.isupper() or c.isdigit()) for c in password),
        )
    )


def check_password(
    password: str,
    *,
    username: str,
    recent_hashes: Iterable[str] = (),
    verify: Callable[[str, str], bool] | None = None,
) -> None:
    """Raise ``PasswordRefused`` unless ``password`` satisfies the policy for the account ``username``;
    ``recent_hashes`` are the account's current and previous hashes, checked with ``verify(password, hash)``."""
    settings = get_settings()
    if len(password) < settings.password_min_length:
        raise PasswordRefused("auth.err.pw_too_short", min=settings.password_min_length)
    if character_classes(password) < settings.password_min_classes:
        raise PasswordRefused("auth.err.pw_classes", classes=settings.password_min_classes)
    name = username.strip().lower()
    if len(name) >= 3 and name in password.lower():
        raise PasswordRefused("auth.err.pw_contains_username")
    if password.lower() in common_passwords():
        raise PasswordRefused("auth.err.pw_common")
    if verify is not None and any(verify(password, h) for h in recent_hashes):
        raise PasswordRefused("auth.err.pw_reused", history=settings.password_history)


def policy_params() -> dict[str, int]:
    """The figures the form's explanation (``auth.pw_policy``) names."""
    s = get_settings()
    return {"min": s.password_min_length, "classes": s.password_min_classes, "history": s.password_history}


_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "Il1O0o")


def temporary_password() -> str:
    """A random password for an administrator's reset (shown once, changed at the next sign-in): 14
    characters (or the policy's minimum) in two halves joined by '-', with lower case, capitals and digits."""
    half = max(14, get_settings().password_min_length) // 2
    while True:
        pw = "-".join("".join(secrets.choice(_ALPHABET) for _ in range(half)) for _ in range(2))
        if character_classes(pw) == 4:
            return pw
