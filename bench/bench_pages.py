"""What users pay per page: server CPU of each page, cold and warm, per role, signed in for real.

    .venv/bin/python bench/bench_pages.py                      # SQLite copy of the seeded demo district
    .venv/bin/python bench/bench_pages.py --db postgres        # PostgreSQL: app process + its backends
    .venv/bin/python bench/bench_pages.py --roles worker --pages my_scorecard,inbox

Starts `streamlit run ui/server.py` on its own port and its own database (a copy of a demo district seeded
once: var/bench-demo.db for SQLite, the database ``--pg-template`` for PostgreSQL, copied with
``CREATE DATABASE … TEMPLATE``; ``--fresh`` seeds it again; ``--template-db`` names another seeded one, e.g.
the growth bench's 10× district). One Chromium signs in through the real sign-in form (password, server-side
session, cookie) as each role in turn:

  worker (dp0001: worker pages), worker2 (dp0002, a returning device), worker3 (dp0003, a new device),
  xiasha (下沙 community manager), manager (district manager), admin (system administrator; --roles
  secadmin,auditor for the other two duties)

and opens every menu page of that role by clicking its sidebar link: first all of them once (cold: the first
view in a fresh server, st.cache_data empty for that viewer), then all again (warm). A page's cost is the
CPU read from /proc between the click and the end of its script run: utime + stime of the server process
(and its children) plus, on PostgreSQL, of the database backends serving this database (pids from
pg_stat_activity, /proc/<pid>/stat). The browser's CPU is not counted. /proc counts in 10 ms ticks: a
figure under ~30 ms is a few ticks, read it as "small".

Devices. Every role opens a new browser context (a device that never opened the app: an empty HTTP cache)
except worker2, a returning device: the context the worker before it used (worker's, or one primed by dp0004
opening the worker pages once, unmeasured, when worker2 runs first), signed out with 退出登录, then the app
opened again in a new tab of it and dp0002 signed in. No one has signed in as dp0002 before, so the server's
caches for that viewer are cold; only the browser's HTTP cache is warm. Why: a view's first widgets of a kind
(a select box, a chart) make a new device fetch the app's hashed JavaScript files from /static/ (25 for a
worker's first 我的考评, ~1 MB), which Streamlit serves ``Cache-Control: public, immutable``; a phone that
has opened the app before fetches none of them again. Measured (2 servers, dp0002/dp0003 swapped between
new and returning device, load 9–12 on 2 cores): a worker's first 我的考评 60–70 ms returning, 120 ms new; the
same 25 files fetched again by urllib cost the server 30–40 ms. The issue's worry is the 1st of a month,
when every worker's card changes and every worker (on the device they used last month) opens it: the goal
is judged on worker2. worker3 shows what a new device pays on top. Each row says how many files the view
fetched from /static/ (``files``: responses from the server, HTTP cache hits not counted, read from the
Chrome DevTools protocol; Playwright's request event fires for cache hits too) and ``files ms``: the server
CPU of fetching those same files again right after the view (urllib, one at a time, not in the page's
figure, which already holds the browser's own fetches).

The reference, in the same run: bench/trivial_page.py (a title, a radio, a button) on a second server, CPU
per radio click (one script run); every page's cold and warm cost is printed as a ratio to it.

Goals (issue #21): 我的考评 cold ≤ 60 ms for a worker's first view in a running server (worker2, on a returning
device; the first worker, in a fresh server, also pays the imports); every manager page cold ≤ 0.3 s (district and 下沙
manager); every page warm ≤ 1 s. Exit status 1 when one is missed (``--print-only``: 0), 2 when a page
fails (an exception on screen).
The machine is shared: compare ratios within one run, and read `load` printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

os.environ["GRIDWISE_DEMO"] = "true"  # benches run on the demo district (core.instance)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load_test as lt  # noqa: E402 - the load test's server start, CPU reading and run counter

SQLITE_TEMPLATE = ROOT / "var" / "bench-demo.db"
PG_TEMPLATE = "gridwise_bench_demo"
ROLES = {  # label: (username, the role whose pages it opens)
    "worker": ("dp0001", "worker"),
    # a second worker after the first: their cold views are a worker's first view in a running server
    # (modules imported, st.cache_data empty for this viewer) — what each of a district's workers pays,
    # on a returning device (RETURNING)
    "worker2": ("dp0002", "worker"),
    "worker3": ("dp0003", "worker"),  # the same on a new device: what the static files add
    "xiasha": ("xiasha", "manager"),
    "manager": ("manager", "manager"),
    "admin": (
        "admin",
        "sysadmin",
    ),  # the system administrator (三员分立: secadmin and auditor see no business data)
    "secadmin": ("secadmin", "secadmin"),
    "auditor": ("auditor", "auditor"),
}
DEFAULT_ROLES = "worker,worker2,worker3,xiasha,manager,admin"
RETURNING = {"worker2"}  # labels whose device has opened the app before (its HTTP cache holds /static/)
PRIMER = "dp0004"  # opens the worker pages once on the returning device when no worker ran before it
GOAL_MY_SCORECARD_S, GOAL_MANAGER_COLD_S, GOAL_WARM_S = 0.060, 0.300, 1.0


# ---- databases -----------------------------------------------------------------------------------------


def _pg_url(admin_url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _pg_exists(admin_url: str, name: str) -> bool:
    from sqlalchemy import create_engine, text

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
    engine.dispose()
    return found is not None


def _migrate(url: str) -> None:
    env = {**os.environ, "GRIDWISE_DATABASE_URL": url, "GRIDWISE_SCHEDULER_ENABLED": "false"}
    subprocess.run(
        [sys.executable, "-m", "core.cli", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True
    )


def database(stack: ExitStack, args: argparse.Namespace) -> str:
    """A private copy of the seeded template (seeded first when missing or ``--fresh``), migrated to head."""
    if args.db == "sqlite":
        template = Path(args.template_db) if args.template_db else SQLITE_TEMPLATE
        if args.fresh or not template.exists():
            template.parent.mkdir(exist_ok=True)
            template.unlink(missing_ok=True)
            lt.seed(f"sqlite:///{template}", args.scale)
        tmp = Path(tempfile.mkdtemp(prefix="gridwise-pages-"))
        stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        shutil.copy(template, tmp / "pages.db")
        url = f"sqlite:///{tmp / 'pages.db'}"
        _migrate(url)
        return url
    from sqlalchemy import create_engine, text

    template = args.template_db or PG_TEMPLATE
    admin = create_engine(args.pg_admin_url, isolation_level="AUTOCOMMIT")
    if args.fresh or not _pg_exists(args.pg_admin_url, template):
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{template}"'))
        lt.seed(_pg_url(args.pg_admin_url, template), args.scale)
    name = f"gridwise_pages_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    stack.callback(drop)
    url = _pg_url(args.pg_admin_url, name)
    _migrate(url)
    return url


class ServerCpu:
    """CPU seconds of the app server (process tree) plus, on PostgreSQL, its database's backends."""

    def __init__(self, pid: int, db_url: str) -> None:
        self.pid = pid
        self.engine = None
        if db_url.startswith("postgresql"):
            from sqlalchemy import create_engine

            self.engine = create_engine(db_url, isolation_level="AUTOCOMMIT", pool_size=1)
            self.conn = self.engine.connect()
        self.backend_seen: dict[int, float] = {}

    def backends(self) -> float:
        """Σ CPU of this database's backends, this reader's own excluded; a backend that has gone keeps
        the last figure read (the pool seldom closes connections during a run)."""
        if self.engine is None:
            return 0.0
        from sqlalchemy import text

        pids = self.conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
        ).scalars()
        tick = os.sysconf("SC_CLK_TCK")
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            self.backend_seen[pid] = (int(fields[11]) + int(fields[12])) / tick
        return sum(self.backend_seen.values())

    def read(self) -> tuple[float, float]:
        return lt.cpu_seconds(self.pid), self.backends()

    def close(self) -> None:
        if self.engine is not None:
            self.conn.close()
            self.engine.dispose()


