"""Both language catalogs hold the same keys, and placeholders match."""

from __future__ import annotations

import re

from core.i18n import LANGUAGES, catalog, pick, t


def test_catalogs_have_the_same_keys_and_placeholders():
    """Test that every zh key has an en twin with the same {placeholders}, and no text is empty."""
    zh, en = catalog("zh"), catalog("en")
    assert set(zh) == set(en), sorted(set(zh) ^ set(en))[:20]
    for key in zh:
        assert zh[key].strip() and en[key].strip(), key
        assert set(re.findall(r"{(\w+)}", zh[key])) == set(re.findall(r"{(\w+)}", en[key])), key


def test_translate_with_fallbacks():
    """Test formatting, the zh fallback for unknown languages and the key fallback."""
    assert t("home.welcome", "en", name="Li") == "Hello, Li"
    assert t("home.welcome", "fr", name="李") == "您好，李"
    assert t("no.such.key", "en") == "no.such.key"
    assert pick("en", "社区", "") == "社区" and pick("zh", "社区", "Community") == "社区"
    assert LANGUAGES == ("zh", "en")
