"""Demo or production: what kind of instance this process is, and the start-up check that keeps them apart.

A demo instance (``GRIDWISE_DEMO=true``) shows the simulated district, whose accounts share a published
password. A production instance (the default) must never run beside such accounts: the Streamlit server
(ui/server.py), the API (api/app.py) and ``gridwise scheduler`` call ``check_instance`` when they start and
refuse to run, naming what to do, while the database holds any demo account, or while the data key (contact
data sealed at rest, core.sealed) or the audit key (the audit trail's chain, core.audit_chain) is not
configured: a demo generates them into var/, a production instance is given them (kept apart from the database
and its backups), so that a key is never born silently beside the data it protects.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.errors import GridwiseError
from core.models import User
from core.settings import get_settings


class InstanceRefused(GridwiseError):
    """This process must not serve this database (the message says why and what to do)."""


def demo_mode() -> bool:
    return get_settings().demo


def demo_account_count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(User).where(User.is_demo)).one())


def _configured(value: str, file: str) -> bool:
    """A key given in the environment, or a key file named in settings that holds one."""
    if value.strip():
        return True
    try:
        return bool(file) and bool(Path(file).read_text(encoding="ascii").strip())
    except (OSError, UnicodeDecodeError):
        return False


def missing_keys() -> list[str]:
    """The keys a production instance needs and was not given (their settings' names)."""
    s = get_settings()
    missing = []
    if not _configured(s.data_key, s.data_key_file):
        missing.append("GRIDWISE_DATA_KEY")
    if not _configured(s.audit_key, s.audit_key_file):
        missing.append("GRIDWISE_AUDIT_KEY")
    return missing


def check_instance(engine: Engine) -> None:
    """Raise ``InstanceRefused`` when a production instance (demo mode off) finds demo accounts in its
    database (a database not yet migrated holds none), or was not given its data key and audit key."""
    if demo_mode():
        return
    if inspect(engine).has_table(User.__tablename__):
        with Session(engine) as session:
            count = demo_account_count(session)
        if count:
            raise InstanceRefused("auth.err.demo_accounts_present", count=count)
    if missing := missing_keys():
        raise InstanceRefused("auth.err.keys_missing", keys=", ".join(missing))


def refuse_seed_outside_demo() -> None:
    """``seed-demo`` fills only a demo instance."""
    if not demo_mode():
        raise InstanceRefused("auth.err.demo_off")
