"""Single sign-on (issue #12): st.login against a mock OpenID Connect provider on loopback
(oidc-provider-mock). A known identity signs in as its Gridwise user and stays signed in across a reload; an
unknown one is refused with a clear message and gets no account; passwords keep working beside it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, func, select

from core.db import make_engine
from core.models import User
from tests.e2e.conftest import Server, _free_port, screenshot, sign_in, start_server, wait_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
oidc_provider_mock = pytest.importorskip("oidc_provider_mock")


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A mock OIDC provider on a loopback port: `sub-manager` carries preferred_username=manager."""
    port = _free_port()
    log = tmp_path_factory.mktemp("oidc") / "oidc.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "oidc_provider_mock",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--user-claims",
                '{"sub": "sub-manager", "preferred_username": "manager", "name": "Manager"}',
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/.well-known/openid-configuration", timeout=2).close()
            break
        except OSError:
            time.sleep(0.25)
    else:
        process.kill()
        raise RuntimeError(log.read_text(errors="replace"))
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def sso_server(
    provider: str, demo_db_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The app with [auth] pointing at the mock provider (secrets from a file of the test's own)."""
    tmp = tmp_path_factory.mktemp("sso")
    db = tmp / "demo.db"
    shutil.copy(demo_db_template, db)
    secrets = tmp / "secrets.toml"
    secrets.write_text(f'''[auth]
redirect_uri = "http://127.0.0.1:{{port}}/oauth2callback"
cookie_secret = "a-test-cookie-secret-of-some-length-0123456789"
client_id = "gridwise"
client_secret = "gridwise-secret"
server_metadata_url = "{provider}/.well-known/openid-configuration"
''')
    srv = start_server(
        db, tmp, extra_args=("--secrets.files", str(secrets)), extra_env={"AUTHLIB_INSECURE_TRANSPORT": "1"}
    )
    yield srv
    srv.stop()


def _users(server: Server) -> int:
    engine = make_engine(server.db_url)
    with Session(engine) as s:
        n = s.exec(select(func.count()).select_from(User)).one()
    engine.dispose()
    return n


def _sso(page: Page, server: Server, subject: str) -> None:
    page.goto(server.url)
    wait_for_run(page)
    page.get_by_role("button", name="统一身份认证登录").click()
    page.wait_for_url(re.compile(r"/oauth2/authorize"))
    page.get_by_placeholder("sub").fill(subject)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(re.escape(server.url) + r"/?$"))
    wait_for_run(page)


def test_a_known_identity_signs_in_as_its_user_and_stays_signed_in(page: Page, sso_server: Server):
    """Test that the provider's identity with preferred_username=manager signs in as the manager, gets the
    session cookie, and a reload keeps it signed in."""
    with page.expect_response(lambda r: "/_gw/session" in r.url):
        _sso(page, sso_server, "sub-manager")
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("button", name="退出登录")).to_be_visible()
    expect(page.get_by_text("在岗网格员")).to_be_visible()
    page.reload()
    wait_for_run(page)
    expect(sidebar.get_by_role("button", name="退出登录")).to_be_visible()


def test_an_unknown_identity_is_refused_and_no_account_is_created(page: Page, sso_server: Server):
    """Test that an identity matching no Gridwise user sees a clear refusal naming it, is not signed in, and
    the database holds no new user."""
    before = _users(sso_server)
    _sso(page, sso_server, "stranger@example.org")
    expect(
        page.get_by_text(re.compile("统一身份认证账号“stranger@example.org”在本系统中没有对应的用户"))
    ).to_be_visible()
    expect(page.get_by_role("button", name="退出登录")).to_have_count(0)
    screenshot(page, "sso-refused-zh")
    assert _users(sso_server) == before


def test_passwords_keep_working_beside_single_sign_on(page: Page, sso_server: Server):
    """Test that the sign-in page offers both, and the password form still signs in."""
    page.goto(sso_server.url)
    wait_for_run(page)
    expect(page.get_by_role("button", name="统一身份认证登录")).to_be_visible()
    screenshot(page, "sso-sign-in-page-zh")
    sign_in(page, sso_server, "xiasha")


def test_the_sso_settings_are_documented():
    """Test that the README names the settings an operator needs for single sign-on."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for name in ("GRIDWISE_SSO_CLAIM", "GRIDWISE_SSO_MATCH", "GRIDWISE_PASSWORD_SIGN_IN", "[auth]"):
        assert name in readme, name
