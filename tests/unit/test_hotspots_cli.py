"""`gridwise field hotspots --as-of DATE [--json]` (issue 24 part 2): the contract other tools read, its
refusal of a bad date, and the planted flare-ups of the demo district."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlmodel import Session, select

from core.cli import main
from core.db import get_engine


def test_json_lists_the_warnings_with_the_contract_fields(cli_db, capsys):
    """Test that --json prints each warning with community, grid or null, item or category and the figures."""
    assert main(["field", "hotspots", "--as-of", "2020-09-30", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows, "the demo plants a flare-up of C08 in 王母社区 that is going on on 2020-09-30"
    for r in rows:
        assert {"community", "grid", "observed", "expected", "score"} <= r.keys()
        assert ("item" in r) != ("category" in r)
        assert isinstance(r["observed"], int) and r["observed"] >= 4
        assert 0 <= r["score"] < 0.001 and r["expected"] >= 0
    assert [r["score"] for r in rows] == sorted(r["score"] for r in rows)
    wangmu = [r for r in rows if r["community_zh"] == "王母社区"]
    assert any(r.get("item") == "C08" and r["grid"] is None for r in wangmu)
    assert any(r.get("item") == "C08" and r["grid"] for r in wangmu)  # the planted one is in one grid
    assert any(r.get("category") == "city" for r in wangmu)


def test_a_quiet_day_is_an_empty_list_and_nothing_is_stored(cli_db, capsys):
    """Test that a date before any history gives [] and that the command stores and sends nothing."""
    from evaluation.warning.models import HotspotWarning

    with Session(get_engine(cli_db)) as s:
        before = len(s.exec(select(HotspotWarning)).all())
    assert main(["field", "hotspots", "--as-of", "2019-06-30", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["field", "hotspots", "--as-of", "2020-09-30"]) == 0
    out = capsys.readouterr()
    assert "王母社区" in out.out and "C08" in out.out
    with Session(get_engine(cli_db)) as s:
        assert len(s.exec(select(HotspotWarning)).all()) == before


@pytest.mark.parametrize("bad", ["2020-02-30", "yesterday", "30/09/2020", ""])
def test_a_bad_date_is_refused_with_a_catalog_message_and_exit_2(cli_db, capsys, bad):
    """Test that a date that is not YYYY-MM-DD is refused in the chosen language, exit status 2."""
    assert main(["--lang", "en", "field", "hotspots", "--as-of", bad, "--json"]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert f"“{bad}” is not a date; write it as YYYY-MM-DD" in out.err and "Traceback" not in out.err
    assert main(["--lang", "zh", "field", "hotspots", "--as-of", bad]) == 2
    assert "不是日期" in capsys.readouterr().err


def test_the_demo_history_has_each_planted_flare_up_warned_within_a_week(cli_db):
    """Test that the demo's replayed job warned every planted flare-up within 7 days of its start."""
    from core.models import OrgUnit
    from evaluation.warning.demo import PLANTED
    from evaluation.warning.models import HotspotWarning

    with Session(get_engine(cli_db)) as s:
        ids = dict(s.exec(select(OrgUnit.name_zh, OrgUnit.id)).all())
        stored = s.exec(select(HotspotWarning)).all()
    for p in PLANTED:
        firsts = [
            w.window_end
            for w in stored
            if w.community_id == ids[p.community] and w.code == p.item and w.window_end >= p.start
        ]
        assert firsts and min(firsts) <= date.fromordinal(p.start.toordinal() + 6), p
