"""The house rules, checked on the source with ``ast`` (docs/CONVENTIONS.md "Layers" and "Transactions").

Every project module (core/, courses/, evaluation/, api/, ui/, pages/, app.py) is parsed; an import
anywhere in it counts, inside functions too, except under ``if TYPE_CHECKING:`` (never run) for cycles.
The rules: no import cycle, imports only point down the layers (and nothing below ui/ imports
streamlit), no ``.commit()`` in domain code outside the unit-of-work helper and the named exceptions, and
issue #20's (one way to fail, imports at the top unless a comment says why), each in its section below.
Each rule is also fed a synthetic bad module, to show it can fail.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from core.i18n import catalog

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "courses", "evaluation", "api", "ui", "pages")
SCRIPTS = {"app.py": "pages.__app__"}  # the Streamlit entry point sits with the pages

# What each layer may import (besides the standard library and third-party packages).
MAY_IMPORT: dict[str, set[str]] = {
    "core": {"core"},
    "courses": {"core", "courses"},
    "evaluation": {"core", "courses", "evaluation"},
    "api": {"core", "courses", "evaluation", "api"},
    "ui": {"core", "courses", "evaluation", "ui"},
    "pages": {"core", "courses", "evaluation", "ui", "pages"},
}
NO_STREAMLIT = {"core", "courses", "evaluation", "api"}
NO_COMMIT = {"core", "courses", "evaluation", "api", "ui", "pages"}  # pages: one unit of work per action

# The only places in domain code that may call .commit(), each with its reason in docs/CONVENTIONS.md
# ("Named exceptions"): "module:qualified function".
COMMIT_ALLOWED = {
    "core.db:unit_of_work": "the one unit-of-work helper",
    "core.auth:_commit_retrying.write_and_commit": "a failed sign-in stays counted and audited; busy retry",
    "core.scheduler:SchedulerLock.try_acquire": "ends the advisory-lock connection's implicit transaction",
}


@dataclass
class Module:
    name: str
    tree: ast.Module
    is_package: bool = False
    path: str = ""
    source: str = ""

    @property
    def layer(self) -> str:
        return self.name.split(".")[0]


@dataclass(frozen=True)
class Import:
    target: str  # the module named, as written (absolute)
    names: tuple[str, ...]  # for "from target import a, b"
    line: int
    type_checking: bool


@dataclass
class Scan:
    modules: dict[str, Module] = field(default_factory=dict)

    def edges(self, *, runtime_only: bool = False) -> dict[str, dict[str, int]]:
        """module → {project module it imports: first line}."""
        graph: dict[str, dict[str, int]] = {name: {} for name in self.modules}
        for name, module in self.modules.items():
            for imp in imports_of(module):
                if runtime_only and imp.type_checking:
                    continue
                for target in self.resolve(imp):
                    if target != name:
                        graph[name].setdefault(target, imp.line)
        return graph

    def resolve(self, imp: Import) -> set[str]:
        """The project modules an import loads (the deepest one named: ``from a.b import c`` is a.b.c when
        that is a module, else a.b)."""
        found = set()
        candidates = [f"{imp.target}.{n}" for n in imp.names] or [imp.target]
        for candidate in candidates:
            parts = candidate.split(".")
            while parts and ".".join(parts) not in self.modules:
                parts.pop()
            if parts:
                found.add(".".join(parts))
        return found


def load(sources: Mapping[str, str], packages: Iterable[str] = ()) -> Scan:
    """A scan of synthetic modules: {"core.x": "source", ...}; ``packages`` names those that are packages."""
    packages = set(packages)
    return Scan(
        {
            name: Module(name, ast.parse(src), name in packages, f"<{name}>", src)
            for name, src in sources.items()
        }
    )


def load_project(root: Path = ROOT) -> Scan:
    modules: dict[str, Module] = {}
    files = [p for pkg in PACKAGES if (root / pkg).is_dir() for p in sorted((root / pkg).rglob("*.py"))]
    for path in files:
        rel = path.relative_to(root).with_suffix("")
        parts = list(rel.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        text = path.read_text(encoding="utf-8")
        modules[name] = Module(name, ast.parse(text), is_package, str(path.relative_to(root)), text)
    for script, name in SCRIPTS.items():
        if (root / script).is_file():
            text = (root / script).read_text(encoding="utf-8")
            modules[name] = Module(name, ast.parse(text), False, script, text)
    return Scan(modules)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(module: Module) -> list[Import]:
    """Every import statement in the module, at any depth."""
    found: list[Import] = []

    def visit(node: ast.AST, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for sub in child.body:
                    visit_stmt(sub, True)
                for sub in child.orelse:
                    visit_stmt(sub, type_checking)
                continue
            visit_stmt(child, type_checking)

    def visit_stmt(child: ast.AST, type_checking: bool) -> None:
        if isinstance(child, ast.Import):
            for alias in child.names:
                found.append(Import(alias.name, (), child.lineno, type_checking))
        elif isinstance(child, ast.ImportFrom):
            base = child.module or ""
            if child.level:
                package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
                package = package[: len(package) - (child.level - 1)]
                base = ".".join([*package, base] if base else package)
            found.append(
                Import(base, tuple(a.name for a in child.names if a.name != "*"), child.lineno, type_checking)
            )
        visit(child, type_checking)

    visit(module.tree, False)
    return found


# --- the rules ------------------------------------------------------------------------------------------


def import_cycles(scan: Scan) -> list[list[str]]:
    """Strongly connected groups of more than one module in the runtime import graph (Tarjan)."""
    graph = scan.edges(runtime_only=True)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0

    def strongconnect(v: str) -> None:
        nonlocal counter
        work = [(v, iter(sorted(graph[v])))]
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        while work:
            node, children = work[-1]
            advanced = False
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    advanced = True
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    group.append(w)
                    if w == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return sorted(groups)


def upward_imports(scan: Scan) -> list[str]:
    """ "module:line imports target" for every import of a project module its layer may not use."""
    bad = []
    for name, targets in scan.edges().items():
        layer = scan.modules[name].layer
        for target, line in sorted(targets.items()):
            if target.split(".")[0] not in MAY_IMPORT.get(layer, set()):
                bad.append(f"{name}:{line} imports {target}")
    return sorted(bad)


def streamlit_below_ui(scan: Scan) -> list[str]:
    bad = []
    for name, module in sorted(scan.modules.items()):
        if module.layer not in NO_STREAMLIT:
            continue
        for imp in imports_of(module):
            if imp.target.split(".")[0] == "streamlit":
                bad.append(f"{name}:{imp.line} imports {imp.target}")
    return bad


def commits(module: Module) -> list[tuple[str, int]]:
    """(qualified function name, line) of every ``<x>.commit()`` call in the module."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, qual: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                visit(child, [*qual, child.name])
                continue
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr == "commit"
            ):
                found.append((".".join(qual) or "<module>", child.lineno))
            visit(child, qual)

    visit(module.tree, [])
    return found