# ---- the browser ---------------------------------------------------------------------------------------


class Tab:
    """One signed-in (or not) browser tab whose actions wait for the script run they cause; a new device
    (browser context), or a new tab of ``context`` (a returning device: its HTTP cache is kept).
    ``static``: the URLs under /static/ the server sent this tab, in order (HTTP cache hits not counted)."""

    def __init__(self, browser, url: str, timeout_ms: int, context=None) -> None:  # noqa: ANN001
        if context is None:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            context.set_default_timeout(timeout_ms)
            context.add_init_script(lt.RUN_COUNTER_JS)
        self.context = context
        self.page = self.context.new_page()
        self.static: list[str] = []
        self._watch_static()
        self.timeout_ms = timeout_ms
        self.page.goto(url, timeout=timeout_ms)
        self.page.wait_for_function(lt.RUN_DONE_JS, arg=0, timeout=timeout_ms, polling=50)

    def _watch_static(self) -> None:
        # page.on("request") fires for HTTP cache hits too; the DevTools protocol tells them apart
        cdp = self.context.new_cdp_session(self.page)
        cached: set[str] = set()

        def served(event: dict) -> None:
            r = event["response"]
            hit = r.get("fromDiskCache") or r.get("fromPrefetchCache") or r.get("fromServiceWorker")
            if "/static/" in r["url"] and not hit and event["requestId"] not in cached:
                self.static.append(r["url"])

        cdp.on("Network.requestServedFromCache", lambda event: cached.add(event["requestId"]))
        cdp.on("Network.responseReceived", served)
        cdp.send("Network.enable")

    def act(self, action) -> None:  # noqa: ANN001
        runs = self.page.evaluate("() => window.__gwRuns")
        action()
        self.page.wait_for_function(lt.RUN_DONE_JS, arg=runs, timeout=self.timeout_ms, polling=50)

    def exception(self) -> str:
        found = self.page.evaluate(
            """() => Array.from(document.querySelectorAll('[data-testid=stException]')).slice(0, 1)
                 .map((el) => el.innerText.trim().replace(/\\s+/g, ' ').slice(0, 300))"""
        )
        return "; ".join(found)


