"""Time zone discipline: the app's dates are Asia/Shanghai's, never the server's (UTC on our machines)."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from core import clock
from core.settings import ROOT

APP_DIRS = ("app.py", "pages", "ui", "core", "courses", "evaluation")
SERVER_TIME = re.compile(r"\b(date\.today\(\)|datetime\.(now|today)\(\)|datetime\.utcnow\(\))")


def test_today_is_shanghai_today():
    """Test that clock.today() is the date in Asia/Shanghai, which differs from UTC's from 16:00 to 24:00 UTC."""
    assert clock.today() == datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert isinstance(clock.today(), date)


def test_no_app_code_reads_the_server_clock():
    """Test that no app module calls date.today() or a naive datetime.now()/today()/utcnow(): on a UTC
    server they are a day behind Shanghai every evening (a quiz-results filter once hid that day's attempts)."""
    offenders = []
    for entry in APP_DIRS:
        root = ROOT / entry
        for path in [root] if root.is_file() else sorted(root.rglob("*.py")):
            for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if SERVER_TIME.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{no}: {line.strip()}")
    assert not offenders, "use core.clock.now() / core.clock.today():\n" + "\n".join(offenders)
