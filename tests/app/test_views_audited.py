"""Views of other people's personal data accounted for (#19 item 3): every page that shows names, phones or
per-person figures of others records ``view.<what>`` (viewer, filter, rows, client address) once per browser
session and filter, with masked values only."""

from __future__ import annotations

import ast
import json

from sqlmodel import Session, col, select

from core.audit import ACTION_AREAS
from core.db import get_engine
from core.models import Worker
from core.models_audit import AuditEntry
from core.settings import ROOT
from ui.pages import PAGES

# Page → the file that calls ui.audit_reads.record_view for it (the page itself unless a ui module draws the
# personal data).
RECORDS_VIEWS = {
    "pages/workers.py": "pages/workers.py",
    "pages/rentals.py": "pages/rentals.py",
    "pages/data_quality.py": "ui/data_quality_view.py",  # the drill-down's rows
    "pages/scorecards.py": "pages/scorecards.py",
    "pages/scorecard.py": "pages/scorecard.py",
    "pages/attendance.py": "pages/attendance.py",
    "pages/quiz_results.py": "pages/quiz_results.py",
    "pages/training_plan.py": "pages/training_plan.py",
    "pages/events.py": "pages/events.py",
    "pages/dispatch.py": "pages/dispatch.py",
    "pages/skill_gaps.py": "pages/skill_gaps.py",
    "pages/corrections.py": "pages/corrections.py",
    "pages/web_sessions.py": "pages/web_sessions.py",
    "pages/users.py": "pages/users.py",
    "pages/audit.py": "pages/audit.py",
    "pages/notify_channels.py": "pages/notify_channels.py",  # the delivery log's recipients
    "pages/catalog.py": "ui/course_admin/enroll_tab.py",  # who is enrolled (party membership)
}
# Pages that show nobody else's personal data: one's own (a worker's day, inbox, account, 我的数据), counts
# per place (home, 预警, org), configuration, or the file the viewer is uploading.
SHOWS_NO_OTHERS_DATA = {
    "app.py",
    "pages/my_learning.py",
    "pages/my_training.py",
    "pages/quiz.py",
    "pages/checkin.py",
    "pages/my_tasks.py",
    "pages/report_event.py",
    "pages/my_scorecard.py",
    "pages/inbox.py",
    "pages/my_data.py",
    "pages/notify_prefs.py",
    "pages/account.py",
    "pages/field_import.py",
    "pages/warnings.py",
    "pages/org.py",
    "pages/metrics.py",
    "pages/schemes.py",
    "pages/jobs.py",
    "pages/api_clients.py",
}


def _views_recorded(source: str) -> list[str]:
    """The ``what`` of each ``record_view(viewer, "<what>", …)`` call in a file (calls, not comments)."""
    tree = ast.parse((ROOT / source).read_text(encoding="utf-8"))
    return [
        node.args[1].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "record_view"
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
    ]


def _audit(app_db: str, action: str) -> list[AuditEntry]:
    with Session(get_engine(app_db)) as s:
        stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(col(AuditEntry.id))
        return list(s.exec(stmt).all())


def test_every_page_showing_others_personal_data_records_its_view():
    """Test that each page of the menu is either known to show nobody else's personal data or calls
    record_view (in the page or its listed ui module), so a new page has to be placed in one list."""
    pages = {p.path for p in PAGES}
    assert pages == set(RECORDS_VIEWS) | SHOWS_NO_OTHERS_DATA, "place each page in one of the two lists"
    assert not set(RECORDS_VIEWS) & SHOWS_NO_OTHERS_DATA
    missing = [page for page, source in RECORDS_VIEWS.items() if not _views_recorded(source)]
    assert not missing, (
        f"these pages show others' personal data without ui.audit_reads.record_view: {missing}"
    )


def test_view_names_are_distinct_view_actions_of_the_audit_area():
    """Test that the recorded views are ``view.<what>`` actions of the audit page's "view" area and that no
    two pages record under the same name (the audit trail tells them apart)."""
    names: dict[str, str] = {}
    for source in set(RECORDS_VIEWS.values()):
        for what in _views_recorded(source):
            assert names.setdefault(what, source) == source, f"view.{what} recorded by two files"
    assert len(names) >= len(RECORDS_VIEWS)
    assert "view" in ACTION_AREAS


def _blob(app_db: str) -> tuple[list[str], str]:
    with Session(get_engine(app_db)) as s:
        phones = [p for p in s.exec(select(Worker.phone)).all() if p]
        rows = s.exec(select(AuditEntry)).all()
    return phones, " ".join(f"{r.before} {r.after} {r.detail} {r.entity_id}" for r in rows)


def test_opening_scorecards_and_a_card_records_one_view_each_with_masked_values(open_page, viewer_of, app_db):
    """Test that a manager opening the scorecards and one worker's card leaves one view row each (the card's
    naming the worker), that a rerun adds none, and that no audit row holds a phone number."""
    at = open_page("pages/scorecards.py", viewer_of("manager"))
    assert not at.exception
    at.run()
    [board] = _audit(app_db, "view.scorecards")
    detail = json.loads(board.detail or "{}")
    assert detail["rows"] > 0 and set(detail["filter"]) == {"period"} and board.address == "127.0.0.1"
    at.switch_page("pages/scorecard.py").run()
    assert not at.exception
    at.run()
    [card] = _audit(app_db, "view.scorecard")
    assert card.entity_id.isdigit() and json.loads(card.detail or "{}")["rows"] > 0
    assert card.username == board.username == viewer_of("manager").display_name
    phones, blob = _blob(app_db)
    assert phones and not any(p in blob for p in phones)


def test_a_new_filter_records_a_new_view_and_the_same_filter_does_not(open_page, viewer_of, app_db):
    """Test that the events queue records one view per state filter: a rerun adds nothing, another choice of
    states adds one row naming it."""
    at = open_page("pages/events.py", viewer_of("manager"))
    assert not at.exception
    at.run()
    assert len(_audit(app_db, "view.events")) == 1
    [event] = _audit(app_db, "view.event")  # the event shown below the queue, by its number
    assert event.entity_id
    at.multiselect[0].set_value(["closed"]).run()
    assert not at.exception
    rows = _audit(app_db, "view.events")
    assert len(rows) == 2 and json.loads(rows[1].detail or "{}")["filter"] == {"states": ["closed"]}
    phones, blob = _blob(app_db)
    assert phones and not any(p in blob for p in phones)


def test_the_security_administrators_session_list_is_a_recorded_view(open_page, viewer_of, app_db):
    """Test that the security administrator's list of who is signed in records one view however often the
    page reruns."""
    at = open_page("pages/web_sessions.py", viewer_of("secadmin"))
    assert not at.exception
    at.run()
    [entry] = _audit(app_db, "view.web_sessions")
    assert json.loads(entry.detail or "{}")["rows"] >= 1 and entry.address
