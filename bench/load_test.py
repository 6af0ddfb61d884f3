"""Load test: many workers at once on the real Streamlit server, in real browsers (not part of `make test`).

    .venv/bin/python bench/load_test.py                      # 50 users, SQLite
    .venv/bin/python bench/load_test.py --db postgres        # 50 users, PostgreSQL on 127.0.0.1:5432
    .venv/bin/python bench/load_test.py --users 5            # smoke run

Builds a fresh demo database with the real commands (`gridwise migrate`, `gridwise seed-demo`; SQLite in a
temporary folder, or a new PostgreSQL database `gridwise_load_<pid>` that is dropped at the end), then sets
up through the domain functions what a training morning looks like: ``--users`` demo worker accounts
(dp0001 …, password Demo@2020) who may still take the course's quiz, enrolled in the course, and one
session of it starting now with all of them seated. It starts `streamlit run ui/server.py` (the app with its
session-cookie routes, as in production) on a free loopback
port (scheduler off), lets one more worker open the pages once (a running server has imported them; that
visit is not timed in the table), then drives it with one Debian Chromium and one browser context per user,
all at once (Playwright's async API; ``--ramp`` spreads the starts). Each user, timed step by step:

  open         a new browser context opens the site, until the sign-in form's script run has finished
  sign_in      username, password, 登录, until the signed-in menu is there
  home         the home page from the menu, until the worker's grid is shown
  my_learning  我的课程 from the menu, until the session's check-in link is shown
  check_in     the link, the host's six-digit code, 签到, until 签到成功
  quiz_open    我的课程 → the quiz link → 开始答题, until question 1 is shown
  quiz_answer  every question answered and 下一题 (also reported per question)
  quiz_submit  交卷, until the score is shown

An action is done when the server's "script finished" message for a run started after it has arrived (read
off the page's WebSocket) and the expected text is on screen. A failed step's screenshot goes to
artifacts/load/. Then it prints errors per step (count and the first messages, with any error the page
showed), median and
95th percentile per step, the server log's tracebacks, and what the database recorded: one check-in
(present/late) and one submitted attempt per user are expected; duplicates and misses are flagged.
Exit status 0 only when every user finished and the database holds exactly what was expected.

The browsers run on the same machine as the server: on a 2-core machine the figures are the server's and
50 Chromium renderers' time together, an upper bound for what the server alone would take; the CPU seconds
of each side during the run are printed so the two can be told apart.

By default the code that runs is a copy of the checkout's HEAD (``git archive``), so commits and edits made
in the checkout during a long run do not reach the server half-way; ``--code worktree`` runs the checkout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

os.environ["GRIDWISE_DEMO"] = "true"  # benches run on the demo district (core.instance)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STEPS = ("open", "sign_in", "home", "my_learning", "check_in", "quiz_open", "quiz_answer", "quiz_submit")
PASSWORD = "Demo@2020"  # core.demo.DEMO_PASSWORD; every demo account has it
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SESSION_MINUTES = 120
# Counts the script runs that finished in the page, from the server's messages on the WebSocket: a
# ForwardMsg whose field 6 (script_finished) is 0 (FINISHED_SUCCESSFULLY) or 3 (a fragment's run finished: the
# quiz's questions are a fragment that reruns on its own); an early end for a rerun (2) does not count. The page's data-test-script-state alone can miss a run
# when a slow browser applies a whole run's messages at once. An action is done when a run has finished since.
RUN_COUNTER_JS = """(() => {
  window.__gwRuns = 0;
  const Native = window.WebSocket;
  const finished = (buf) => {
    const b = new Uint8Array(buf);
    let i = 0;
    const varint = () => { let r = 0, s = 0, x; do { x = b[i++]; r += (x & 0x7f) * 2 ** s; s += 7; }
                           while ((x & 0x80) && i < b.length); return r; };
    while (i < b.length) {
      const key = varint(), f = Math.floor(key / 8), wt = key % 8;
      if (wt === 0) { const v = varint(); if (f === 6) return v; }
      else if (wt === 2) { const n = varint(); i += n; }  // not `i += varint()`: that reads i first
      else if (wt === 1) i += 8;
      else if (wt === 5) i += 4;
      else return -1;
    }
    return -1;
  };
  const count = (buf) => {
    const status = finished(buf);
    if (status === 0 || status === 3) window.__gwRuns += 1;
  };
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        if (e.data instanceof ArrayBuffer) count(e.data);
        else if (e.data instanceof Blob) e.data.arrayBuffer().then(count);
      });
    }
  };
})();"""
RUN_DONE_JS = """(n) => window.__gwRuns > n && document.querySelector('[data-testid=stApp]')
  ?.getAttribute('data-test-script-state') === 'notRunning'"""

# --- the database ----------------------------------------------------------------------------------------


def create_database(kind: str, stack: ExitStack, pg_admin_url: str) -> str:
    """A new, empty database; its removal is registered on ``stack``."""
    if kind == "sqlite":
        tmp = Path(tempfile.mkdtemp(prefix="gridwise-load-"))
        stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        return f"sqlite:///{tmp / 'load.db'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"gridwise_load_{os.getpid()}"
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        print(f"dropped PostgreSQL database {name}")

    stack.callback(drop)
    return make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)


def seed(db_url: str, scale: float) -> None:
    """Migrate and seed the demo district with the operator's commands."""
    env = {**os.environ, "GRIDWISE_DATABASE_URL": db_url, "GRIDWISE_SCHEDULER_ENABLED": "false"}
    gridwise = [sys.executable, "-m", "core.cli"]  # the `gridwise` command, run from this code's ROOT
    for args in (["migrate"], ["seed-demo", "--scale", str(scale)]):
        t = time.perf_counter()
        done = subprocess.run([*gridwise, *args], cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"gridwise {' '.join(args)} failed:\n{done.stderr}")
        print(f"gridwise {' '.join(args)}: {time.perf_counter() - t:.1f} s")


