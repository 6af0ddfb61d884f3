"""The 预警 page: the demo's warnings in the manager's scope, the counts behind one, acknowledging it with a
note (once, audited), the map on the offline base map; in both languages."""

from __future__ import annotations

from sqlmodel import Session, select

from core.db import get_engine
from core.models_audit import AuditEntry
from evaluation.warning.models import HotspotWarning
from tests.app.util import texts


def test_manager_sees_the_demo_warnings_the_series_and_the_map(open_page, viewer_of):
    """Test that the district manager sees the planted 王母社区 noise flare-up, its chart and the map."""
    at = open_page("pages/warnings.py", viewer_of("manager"), lang="zh")
    assert not at.exception
    assert "热点预警" in texts(at)
    table = at.dataframe[0].value
    assert "王母社区" in " ".join(table["社区/网格"])
    assert "事项:噪音扰民" in set(table["事项/类别"])
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    assert at.get("deck_gl_json_chart")
    en = open_page("pages/warnings.py", viewer_of("manager"), lang="en")
    assert not en.exception
    assert "Item: Noise nuisance" in set(en.dataframe[0].value["Item / category"])


def test_acknowledging_with_a_note_is_stored_once_and_audited(open_page, viewer_of, app_db):
    """Test that a note acknowledges the chosen warning, audited, and a second click changes nothing."""
    at = open_page("pages/warnings.py", viewer_of("manager"), lang="en")
    chosen = at.selectbox[0].value
    at.button[0].click().run()  # no note
    assert "Write what is being done." in texts(at)
    at.text_area[0].input("查看了现场,已约谈排档业主")
    at.button[0].click().run()
    assert not at.exception and "Acknowledged." in texts(at)
    with Session(get_engine(app_db)) as s:
        w = s.get(HotspotWarning, chosen)
        assert w.acknowledged_at is not None and w.ack_note == "查看了现场,已约谈排档业主"
        audits = s.exec(select(AuditEntry).where(AuditEntry.action == "warning.acknowledge")).all()
        assert len(audits) == 1
    at.run()
    assert "Acknowledged on" in texts(at)


def test_a_manager_sees_only_warnings_of_their_communities(open_page, viewer_of, app_db):
    """Test that 下沙社区's manager sees none of 王母社区's warnings."""
    at = open_page("pages/warnings.py", viewer_of("xiasha"), lang="zh")
    assert not at.exception
    shown = " ".join(at.dataframe[0].value["社区/网格"]) if at.dataframe else ""
    assert "王母社区" not in shown