def commits_outside_allow_list(scan: Scan, modules: Iterable[str] | None = None) -> list[str]:
    bad = []
    for name in sorted(modules if modules is not None else scan.modules):
        module = scan.modules[name]
        if module.layer not in NO_COMMIT:
            continue
        for qual, line in commits(module):
            if f"{name}:{qual}" not in COMMIT_ALLOWED:
                bad.append(f"{name}:{line} {qual}() commits")
    return bad


# --- the project ---------------------------------------------------------------------------------------

PROJECT = load_project()

# Work still under way elsewhere in issue #10 (courses/ and evaluation/ engineers). Each entry is checked
# on its own and expected to fail until that work lands; strict, so a fix shows up as XPASS → remove it here.
PENDING_COMMITS: dict[str, str] = {}
PENDING_CYCLE_AREAS: dict[str, str] = {}


def _pending(reason: str | None):  # noqa: ANN202
    return pytest.mark.xfail(strict=True, reason=reason) if reason else ()


def _domain_modules() -> list[str]:
    return sorted(n for n, m in PROJECT.modules.items() if m.layer in NO_COMMIT)


@pytest.mark.parametrize(
    "area",
    [
        pytest.param(a, marks=_pending(PENDING_CYCLE_AREAS.get(a)))
        for a in ("core", "courses", "evaluation", "ui", "across areas")
    ],
)
def test_project_has_no_import_cycle(area):
    """Test that no group of project modules imports each other in a circle (function-level imports count)."""
    groups = import_cycles(PROJECT)
    mine = [
        g
        for g in groups
        if (area == "across areas") == (len({m.split(".")[0] for m in g}) > 1)
        and (area == "across areas" or g[0].split(".")[0] == area)
    ]
    assert mine == [], f"import cycles: {mine}"


def test_imports_point_down_the_layers():
    """Test that core imports no area, courses no evaluation, nothing below ui/ imports ui/ or pages/, and pages and api never import each other."""
    assert upward_imports(PROJECT) == []


def test_nothing_below_ui_imports_streamlit():
    """Test that core/, courses/, evaluation/ and api/ run without streamlit."""
    assert streamlit_below_ui(PROJECT) == []