def sign_in(tab: Tab, username: str) -> None:
    page = tab.page
    page.get_by_role("textbox", name="用户名").fill(username)
    page.get_by_role("textbox", name="密码").fill(lt.PASSWORD)
    tab.act(page.get_by_role("button", name="登录").click)
    page.get_by_test_id("stSidebar").wait_for(timeout=tab.timeout_ms)
    # the run after sign-in hands the one-time code to /_gw/session; let that and its run finish
    page.wait_for_timeout(500)
    page.wait_for_function(lt.RUN_DONE_JS, arg=0, timeout=tab.timeout_ms, polling=50)
    # the privacy notice stops every page until the user accepts it (first sign-in): accept it once, or
    # every page would measure the notice instead of itself
    accept = page.get_by_role("button", name="我已阅读并知悉")
    if accept.count():
        tab.act(accept.click)


def sign_out(tab: Tab) -> None:
    """退出登录 (the server-side session ends), then the tab is closed; its device (context) stays open."""
    tab.act(tab.page.get_by_role("button", name="退出登录").click)
    tab.page.get_by_role("button", name="登录").wait_for(timeout=tab.timeout_ms)
    tab.page.close()


def returning_device(browser, url: str, previous: Tab | None, pages: list, args: argparse.Namespace) -> Tab:  # noqa: ANN001
    """A new tab on the device ``previous`` used (signed out first); without one, a new device on which
    PRIMER opens ``pages`` once (unmeasured) so that its HTTP cache holds what they fetch."""
    from core.i18n import t

    timeout_ms = int(args.timeout * 1000)
    if previous is None:
        previous = Tab(browser, url, timeout_ms)
        sign_in(previous, PRIMER)
        sidebar = previous.page.get_by_test_id("stSidebar")
        for spec in pages:
            previous.act(sidebar.get_by_role("link", name=t(spec.label, "zh"), exact=True).click)
        previous.page.wait_for_timeout(args.settle_ms)
        print(f"  (device primed by {PRIMER}: {len(previous.static)} static files)", flush=True)
    sign_out(previous)
    return Tab(browser, url, timeout_ms, context=previous.context)


def floor_cost(browser, url: str, pid: int, clicks: int, timeout_ms: int) -> float:  # noqa: ANN001
    """Server CPU per radio click (one script run) on bench/trivial_page.py."""
    tab = Tab(browser, url, timeout_ms)
    radios = [tab.page.get_by_test_id("stRadio").get_by_text(x, exact=True) for x in ("a", "b", "c")]
    for i in range(3):
        tab.act(radios[(i + 1) % 3].click)
    t = lt.cpu_seconds(pid)
    for i in range(clicks):
        tab.act(radios[(i + 1) % 3].click)
    cost = (lt.cpu_seconds(pid) - t) / clicks
    tab.context.close()
    return cost


