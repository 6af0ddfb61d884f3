"""Triage: report text → taxonomy item. The file contract, its refusals, the shipped data and model."""

from __future__ import annotations

import io
import json
from pathlib import Path

import openpyxl
import pytest

from core.cli import main as cli_main
from core.taxonomy import load_taxonomy
from evaluation.triage import model as triage_model
from evaluation.triage.evaluate import evaluate
from evaluation.triage.examples import (
    TRIAGE_DIR,
    heldout_rows,
    read_examples,
    to_csv,
    training_phrases,
    training_rows,
)
from evaluation.triage.phrases import HELDOUT
from evaluation.triage.service import TriageRefused, suggest, triage_file

CODES = [i["code"] for c in load_taxonomy()["categories"] for i in c["items"]]

REPORTS = [
    ("12栋消防车道停满私家车", "F01"),
    ("3栋楼上拉飞线下来给电瓶车充电", "F03"),
    ("12345转办：市民来电反映房东不退押金", "D03"),
    ("复查发现鹏飞路二巷走鬼占道仍未整改", "C02"),
]


def _csv(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def test_file_gives_one_suggestion_per_row_in_order():
    rows = triage_file(_csv(["text", *[t for t, _ in REPORTS]]), "reports.csv")
    assert [r["text"] for r in rows] == [t for t, _ in REPORTS]
    assert [r["item"] for r in rows] == [code for _, code in REPORTS]
    for r in rows:
        assert set(r) >= {"text", "item", "confidence", "top3"}
        assert 0.0 <= r["confidence"] <= 1.0
        assert len(r["top3"]) == 3 and len(set(r["top3"])) == 3 and r["top3"][0] == r["item"]
        assert set(r["top3"]) <= set(CODES)


def test_excel_with_a_chinese_header_and_gbk_csv_are_read():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["序号", "事件描述"])
    sheet.append([1, "楼道里停了三辆电动车在充电"])
    buf = io.BytesIO()
    book.save(buf)
    assert [r["item"] for r in triage_file(buf.getvalue(), "r.xlsx")] == ["F02"]
    gbk = "内容\n灭火器过期了\n".encode("gbk")
    assert [r["item"] for r in triage_file(gbk, "r.csv")] == ["F04"]


@pytest.mark.parametrize(
    ("data", "filename", "zh_part", "en_part"),
    [
        (b"", "empty.csv", "是空的", "is empty"),
        (_csv(["text"]), "header_only.csv", "没有数据", "no data rows"),
        (_csv(["title,note", "a,b"]), "no_text.csv", "text", 'Missing required column "text"'),
        (b"PK\x03\x04 not really a workbook", "broken.xlsx", "broken.xlsx", "broken.xlsx"),
        (_csv(["text", "x" * 2001]), "long.csv", "第 2 行", "Row 2"),
    ],
)
def test_unusable_files_are_refused_whole_naming_file_and_row(data, filename, zh_part, en_part):
    with pytest.raises(TriageRefused) as caught:
        triage_file(data, filename)
    zh, en = caught.value.message("zh"), caught.value.message("en")
    assert filename in zh and filename in en
    assert zh_part in zh
    assert en_part in en
    assert str(caught.value) == en


def test_cli_json_contract(tmp_path: Path, capsys):
    path = tmp_path / "r.csv"
    path.write_bytes(_csv(["text", *[t for t, _ in REPORTS]]))
    assert cli_main(["field", "triage", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(r["text"], r["item"]) for r in out] == REPORTS
    assert all(len(r["top3"]) == 3 for r in out)


def test_cli_refuses_an_empty_file_with_the_catalog_message(tmp_path: Path, capsys):
    path = tmp_path / "e.csv"
    path.write_bytes(b"")
    assert cli_main(["field", "triage", str(path), "--lang", "en"]) == 1
    assert 'Cannot triage "e.csv"' in capsys.readouterr().err
    assert cli_main(["field", "triage", str(tmp_path / "missing.csv"), "--lang", "en"]) == 2
    assert "No such file" in capsys.readouterr().err


def test_nonsense_is_unsure_and_a_clear_report_is_not():
    assert suggest("abc xyz")["unsure"] is True
    clear = suggest("出租屋内电线私拉乱接飞线充电")
    assert clear["item"] == "F03" and clear["unsure"] is False
    assert clear["category"] == "fire" and clear["default_priority"] == "urgent"


def test_shipped_examples_cover_every_item_and_are_regenerated_identically():
    train = read_examples(TRIAGE_DIR / "train.csv")
    heldout = read_examples(TRIAGE_DIR / "heldout.csv")
    assert {item for _, item in train} == set(CODES) == {item for _, item in heldout}
    assert all(25 <= sum(1 for _, i in train if i == code) <= 40 for code in CODES)
    assert (TRIAGE_DIR / "train.csv").read_text(encoding="utf-8") == to_csv(training_rows())
    assert (TRIAGE_DIR / "heldout.csv").read_text(encoding="utf-8") == to_csv(heldout_rows())


def test_heldout_phrasings_are_not_training_phrasings():
    """No held-out phrasing is a training one or contains one (a bare term of three characters or fewer,
    such as 排污水 or 飞线, may occur in both: it is a word, not a phrasing)."""
    train = {p for phrases in training_phrases().values() for p in phrases}
    for phrases in HELDOUT.values():
        for p in phrases:
            assert not any(p in t or (len(t) > 3 and t in p) for t in train), p
    train_texts = {t for t, _ in read_examples(TRIAGE_DIR / "train.csv")}
    assert not train_texts & {t for t, _ in read_examples(TRIAGE_DIR / "heldout.csv")}


def test_shipped_model_is_small_versioned_trained_on_the_shipped_examples_and_meets_the_goal():
    import gzip
    import hashlib

    path = triage_model.MODEL_PATH
    assert path.stat().st_size < 400_000
    meta = json.loads(gzip.decompress(path.read_bytes()))
    assert meta["version"] == triage_model.MODEL_VERSION
    assert meta["train_sha"] == hashlib.sha256((TRIAGE_DIR / "train.csv").read_bytes()).hexdigest()[:16]
    figures = evaluate(triage_model.shipped(), read_examples(TRIAGE_DIR / "heldout.csv"))
    assert figures.top1 >= 0.85 and figures.top3 >= 0.95


def test_training_is_deterministic(tmp_path: Path):
    rows = [(t, i) for t, i in training_rows() if i in ("F01", "C04", "D03")]
    texts, labels = [t for t, _ in rows], [i for _, i in rows]
    a = triage_model.save(triage_model.fit(texts, labels, ["F01", "C04", "D03"]), tmp_path / "a.json.gz")
    b = triage_model.save(triage_model.fit(texts, labels, ["F01", "C04", "D03"]), tmp_path / "b.json.gz")
    assert a.read_bytes() == b.read_bytes()
    assert triage_model.load(a).suggest("垃圾桶满了好几天没清运").item == "C04"
