"""Demo or production: what kind of instance this process is, and the start-up check that keeps them apart.

A demo instance (``GRIDWISE_DEMO=true``) shows the simulated district, whose accounts share a published
password. A production instance (the default) must never run beside such accounts: the Streamlit server
(ui/server.py), the API (api/app.py) and ``gridwise scheduler`` call ``check_instance`` when they start and
refuse to run, naming what to do, while the database holds any demo account.
"""

from __future__ import annotations

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


def check_instance(engine: Engine) -> None:
    """Raise ``InstanceRefused`` when a production instance (demo mode off) finds demo accounts in its
    database. A database not yet migrated holds none."""
    if demo_mode() or not inspect(engine).has_table(User.__tablename__):
        return
    with Session(engine) as session:
        count = demo_account_count(session)
    if count:
        raise InstanceRefused("auth.err.demo_accounts_present", count=count)


def refuse_seed_outside_demo() -> None:
    """``seed-demo`` fills only a demo instance."""
    if not demo_mode():
        raise InstanceRefused("auth.err.demo_off")