@dataclass
class User:
    username: str
    worker_id: int


@dataclass
class Plan:
    session_id: int
    course_id: int
    secret: str
    start_at: datetime
    users: list[User]
    since: datetime  # attempts and check-ins from the run are the ones at or after this
    warm_up: User | None = None  # a worker outside the run who opens the pages once before it


def prepare(db_url: str, n_users: int, course_code: str) -> Plan:
    """Pick ``n_users`` worker accounts who may still sit the quiz, enroll them, schedule a session now."""
    from sqlmodel import select

    from core import clock
    from core.db import make_engine, unit_of_work
    from core.models import Role, Worker, WorkerStatus
    from core.models import User as Account
    from core.scope import viewer_for
    from courses.api import enroll_workers
    from courses.models import Attendance, Course
    from courses.quizzes import RENEWAL_WINDOW_DAYS, standing
    from courses.training_sessions import SessionPlan, schedule, update_session

    engine = make_engine(db_url)
    now = clock.now()
    with unit_of_work(
        engine
    ) as s:  # the set-up is one transaction: enrolled, scheduled and seated, or nothing
        admin = viewer_for(s, s.exec(select(Account).where(Account.username == "admin")).one())
        course = s.exec(select(Course).where(Course.code == course_code)).one()
        candidates = s.exec(
            select(Account.username, Worker.id)
            .join(Worker, Worker.id == Account.worker_id)
            .where(
                Account.role == Role.WORKER.value,
                Account.is_active,
                Worker.status == WorkerStatus.ACTIVE.value,
            )
            .order_by(Account.username)
        ).all()
        users: list[User] = []
        warm_up: User | None = None
        renewal = now + timedelta(days=RENEWAL_WINDOW_DAYS)
        for username, worker_id in candidates:  # until n_users are found: a few hundred at most
            st = standing(s, course=course, worker_id=worker_id, now=now)
            certified = st.certificate_valid(now) and st.certificate.valid_until > renewal
            if st.in_progress is None and st.attempts_left > 0 and not certified:
                if len(users) == n_users:
                    warm_up = User(username, worker_id)
                    break
                users.append(User(username, worker_id))
        if len(users) < n_users:
            raise SystemExit(f"only {len(users)} demo workers may still take the {course_code} quiz")
        enroll_workers(
            s, admin, course_code=course_code, worker_ids=[u.worker_id for u in users], reason="load test"
        )
        # Now, to the minute; check-in is open from 15 minutes before. The form takes one date, so a session
        # near midnight is scheduled to 23:59 and then moved to its full length.
        start = now.replace(second=0)
        end = start + timedelta(minutes=SESSION_MINUTES)
        first_end = min(end, start.replace(hour=23, minute=59))
        plan = SessionPlan(
            course_id=course.id,
            first_day=start.date(),
            start=start.time(),
            end=first_end.time(),
            meeting_url="https://meeting.tencent.com/dm/load-test",
            title_zh="压力测试",
            title_en="Load test",
        )
        (ts,) = schedule(s, admin, plan, now=now)
        if ts.end_at < end:
            ts = update_session(
                s,
                admin,
                ts.id,
                start_at=start,
                end_at=end,
                meeting_url=ts.meeting_url,
                capacity=None,
                now=now,
            )
        seated = set(s.exec(select(Attendance.worker_id).where(Attendance.session_id == ts.id)).all())
        missing = [u.username for u in users if u.worker_id not in seated]
        if missing:
            raise SystemExit(f"not seated at the load-test session: {missing[:5]}")
        plan_ = Plan(ts.id, course.id, ts.secret, ts.start_at, users, since=now, warm_up=warm_up)
    engine.dispose()
    print(
        f"set-up: {n_users} workers ({users[0].username} …), course {course_code} (id {course.id}), "
        f"session {plan_.session_id} {ts.start_at:%H:%M}–{ts.end_at:%H:%M} with {len(seated)} seats"
    )
    return plan_


