"""`gridwise assign batch`: a dry run writes nothing, a real run assigns, a second run finds nothing left."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from core.cli import main
from core.db import get_engine
from evaluation.assignment.models import AssignmentDecision
from evaluation.field.models import Event
from evaluation.field.registry import field_now

NOW = datetime(2020, 9, 29, 9, 0)  # inside the demo's nine months: certificates are valid


def run_json(capsys: pytest.CaptureFixture[str], *args: str, now: datetime | None = NOW) -> dict:
    assert main(["assign", "batch", "--json", *(["--now", now.isoformat()] if now else []), *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_dry_run_then_commit_then_nothing_left(cli_db, capsys):
    """Test the batch from the command line against the demo district."""
    with Session(get_engine(cli_db)) as s:
        before = s.exec(text("SELECT count(*) FROM assignment_decision")).one()[0]
    dry = run_json(capsys, "--dry-run")
    assert dry["dry_run"] and dry["committed"] == 0 and dry["open_unassigned_tasks"] > 0
    assert dry["proposed"] == len(dry["assignments"]) > 0
    assert dry["proposed"] + sum(dry["unassigned"].values()) == dry["open_unassigned_tasks"]
    with Session(get_engine(cli_db)) as s:
        assert s.exec(text("SELECT count(*) FROM assignment_decision")).one()[0] == before
    done = run_json(capsys, "--user", "manager")
    assert done["committed"] == dry["proposed"] and done["skipped_already_assigned"] == 0
    with Session(get_engine(cli_db)) as s:
        cli = s.exec(select(AssignmentDecision).where(AssignmentDecision.source == "cli")).all()
        assert len(cli) == done["committed"]
        some = cli[0]
        event_id = int(some.task_id.split(":")[1]) if some.task_id.startswith("event:") else None
        if event_id is not None:
            event = s.get(Event, event_id)
            assert event.assignee_id == some.chosen_worker_id
            assert event.assign_reason_zh.startswith("批量派单推荐：")
    again = run_json(capsys, "--dry-run")
    assert again["open_unassigned_tasks"] == dry["open_unassigned_tasks"] - done["committed"]
    assert again["proposed"] == 0  # what was left had no candidate or no room, and now there is less room


def test_without_now_the_batch_runs_on_the_field_day(cli_db, capsys):
    """Test that with no --now the batch judges the tasks on the demo's field "today" (not the wall clock)
    and stamps its decisions with it."""
    with Session(get_engine(cli_db)) as s:
        as_of = field_now(s)
    assert as_of.year == 2020
    default = run_json(capsys, "--dry-run", now=None)
    assert default == run_json(capsys, "--dry-run", now=as_of) and default["proposed"] > 0
    done = run_json(capsys, now=None)
    assert done["committed"] == default["proposed"]
    with Session(get_engine(cli_db)) as s:
        stamps = set(
            s.exec(select(AssignmentDecision.decided_at).where(AssignmentDecision.source == "cli")).all()
        )
    assert stamps == {as_of}


def test_unknown_user_is_refused(cli_db):
    """Test that --user must name a manager or administrator."""
    with pytest.raises(SystemExit, match="not a manager"):
        main(
            [
                "assign",
                "batch",
                "--dry-run",
                "--user",
                "dp0001",
                "--now",
                (NOW + timedelta(hours=1)).isoformat(),
            ]
        )
