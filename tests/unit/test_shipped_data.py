"""Invariants of the shipped content under data/: taxonomy, metric registry, courses, rental grading, SLA.

These files are hand-written; the app seeds from them, so a broken answer key or a missing translation
would reach users directly.
"""

import json
import re
from itertools import pairwise
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data"

CATEGORY_PREFIXES = {
    "fire": "F",
    "security": "S",
    "work_safety": "W",
    "city": "C",
    "health": "H",
    "dispute": "D",
}
CATEGORY_SIZES = {"fire": 10, "security": 7, "work_safety": 7, "city": 8, "health": 5, "dispute": 6}
COURSE_CODES = {
    "info_collection",
    "residence_registration",
    "house_coding",
    "fire_safety",
    "dispute_mediation",
    "epidemic_screening",
}
REQUIRED_METRICS = {
    "collection_rate",
    "accuracy_rate",
    "retention_rate",
    "timely_deregistration_rate",
    "timely_entry_rate",
    "patrol_coverage_rate",
    "hazards_reported",
    "timely_report_rate",
    "valid_report_rate",
    "ontime_closure_rate",
    "rework_rate",
    "satisfaction_rate",
}
EVENT_METRICS = {
    "timely_report_rate",
    "valid_report_rate",
    "ontime_closure_rate",
    "rework_rate",
    "satisfaction_rate",
}
CJK = re.compile(r"[\u4e00-\u9fff]")


def load(rel: str):
    return json.loads((DATA / rel).read_text(encoding="utf-8"))


def course_files() -> list[Path]:
    return sorted((DATA / "courses").glob("*.json"))


def all_files() -> list[Path]:
    """The content files this module covers (locales under data/ have their own test)."""
    top = [DATA / name for name in ("taxonomy.json", "metrics.json", "rental_grading.json", "sla.json")]
    return top + course_files()