@pytest.mark.parametrize(
    "module", [pytest.param(m, marks=_pending(PENDING_COMMITS.get(m))) for m in _domain_modules()]
)
def test_domain_code_leaves_the_commit_to_the_caller(module):
    """Test that domain code and pages call commit() only in the unit-of-work helper and the named exceptions."""
    assert commits_outside_allow_list(PROJECT, [module]) == []


def test_every_allowed_commit_still_exists():
    """Test that the commit allow-list names only functions that are there and commit (no stale entries)."""
    present = {f"{name}:{qual}" for name, m in PROJECT.modules.items() for qual, _ in commits(m)}
    assert set(COMMIT_ALLOWED) <= present


def test_the_scan_sees_the_project():
    """Test that the scan found the project's modules and their imports (so an empty result means something)."""
    assert {"core.db", "core.auth", "ui.guard", "pages.users", "pages.__app__"} <= set(PROJECT.modules)
    assert "core.db" in PROJECT.edges()["core.auth"]


# --- each rule can fail ----------------------------------------------------------------------------------


def test_a_cycle_through_a_function_level_import_is_caught():
    """Test that two modules importing each other, one of them inside a function, make a cycle."""
    scan = load(
        {
            "courses.a": "from courses.b import thing\n",
            "courses.b": "def thing():\n    from courses import a\n    return a\n",
            "courses": "",
            "courses.c": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from courses.a import thing\n",
        },
        packages=["courses"],
    )
    assert import_cycles(scan) == [["courses.a", "courses.b"]]


def test_an_import_only_for_type_checking_is_no_cycle():
    """Test that an import under ``if TYPE_CHECKING:`` (never run) does not count as a cycle."""
    scan = load(
        {
            "core.a": "import core.b\n",
            "core.b": "import typing\nif typing.TYPE_CHECKING:\n    import core.a\n",
        }
    )
    assert import_cycles(scan) == []


def test_an_upward_import_is_caught():
    """Test that core importing courses, courses importing evaluation (relative or inside a function), ui importing pages and api importing ui are each caught."""
    scan = load(
        {
            "core.x": "def f():\n    import courses.y\n",
            "courses.y": "from ..evaluation import z\n",
            "evaluation": "",
            "evaluation.z": "",
            "ui.w": "from pages import p\n",
            "pages.p": "",
            "api.v": "import ui.w\n",
            "pages.q": "from core import x\nimport api.v\n",
        },
        packages=["evaluation"],
    )
    assert upward_imports(scan) == [
        "api.v:1 imports ui.w",
        "core.x:2 imports courses.y",
        "courses.y:1 imports evaluation.z",
        "pages.q:2 imports api.v",
        "ui.w:1 imports pages.p",
    ]


def test_streamlit_below_ui_is_caught():
    """Test that a domain module importing streamlit (even inside a function) is caught, and ui/ may."""
    scan = load(
        {
            "evaluation.k": "def show():\n    import streamlit.components.v1 as c\n",
            "ui.ok": "import streamlit as st\n",
        }
    )
    assert streamlit_below_ui(scan) == ["evaluation.k:2 imports streamlit.components.v1"]


def test_a_commit_in_domain_code_is_caught():
    """Test that a domain function (or method) or a page calling commit() is caught, and the allowed helper is not."""
    scan = load(
        {
            "courses.m": "def mark(session):\n    session.add(1)\n    session.commit()\n"
            "class Store:\n    def save(self, s):\n        s.commit()\n",
            "core.db": "def unit_of_work(engine):\n    session.commit()\n",
            "pages.p": "with x() as session:\n    session.commit()\n",
        }
    )
    assert commits_outside_allow_list(scan) == [
        "courses.m:3 mark() commits",
        "courses.m:6 Store.save() commits",
        "pages.p:2 <module>() commits",
    ]


# --- one way to fail (issue #20) ------------------------------------------------------------------------
# A refusal reaches a person as catalog text in their language (ui.errors), never as str(exc); domain code
# raises GridwiseError (or core.errors.Misuse for code misuse), never a bare ValueError/RuntimeError with a
# message; only the unit-of-work helpers roll a session back; and no `except ModuleNotFoundError` hides a
# broken area behind an empty answer.

SHOWS = {"error", "warning", "info", "toast", "success"}
SHOWN_IN = {"ui", "pages"}
NO_BARE_ERRORS = {"core", "courses", "evaluation"}
BARE = {"ValueError", "RuntimeError"}
# The unit-of-work helpers (and the named commit exception, which must undo its own failed commit).
ROLLBACK_ALLOWED = {
    "core.db:unit_of_work": "the one unit-of-work helper rolls back on any exception",
    "core.db:retry_busy_in_session": "retries its caller's own retrying unit (sign-in), from scratch",
    "core.auth:_commit_retrying": "the named commit exception undoes its own failed commit",
    "core.backup:write_backup": "ends its own read-only snapshot connection (not a Session; nothing written)",
}
# Work owned by other helpers running now: strict xfail, so the mark must go when their work lands.
PENDING_BARE_ERRORS: dict[str, str] = {}
PENDING_ROLLBACKS: dict[str, str] = {}
PENDING_FALLBACKS: dict[str, str] = {}


