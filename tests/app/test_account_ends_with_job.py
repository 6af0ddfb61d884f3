"""A worker who leaves: the browser they are signed in on asks for the password at its next run, and the
password no longer opens the account (issue #18 item 5)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.auth import SignInError, sign_in
from core.db import get_engine, unit_of_work
from core.demo import DEMO_PASSWORD
from core.models import User, Worker, WorkerStatus
from core.org import set_worker_status
from core.settings import get_settings
from tests.app.util import texts

pytestmark = pytest.mark.xdist_group("apptest")


def test_a_left_workers_open_page_shows_sign_in_at_the_next_run(open_page, viewer_of):
    """Test that the manager marking dp0001 left signs dp0001's open browser out: its next run shows the
    sign-in form instead of their learning page, and their password is refused."""
    worker_page = open_page("pages/my_learning.py", viewer_of("dp0001"))
    assert not worker_page.exception and not any(w.key == "signin_username" for w in worker_page.text_input)
    engine = get_engine(get_settings().database_url)
    with unit_of_work(engine) as s:  # the workers page's action, as one domain call
        worker_id = s.exec(select(User.worker_id).where(User.username == "dp0001")).one()
        set_worker_status(s, viewer_of("manager"), worker_id, WorkerStatus.LEFT)
    worker_page.run()
    assert any(w.key == "signin_username" for w in worker_page.text_input), texts(worker_page)
    with unit_of_work(engine) as s:
        assert sign_in(s, "dp0001", DEMO_PASSWORD).error == SignInError.INACTIVE
        assert s.get(Worker, worker_id).status == WorkerStatus.LEFT.value
