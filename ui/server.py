"""The web server: Streamlit's app (app.py and pages/) plus the two session-cookie routes.

Start it with ``streamlit run ui/server.py`` (Makefile ``run``, ``cluster``, the browser tests): Streamlit
1.67 finds the ``st.App`` below and serves it with its own Starlette server, so every ``streamlit run``
flag and ``.streamlit/config.toml`` still apply. ``streamlit run app.py`` still works but cannot set the
session cookie, so sign-ins then last only as long as the browser tab (ui/session_cookie.py).
"""

from __future__ import annotations

import ast
import compileall
import gc
import importlib
import importlib.util

import altair as alt
import pandas as pd
import streamlit as st
from starlette.middleware import Middleware

from core.db import get_engine
from core.http_security import SecurityHeaders
from core.instance import InstanceRefused, check_instance
from core.settings import ROOT
from ui.session_cookie import routes

try:  # a production server does not start beside demo accounts (core.instance)
    check_instance(get_engine())
except InstanceRefused as exc:
    raise SystemExit(f"Gridwise refuses to start: {exc}") from None


def preload() -> list[str]:
    """Import, once at server start, what app.py, the pages and the ui/ modules they use import from outside
    ui/: pandas, altair, scipy, ortools and the domain modules (``from pkg import module`` imports the module
    too). Otherwise the first viewer of each page after a start pays them (2–4 CPU-s in all on these machines;
    智能派单's service, solver and warning modules alone 0.7 CPU-s), and every replica of a cluster makes its
    first users wait. ui/ modules stay for the first run: their st.cache_data wrappers are made once
    Streamlit's runtime exists."""
    names: set[str] = set()
    sources = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "ui").rglob("*.py"))]
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    loaded = []
    for name in sorted(n for n in names if n.split(".")[0] not in ("ui", "streamlit")):
        parent = name.rpartition(".")[0]
        # ``a.b`` of ``from a import b`` may be a class, a function or a constant of module or package ``a``
        if parent and not hasattr(importlib.import_module(parent), "__path__"):
            continue
        if parent and importlib.util.find_spec(name) is None:
            continue
        importlib.import_module(name)
        loaded.append(name)
    return loaded


def freeze_heap() -> None:
    """Move what the start made (modules, their functions, classes and tables: ~270,000 objects) out of the
    cyclic garbage collector's sight, after collecting the start's garbage. Python's full collection walks every
    tracked object: with this heap (and AppTest's) it took 200–250 ms of CPU, landing on whichever page view
    happened to trigger it (one in two to four of a manager's 智能派单 views, in-process); after the freeze ~20 ms.
    What is frozen lives as long as the process anyway; objects made later are collected as before."""
    gc.collect()
    gc.freeze()


def compile_ui() -> None:
    """Write the bytecode of the ui/ modules at start (only those changed since it was last written). They are
    imported on a page's first run, not by preload(); where PYTHONDONTWRITEBYTECODE is set (these machines, some
    containers) nothing writes it otherwise, and every server's first viewer of a page compiled its modules from
    source — ~75 ms for 智能派单's. A read-only source tree just skips it."""
    compileall.compile_dir(str(ROOT / "ui"), quiet=2)


def warm_charts() -> None:
    """Draw one chart at start: altair's first chart loads the Vega-Lite schema and its validator and narwhals
    finds its backends — ~85 ms that otherwise landed on the first viewer of a page with a chart."""
    alt.Chart(pd.DataFrame({"x": [1.0], "y": ["a"]})).mark_bar().encode(x="x:Q", y="y:N").to_dict()


preload()
compile_ui()
warm_charts()
freeze_heap()

# Security headers (CSP, frame-ancestors, nosniff, Referrer-Policy, HSTS over HTTPS) on every response, through
# st.App's public middleware argument (it wraps Streamlit's own stack; no private internals patched).
app = st.App(str(ROOT / "app.py"), routes=routes(), middleware=[Middleware(SecurityHeaders)])