def _qualified_calls(module: Module) -> list[tuple[str, ast.Call]]:
    """(qualified enclosing function, call) for every call in the module."""
    found: list[tuple[str, ast.Call]] = []

    def visit(node: ast.AST, qual: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                visit(child, [*qual, child.name])
                continue
            if isinstance(child, ast.Call):
                found.append((".".join(qual) or "<module>", child))
            visit(child, qual)

    visit(module.tree, [])
    return found


def exception_text_shown(scan: Scan) -> list[str]:
    """ "module:line" of every st.error/warning/info/toast/success in ui/ and pages/ whose text is built from
    an exception: ``str(x)`` of a plain name, or the name an ``except … as name`` bound, used bare (not
    ``exc.message(...)``) — the English text of a refusal shown to a Chinese reader."""
    bad = []
    for name, module in sorted(scan.modules.items()):
        if module.layer not in SHOWN_IN:
            continue
        caught = {h.name for h in ast.walk(module.tree) if isinstance(h, ast.ExceptHandler) and h.name}
        for _, call in _qualified_calls(module):
            if not (isinstance(call.func, ast.Attribute) and call.func.attr in SHOWS):
                continue
            args = [*call.args, *(k.value for k in call.keywords)]
            # a caught name shown as it is: a direct argument, or formatted into an f-string
            formatted = {
                id(f.value) for arg in args for f in ast.walk(arg) if isinstance(f, ast.FormattedValue)
            }
            direct = {id(arg) for arg in args}
            for arg in args:
                for node in ast.walk(arg):
                    is_str_of_name = (
                        isinstance(node, ast.Call)
                        and isinstance(node.func, ast.Name)
                        and node.func.id == "str"
                        and len(node.args) == 1
                        and isinstance(node.args[0], ast.Name)
                    )
                    is_bare_caught = (
                        isinstance(node, ast.Name) and node.id in caught and id(node) in direct | formatted
                    )
                    if is_str_of_name or is_bare_caught:
                        bad.append(f"{name}:{call.lineno}")
    return sorted(set(bad))


def bare_errors(module: Module) -> list[str]:
    """ "module:line" of every ``raise ValueError(...)`` / ``raise RuntimeError(...)`` with a message."""
    if module.layer not in NO_BARE_ERRORS:
        return []
    bad = []
    for node in ast.walk(module.tree):
        if (
            isinstance(node, ast.Raise)
            and isinstance(node.exc, ast.Call)
            and isinstance(node.exc.func, ast.Name)
            and node.exc.func.id in BARE
            and (node.exc.args or node.exc.keywords)
        ):
            bad.append(f"{module.name}:{node.lineno} raises {node.exc.func.id}")
    return bad


def rollbacks_outside_allow_list(module: Module) -> list[str]:
    """ "module:line" of every ``<x>.rollback()`` outside ROLLBACK_ALLOWED (a domain function never rolls back
    its caller's session: what the caller wrote before would be lost while it carries on)."""
    if module.layer not in NO_COMMIT:
        return []
    return [
        f"{module.name}:{call.lineno} {qual}() rolls back"
        for qual, call in _qualified_calls(module)
        if isinstance(call.func, ast.Attribute)
        and call.func.attr == "rollback"
        and f"{module.name}:{qual}" not in ROLLBACK_ALLOWED
    ]


def module_not_found_fallbacks(module: Module) -> list[str]:
    """ "module:line" of every ``except ModuleNotFoundError`` (alone or in a tuple): an area that fails to
    import must fail loudly, not answer empty."""
    bad = []
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.ExceptHandler) or node.type is None:
            continue
        types = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
        names = {t.id if isinstance(t, ast.Name) else getattr(t, "attr", "") for t in types}
        if "ModuleNotFoundError" in names:
            bad.append(f"{module.name}:{node.lineno} except ModuleNotFoundError")
    return bad


def _modules_of(layers: set[str]) -> list[str]:
    return sorted(n for n, m in PROJECT.modules.items() if m.layer in layers)


def test_pages_show_refusals_in_the_viewers_language():
    """Test that no page or ui module shows an exception's own text (str(exc), English) to a person."""
    assert exception_text_shown(PROJECT) == []


