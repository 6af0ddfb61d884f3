"""The scorecard's workings read in the reader's language (issue #22: no "bands", "linear", "percentile in
subdistrict" or "no data: … shared out over the rest" on a Chinese page)."""

import re

import pytest

from evaluation.scoring.formula_text import COHORTS, localise_formula
from evaluation.scoring.scheme import Band, Normalisation

WORD = re.compile(r"[A-Za-z]{3,}")

WORKINGS = [
    "498 ÷ 537 = 92.74% → bands 95:1, 90:0.8, 85:0.6, 75:0.3 → 0.8 × 23.53 = 18.82",
    "no data: weight 10 shared out over the rest",
    "12 ÷ 300 hh × 100 = 4% → (4 − 0) ÷ (2 − 0) = 1 × 5 = 5",
    "12 ÷ expected 10.5 × 100 = 114.3% → rank 3/20 in subdistrict = 0.9 × 5 = 4.5",
    "12 ÷ 0.5 in post = 24 → (24 − 20) ÷ (2 − 20) = 0 × 5 = 0",
    "linear 60 → 95, per_100_households",
    "percentile in community, expected_volume",
]


def _rules() -> list[str]:
    return [
        Normalisation(method="linear", floor=60, target=95).describe(),
        Normalisation(method="bands", bands=(Band(95, 1), Band(90, 0.8))).describe(),
        *(Normalisation(method="percentile", cohort=c).describe() for c in COHORTS),
    ]


@pytest.mark.parametrize("text", WORKINGS + _rules())
def test_workings_and_rules_read_in_chinese(text):
    """Test that a working or a rule as the scorer writes it has no English word left in Chinese."""
    zh = localise_formula(text, "zh")
    assert not WORD.findall(zh), zh


def test_english_keeps_the_figures_and_drops_codes():
    """Test that the English reading keeps every figure and spells the fairness rule in words."""
    assert localise_formula(WORKINGS[0], "en") == WORKINGS[0]
    assert (
        localise_formula("linear 60 → 95, per_100_households", "en") == "linear 60 → 95, per 100 households"
    )
    assert localise_formula(None, "zh") == ""
