"""ensure_default_scheme when another process creates the first scheme at the same moment: the caller's
transaction is left alone (no rollback of what it wrote before), and the scheme it gets is the one row v1."""

from __future__ import annotations

import pytest
from sqlalchemy import false
from sqlmodel import Session, select

import evaluation.scoring.store as store
from core.models import AppSetting
from evaluation.scoring.models_scoring import ScoringScheme
from evaluation.scoring.scheme import default_scheme


def _other_process_creates_v1(session: Session) -> None:
    s = default_scheme()
    with Session(session.get_bind()) as other:  # its own connection and transaction, committed
        other.add(
            ScoringScheme(
                code=s.code,
                version=1,
                name_zh=s.name_zh,
                name_en=s.name_en,
                definition=s.to_json(),
                is_active=True,
            )
        )
        other.commit()


def _blind_first_lookups(monkeypatch: pytest.MonkeyPatch, n: int = 2) -> None:
    """The failure injected: ensure_default_scheme's first two reads ran before the other process committed
    (they see no scheme), so it goes on to create version 1 itself and meets the other's row."""
    calls = {"n": 0}
    real = store.select

    def select(*entities):  # noqa: ANN202
        query = real(*entities)
        calls["n"] += 1
        return query.where(false()) if calls["n"] <= n else query

    monkeypatch.setattr(store, "select", select)


def test_the_callers_earlier_writes_survive_the_race(session, monkeypatch):
    """Test that a write the caller made before (flushed, uncommitted) is still there after the race, commits
    with the caller's unit of work, and exactly one version 1 exists."""
    _other_process_creates_v1(session)
    session.add(AppSetting(key="caller_wrote_this", value="1"))
    session.flush()
    _blind_first_lookups(monkeypatch)

    row = store.ensure_default_scheme(session)

    assert row.version == 1 and row.is_active
    assert session.get(AppSetting, "caller_wrote_this") is not None  # not rolled back
    session.commit()
    with Session(session.get_bind()) as fresh:
        assert fresh.get(AppSetting, "caller_wrote_this") is not None
        assert len(fresh.exec(select(ScoringScheme).where(ScoringScheme.version == 1)).all()) == 1


def test_without_a_race_the_default_is_created_in_the_callers_transaction(session):
    """Test that the first call creates version 1 inside the caller's transaction (nothing committed)."""
    row = store.ensure_default_scheme(session)
    assert row.version == 1 and row.is_active
    session.rollback()  # the caller's unit of work fails: the default goes with it
    assert session.exec(select(ScoringScheme)).first() is None
