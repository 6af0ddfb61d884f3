"""The one way to fail: a GridwiseError reaches a person as catalog text in their language, on a page
(ui.errors) and on the command line (core.cli)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core import cli
from core.errors import GridwiseError
from core.i18n import t


def _refuse(args: object) -> int:
    raise GridwiseError("common.error_scope")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_cli_prints_a_refusal_in_the_chosen_language_and_exits_2(lang, monkeypatch, capsys):
    """Test that `gridwise --lang X` prints the refusal's catalog text (not a traceback) and exits 2."""
    monkeypatch.setattr(cli, "cmd_scheduler", _refuse)
    assert cli.main(["--lang", lang, "scheduler"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"{t('cli.error', lang)}: {t('common.error_scope', lang)}"


def test_cli_language_from_the_environment(monkeypatch, capsys):
    """Test that GRIDWISE_LANG chooses the language when --lang is not given, and --lang wins over it."""
    monkeypatch.setattr(cli, "cmd_scheduler", _refuse)
    monkeypatch.setenv("GRIDWISE_LANG", "en")
    assert cli.main(["scheduler"]) == 2
    assert "That is outside your scope." in capsys.readouterr().err
    assert cli.main(["--lang", "zh", "scheduler"]) == 2
    assert "超出您的管理范围" in capsys.readouterr().err


def test_cli_lets_a_bug_through(monkeypatch):
    """Test that anything that is not a GridwiseError is not swallowed as a refusal."""

    def _bug(args: object) -> int:
        raise KeyError("bug")

    monkeypatch.setattr(cli, "cmd_scheduler", _bug)
    with pytest.raises(KeyError):
        cli.main(["scheduler"])


def _page(lang: str) -> None:  # runs inside AppTest: imports are its own
    import streamlit as st

    from core.errors import GridwiseError
    from ui.errors import refusals

    st.session_state["lang"] = lang
    with refusals() as refused:
        st.write("before")
        raise GridwiseError("common.error_scope")
    st.write(f"refused={bool(refused)}")
    with refusals(level="warning") as fine:
        st.write("nothing refused")
    st.write(f"fine={bool(fine)}")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_refusals_show_the_catalog_text_in_the_viewers_language(lang):
    """Test that refusals() shows the refusal in the session's language and tells the page it happened."""
    at = AppTest.from_function(_page, args=(lang,)).run()
    assert not at.exception
    assert [e.value for e in at.error] == [t("common.error_scope", lang)]
    assert not at.warning
    texts = [m.value for m in at.markdown]
    assert texts == ["before", "refused=True", "nothing refused", "fine=False"]


def _bug_page() -> None:
    from ui.errors import refusals

    with refusals():
        raise KeyError("bug")


def test_refusals_let_a_bug_through():
    """Test that a bug is not dressed up as a refusal."""
    at = AppTest.from_function(_bug_page).run()
    assert at.exception and not at.error