def refetch_cost(pid: int, urls: list[str]) -> float:
    """Server CPU of fetching ``urls`` again, one at a time, as a browser asks for them (compressed)."""
    if not urls:
        return 0.0
    t = lt.cpu_seconds(pid)
    for url in urls:
        request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
        with urllib.request.urlopen(request) as response:
            response.read()
    time.sleep(0.1)  # the last response's accounting
    return lt.cpu_seconds(pid) - t


def view(tab: Tab, cpu: ServerCpu, link, settle_ms: int) -> dict:  # noqa: ANN001
    """Click ``link`` (a sidebar page link) and return what the view cost the server: ``app`` and ``db`` CPU
    seconds (``cpu`` their sum), ``wall`` seconds to the end of its run, ``error`` (an exception on
    screen), ``files`` fetched from /static/ and ``files_cpu`` (refetch_cost of them, outside ``cpu``)."""
    link.wait_for(timeout=tab.timeout_ms)
    tab.page.wait_for_timeout(settle_ms)
    fetched = len(tab.static)
    app0, db0 = cpu.read()
    t0 = time.perf_counter()
    tab.act(link.click)
    wall = time.perf_counter() - t0
    tab.page.wait_for_timeout(settle_ms)  # work the run leaves behind (messages, GC, the static files)
    app1, db1 = cpu.read()
    files = tab.static[fetched:]
    return {
        "app": app1 - app0,
        "db": db1 - db0,
        "cpu": (app1 - app0) + (db1 - db0),
        "wall": wall,
        "error": tab.exception(),
        "files": len(files),
        "files_cpu": refetch_cost(cpu.pid, files),
    }


def measure_role(tab: Tab, cpu: ServerCpu, label: str, pages: list, args: argparse.Namespace) -> list[dict]:
    """Sign ``tab`` in as ``label`` and view ``pages`` cold, then warm; the tab stays open."""
    from core.i18n import t

    sign_in(tab, ROLES[label][0])
    sidebar = tab.page.get_by_test_id("stSidebar")
    rows: list[dict] = []
    for phase in ("cold", "warm"):
        for spec in pages:
            link = sidebar.get_by_role("link", name=t(spec.label, "zh"), exact=True)
            row = view(tab, cpu, link, args.settle_ms)
            rows.append(
                {"role": label, "page": spec.url_path or "app", "label": t(spec.label, "zh"), "phase": phase}
                | row
            )
            print(
                f"  {label:8} {phase:4} {spec.url_path or 'app':16} {row['cpu'] * 1000:7.0f} ms"
                f"  {row['files']:3d} files" + (f"  ERROR {row['error']}" if row["error"] else ""),
                flush=True,
            )
    return rows


def goal_of(row: dict) -> float | None:
    if row["phase"] == "cold" and row["page"] == "my_scorecard" and row["role"] == "worker2":
        return GOAL_MY_SCORECARD_S
    if row["phase"] == "cold" and row["role"] in ("xiasha", "manager"):
        return GOAL_MANAGER_COLD_S
    if row["phase"] == "warm":
        return GOAL_WARM_S
    return None


