"""Browser tests: the real Streamlit server (`streamlit run`) driven by Debian's Chromium.

Each server gets its own copy of the demo database and a free loopback port, with the scheduler
off; it logs to a file, is ready when /_stcore/health answers "ok", and its log is printed when
startup fails.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlmodel import select

from core.db import get_engine, unit_of_work
from core.models import User
from core.settings import ROOT
from core.totp import current_step, totp
from core.web_sessions import COOKIE_NAME, open_session, redeem_code

ARTIFACTS = ROOT / "artifacts" / "screenshots"  # not test-results/: pytest-playwright empties that
DEMO_PASSWORD = "Demo@2020"
pytestmark = pytest.mark.e2e
# Assertions wait up to 15 s (Playwright's default is 5): on a loaded 2-core machine a sign-in (argon2) and a
# page's script run can take longer than 5 s, and a failed wait is a false alarm, not a finding.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Use Debian's Chromium (Playwright cannot download its own browser here)."""
    exe = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    args = [
        *browser_type_launch_args.get("args", []),
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-gpu",
    ]
    out = {**browser_type_launch_args, "args": args}
    return {**out, "executable_path": exe} if exe else out


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1366, "height": 900}, "locale": "zh-CN"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    db_url: str
    process: subprocess.Popen
    log_path: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


PHONE = {"width": 390, "height": 844}  # the phone screen of issue #22
E2E_SECRET_KEY = "ZTJlLXRlc3Qta2V5LW5vdC1mb3ItcHJvZHVjdGlvbiE="  # a Fernet key for the test servers only


def start_server(
    db_path: Path, log_dir: Path, extra_args: tuple[str, ...] = (), extra_env: dict[str, str] | None = None
) -> Server:
    port = _free_port()
    log_path = log_dir / f"streamlit-{port}.log"
    env = {
        **os.environ,
        "GRIDWISE_DATABASE_URL": f"sqlite:///{db_path}",
        "GRIDWISE_SCHEDULER_ENABLED": "false",
        "GRIDWISE_SECRET_KEY": E2E_SECRET_KEY,  # notification channels store their secrets encrypted
        **(extra_env or {}),
    }
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "ui/server.py",
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        *extra_args,
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return Server(url, env["GRIDWISE_DATABASE_URL"], proc, log_path)
        except OSError:
            time.sleep(0.25)
    proc.kill()
    raise RuntimeError(f"streamlit did not start:\n{log_path.read_text(errors='replace')}")