@pytest.mark.parametrize(
    "module",
    [pytest.param(m, marks=_pending(PENDING_BARE_ERRORS.get(m))) for m in _modules_of(NO_BARE_ERRORS)],
)
def test_domain_code_refuses_with_catalog_keys(module):
    """Test that core/, courses/ and evaluation/ raise no bare ValueError/RuntimeError with a message."""
    assert bare_errors(PROJECT.modules[module]) == []


@pytest.mark.parametrize(
    "module", [pytest.param(m, marks=_pending(PENDING_ROLLBACKS.get(m))) for m in _domain_modules()]
)
def test_only_the_unit_of_work_rolls_back(module):
    """Test that .rollback() appears only in the unit-of-work helpers (core.db) and the named exception."""
    assert rollbacks_outside_allow_list(PROJECT.modules[module]) == []


@pytest.mark.parametrize(
    "module", [pytest.param(m, marks=_pending(PENDING_FALLBACKS.get(m))) for m in sorted(PROJECT.modules)]
)
def test_no_module_not_found_fallbacks(module):
    """Test that no module catches ModuleNotFoundError (a missing or broken area fails loudly)."""
    assert module_not_found_fallbacks(PROJECT.modules[module]) == []


def test_every_allowed_rollback_still_exists():
    """Test that the rollback allow-list names only functions that are there and roll back."""
    present = {
        f"{name}:{qual}"
        for name, m in PROJECT.modules.items()
        for qual, call in _qualified_calls(m)
        if isinstance(call.func, ast.Attribute) and call.func.attr == "rollback"
    }
    assert set(ROLLBACK_ALLOWED) <= present


def test_showing_an_exceptions_text_is_caught():
    """Test that st.error(str(exc)), st.warning(f"{exc}") and a tr(..., reason=str(exc)) are caught, in pages
    and ui, while exc.message(lang) / error_text(exc) and domain modules are not."""
    scan = load(
        {
            "pages.bad": (
                "import streamlit as st\n"
                "try:\n    pass\nexcept ValueError as exc:\n    st.error(str(exc))\n"
                "try:\n    pass\nexcept ValueError as err:\n    st.warning(f'failed: {err}')\n"
            ),
            "ui.bad": (
                "def f(exc, tr, st):\n    st.info(tr('x', reason=str(exc)))\n"
                "    c = st.columns(2)\n    c[0].error(str(exc))\n"
            ),
            "pages.good": (
                "import streamlit as st\nfrom ui.errors import error_text\n"
                "try:\n    pass\nexcept ValueError as exc:\n    st.error(exc.message('zh'))\n"
                "    st.warning(error_text(exc))\n"
            ),
            "core.cli": "def f(exc, st):\n    st.error(str(exc))\n",
        }
    )
    assert exception_text_shown(scan) == ["pages.bad:5", "pages.bad:9", "ui.bad:2", "ui.bad:4"]


def test_a_bare_error_with_a_message_is_caught():
    """Test that raise ValueError("…") / RuntimeError(f"…") in domain code are caught; a subclass, a bare
    re-raise, an argument-less ValueError() and the same in ui/ or api/ are not."""
    source = (
        "from core.errors import GridwiseError, Misuse\n"
        "def f(x):\n"
        "    if x == 1:\n        raise ValueError('no such thing')\n"
        "    if x == 2:\n        raise RuntimeError(f'{x} failed')\n"
        "    if x == 3:\n        raise GridwiseError('core.err.x')\n"
        "    if x == 4:\n        raise Misuse('a bug')\n"
        "    if x == 5:\n        raise ValueError()\n"
        "    try:\n        pass\n    except ValueError:\n        raise\n"
    )
    scan = load({"courses.bad": source, "api.ok": source, "ui.ok": source})
    assert bare_errors(scan.modules["courses.bad"]) == [
        "courses.bad:4 raises ValueError",
        "courses.bad:6 raises RuntimeError",
    ]
    assert bare_errors(scan.modules["api.ok"]) == [] and bare_errors(scan.modules["ui.ok"]) == []


def test_a_rollback_outside_the_unit_of_work_is_caught():
    """Test that a domain function rolling back its caller's session (as ensure_default_scheme once did) is
    caught, and the unit-of-work helper is not."""
    scan = load(
        {
            "evaluation.store": (
                "def ensure(session):\n    try:\n        session.flush()\n"
                "    except Exception:\n        session.rollback()\n"
            ),
            "core.db": "def unit_of_work(session):\n    session.rollback()\n",
        }
    )
    assert rollbacks_outside_allow_list(scan.modules["evaluation.store"]) == [
        "evaluation.store:5 ensure() rolls back"
    ]
    assert rollbacks_outside_allow_list(scan.modules["core.db"]) == []


