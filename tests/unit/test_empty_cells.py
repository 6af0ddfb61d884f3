"""Empty table cells read as empty: every st.dataframe / st.data_editor in pages/ and ui/ passes placeholder="".

Streamlit 1.67 draws a missing value in a table as a grey "None" unless the call names a placeholder (the
dispatch quality tab showed "None" under 平均签收时长 for items never signed). ui/cells.py keeps text cells
empty; this keeps number, date and editor cells empty too. The raw-text walk (tests/app/test_raw_text.py)
checks what the pages draw; this checks every call, drawn by the walk's data or not.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TABLES = {"dataframe", "data_editor"}


def table_calls_without_empty_placeholder(source: str, name: str) -> list[str]:
    """``name:line`` of each dataframe/data_editor call that does not pass ``placeholder=""``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in TABLES:
            given = {k.arg: k.value for k in node.keywords}
            value = given.get("placeholder")
            if not (isinstance(value, ast.Constant) and value.value == ""):
                found.append(f"{name}:{node.lineno}")
    return found


def test_every_table_in_pages_and_ui_draws_missing_values_as_empty_cells() -> None:
    files = [*sorted((ROOT / "pages").rglob("*.py")), *sorted((ROOT / "ui").rglob("*.py")), ROOT / "app.py"]
    found = [
        where
        for path in files
        for where in table_calls_without_empty_placeholder(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert not found, f'tables drawing missing values as "None" (pass placeholder=""): {found}'


def test_the_rule_finds_a_table_without_the_placeholder() -> None:
    bad = 'st.dataframe(df, hide_index=True)\ncol.data_editor(df, placeholder="None")\n'
    good = 'st.dataframe(df, placeholder="")\n'
    assert table_calls_without_empty_placeholder(bad, "x.py") == ["x.py:1", "x.py:2"]
    assert table_calls_without_empty_placeholder(good, "x.py") == []