@pytest.fixture(scope="session")
def server(demo_db_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server on a copy of the demo database, shared by the browser tests of this process."""
    with server_on_copy(demo_db_template, tmp_path_factory.mktemp("e2e")) as srv:
        yield srv


@pytest.fixture
def fresh_server(demo_db_template: Path, tmp_path: Path) -> Iterator[Server]:
    """A server nobody has loaded yet (for the pages/ hazard test)."""
    with server_on_copy(demo_db_template, tmp_path) as srv:
        yield srv


@contextmanager
def server_on_copy(demo_db_template: Path, tmp: Path) -> Iterator[Server]:
    """A server of its own on a copy of the demo database in ``tmp`` (for tests that change data the shared
    server's other tests count); stopped, and the test's engine on the copy disposed, afterwards."""
    db = tmp / "demo.db"
    shutil.copy(demo_db_template, db)
    srv = start_server(db, tmp)
    try:
        yield srv
    finally:
        srv.stop()
        get_engine(f"sqlite:///{db}").dispose()


def wait_for_run(page: Page, start_ms: int = 150) -> None:
    """Wait until the script run triggered by the last action has finished.

    The page marks a run only once the server's answer to the action arrives, so the run is first waited
    for to start (up to 150 ms), then to end: a run seen starting is always awaited to its end (a fixed 150 ms
    pause could end before a slow server's answer), and an action that starts no run (or one over before it
    could be seen) costs the 150 ms the pause cost every action. At load 10, 32 of 53 calls saw their run
    start after 84 ms (median). ``start_ms``: a longer look, for an action known to start a run."""
    try:
        page.locator("[data-testid=stApp]:not([data-test-script-state=notRunning])").wait_for(
            state="attached", timeout=start_ms
        )
    except PlaywrightTimeoutError:
        pass
    page.locator("[data-testid=stApp][data-test-script-state=notRunning]").wait_for(
        state="attached", timeout=30_000
    )


def pick_option(page: Page, opener: Locator, option: re.Pattern | str, typed: str = "") -> None:
    """Open a select (``opener``: its combobox or its label), type ``typed`` to filter a long list, and click the
    first option whose name matches ``option`` (a string matches exactly). A rerun that ends just as the list
    opens draws the select again and closes the list, so the opening is tried again (up to three times) rather
    than waiting 30 s for an option that is no longer there."""
    exact = isinstance(option, str)
    target = page.get_by_role("option", name=option, exact=exact).first
    for attempt in range(3):
        wait_for_run(page)
        opener.scroll_into_view_if_needed()
        opener.click()
        if typed:
            page.keyboard.type(typed)
        try:
            target.wait_for(state="visible", timeout=5_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
    target.click()
    # Another option starts a run: looked for up to 3 s, not 150 ms — under CI's load it began later, and the
    # next click landed on the previous run's widgets (a download button that then sent nothing).
    wait_for_run(page, start_ms=3_000)


def sign_in(page: Page, server: Server, username: str, password: str = DEMO_PASSWORD, path: str = "") -> None:
    page.goto(f"{server.url}/{path}")
    wait_for_run(page)
    page.get_by_role("textbox", name=re.compile("^(用户名|Username)$")).fill(username)
    page.get_by_role("textbox", name=re.compile("^(密码|Password)$")).fill(password)
    page.get_by_role("button", name="登录", exact=True).or_(
        page.get_by_role("button", name="Sign in", exact=True)
    ).click()
    wait_for_run(page)
    second_factor(page, server, username)
    expect(page.get_by_test_id("stSidebar")).to_be_visible()


def signed_in_directly(page: Page, server: Server, username: str, path: str = "") -> None:
    """Open ``path`` signed in as ``username`` through a session made in the server's database (as the sign-in
    form opens it, second step passed) and handed to the browser as its cookie, without the form: for tests
    about a page, not about signing in. An administrator's second step takes a new authenticator code each
    time (a code is accepted once), so the third form sign-in of one account within a 30 s step waits for the
    clock; this never does."""
    with unit_of_work(get_engine(server.db_url)) as s:
        user = s.exec(select(User).where(User.username == username)).one()
        _row, code = open_session(s, user, user_agent="e2e", via="password+mfa")
        token = redeem_code(s, code)
    assert token is not None
    page.context.add_cookies([{"name": COOKIE_NAME, "value": token, "url": server.url}])
    page.goto(f"{server.url}/{path}")
    wait_for_run(page)
    expect(page.get_by_test_id("stSidebar")).to_be_visible()


# The authenticator secrets of the accounts the tests set up, per server (the "phone" of each test account),
# and the last time step each used: a step is accepted once, so the next sign-in takes the next step.
AUTHENTICATORS: dict[tuple[str, str], str] = {}
_LAST_STEP: dict[tuple[str, str], int] = {}


def next_code(server: Server, username: str) -> str:
    """A code for the account's authenticator that has not been used yet (waiting for the clock if the
    current and the next step are spent). Never the previous step: on a loaded machine the server may check
    it after the clock has moved on, when it is out of the ±1 window ("验证码不正确或已使用过" in a CI run)."""
    key = (server.url, username)
    step = max(current_step(), _LAST_STEP.get(key, 0) + 1)
    while step > current_step() + 1:
        time.sleep(1)
    _LAST_STEP[key] = step
    return totp(AUTHENTICATORS[key], step)


def second_factor(page: Page, server: Server, username: str) -> None:
    """Pass the second step after the password when the account takes one (the administrators do): set it
    up the first time (reading the key as the person would type it in) or type the next code."""
    sidebar = page.get_by_test_id("stSidebar")
    enrol = page.get_by_role("heading", name=re.compile("^(设置第二重验证|Set up a second factor)$"))
    code = page.get_by_role("heading", name=re.compile("^(第二重验证|Second factor)$"))
    expect(sidebar.or_(enrol).or_(code).first).to_be_visible()
    if enrol.count():
        secret = page.get_by_test_id("stCode").first.inner_text().replace(" ", "").strip()
        AUTHENTICATORS[(server.url, username)] = secret
        page.get_by_role(
            "textbox", name=re.compile("^(应用显示的 6 位验证码|The 6-digit code the app shows)$")
        ).fill(next_code(server, username))
        page.get_by_role("button", name=re.compile("^(确认并启用|Confirm and turn on)$")).click()
        wait_for_run(page)
        page.get_by_role(
            "button", name=re.compile("^(我已保存恢复码，继续|I have kept them: continue)$")
        ).click()
        wait_for_run(page)
    elif code.count():
        page.get_by_role("textbox", name=re.compile("^(验证码或恢复码|Code or recovery code)$")).fill(
            next_code(server, username)
        )
        page.get_by_role("button", name=re.compile("^(验证|Verify)$")).click()
        wait_for_run(page)


CHARTS = "[data-testid=stVegaLiteChart], [data-testid=stDeckGlJsonChart]"


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if page.locator(CHARTS).count():
        page.wait_for_timeout(400)  # charts (vega, deck.gl) draw after the script run has finished
    page.screenshot(path=str(path), full_page=True)
    return path