def test_a_module_not_found_fallback_is_caught():
    """Test that `except ModuleNotFoundError`, alone, aliased in a tuple or as builtins.ModuleNotFoundError,
    is caught anywhere, and `except ImportError` for a truly optional library is not."""
    scan = load(
        {
            "evaluation.a": (
                "def f():\n    try:\n        from evaluation.field import api\n"
                "    except ModuleNotFoundError:\n        return []\n"
            ),
            "ui.b": "try:\n    import x\nexcept (KeyError, ModuleNotFoundError) as e:\n    pass\n",
            "core.c": "import builtins\ntry:\n    import y\nexcept builtins.ModuleNotFoundError:\n    pass\n",
            "core.d": "try:\n    import z\nexcept ImportError:\n    z = None\n",
        }
    )
    found = [line for m in scan.modules.values() for line in module_not_found_fallbacks(m)]
    assert found == [
        "evaluation.a:4 except ModuleNotFoundError",
        "ui.b:3 except ModuleNotFoundError",
        "core.c:4 except ModuleNotFoundError",
    ]


def hand_written_scope_checks(scan: Scan) -> list[str]:
    """ "module:line" of every f"/{….scope_unit_id}/" outside core.scope: the subtree rule is
    core.scope.in_scope (Python) / path_scope_clause (SQL), written once."""
    bad = []
    for name, module in sorted(scan.modules.items()):
        if name == "core.scope":
            continue
        for node in ast.walk(module.tree):
            if isinstance(node, ast.JoinedStr) and any(
                isinstance(v, ast.FormattedValue)
                and isinstance(v.value, ast.Attribute)
                and v.value.attr == "scope_unit_id"
                for v in node.values
            ):
                bad.append(f"{name}:{node.lineno}")
    return bad


def test_the_scope_rule_is_written_once():
    """Test that no module outside core.scope builds the "/<scope unit>/" path marker by hand."""
    assert hand_written_scope_checks(PROJECT) == []


def test_a_hand_written_scope_check_is_caught():
    """Test that f"/{viewer.scope_unit_id}/" in Python or SQL code is caught outside core.scope only."""
    scan = load(
        {
            "evaluation.x": "def f(viewer, unit):\n    return f'/{viewer.scope_unit_id}/' in unit.path\n",
            "courses.y": "def g(v, c):\n    return c.contains(f'/{v.scope_unit_id}/')\n",
            "core.scope": "def _marker(viewer):\n    return f'/{viewer.scope_unit_id}/'\n",
        }
    )
    assert hand_written_scope_checks(scan) == ["courses.y:2", "evaluation.x:2"]


# --- imports at the top (issue #20) -----------------------------------------------------------------------
# An import inside a function hides which area needs which; it stays only with its reason in a comment (a
# heavy library loaded when used, `gridwise --help` kept light, a test that patches the module…): on the
# import's line, or on the line above its block of imports. One explained block covers later ones in the same
# function ("as above").