def bilingual_pairs(node, path="$"):
    """Yield (path, zh, en) for every `x_zh` key, with its `x_en` sibling (KeyError-safe)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("_zh"):
                en_key = key[:-3] + "_en"
                yield f"{path}.{key}", value, node.get(en_key, "<missing>")
            yield from bilingual_pairs(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from bilingual_pairs(value, f"{path}[{i}]")


@pytest.fixture(scope="module")
def taxonomy():
    return load("taxonomy.json")


@pytest.fixture(scope="module")
def courses():
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in course_files()}


@pytest.fixture(scope="module")
def metrics():
    return load("metrics.json")


@pytest.mark.parametrize("path", all_files(), ids=lambda p: str(p.relative_to(DATA)))
def test_files_are_utf8_with_real_chinese(path):
    """Test that every shipped file parses and stores Chinese as characters, not \\u escapes."""
    text = path.read_text(encoding="utf-8")
    json.loads(text)
    assert "\\u" not in text
    assert CJK.search(text)


@pytest.mark.parametrize("path", all_files(), ids=lambda p: str(p.relative_to(DATA)))
def test_every_text_has_both_languages(path):
    """Test that each *_zh field has a *_en sibling and both are non-empty (or both null)."""
    for where, zh, en in bilingual_pairs(json.loads(path.read_text(encoding="utf-8"))):
        if zh is None:
            assert en is None, where
            continue
        assert isinstance(zh, str) and zh.strip(), where
        assert isinstance(en, str) and en.strip(), where


def test_taxonomy_has_six_categories_and_43_unique_items(taxonomy):
    """Test that the patrol list is 6 categories / 43 items with well-formed, unique codes."""
    cats = taxonomy["categories"]
    assert [c["code"] for c in cats] == list(CATEGORY_PREFIXES)
    codes = [i["code"] for c in cats for i in c["items"]]
    assert len(codes) == 43
    assert len(set(codes)) == 43
    for cat in cats:
        assert len(cat["items"]) == CATEGORY_SIZES[cat["code"]]
        for n, item in enumerate(cat["items"], start=1):
            assert item["code"] == f"{CATEGORY_PREFIXES[cat['code']]}{n:02d}"


def test_taxonomy_items_have_valid_fields(taxonomy):
    """Test that priorities, handlers and the sourced flag use the documented values."""
    priorities = {p["code"] for p in taxonomy["priorities"]}
    handlers = {h["code"] for h in taxonomy["handlers"]}
    assert priorities == {"urgent", "normal", "complex"}
    assert handlers == {"self", "department"}
    for cat in taxonomy["categories"]:
        for item in cat["items"]:
            assert item["default_priority"] in priorities, item["code"]
            assert item["handler"] in handlers, item["code"]
            assert isinstance(item["sourced"], bool), item["code"]


def test_taxonomy_course_references_exist(taxonomy, courses):
    """Test that every course a category or item points at is shipped."""
    for cat in taxonomy["categories"]:
        assert cat["course"] in courses, cat["code"]
        for item in cat["items"]:
            qual = item["qualification_course"]
            assert qual is None or qual in courses, item["code"]
    # fire items are dispatched only to trained workers
    fire = next(c for c in taxonomy["categories"] if c["code"] == "fire")
    assert all(i["qualification_course"] == "fire_safety" for i in fire["items"])


def test_six_courses_are_shipped(courses):
    """Test that exactly the six demo courses exist and each file is named after its code."""
    assert set(courses) == COURSE_CODES
    for stem, course in courses.items():
        assert course["code"] == stem


def test_course_settings_are_consistent(courses, taxonomy):
    """Test pass mark, quiz size and skill area of every course."""
    skill_areas = {c["code"] for c in taxonomy["categories"]} | {
        "info_collection",
        "residence_registration",
        "house_coding",
    }
    for code, c in courses.items():
        assert c["skill_area"] in skill_areas, code
        assert 0 < c["pass_mark"] <= 100, code
        assert c["validity_months"] > 0 and c["time_limit_minutes"] > 0 and c["max_attempts"] > 0, code
        assert 0 < c["quiz_questions"] <= len(c["questions"]), code


def test_course_material_is_a_real_lesson(courses):
    """Test that the Chinese lesson is 300-800 characters of markdown with headings, plus an English summary."""
    for code, c in courses.items():
        zh = c["material_md_zh"]
        assert 300 <= len(CJK.findall(zh)) <= 800, code
        assert zh.lstrip().startswith("#") and "\n## " in zh, code
        assert len(c["material_md_en"].split()) >= 60, code


def test_question_banks_are_well_formed(courses):
    """Test size, kind mix, unique codes and the number of correct options per kind."""
    for code, c in courses.items():
        qs = c["questions"]
        assert len(qs) >= 14, code
        qcodes = [q["code"] for q in qs]
        assert len(set(qcodes)) == len(qcodes), code
        kinds = [q["kind"] for q in qs]
        assert set(kinds) <= {"single", "multiple", "truefalse"}, code
        assert kinds.count("multiple") >= 3, code
        assert kinds.count("truefalse") >= 3, code
        assert kinds.count("single") >= 3, code
        for q in qs:
            where = f"{code}/{q['code']}"
            opts = q["options"]
            ocodes = [o["code"] for o in opts]
            assert len(set(ocodes)) == len(ocodes), where
            assert all(isinstance(o["correct"], bool) for o in opts), where
            n_correct = sum(o["correct"] for o in opts)
            if q["kind"] == "truefalse":
                assert ocodes == ["T", "F"], where
                assert [o["text_zh"] for o in opts] == ["正确", "错误"], where
                assert [o["text_en"] for o in opts] == ["Correct", "Incorrect"], where
                assert n_correct == 1, where
                continue
            assert ocodes == [chr(ord("A") + i) for i in range(len(opts))], where
            if q["kind"] == "single":
                assert len(opts) >= 3 and n_correct == 1, where
            else:  # multiple: at least two right answers and at least one distractor
                assert len(opts) >= 4 and 2 <= n_correct < len(opts), where


def test_question_codes_are_unique_across_courses(courses):
    """Test that a question code identifies one question in the whole catalogue."""
    codes = [q["code"] for c in courses.values() for q in c["questions"]]
    assert len(set(codes)) == len(codes)


def test_answer_key_is_not_always_the_same_letter(courses):
    """Test that single-choice answers are spread over positions, not all A."""
    letters = {
        next(o["code"] for o in q["options"] if o["correct"])
        for c in courses.values()
        for q in c["questions"]
        if q["kind"] == "single"
    }
    assert len(letters) >= 3


def test_metric_registry_has_required_codes_and_valid_fields(metrics):
    """Test the 12 required metrics and that every metric's unit, direction and kind agree."""
    codes = [m["code"] for m in metrics]
    assert len(set(codes)) == len(codes)
    assert REQUIRED_METRICS <= set(codes)
    for m in metrics:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", m["code"]), m["code"]
        assert m["direction"] in {"higher", "lower"}, m["code"]
        assert m["kind"] in {"ratio", "count"}, m["code"]
        assert m["unit"] in {"%", "count", "hours"}, m["code"]
        assert isinstance(m["from_events"], bool), m["code"]
        assert m["source_zh"].strip() and m["numerator_zh"].strip(), m["code"]
        if m["kind"] == "ratio":
            assert m["unit"] == "%", m["code"]
            assert m["denominator_zh"] and m["denominator_en"], m["code"]
            assert m["target"] is None or 0 < m["target"] <= 100, m["code"]
        else:
            assert m["denominator_zh"] is None and m["denominator_en"] is None, m["code"]