def report(rows: list[dict], floor: float) -> tuple[int, int]:
    """Print one line per role × page; return (goals missed, pages failed)."""
    by_key: dict[tuple[str, str], dict[str, dict]] = {}
    for r in rows:
        by_key.setdefault((r["role"], r["page"]), {})[r["phase"]] = r
    print(f"\nreference: bench/trivial_page.py, {floor * 1000:.0f} ms server CPU per radio click (one run)")
    print(
        "files: JavaScript etc. the view fetched from /static/ (a new device); files ms: their server CPU "
        "fetched again"
    )
    head = f"{'ms':>7} {'(db)':>5} {'× ref':>6} {'files':>5} {'f. ms':>5}"
    print(f"\n{'':8} {'':16} {'cold':^32} | {'warm':^32}")
    print(f"{'role':8} {'page':16} {head} | {head}  goal")
    missed = failed = 0
    for (role, page), phases in by_key.items():
        cold, warm = phases.get("cold"), phases.get("warm")
        verdicts = []
        for r in (cold, warm):
            if r is None:
                continue
            failed += bool(r["error"])
            goal = goal_of(r)
            if goal is not None:
                ok = round(r["cpu"], 3) <= goal  # /proc ticks summed as floats: 0.06 may read 0.0600…01
                missed += not ok
                verdicts.append(f"{r['phase']} ≤ {goal * 1000:.0f}: {'MET' if ok else 'MISSED'}")
        cells = []
        for r in (cold, warm):
            cells.append(
                f"{r['cpu'] * 1000:7.0f} {r['db'] * 1000:5.0f} {r['cpu'] / floor:6.1f} {r['files']:5d} "
                f"{r['files_cpu'] * 1000:5.0f}"
                if r
                else f"{'-':>7} {'-':>5} {'-':>6} {'-':>5} {'-':>5}"
            )
        print(f"{role:8} {page:16} {cells[0]} | {cells[1]}  {'; '.join(verdicts)}")
    return missed, failed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-admin-url", default=lt.PG_ADMIN_URL)
    parser.add_argument("--template-db", default=None, help="seeded SQLite file or PostgreSQL database")
    parser.add_argument("--scale", type=float, default=1.0, help="demo scale when seeding the template")
    parser.add_argument("--fresh", action="store_true", help="seed the template again")
    parser.add_argument("--roles", default=DEFAULT_ROLES, help="comma-separated, of " + ",".join(ROLES))
    parser.add_argument("--pages", default="", help="comma-separated page stems (default: every menu page)")
    parser.add_argument("--floor-clicks", type=int, default=30)
    parser.add_argument("--settle-ms", type=int, default=300)
    parser.add_argument("--timeout", type=float, default=180, help="seconds one page may take")
    parser.add_argument("--json", type=Path, default=None, help="write the rows here too")
    parser.add_argument("--print-only", action="store_true", help="exit 0 when a goal is missed")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from core.models import Role
    from ui.pages import PAGES

    print(f"bench_pages: {args.db}; before: {lt.machine_load()}", flush=True)
    wanted = {p for p in args.pages.split(",") if p}
    with ExitStack() as stack:
        db_url = database(stack, args)
        work = Path(tempfile.mkdtemp(prefix="gridwise-pages-run-"))
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        # the administrator duties need a second factor at sign-in (GRIDWISE_MFA_REQUIRED_ROLES): the bench's
        # browser has no authenticator, so its server asks none (a page's cost does not depend on it)
        app_url, app_pid = lt.start_server(
            db_url, work / "app.log", stack, env_extra={"GRIDWISE_MFA_REQUIRED_ROLES": ""}
        )
        floor_url, floor_pid = lt.start_server(
            db_url, work / "floor.log", stack, script="bench/trivial_page.py"
        )
        cpu = ServerCpu(app_pid, db_url)
        stack.callback(cpu.close)
        exe = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
        rows: list[dict] = []
        t_start = time.perf_counter()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=exe, headless=True, args=["--disable-gpu", "--disable-dev-shm-usage"]
            )
            floor = floor_cost(browser, floor_url, floor_pid, args.floor_clicks, int(args.timeout * 1000))
            worker_tab: Tab | None = None  # the device the last worker used, for a returning one
            for label in [r for r in args.roles.split(",") if r]:
                role = Role(ROLES[label][1])
                pages = [
                    p
                    for p in PAGES
                    if p.exists and p.in_menu and role in p.roles and (not wanted or p.url_path in wanted)
                ]
                if label in RETURNING:
                    tab = returning_device(browser, app_url, worker_tab, pages, args)
                else:
                    tab = Tab(browser, app_url, int(args.timeout * 1000))
                rows += measure_role(tab, cpu, label, pages, args)
                if role is Role.WORKER:
                    if worker_tab is not None and worker_tab.context is not tab.context:
                        worker_tab.context.close()
                    worker_tab = tab
                else:
                    tab.context.close()
            floor_after = floor_cost(
                browser, floor_url, floor_pid, args.floor_clicks, int(args.timeout * 1000)
            )
            browser.close()
        floor = (floor + floor_after) / 2
        missed, failed = report(rows, floor)
        tracebacks = lt.log_tracebacks(work / "app.log")
        print(
            f"\nserver log: {len(tracebacks)} tracebacks" + "".join(f"\n  {t[:300]}" for t in tracebacks[:3])
        )
        print(
            f"{missed} goal(s) missed, {failed} page(s) failed; {time.perf_counter() - t_start:.0f} s; "
            f"after: {lt.machine_load()}"
        )
        if args.json:
            args.json.write_text(json.dumps({"floor": floor, "rows": rows}, indent=1, ensure_ascii=False))
    if failed or tracebacks:
        return 2
    return 1 if missed and not args.print_only else 0


if __name__ == "__main__":
    raise SystemExit(main())
