"""Online backup and restore of the SQLite database."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import text
from sqlmodel import Session, func, select

from core.backup import backup, restore
from core.db import make_engine
from core.migrate import import_all_models
from core.models import OrgLevel, Role, Worker
from core.scope import Viewer
from evaluation.scoring.service import scorecards
from tests.factories import make_org

DISTRICT = Viewer(user_id=0, role=Role.MANAGER, scope_level=OrgLevel.DISTRICT, scope_unit_id=None)


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


def _cards(url: str, period: str) -> pd.DataFrame:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            view = scorecards(s, DISTRICT, period)
            return view.cards.sort_values("worker_id").reset_index(drop=True)
    finally:
        engine.dispose()


def test_restored_demo_yields_identical_scorecards(demo_db_url, tmp_path):
    """Test that a backup of the demo district, restored after its field figures and attendance were damaged,
    scores every worker exactly as before (and that the damage did change the scores, so the test can fail)."""
    period = "2020-06"
    before = _cards(demo_db_url, period)
    target = backup(demo_db_url, tmp_path / "demo-backup.db")

    engine = make_engine(demo_db_url)
    with engine.begin() as conn:  # damage: drop half of June's imported figures and all attendance
        conn.execute(text("DELETE FROM field_metric_value WHERE period = :p AND id % 2 = 0"), {"p": period})
        conn.execute(text("DELETE FROM course_attendance"))
    engine.dispose()
    damaged = _cards(demo_db_url, period)
    assert not damaged[["worker_id", "total"]].equals(before[["worker_id", "total"]])

    restore(demo_db_url, target)
    after = _cards(demo_db_url, period)
    pd.testing.assert_frame_equal(after, before)