def unexplained_function_imports(module: Module) -> list[str]:
    """ "module:line" of the first import of every block of imports inside a function that no comment
    explains."""
    lines = module.source.splitlines()

    def commented(node: ast.stmt) -> bool:
        assert node.end_lineno is not None
        return any("#" in lines[n - 1] for n in range(node.lineno, node.end_lineno + 1))

    bad: list[str] = []

    def blocks(body: list[ast.stmt]) -> Iterable[list[ast.stmt]]:
        block: list[ast.stmt] = []
        for stmt in body:
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                block.append(stmt)
                continue
            if block:
                yield block
            block = []
        if block:
            yield block

    def bodies(node: ast.AST) -> Iterable[list[ast.stmt]]:
        """Every statement list inside ``node``, in source order (nested functions included)."""
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                yield body
                for stmt in body:
                    yield from bodies(stmt)
        for handler in getattr(node, "handlers", []):
            yield from bodies(handler)
        for case in getattr(node, "cases", []):
            yield from bodies(case)

    def check_function(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        explained = False
        found = [b for body in bodies(fn) for b in blocks(body)]
        for block in sorted(found, key=lambda b: b[0].lineno):
            above = lines[block[0].lineno - 2].strip() if block[0].lineno >= 2 else ""
            explained = explained or above.startswith("#") or any(commented(s) for s in block)
            if not explained:
                bad.append(f"{module.name}:{block[0].lineno}")

    for node in ast.walk(module.tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            outer = [
                p
                for p in ast.walk(module.tree)
                if isinstance(p, ast.FunctionDef | ast.AsyncFunctionDef)
                and p is not node
                and node in ast.walk(p)
            ]
            if not outer:  # nested functions are checked with the function that holds them
                check_function(node)
    return sorted(bad, key=lambda b: int(b.rsplit(":", 1)[1]))


@pytest.mark.parametrize("module", sorted(PROJECT.modules))
def test_imports_sit_at_the_top_unless_a_comment_says_why(module):
    """Test that every import inside a function carries a comment saying why it is not at the module top."""
    assert unexplained_function_imports(PROJECT.modules[module]) == []


def test_an_unexplained_function_level_import_is_caught():
    """Test that an import inside a function (or a method, or a nested block) without a comment is caught, and
    one explained on its line, above its block, or by an earlier block of the same function is not."""
    scan = load(
        {
            "courses.bad": (
                "import os\n"
                "def f():\n    from courses import x\n    return x\n"
                "class C:\n    def m(self):\n        if self:\n            import json\n"
                "def g():\n    # openpyxl is slow to import: only when a workbook is written\n"
                "    import openpyxl\n\n    from courses import y\n"
                "    if y:\n        import csv\n"
                "def h():\n    import re  # the pattern is compiled only here\n"
                "def k():\n    x = 1  # a comment elsewhere\n    import zlib\n"
            ),
        }
    )
    assert unexplained_function_imports(scan.modules["courses.bad"]) == [
        "courses.bad:3",
        "courses.bad:8",
        "courses.bad:20",
    ]


# --- a message shown is catalog text (issue #20) ----------------------------------------------------------
# st.error / st.warning (and info, toast, success) in pages and ui show text from the catalogs: a call of
# tr/t (or pick between a record's zh/en fields), ui.errors' error_text, an error's .message(lang), or a value
# computed elsewhere (a name); never words written in the call itself ("Failed: …", "保存失败") or str(...).

CATALOG_CALLS = {"tr", "t", "pick", "error_text", "message", "reason_text"}


def _catalog_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return name in CATALOG_CALLS


def uncatalogued_text_shown(scan: Scan) -> list[str]:
    """ "module:line" of every message call in ui/ and pages/ whose text has words of its own (a string
    literal with a letter, outside a catalog call) or is built with str()/repr()/format()."""
    bad = []
    for name, module in sorted(scan.modules.items()):
        if module.layer not in SHOWN_IN:
            continue
        for _, call in _qualified_calls(module):
            if not (isinstance(call.func, ast.Attribute) and call.func.attr in SHOWS):
                continue
            texts = call.args[:1] + [k.value for k in call.keywords if k.arg in ("body", "text")]
            stack = list(texts)
            while stack:
                node = stack.pop()
                if _catalog_call(node):
                    continue
                if isinstance(node, ast.Subscript):  # row["name"]: a key, not words
                    stack.append(node.value)
                    continue
                words = isinstance(node, ast.Constant) and isinstance(node.value, str)
                words = words and any(ch.isalpha() for ch in node.value)  # type: ignore[union-attr]
                built = (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name | ast.Attribute)
                    and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr)
                    in ("str", "repr", "format")
                )
                if words or built:
                    bad.append(f"{name}:{call.lineno}")
                    break
                stack.extend(ast.iter_child_nodes(node))
    return sorted(set(bad))


def test_pages_show_catalog_text():
    """Test that every st.error / st.warning / st.info / st.toast / st.success in pages and ui shows catalog
    text (tr, error_text, exc.message), never words written in the call."""
    assert uncatalogued_text_shown(PROJECT) == []


def test_text_written_in_a_message_call_is_caught():
    """Test that st.error("…"), st.warning(f"… {x}"), a column's .error("保存失败"), st.info(str(n)) and
    "{}".format(x) are caught in pages and ui, and tr/error_text/.message (with a literal key), a name and an
    icon are not, nor the same in domain code."""
    scan = load(
        {
            "pages.bad": (
                "import streamlit as st\n"
                "st.error('Something went wrong')\n"
                "st.warning(f'failed for {name}')\n"
                "c = st.columns(2)\nc[0].error('保存失败')\n"
                "st.info(str(n))\n"
                "st.toast('{} saved'.format(x))\n"
            ),
            "ui.good": (
                "import streamlit as st\n"
                "st.error(tr('x.err', n=1), icon=':material/block:')\n"
                "st.warning(error_text(exc))\n"
                "st.error(exc.message(lang()))\n"
                "st.error(err)\n"
                "st.success(share_text(float(card['top_share'])))\n"
                "st.success(f\"{tr('a')} · {tr('b')}\")\n"
            ),
            "core.cli": "def f(st):\n    st.error('fine here')\n",
        }
    )
    assert uncatalogued_text_shown(scan) == [
        "pages.bad:2",
        "pages.bad:3",
        "pages.bad:5",
        "pages.bad:6",
        "pages.bad:7",
    ]


