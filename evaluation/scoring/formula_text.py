"""The scorecard's workings in the reader's language.

``compute._formulas`` writes each component's working once, when the card is computed (and served), in one
fixed notation: numbers and symbols plus a few English words (``no data: weight 10 shared out over the rest``,
``bands 95:1, 90:0.8``, ``→ rank 3/20 in subdistrict``, ``÷ 120 hh × 100``); ``Normalisation.describe`` writes
the rule the same way (``linear 60 → 95``, ``percentile in subdistrict``). The cards stay
language-neutral; this module turns that notation into the reader's words, and its test holds the two
together (every word ``_formulas`` and ``describe`` can write is translated)."""

from __future__ import annotations

import re

from core.i18n import t

COHORTS = ("community", "subdistrict", "all")
FAIRNESS = ("per_100_households", "expected_volume")
_COHORT = "(" + "|".join(COHORTS) + ")"

# (pattern, catalog key, groups passed as parameters) — applied in this order.
_RULES: list[tuple[re.Pattern[str], str, tuple[str, ...]]] = [
    (re.compile(r"^no data: weight (\S+) shared out over the rest$"), "score.formula.missing", ("weight",)),
    (re.compile(r" → rank (\S+)/(\S+) in " + _COHORT), "score.formula.rank", ("rank", "n", "cohort")),
    (re.compile(r"\bpercentile in " + _COHORT), "score.formula.percentile", ("cohort",)),
    (re.compile(r"\bbands "), "score.formula.bands", ()),
    (re.compile(r"\blinear "), "score.formula.linear", ()),
    (re.compile(r" hh × 100"), "score.formula.households", ()),
    (re.compile(r" ÷ expected "), "score.formula.expected", ()),
    (re.compile(r" in post"), "score.formula.in_post", ()),
    (re.compile(r", (" + "|".join(FAIRNESS) + r")\b"), "score.formula.fairness", ("fairness",)),
]


def localise_formula(text: object, lang: str) -> str:
    """A working or a rule (as ``compute`` and ``describe`` write them) in ``lang``; "" for no text."""
    if not isinstance(text, str):
        return ""
    for pattern, key, names in _RULES:

        def _words(m: re.Match[str], key: str = key, names: tuple[str, ...] = names) -> str:
            params = dict(zip(names, m.groups(), strict=True))
            if "cohort" in params:
                params["cohort"] = t(f"score.cohort.{params['cohort']}", lang)
            if "fairness" in params:
                params["fairness"] = t(f"score.fairness.{params['fairness']}", lang)
            return t(key, lang, **params)

        text = pattern.sub(_words, text)
    return text
