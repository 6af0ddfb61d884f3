"""Each user's notification choices: language, quiet hours, email/mobile, which channels reach them."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from sqlmodel import Session

from core import clock
from core.errors import GridwiseError
from core.i18n import LANGUAGES
from core.models import User, Worker
from core.notify.models import NotifyPreference
from core.scope import Viewer
from core.settings import get_settings

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MOBILE = re.compile(r"^\+?\d{6,15}$")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# Kinds that go out even in quiet hours: 督办 (supervision orders), a session starting within the hour and
# a cancelled session.
URGENT_KINDS = frozenset({"field_supervise", "remind1", "session_cancelled"})


def default_preference(user_id: int) -> NotifyPreference:
    return NotifyPreference(user_id=user_id, language=get_settings().default_language)


def preference(session: Session, viewer: Viewer) -> NotifyPreference:
    """The viewer's own choices (the defaults until they save some)."""
    return session.get(NotifyPreference, viewer.user_id) or default_preference(viewer.user_id)


def worker_phone(session: Session, viewer: Viewer) -> str:
    if viewer.worker_id is None:
        return ""
    worker = session.get(Worker, viewer.worker_id)
    return (worker.phone or "") if worker else ""


def save_preference(
    session: Session,
    viewer: Viewer,
    *,
    language: str,
    quiet_start: str,
    quiet_end: str,
    email: str = "",
    mobile: str = "",
    use_email: bool = True,
    use_sms: bool = True,
    use_group: bool = True,
    now: datetime | None = None,
) -> NotifyPreference:
    """Store the viewer's own choices (nobody sets another person's); bad input raises ValueError naming it."""
    if session.get(User, viewer.user_id) is None:
        raise GridwiseError("notify.err.prefs_need_account")
    email, mobile = email.strip(), mobile.strip().replace(" ", "").replace("-", "")
    if language not in LANGUAGES:
        raise GridwiseError("notify.err.prefs_language", language=language)
    for name, value in (("quiet_start", quiet_start), ("quiet_end", quiet_end)):
        if value and not HHMM.match(value):
            raise GridwiseError(f"notify.err.prefs_{name}", value=value)
    if bool(quiet_start) != bool(quiet_end):
        raise GridwiseError("notify.err.prefs_quiet_pair")
    if email and not EMAIL.match(email):
        raise GridwiseError("notify.err.prefs_email", email=email)
    if mobile and not MOBILE.match(mobile):
        raise GridwiseError("notify.err.prefs_mobile", mobile=mobile)
    pref = session.get(NotifyPreference, viewer.user_id) or NotifyPreference(user_id=viewer.user_id)
    pref.language, pref.quiet_start, pref.quiet_end = language, quiet_start, quiet_end
    pref.email, pref.mobile = email, mobile
    pref.use_email, pref.use_sms, pref.use_group = use_email, use_sms, use_group
    pref.updated_at = now or clock.now()
    session.add(pref)
    session.flush()
    return pref


def _hhmm(value: str) -> time:
    h, m = value.split(":")
    return time(int(h), int(m))


def quiet_until(quiet_start: str, quiet_end: str, at: datetime) -> datetime | None:
    """When the quiet hours around ``at`` end, or None when ``at`` is outside them (a window may span
    midnight: 22:00–07:00)."""
    if not quiet_start or not quiet_end or quiet_start == quiet_end:
        return None
    start, end = _hhmm(quiet_start), _hhmm(quiet_end)
    t = at.time()
    if start < end:
        inside = start <= t < end
        ends = datetime.combine(at.date(), end)
    else:
        inside = t >= start or t < end
        ends = datetime.combine(at.date() + (timedelta(days=1) if t >= start else timedelta()), end)
    return ends if inside else None