# --- a refusal names a key both catalogs hold (issue #20) -----------------------------------------------
# A GridwiseError (or subclass) raised with a literal key that no catalog holds shows the key itself (or, when
# an English sentence was passed as the "key", that English) to every reader. The class's ``prefix`` is
# followed up its bases; an f-string key must at least begin like some key of the catalogs.


def _refusal_classes(scan: Scan) -> dict[str, str]:
    """Name → key prefix of GridwiseError and every subclass defined in the scan."""
    bases: dict[str, list[str]] = {}
    prefixes: dict[str, str] = {}
    for module in scan.modules.values():
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.ClassDef):
                continue
            bases[node.name] = [
                b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases
            ]
            for stmt in node.body:
                if (
                    isinstance(stmt, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "prefix" for t in stmt.targets)
                    and isinstance(stmt.value, ast.Constant)
                ):
                    prefixes[node.name] = str(stmt.value.value)

    def prefix(name: str, seen: frozenset[str] = frozenset()) -> str | None:
        """The key prefix when ``name`` is a refusal class, else None."""
        if name == "GridwiseError":
            return prefixes.get(name, "")
        if name not in bases or name in seen:
            return None
        for base in bases[name]:
            found = prefix(base, seen | {name})
            if found is not None:
                return prefixes.get(name, found)
        return None

    return {n: p for n in [*bases, "GridwiseError"] if (p := prefix(n)) is not None}


def refusals_without_a_key(scan: Scan, catalogs: Mapping[str, Mapping[str, str]]) -> list[str]:
    """ "module:line key" of every refusal class called with a literal key missing from a catalog, or with an
    f-string key that no key of a catalog begins like."""
    classes = _refusal_classes(scan)
    bad = []
    for name, module in sorted(scan.modules.items()):
        for _, call in _qualified_calls(module):
            func = call.func
            cls = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            if cls not in classes:
                continue
            arg = (
                call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "key"), None)
            )
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                key = classes[cls] + arg.value
                if any(key not in catalog for catalog in catalogs.values()):
                    bad.append(f"{name}:{call.lineno} {key}")
            elif isinstance(arg, ast.JoinedStr):
                head = "".join(
                    str(v.value) for v in arg.values[:1] if isinstance(v, ast.Constant)
                )  # the literal part before the first {…}
                key = classes[cls] + head
                if any(not any(k.startswith(key) for k in catalog) for catalog in catalogs.values()):
                    bad.append(f"{name}:{call.lineno} {key}…")
    return bad


def test_every_refusal_names_a_catalog_key():
    """Test that every GridwiseError raised with a literal key (its class's prefix included) finds the key in
    the zh and en catalogs."""
    assert refusals_without_a_key(PROJECT, {lang: catalog(lang) for lang in ("zh", "en")}) == []


def test_a_refusal_without_a_catalog_key_is_caught():
    """Test that an English sentence passed as a key, a key missing from one catalog, a subclass's prefix and an
    f-string key that begins like no key are caught; a key both catalogs hold (directly, through a prefix or
    as an f-string's head) and an unrelated class are not."""
    scan = load(
        {
            "core.errors": "class GridwiseError(ValueError):\n    prefix = ''\n",
            "core.bad": (
                "from core.errors import GridwiseError\n"
                "class AreaError(GridwiseError):\n    prefix = 'area.err.'\n"
                "class Narrower(AreaError):\n    pass\n"
                "class Other(ValueError):\n    pass\n"
                "def f(x):\n"
                "    if x == 1:\n        raise GridwiseError('only managers may do this')\n"
                "    if x == 2:\n        raise GridwiseError('a.only_zh')\n"
                "    if x == 3:\n        raise Narrower('missing', n=1)\n"
                "    if x == 4:\n        raise AreaError(f'worker {x} is out')\n"
                "    if x == 5:\n        raise GridwiseError('a.both')\n"
                "    if x == 6:\n        raise Narrower('known')\n"
                "    if x == 7:\n        raise AreaError(f'kind_{x}')\n"
                "    raise Other('anything')\n"
            ),
        }
    )
    both = {"a.both": "", "area.err.known": "", "area.err.kind_a": ""}
    catalogs = {"zh": {**both, "a.only_zh": ""}, "en": both}
    assert refusals_without_a_key(scan, catalogs) == [
        "core.bad:10 only managers may do this",
        "core.bad:12 a.only_zh",
        "core.bad:14 area.err.missing",
        "core.bad:16 area.err.worker …",
    ]
