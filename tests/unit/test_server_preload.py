"""The web server imports what the pages need at start (ui/server.preload), not on their first viewers."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

from core.settings import ROOT


def test_the_server_start_imports_every_non_ui_module_the_pages_import():
    """Test that preload() covers each module app.py, pages/ and the ui/ modules import from outside ui/ and
    streamlit (``from pkg import module`` included), and that after it the heavy libraries are loaded and no ui/
    module is (their caches want Streamlit's runtime)."""
    code = (
        "import sys, json; from ui.server import preload; names = preload(); "
        "import gc; print(json.dumps([names, sorted(m for m in sys.modules if m.startswith('ui.')), gc.get_freeze_count(), 'jsonschema' in sys.modules]))"
    )
    queue_tab = ROOT / "ui" / "dispatch" / "queue_tab.py"
    compiled = Path(importlib.util.cache_from_source(str(queue_tab)))
    compiled.unlink(missing_ok=True)
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            "GRIDWISE_DATABASE_URL": "sqlite://",
            "GRIDWISE_DEMO": "true",
            "PATH": "/usr/bin:/bin",
            "PYTHONDONTWRITEBYTECODE": "1",
        },
        check=True,
    ).stdout.splitlines()[-1]
    names, ui_loaded, frozen, schema_loaded = ast.literal_eval(
        out.replace("true", "True").replace("false", "False")
    )
    wanted = set()
    for path in [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                wanted.add(node.module)
    wanted = {n for n in wanted if n.split(".")[0] not in ("ui", "streamlit")}
    assert wanted <= set(names)
    assert {"pandas", "altair", "evaluation.scoring.formula_text"} <= set(names)
    # ``from pkg import module`` in pages/ and ui/: 智能派单's service (its solver, ortools) came through ui/dispatch
    assert {"evaluation.scoring.charts", "evaluation.assignment.service"} <= set(names)
    assert "core.i18n.pick" not in names  # a function, not a module
    # What server.py itself needs for the cookie routes, nothing the pages bring.
    assert ui_loaded == ["ui.resources", "ui.server", "ui.session_cookie", "ui.state"]
    # The start's heap is frozen (ui.server.freeze_heap): a full collection no longer walks it on a page view.
    assert frozen > 100_000
    # The ui/ modules' bytecode is written at start (ui.server.compile_ui), even where nothing else writes it,
    # and the first chart's schema is loaded (ui.server.warm_charts).
    assert compiled.exists() and compiled.stat().st_mtime >= queue_tab.stat().st_mtime
    assert schema_loaded
