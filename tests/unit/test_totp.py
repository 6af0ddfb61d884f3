"""The TOTP core (RFC 6238) and recovery codes (issue #18 item 3; domain only, not yet in the sign-in)."""

from __future__ import annotations

import base64

import pytest

from core.auth import hash_password
from core.errors import GridwiseError
from core.totp import begin_enrolment, confirm, current_step, totp, use_recovery_code, verify
from tests.factories import make_user

# RFC 6238 appendix B, SHA-1 secret "12345678901234567890": 8-digit codes, whose last 6 digits are ours.
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("unix_time", "code8"),
    [(59, "94287082"), (1111111109, "07081804"), (1234567890, "89005924"), (2000000000, "69279037")],
)
def test_codes_match_the_rfc_6238_test_vectors(unix_time, code8):
    """Test our TOTP against the RFC's published values (6-digit truncation of the same number)."""
    assert totp(RFC_SECRET, current_step(unix_time)) == code8[-6:]


def test_enrolment_verification_replay_and_recovery_codes(session):
    """Test enrolment with a first code, that the same code is refused a second time, that a code from
    the next step is accepted, and that each of the ten recovery codes works once."""
    user = make_user(session, "lee", hash_password("Harbour-lantern-42"))
    secret = begin_enrolment(session, user.id)
    t = 1_800_000_000
    with pytest.raises(GridwiseError):
        confirm(session, user.id, "000000" if totp(secret, current_step(t)) != "000000" else "111111")
    code = totp(secret, current_step())
    codes = confirm(session, user.id, code)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert not verify(session, user.id, code)  # replay within its window
    assert verify(session, user.id, totp(secret, current_step() + 1))
    assert use_recovery_code(session, user.id, codes[0]) and not use_recovery_code(session, user.id, codes[0])
    assert use_recovery_code(session, user.id, codes[1].upper())
    assert not use_recovery_code(session, user.id, "abcdef-123456")
    with pytest.raises(GridwiseError):
        begin_enrolment(session, user.id)  # already enrolled: a reset comes first
