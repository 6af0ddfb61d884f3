"""More than one server process (issue #12): two Streamlit replicas behind HAProxy on PostgreSQL, over HTTPS
(deploy/cluster.py, as `make cluster` starts them). The cluster serves its pages and API with the security
headers and redirects plain HTTP; the JSON API answers under /api/ at the same address; a worker half-way
through a quiz whose replica dies carries on at the other one: still signed in, the answers kept, one attempt
in the database. One cluster is started for all of it (starting one costs about 40 s of two cores), in one
test, so that no scheduling of the tests over processes can start it twice.

Needs PostgreSQL (GRIDWISE_TEST_POSTGRES_URL) and HAProxy (`make browser-deps` installs it); skipped without.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, col, func, select

from core import clock
from core.db import make_engine
from core.models import OrgLevel, OrgUnit, User
from core.settings import ROOT
from courses.models import AttemptAnswer, QuizAttempt
from deploy.cluster import Cluster, ClusterError, check_database, free_port, haproxy_binary, start
from evaluation.field.models import Event
from tests.conftest import PG_URL, create_pg_database, drop_pg_database
from tests.e2e.conftest import Server, screenshot, sign_in, wait_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_the_cluster_refuses_sqlite_with_a_clear_message():
    """Test that asking for the cluster on SQLite is refused, naming PostgreSQL and how to set it."""
    with pytest.raises(ClusterError, match=r"needs PostgreSQL.*GRIDWISE_DATABASE_URL=postgresql"):
        check_database("sqlite:///var/gridwise.db")
    done = subprocess.run(
        [sys.executable, "-m", "deploy.cluster"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "GRIDWISE_DATABASE_URL": "sqlite:///nowhere.db"},
    )
    assert done.returncode == 2 and "needs PostgreSQL" in done.stderr
    assert not (ROOT / "nowhere.db").exists()


INSECURE = ssl._create_unverified_context()  # noqa: S323 - the cluster's own self-signed certificate


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not PG_URL:
        pytest.skip("the cluster runs on PostgreSQL: set GRIDWISE_TEST_POSTGRES_URL")
    try:
        haproxy_binary()
    except ClusterError as exc:
        pytest.skip(str(exc))
    url = create_pg_database("gw_cluster")
    env = {**os.environ, "GRIDWISE_DATABASE_URL": url, "GRIDWISE_SCHEDULER_ENABLED": "false"}
    try:
        for step in (["migrate"], ["seed-demo", "--scale", "0"]):
            subprocess.run(
                [sys.executable, "-m", "core.cli", *step], cwd=ROOT, env=env, check=True, capture_output=True
            )
        running = start(
            replicas=2,
            port=free_port(),
            http_port=free_port(),
            database_url=url,
            work_dir=tmp_path_factory.mktemp("cluster"),
            scheduler=True,
            tls=True,
        )
        try:
            yield running
        finally:
            running.stop()
    finally:
        drop_pg_database(url)


def _attempts_since(db_url: str, username: str, since: datetime) -> tuple[int, int]:
    """(quiz attempts the user's worker started since ``since``, answers chosen in them)."""
    engine = make_engine(db_url)
    with Session(engine) as s:
        worker_id = s.exec(select(User.worker_id).where(User.username == username)).one()
        attempt_ids = s.exec(
            select(QuizAttempt.id).where(QuizAttempt.worker_id == worker_id, QuizAttempt.started_at >= since)
        ).all()
        answered = s.exec(
            select(func.count())
            .select_from(AttemptAnswer)
            .where(col(AttemptAnswer.attempt_id).in_(attempt_ids), col(AttemptAnswer.chosen).is_not(None))
        ).one()
    engine.dispose()
    return len(attempt_ids), answered


def _quiz_survives_a_replica_death(page: Page, cluster: Cluster) -> None:
    """After the replica serving a worker is killed mid-quiz, a reload lands on the other replica signed in,
    at the next unanswered question with the earlier answers kept, and the database holds one attempt with
    those answers."""
    server = Server(cluster.url, cluster.database_url, cluster.proxy, Path(cluster.logs))
    username, since = "dp0001", clock.now() - timedelta(seconds=1)
    with page.expect_response(lambda r: "/_gw/session" in r.url):
        sign_in(page, server, username)
    page.goto(f"{cluster.url}/quiz?course=1")
    wait_for_run(page)
    page.get_by_role("button", name="开始答题").click()
    wait_for_run(page)
    progress = page.get_by_text(re.compile(r"第 1/\d+ 题"))
    expect(progress).to_be_visible()
    total = int(re.search(r"第 1/(\d+) 题", progress.inner_text()).group(1))
    half = total // 2
    for i in range(half):
        radios = page.get_by_test_id("stRadio")
        expect(radios.or_(page.get_by_test_id("stCheckbox")).first).to_be_visible()
        if radios.count():
            radios.get_by_role("radio").first.check(force=True)
        else:
            page.get_by_test_id("stCheckbox").first.click()
        page.get_by_role("button", name="下一题").click()
        wait_for_run(page)
        expect(page.get_by_text(f"第 {i + 2}/{total} 题 · 已答 {i + 1} 题")).to_be_visible()

    serving = next(c["value"] for c in page.context.cookies() if c["name"] == "GWREPLICA")
    cluster.kill_replica(serving)
    page.reload()
    wait_for_run(page)
    now_serving = next(c["value"] for c in page.context.cookies() if c["name"] == "GWREPLICA")
    assert now_serving != serving
    expect(page.get_by_test_id("stSidebar").get_by_role("button", name="退出登录")).to_be_visible()
    expect(page.get_by_text(f"第 {half + 1}/{total} 题 · 已答 {half} 题")).to_be_visible()
    screenshot(page, "cluster-quiz-after-failover-zh")
    assert _attempts_since(cluster.database_url, username, since) == (1, half)


def _call(
    url: str, body: dict | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict, dict]:
    """(status, JSON body, lower-cased headers) of one HTTP call; a POST when ``body`` is given."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=30, context=INSECURE) as r:
        return r.status, json.loads(r.read()), {k.lower(): v for k, v in r.headers.items()}


def _api_answers_and_a_retried_event_lands_once(cluster: Cluster) -> None:
    """/api/v1/health answers through HAProxy (no replica cookie set), and an event POSTed twice through it by
    a registered client with the same Idempotency-Key is one event in the database."""
    status, body, headers = _call(f"{cluster.url}/api/v1/health")
    assert (status, body["status"]) == (200, "ok")
    assert "GWREPLICA" not in headers.get("set-cookie", "")
    env = {**os.environ, "GRIDWISE_DATABASE_URL": cluster.database_url}
    added = subprocess.run(
        [sys.executable, "-m", "core.cli", "api-client", "add", "cityplatform"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    key = added.stdout.strip().splitlines()[-1]
    engine = make_engine(cluster.database_url)
    with Session(engine) as s:
        grid = s.exec(select(OrgUnit.code).where(OrgUnit.level == OrgLevel.GRID.value)).first()
    event = {
        "event_no": "PROXY-0001",
        "item": "C03",
        "grid_code": grid,
        "location": "经由代理",
        "reported_at": "2020-06-01T09:00:00",
    }
    auth = {"Authorization": f"Bearer {key}", "Idempotency-Key": "proxy-retry-1"}
    first = _call(f"{cluster.url}/api/v1/events", event, auth)
    again = _call(f"{cluster.url}/api/v1/events", event, auth)
    assert first[0] == again[0] == 201 and first[1] == again[1]
    assert again[2].get("idempotent-replayed") == "true"
    with Session(engine) as s:
        assert (
            s.exec(select(func.count()).select_from(Event).where(Event.event_no == "PROXY-0001")).one() == 1
        )
    engine.dispose()


def _https_with_the_headers_and_http_redirected(cluster: Cluster) -> None:
    """`make cluster`'s TLS setup (a self-signed certificate made at start) answers a page and an API call
    over HTTPS with CSP, X-Frame-Options, nosniff, Referrer-Policy and HSTS (the proxy's X-Forwarded-Proto
    believed), and plain HTTP is redirected to HTTPS."""
    assert cluster.url.startswith("https://")
    assert (Path(cluster.logs) / "tls" / "cluster.pem").exists()
    for path in ("/", "/api/v1/health"):
        with urllib.request.urlopen(cluster.url + path, context=INSECURE, timeout=10) as r:
            headers = r.headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["Strict-Transport-Security"].startswith("max-age="), path
    assert cluster.http_port is not None
    plain = http.client.HTTPConnection("127.0.0.1", cluster.http_port, timeout=10)
    plain.request("GET", "/scorecards")
    answer = plain.getresponse()
    assert answer.status == 301
    assert answer.getheader("Location") == cluster.url + "/scorecards"


@pytest.mark.browser_context_args(ignore_https_errors=True)
def test_the_cluster_serves_https_and_the_api_and_a_quiz_survives_a_replica_death(
    page: Page, cluster: Cluster
):
    """Test, on one running cluster: HTTPS with the security headers and HTTP redirected; the API behind the
    proxy with an idempotent retry; then (last: it kills a replica) a quiz carried on at the other replica."""
    _https_with_the_headers_and_http_redirected(cluster)
    _api_answers_and_a_retried_event_lands_once(cluster)
    _quiz_survives_a_replica_death(page, cluster)