# --- the server ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    db_url: str,
    log_path: Path,
    stack: ExitStack,
    *,
    script: str = "ui/server.py",
    launcher: tuple[str, ...] = ("-m", "streamlit"),
    env_extra: dict[str, str] | None = None,
    prefix: tuple[str, ...] = (),
    extra_args: tuple[str, ...] = (),
    port: int | None = None,
) -> tuple[str, int]:
    """`streamlit run ui/server.py` on a free loopback port (or ``port``: a browser's HTTP cache is per origin,
    so a bench that restarts a server for a returning browser keeps its port); stopped when ``stack`` closes.
    ``launcher`` replaces ``-m streamlit`` (bench/run_stats.py records each script run), ``prefix`` goes before
    the command (e.g. ``taskset -c 1``)."""
    port = port or free_port()
    env = {
        **os.environ,
        "GRIDWISE_DATABASE_URL": db_url,
        "GRIDWISE_SCHEDULER_ENABLED": "false",
        **(env_extra or {}),
    }
    cmd = [
        *prefix,
        sys.executable,
        *launcher,
        "run",
        script,
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

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()

    stack.callback(stop)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return url, proc.pid
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"streamlit did not start:\n{log_path.read_text(errors='replace')}")


def cpu_seconds(root: int) -> float:
    """User + system CPU seconds of process ``root`` and its living descendants (Linux /proc)."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (
                int(fields[1]),
                (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"),
            )
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _) in stats.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier += children
    return sum(stats[pid][1] for pid in tree if pid in stats)


def log_tracebacks(log_path: Path) -> list[str]:
    """Each traceback in the server log, as its last line (the exception) plus the line before it."""
    lines = log_path.read_text(errors="replace").splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last)"):
            j = i + 1
            while j < len(lines) and (lines[j].startswith((" ", "\t")) or not lines[j].strip()):
                j += 1
            out.append(" | ".join(x.strip() for x in lines[max(i + 1, j - 1) : j + 1]))
    return out


# --- one virtual user ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    username: str
    times: dict[str, float] = field(default_factory=dict)
    question_times: list[float] = field(default_factory=list)
    actions: dict[str, int] = field(default_factory=dict)  # per step: the clicks that made the server run
    failed_step: str | None = None
    error: str = ""
    checked_in: bool = False
    submitted: bool = False


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:200]


async def page_errors(page) -> str:  # noqa: ANN001
    """What the page shows as an error: Streamlit exceptions, error and warning alerts, a lost connection.
    Read in one evaluation: under load an element found first can be re-drawn before its text is read."""
    found = await page.evaluate(
        """(kinds) => kinds.flatMap((kind) =>
        Array.from(document.querySelectorAll(`[data-testid=${kind}]`)).slice(0, 2)
             .map((el) => `${kind}: ${el.innerText.trim().replace(/\\s+/g, ' ').slice(0, 160)}`))""",
        ["stException", "stAlertContentError", "stAlertContentWarning", "stConnectionStatus"],
    )
    return "; ".join(found)


async def run_user(
    browser,
    url: str,
    plan: Plan,
    user: User,
    timeout_ms: int,
    delay: float = 0,  # noqa: ANN001, C901
    steps_to_run: tuple[str, ...] = STEPS,
    shots: Path | None = None,
    on_step: Callable[[str], None] | None = None,
) -> Outcome:
    """One worker's journey; ``on_step(name)`` is called before each step and ``on_step("end")`` after the
    last one (bench/journey_cost.py reads the server's CPU there)."""
    from playwright.async_api import expect

    from core import clock
    from courses.attendance import checkin_code

    out = Outcome(user.username)
    await asyncio.sleep(delay)
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(timeout_ms)
    await context.add_init_script(RUN_COUNTER_JS)
    page = await context.new_page()
    sidebar = page.get_by_test_id("stSidebar")
    current = ""

    async def act(action: Callable[[], Awaitable[object]]) -> None:
        """Do something that makes Streamlit run the script, and wait until that run has finished."""
        runs = await page.evaluate("() => window.__gwRuns")
        out.actions[current] = out.actions.get(current, 0) + 1
        await action()
        await page.wait_for_function(RUN_DONE_JS, arg=runs, timeout=timeout_ms, polling=100)

    async def open_site() -> None:
        out.actions["open"] = 1
        await page.goto(url, timeout=timeout_ms)
        await page.wait_for_function(RUN_DONE_JS, arg=0, timeout=timeout_ms, polling=100)  # the form's run
        await expect(page.get_by_role("button", name="登录")).to_be_visible(timeout=timeout_ms)

    async def sign_in() -> None:
        await page.get_by_role("textbox", name="用户名").fill(user.username)
        await page.get_by_role("textbox", name="密码").fill(PASSWORD)
        await act(page.get_by_role("button", name="登录").click)
        await expect(sidebar).to_be_visible(timeout=timeout_ms)

    async def home() -> None:
        await act(sidebar.get_by_role("link", name="首页", exact=True).click)
        await expect(page.get_by_test_id("stMetric").filter(has_text="我的网格")).to_be_visible(
            timeout=timeout_ms
        )

    async def my_learning() -> None:
        await act(sidebar.get_by_role("link", name="我的课程", exact=True).click)
        await expect(page.locator(f'a[href*="session={plan.session_id}"]')).to_be_visible(timeout=timeout_ms)

    async def check_in() -> None:
        await act(page.locator(f'a[href*="session={plan.session_id}"]').click)
        code_box = page.get_by_role("textbox", name="六位签到码")
        await code_box.fill(checkin_code(plan.secret, clock.now()))  # the code the host reads out now
        await act(page.get_by_role("button", name="签到", exact=True).click)
        await expect(page.get_by_text(re.compile("签到成功|无需重复签到"))).to_be_visible(timeout=timeout_ms)
        out.checked_in = True

    async def quiz_open() -> None:
        await act(sidebar.get_by_role("link", name="我的课程", exact=True).click)
        await act(page.locator(f'a[href*="course={plan.course_id}"]').click)
        await act(page.get_by_role("button", name="开始答题").click)
        await expect(page.get_by_text(re.compile(r"第 1/\d+ 题"))).to_be_visible(timeout=timeout_ms)

    async def quiz_answer() -> None:
        progress = await page.get_by_text(re.compile(r"第 1/\d+ 题")).inner_text()
        total = int(re.search(r"第 1/(\d+) 题", progress).group(1))
        for i in range(total):
            t = time.perf_counter()
            radios, boxes = page.get_by_test_id("stRadio"), page.get_by_test_id("stCheckbox")
            await expect(radios.or_(boxes).first).to_be_visible(timeout=timeout_ms)
            # The options are in a form: choosing one runs nothing on the server; the button below saves it.
            if await radios.count():
                options = radios.get_by_role("radio")
                pick = options.nth(random.randrange(await options.count()))
                await pick.check(force=True)
                await expect(pick).to_be_checked(timeout=timeout_ms)
            else:
                await boxes.first.click()
                await expect(boxes.first.get_by_role("checkbox")).to_be_checked(timeout=timeout_ms)
            if i < total - 1:
                await act(page.get_by_role("button", name="下一题").click)
                await expect(page.get_by_text(re.compile(rf"第 {i + 2}/{total} 题"))).to_be_visible(
                    timeout=timeout_ms
                )
            out.question_times.append(time.perf_counter() - t)

    async def quiz_submit() -> None:
        await act(page.get_by_role("button", name="交卷").click)
        await expect(page.get_by_test_id("stMetric").filter(has_text="得分")).to_be_visible(
            timeout=timeout_ms
        )
        out.submitted = True

    async def my_scorecard() -> (
        None
    ):  # 我的考评 (bench/journey_cost.py; the load test's journey stops at the quiz)
        await act(sidebar.get_by_role("link", name="我的考评", exact=True).click)
        await expect(page.get_by_role("heading", name="我的考评")).to_be_visible(timeout=timeout_ms)

    async def inbox() -> None:  # 消息
        await act(sidebar.get_by_role("link", name="消息", exact=True).click)
        await expect(page.get_by_test_id("stMain").get_by_role("heading").first).to_be_visible(
            timeout=timeout_ms
        )

    steps = {
        "open": open_site,
        "sign_in": sign_in,
        "home": home,
        "my_learning": my_learning,
        "check_in": check_in,
        "quiz_open": quiz_open,
        "quiz_answer": quiz_answer,
        "quiz_submit": quiz_submit,
        "my_scorecard": my_scorecard,
        "inbox": inbox,
    }
    try:
        for name in steps_to_run:
            current = name
            if on_step is not None:
                on_step(name)
            t = time.perf_counter()
            try:
                await steps[name]()
                shown = await page_errors(page)
                if "stException" in shown:
                    raise RuntimeError(f"the page shows an exception: {shown}")
            except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                out.failed_step = name
                try:
                    shown = await page_errors(page)
                except Exception:  # noqa: BLE001
                    shown = ""
                out.error = first_line(exc) + (f" [page: {shown}]" if shown else "")
                if shots is not None:
                    shots.mkdir(parents=True, exist_ok=True)
                    with contextlib.suppress(Exception):
                        await page.screenshot(path=str(shots / f"{user.username}-{name}.png"), full_page=True)
                return out
            out.times[name] = time.perf_counter() - t
        if on_step is not None:
            on_step("end")
        return out
    finally:
        await context.close()


async def drive(
    url: str,
    plan: Plan,
    *,
    headless: bool,
    timeout_s: float,
    ramp_s: float,
    deadline_s: float,
    shots: Path | None,
    server_pid: int,
) -> tuple[list[Outcome], float]:
    from playwright.async_api import async_playwright

    exe = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=exe,
            headless=headless,
            args=[
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-gpu",
                "--disable-dev-shm-usage",
            ],
        )
        if plan.warm_up is not None:  # a running server has imported its pages; a fresh one has not
            warm = await run_user(
                browser,
                url,
                plan,
                plan.warm_up,
                int(timeout_s * 1000),
                steps_to_run=("open", "sign_in", "home", "my_learning", "quiz_open"),
            )
            print(
                f"warm-up by {warm.username}: "
                + ", ".join(f"{k} {v:.1f} s" for k, v in warm.times.items())
                + (f"; failed: {warm.error}" if warm.failed_step else "")
            )
        n = len(plan.users)
        t = time.perf_counter()
        cpu_server, cpu_all = cpu_seconds(server_pid), cpu_seconds(os.getpid())
        tasks = [
            asyncio.create_task(
                run_user(browser, url, plan, u, int(timeout_s * 1000), ramp_s * i / max(1, n), shots=shots)
            )
            for i, u in enumerate(plan.users)
        ]
        done, pending = await asyncio.wait(tasks, timeout=deadline_s)
        for task in pending:
            task.cancel()
        outcomes = []
        for user, task in zip(plan.users, tasks, strict=True):
            if task in done and task.exception() is None:
                outcomes.append(task.result())
            else:
                why = "run deadline passed" if task in pending else first_line(task.exception())
                outcomes.append(Outcome(user.username, failed_step="(deadline)", error=why))
        elapsed = time.perf_counter() - t
        server = cpu_seconds(server_pid) - cpu_server
        rest = cpu_seconds(os.getpid()) - cpu_all - server
        print(
            f"CPU during the run: server {server:.0f} s, browser + Playwright + this script {rest:.0f} s, "
            f"in {elapsed:.0f} s wall ({os.cpu_count()} cores: {elapsed * (os.cpu_count() or 1):.0f} CPU s)"
        )
        await browser.close()
    return outcomes, elapsed


