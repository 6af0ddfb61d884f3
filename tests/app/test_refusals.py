"""A refusal reads in the viewer's language: per page and role, provoke one refusal through the page's own
widgets, in Chinese and in English; the page shows exactly the catalog text of the expected key, and the
Chinese run shows no English words (and the English run no Chinese) outside the values the person typed."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from streamlit.testing.v1 import AppTest

from core.i18n import t

LATIN = re.compile(r"[A-Za-z]{2,}")
EXAMPLES = re.compile(r"[\w.+-]+@[\w.-]+")  # a format example (name@example.org) is no English sentence
CJK = re.compile(r"[\u4e00-\u9fff]")


def _text_input(at: AppTest, label_key: str, lang: str):
    label = t(label_key, lang)
    return next(w for w in at.text_input if w.label == label)


def _bad_email(at: AppTest, lang: str) -> dict[str, object]:
    email = "坏地址" if lang == "zh" else "bad-address"
    _text_input(at, "notify.prefs.email", lang).set_value(email)
    at.get("form_submit_button")[0].click().run()
    return {"email": email}


def _no_operations(at: AppTest, lang: str) -> dict[str, object]:
    _text_input(at, "api.name", lang).set_value("partner-x")
    at.get("form_submit_button")[0].click().run()
    return {}


def _weights_off(at: AppTest, lang: str) -> dict[str, object]:
    text = at.text_area(key="scheme_json").value
    at.text_area(key="scheme_json").set_value(text.replace('"weight": 12.0', '"weight": 13.0', 1))
    at.checkbox(key="scheme_use_json").check()
    at.get("form_submit_button")[0].click().run()
    return {"total": "101"}


def _wrong_current_password(at: AppTest, lang: str) -> dict[str, object]:
    at.text_input(key="pw_current").set_value("not-the-password-9")
    at.text_input(key="pw_new").set_value("Kestrel-Harbour-41x")
    at.text_input(key="pw_again").set_value("Kestrel-Harbour-41x")
    at.get("form_submit_button")[0].click().run()
    return {}


@dataclass(frozen=True)
class Refusal:
    page: str
    username: str
    provoke: Callable[[AppTest, str], dict[str, object]]
    key: str


REFUSALS = [
    Refusal("pages/notify_prefs.py", "dp0001", _bad_email, "notify.err.prefs_email"),
    Refusal("pages/api_clients.py", "admin", _no_operations, "core.err.api_client.no_operation"),
    Refusal("pages/schemes.py", "admin", _weights_off, "score.err.scheme.weights_sum"),
    *(
        Refusal("pages/account.py", who, _wrong_current_password, "auth.err.pw_wrong_current")
        for who in ("dp0001", "manager", "admin", "secadmin", "auditor")
    ),
]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("case", REFUSALS, ids=lambda c: f"{c.page}:{c.username}")
def test_a_refusal_reads_in_the_viewers_language(open_page, viewer_of, case, lang):
    """Test that the refusal is the expected key's text in the run's language, and nothing else shown as an
    error is in the other language."""
    at = open_page(case.page, viewer_of(case.username), lang=lang)
    assert not at.exception, at.exception
    params = case.provoke(at, lang)
    assert not at.exception, at.exception
    shown = [e.value for e in at.error]
    assert t(case.key, lang, **params) in shown, shown
    for text in shown:
        for value in params.values():
            text = text.replace(str(value), "")
        text = EXAMPLES.sub("", text)
        if lang == "zh":
            assert not LATIN.search(text), f"English in the Chinese refusal: {text!r}"
        else:
            assert not CJK.search(text), f"Chinese in the English refusal: {text!r}"