def test_metric_directions_and_sources_match_the_domain(metrics):
    """Test the directions and derivations the scorecard relies on."""
    by_code = {m["code"]: m for m in metrics}
    assert by_code["rework_rate"]["direction"] == "lower"
    assert by_code["hazards_reported"]["kind"] == "count"
    assert by_code["retention_rate"]["direction"] == "higher"
    assert "应注销未注销" in by_code["retention_rate"]["note_zh"]  # the alternative reading is named
    assert "应办结数" in by_code["ontime_closure_rate"]["denominator_zh"]
    assert "缓办" in by_code["ontime_closure_rate"]["denominator_zh"]
    for code in EVENT_METRICS:
        assert by_code[code]["from_events"] is True, code


def test_rental_grading_points_add_up():
    """Test that dimensions are 30/25/30/15 and each dimension's criteria sum to its maximum."""
    g = load("rental_grading.json")
    assert {d["code"]: d["max"] for d in g["dimensions"]} == {
        "hardware": 30,
        "compliance": 25,
        "hazards": 30,
        "sanitation": 15,
    }
    assert sum(d["max"] for d in g["dimensions"]) == g["max_score"] == 100
    for d in g["dimensions"]:
        assert len(d["criteria"]) >= 3, d["code"]
        assert sum(c["max"] for c in d["criteria"]) == d["max"], d["code"]
        assert len({c["code"] for c in d["criteria"]}) == len(d["criteria"]), d["code"]


def test_rental_grades_cover_0_to_100_without_gaps():
    """Test that the grade bands tile [0, 100] and carry the 21/14/7/3-day patrol plan."""
    g = load("rental_grading.json")
    bands = sorted(g["grades"], key=lambda b: b["min_score"])
    assert bands[0]["min_score"] == 0
    for lower, upper in pairwise(bands):
        assert lower["below"] == upper["min_score"]
    assert bands[-1]["below"] is None and bands[-1]["min_score"] <= 100
    by_code = {b["code"]: b for b in g["grades"]}
    assert {c: by_code[c]["min_score"] for c in by_code} == {
        "green": 85,
        "yellow": 70,
        "orange": 60,
        "red": 0,
    }
    assert {c: by_code[c]["patrol_interval_days"] for c in by_code} == {
        "green": 21,
        "yellow": 14,
        "orange": 7,
        "red": 3,
    }
    for b in g["grades"]:
        assert re.fullmatch(r"#[0-9A-Fa-f]{6}", b["colour"]), b["code"]


def test_rental_veto_items_exist(taxonomy):
    """Test that veto items are listed and link only to real taxonomy items."""
    g = load("rental_grading.json")
    items = {i["code"] for c in taxonomy["categories"] for i in c["items"]}
    assert len(g["veto"]) >= 3
    for v in g["veto"]:
        assert set(v["taxonomy_items"]) <= items, v["code"]


def test_sla_tiers_are_ordered_and_capped():
    """Test the urgent/normal/complex limits, verify/check limits and the 15-day cap."""
    sla = load("sla.json")
    tiers = {p["code"]: p for p in sla["priorities"]}
    assert list(tiers) == ["urgent", "normal", "complex"]
    assert tiers["urgent"]["handle_limit_hours"] == 24
    assert tiers["normal"]["handle_limit_hours"] == 72
    assert tiers["complex"]["handle_limit_hours"] == 168
    assert tiers["urgent"]["report_limit_hours"] == 2
    assert sla["verify_limit_hours"] == 2 and sla["check_limit_hours"] == 24
    assert sla["hard_cap_days"] == 15 and sla["hard_cap_hours"] == 15 * 24
    for p in tiers.values():
        assert 0 < p["sign_limit_hours"] < p["handle_limit_hours"] <= sla["hard_cap_hours"], p["code"]
    handles = [tiers[c]["handle_limit_hours"] for c in ("urgent", "normal", "complex")]
    assert handles == sorted(handles)