# --- the report ------------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q)) if values else float("nan")


def report_steps(outcomes: list[Outcome]) -> list[dict]:
    rows = []
    for name in STEPS:
        times = [o.times[name] for o in outcomes if name in o.times]
        failed = [o for o in outcomes if o.failed_step == name]
        reached = len(times) + len(failed)
        rows.append(
            {
                "step": name,
                "ok": len(times),
                "reached": reached,
                "errors": len(failed),
                "median": pct(times, 50),
                "p95": pct(times, 95),
                "max": max(times, default=float("nan")),
                "messages": [f"{o.username}: {o.error}" for o in failed],
            }
        )
    q = [t for o in outcomes for t in o.question_times]
    rows.append(
        {
            "step": "(per question)",
            "ok": len(q),
            "reached": len(q),
            "errors": 0,
            "median": pct(q, 50),
            "p95": pct(q, 95),
            "max": max(q, default=float("nan")),
            "messages": [],
        }
    )
    return rows


def print_steps(rows: list[dict], outcomes: list[Outcome]) -> None:
    print(f"\n{'step':<15} {'ok':>4} {'errors':>6} {'median s':>9} {'p95 s':>8} {'max s':>8}")
    for r in rows:
        print(
            f"{r['step']:<15} {r['ok']:>4} {r['errors']:>6} {r['median']:>9.2f} {r['p95']:>8.2f} {r['max']:>8.2f}"
        )
    other = [o for o in outcomes if o.failed_step and o.failed_step not in STEPS]
    for r in rows:
        for m in r["messages"][:3]:
            print(f"  {r['step']} error: {m}")
        if len(r["messages"]) > 3:
            print(f"  {r['step']}: … {len(r['messages']) - 3} more")
    for o in other[:3]:
        print(f"  {o.failed_step}: {o.username}: {o.error}")
    if other:
        print(f"  not finished by the run deadline: {len(other)}")


