"""docs/COMPLIANCE.md names, for each requirement, the tests that prove it: every named test must exist.

Node ids are collected by parsing the test files with ``ast`` (module-level ``test_*`` functions and
``Class::test_*`` methods); no test is run. A row without tests must say it is a gap."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "COMPLIANCE.md"
NODE = re.compile(r"`(tests/[\w/]+\.py::[\w:]+)`")


def node_ids(path: Path) -> set[str]:
    """The test node ids defined in one file (without parameters)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(ROOT).as_posix()
    out = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
            out.add(f"{rel}::{node.name}")
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name.startswith("test_"):
                    out.add(f"{rel}::{node.name}::{item.name}")
    return out


def rows(text: str) -> list[list[str]]:
    out = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells and cells[0] != "requirement":
                out.append(cells)
    return out


def missing_tests(text: str) -> list[str]:
    """Named node ids that no test file defines, and rows that name no test without saying they are a gap."""
    problems = []
    known: dict[str, set[str]] = {}
    for cells in rows(text):
        if len(cells) != 3:
            problems.append(f"row without three cells: {cells[:1]}")
            continue
        named = NODE.findall(cells[2])
        if not named and "Gap" not in cells[1]:
            problems.append(f"{cells[0]}: no test named and not marked as a gap")
        for node in named:
            file = node.split("::", 1)[0]
            if file not in known:
                path = ROOT / file
                known[file] = node_ids(path) if path.is_file() else set()
            if node not in known[file]:
                problems.append(node)
    return problems


def test_every_test_named_in_the_compliance_table_exists() -> None:
    """Test that each node id in docs/COMPLIANCE.md is a test defined in its file, and that each row names one."""
    text = DOC.read_text(encoding="utf-8")
    assert len(rows(text)) >= 15
    assert missing_tests(text) == []


def test_the_check_catches_a_renamed_test_and_an_empty_row() -> None:
    """Test that the check fails on a test name that does not exist, a missing file, and a row with no test."""
    table = (
        "| requirement | what | tests |\n|---|---|---|\n"
        "| A | x | `tests/unit/test_compliance_doc.py::test_no_such_test` |\n"
        "| B | y | `tests/unit/no_such_file.py::test_x` |\n"
        "| C | z | — |\n"
        "| D | **Gap**: not done | — |\n"
        "| E | ok | `tests/unit/test_compliance_doc.py::test_every_test_named_in_the_compliance_table_exists` |\n"
    )
    assert missing_tests(table) == [
        "tests/unit/test_compliance_doc.py::test_no_such_test",
        "tests/unit/no_such_file.py::test_x",
        "C: no test named and not marked as a gap",
    ]


@pytest.mark.parametrize("source", ["class TestX:\n    def test_a(self): ...\n", "async def test_b(): ...\n"])
def test_class_methods_and_async_tests_are_collected(tmp_path: Path, source: str, monkeypatch) -> None:
    """Test that node ids of class methods and async tests are found."""
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    (tmp_path / "t.py").write_text(source)
    assert node_ids(tmp_path / "t.py") <= {"t.py::TestX::test_a", "t.py::test_b"}
    assert node_ids(tmp_path / "t.py")
