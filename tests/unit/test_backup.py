"""Online backup and restore of the SQLite database."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from core.backup import backup, restore
from core.db import make_engine
from core.migrate import import_all_models
from core.models import Worker
from tests.factories import make_org


def test_backup_restore_round_trip(tmp_path):
    """Test that a backup taken with the app's engine open restores the same rows."""
    url = f"sqlite:///{tmp_path / 'live.db'}"
    engine = make_engine(url)
    import_all_models().create_all(engine)
    with Session(engine) as s:
        make_org(s)
        names = s.exec(select(Worker.name).order_by(Worker.id)).all()
    target = backup(url, tmp_path / "copy.db")
    with Session(engine) as s:
        s.delete(s.exec(select(Worker)).first())
        s.commit()
        assert s.exec(select(func.count(Worker.id))).one() == len(names) - 1
    engine.dispose()
    restore(url, target)
    engine = make_engine(url)
    with Session(engine) as s:
        assert s.exec(select(Worker.name).order_by(Worker.id)).all() == names
    engine.dispose()
    with pytest.raises(ValueError):
        backup(url, target)  # never overwrites an existing backup
    with pytest.raises(ValueError):
        backup("postgresql+psycopg://x@localhost/db", tmp_path / "pg.db")