def check_database(db_url: str, plan: Plan, outcomes: list[Outcome]) -> list[str]:
    """Print what the database recorded for the run; return the problems (empty = as expected)."""
    import pandas as pd
    from sqlalchemy import select

    from core.db import make_engine
    from core.models import User as Account
    from core.models_audit import AuditEntry
    from courses.models import AttemptStatus, Attendance, Certificate, QuizAttempt

    ids = [u.worker_id for u in plan.users]
    name_of = {u.worker_id: u.username for u in plan.users}
    engine = make_engine(db_url)
    with engine.connect() as conn:
        seats = pd.read_sql(
            select(Attendance.worker_id, Attendance.status, Attendance.checked_in_at).where(
                Attendance.session_id == plan.session_id
            ),
            conn,
        )
        attempts = pd.read_sql(
            select(QuizAttempt.id, QuizAttempt.worker_id, QuizAttempt.status).where(
                QuizAttempt.course_id == plan.course_id,
                QuizAttempt.worker_id.in_(ids),
                QuizAttempt.started_at >= plan.since,
            ),
            conn,
        )
        certs = pd.read_sql(
            select(Certificate.attempt_id, Certificate.worker_id).where(
                Certificate.course_id == plan.course_id,
                Certificate.worker_id.in_(ids),
                Certificate.issued_at >= plan.since,
            ),
            conn,
        )
        signins = pd.read_sql(
            select(AuditEntry.username)
            .join(Account, Account.username == AuditEntry.username)
            .where(AuditEntry.action == "signin.ok", AuditEntry.at >= plan.since, Account.worker_id.in_(ids)),
            conn,
        )
    engine.dispose()
    problems = []
    ours = seats[seats["worker_id"].isin(ids)]
    checked = ours[ours["checked_in_at"].notna()]
    per_seat = ours.groupby("worker_id").size()
    others = seats[~seats["worker_id"].isin(ids) & seats["checked_in_at"].notna()]
    status = checked["status"].value_counts().to_dict()
    print(
        f"\ndatabase: check-ins {len(checked)}/{len(ids)} (present {status.get('present', 0)}, "
        f"late {status.get('late', 0)}), seat rows per user max {int(per_seat.max()) if len(per_seat) else 0}, "
        f"check-ins by workers not in the run {len(others)}"
    )

    def misses(what: str, recorded: set[int], seen: set[str], saw: str) -> None:
        """Users without a ``what`` in the database (and how many of them were told it had worked)."""
        missing = [name_of[w] for w in ids if w not in recorded]
        if missing:
            lost = [m for m in missing if m in seen]
            problems.append(
                f"no {what} for {len(missing)} users ({len(lost)} of them saw {saw}): {missing[:5]}"
            )

    misses(
        "check-in recorded",
        set(checked["worker_id"]),
        {o.username for o in outcomes if o.checked_in},
        "签到成功",
    )
    if (per_seat > 1).any():
        problems.append(f"duplicate seat rows: {per_seat[per_seat > 1].to_dict()}")
    if len(checked[~checked["status"].isin(["present", "late"])]):
        problems.append("check-ins with a status other than present/late")
    if len(others):
        problems.append(f"{len(others)} check-ins by workers who were not in the run")

    done = (AttemptStatus.SUBMITTED.value, AttemptStatus.AUTO_SUBMITTED.value)
    submitted = attempts[attempts["status"].isin(done)].groupby("worker_id").size()
    per_worker = attempts.groupby("worker_id").size()
    open_ = attempts[attempts["status"] == AttemptStatus.IN_PROGRESS.value]
    print(
        f"database: quiz attempts {len(attempts)} for {attempts['worker_id'].nunique()} users "
        f"(submitted {int(submitted.sum()) if len(submitted) else 0}, still open {len(open_)}), "
        f"users with more than one attempt {int((per_worker > 1).sum())}, "
        f"certificates {len(certs)} (duplicates per attempt {int(certs['attempt_id'].duplicated().sum())})"
    )
    misses(
        "submitted attempt", set(submitted.index), {o.username for o in outcomes if o.submitted}, "a score"
    )
    if (per_worker > 1).any():
        problems.append(
            f"more than one attempt started: {per_worker[per_worker > 1].rename(name_of).to_dict()}"
        )
    if certs["attempt_id"].duplicated().any() or certs["worker_id"].duplicated().any():
        problems.append("more than one certificate for an attempt or a worker")
    per_user = signins.groupby("username").size()
    print(f"database: successful sign-ins {len(signins)} by {signins['username'].nunique()} users")
    if (per_user > 1).any():
        problems.append(f"more than one sign-in recorded: {per_user[per_user > 1].to_dict()}")
    return problems


def machine_load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


def run_from_snapshot(rev: str) -> int:
    """Run this script again from a copy of commit ``rev``: the checkout may change under a long run."""
    with tempfile.TemporaryDirectory(prefix="gridwise-load-code-") as tmp:
        archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        sha = subprocess.run(
            ["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        print(f"code: commit {sha} ({rev}), copied to {tmp}", flush=True)
        env = {**os.environ, "GRIDWISE_LOAD_SNAPSHOT": sha, "GRIDWISE_LOAD_CHECKOUT": str(ROOT)}
        return subprocess.run(
            [sys.executable, str(Path(tmp) / "bench" / "load_test.py"), *sys.argv[1:]], env=env
        ).returncode


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--users", type=int, default=50, help="concurrent virtual users (demo worker accounts)"
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--pg-admin-url",
        default=PG_ADMIN_URL,
        help="a PostgreSQL URL allowed to CREATE DATABASE (the load database is made beside it)",
    )
    parser.add_argument("--course", default="house_coding", help="course of the session and the quiz")
    parser.add_argument("--scale", type=float, default=1.0, help="demo field-data scale (seed-demo --scale)")
    parser.add_argument("--headless", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--timeout", type=float, default=300, help="seconds one page action may take")
    parser.add_argument(
        "--ramp", type=float, default=0, help="spread the users' starts over this many seconds"
    )
    parser.add_argument("--deadline", type=float, default=1800, help="seconds the whole run may take")
    checkout = Path(os.environ.get("GRIDWISE_LOAD_CHECKOUT", ROOT))
    parser.add_argument(
        "--screenshots",
        type=Path,
        default=checkout / "artifacts" / "load",
        help="where a failed step's screenshot goes",
    )
    parser.add_argument(
        "--code",
        default="HEAD",
        help="the commit to run (copied out with git archive, so edits to the checkout during "
        "the run do not reach the server); 'worktree' runs the checkout as it is",
    )
    parser.add_argument("--keep-log", type=Path, default=None, help="copy the server log here")
    args = parser.parse_args()
    if args.code != "worktree" and not os.environ.get("GRIDWISE_LOAD_SNAPSHOT"):
        return run_from_snapshot(args.code)
    random.seed(args.users)

    print(f"load test: {args.users} users, {args.db}; before: {machine_load()}")
    with ExitStack() as stack:
        db_url = create_database(args.db, stack, args.pg_admin_url)
        os.environ["GRIDWISE_DATABASE_URL"] = db_url  # for the domain code used in set-up and checks
        seed(db_url, args.scale)
        plan = prepare(db_url, args.users, args.course)
        log_dir = Path(tempfile.mkdtemp(prefix="gridwise-load-log-"))
        stack.callback(shutil.rmtree, log_dir, ignore_errors=True)
        log_path = log_dir / f"streamlit-{uuid.uuid4().hex[:6]}.log"
        url, server_pid = start_server(db_url, log_path, stack)
        print(f"server {url} up; driving {args.users} browser contexts …")
        try:
            outcomes, elapsed = asyncio.run(
                drive(
                    url,
                    plan,
                    headless=args.headless,
                    timeout_s=args.timeout,
                    ramp_s=args.ramp,
                    deadline_s=args.deadline,
                    shots=args.screenshots,
                    server_pid=server_pid,
                )
            )
        except Exception:
            traceback.print_exc()
            print(log_path.read_text(errors="replace")[-3000:])
            return 2
        after = machine_load()
        finished = sum(1 for o in outcomes if o.failed_step is None)
        print(f"\n{finished}/{len(outcomes)} users finished every step in {elapsed:.0f} s; after: {after}")
        print_steps(report_steps(outcomes), outcomes)
        tracebacks = log_tracebacks(log_path)
        print(f"\nserver log: {len(tracebacks)} tracebacks")
        for tb in tracebacks[:3]:
            print(f"  {tb[:300]}")
        if args.keep_log:
            shutil.copy(log_path, args.keep_log)
        problems = check_database(db_url, plan, outcomes)
        for p in problems:
            print(f"  PROBLEM: {p}")
        if not problems:
            print("database: as expected (one check-in and one submitted attempt per user, no duplicates)")
    return 0 if finished == len(outcomes) and not problems and not tracebacks else 1


if __name__ == "__main__":
    raise SystemExit(main())
