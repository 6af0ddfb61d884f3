"""The shipped labelled examples (data/triage/train.csv, data/triage/heldout.csv), generated from the
hand-written phrasings of :mod:`evaluation.triage.phrases` in the voices reports come in.

Each set has its own voices (templates), places, times and typos, so the held-out set reads as if other
people wrote it: training sees ``TRAIN`` phrasings in the training voices only. Deterministic for a seed:
``python -m evaluation.triage.examples`` rewrites both files byte for byte.
"""

from __future__ import annotations

import csv
import io
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.settings import DATA_DIR
from evaluation.triage.phrases import FIRST_HELDOUT, HELDOUT, MORE, TRAIN

TRIAGE_DIR = DATA_DIR / "triage"
SEED = 20200930
TRAIN_PER_ITEM = 40
HELDOUT_PER_ITEM = 8


@dataclass(frozen=True)
class Voice:
    """How one set of people write: templates, places and typos."""

    templates: Sequence[str]
    communities: Sequence[str]
    streets: Sequence[str]
    buildings: Sequence[str]
    places: Sequence[str]
    times: Sequence[str]
    typos: Sequence[tuple[str, str]]


# Training voices: a worker's quick note with a building number, a long note with an address, a 12345
# hotline transfer, a follow-up after 复查, a manager's dispatch line.
TRAIN_VOICE = Voice(
    templates=(
        "{bld}{p}",
        "{bld}{place}{p}",
        "{comm}{bld}{p}",
        "{time}巡查发现{street}{bld}{p}，已拍照留存，请相关部门尽快处理。",
        "{comm}{street}{bld}{place}：{p}，现场已劝导，需跟进。",
        "市民来电反映{comm}{street}{p}，要求尽快处理。",
        "12345转办：市民来电反映{street}{bld}{p}，请核实处置并回复。",
        "复查发现{bld}{p}，仍未整改",
        "{time}复查{street}{bld}，{p}，仍未整改，建议督办。",
        "{p}",
        "{comm}网格员上报 {p} 地址{street}{bld}",
        "{bld} {p} 请处理",
    ),
    communities=("下沙社区", "南澳社区", "葵涌社区", "坝光社区", "东山社区", "水头社区", "岭澳社区"),
    streets=("鹏飞路", "大鹏中路", "葵鹏路", "南澳大道", "迎宾路", "金岭路", "新大路", "布新路"),
    buildings=("12栋", "3栋", "5号楼", "A座", "7栋2单元", "18号", "28栋", "二巷6号", "9栋101"),
    places=("一楼", "楼道", "门口", "后巷", "楼下", "天台", "旁边"),
    times=("今天上午", "早上", "下午", "8月3日", "周一", "昨晚", "中午"),
    typos=(
        ("消防", "消方"),
        ("电动车", "电动扯"),
        ("楼道", "楼到"),
        ("垃圾", "拉圾"),
        ("充电", "冲电"),
        ("通道", "通到"),
        ("违章", "违张"),
        ("噪音", "躁音"),
        ("纠纷", "纠分"),
        ("工资", "工姿"),
        ("住人", "主人"),
        ("整改", "正改"),
    ),
)

# Held-out voices: a resident's WeChat message, a patrol form, a hotline work order with a number, a
# neighbourhood committee's log, a terse supervisor's forward; other places and other typos.
HELDOUT_VOICE = Voice(
    templates=(
        "居民在微信群里说{p}，地点在{comm}{bld}附近",
        "【巡查记录】地点：{street}{bld}；问题：{p}",
        "工单号{no} 来电人称{street}{p} 诉求尽快解决",
        "{time}走访时住户讲{p}",
        "@网格长 {bld}这边{p}",
        "接群众举报：{comm}{bld}{p}，请处理",
        "{p}！！！",
        "{place}{p}，上回说过了还是这样",
        "{street}{bld}{place}{p}麻烦派人来看看",
        "转来的投诉 {p}",
    ),
    communities=("大鹏社区", "王母社区", "溪涌社区", "土洋社区", "新大社区", "西涌社区"),
    streets=("环城西路", "鹏程路", "坪西路", "海滨路", "中山北街", "三溪路"),
    buildings=("B栋", "6号", "14幢", "东区2栋", "老村45号", "8栋楼", "4座"),
    places=("楼梯口", "大门外", "停车场", "巷子里", "楼顶", "对面"),
    times=("前天", "周末", "刚才", "上星期", "晚上"),
    typos=(
        ("煤气", "煤汽"),
        ("安全", "按全"),
        ("摆摊", "摆滩"),
        ("漏水", "露水"),
        ("拖欠", "托欠"),
        ("门禁", "门进"),
        ("老人", "老仁"),
        ("房东", "房冬"),
        ("晚上", "完上"),
    ),
)

_PUNCT = re.compile(r"[，。：；！？、,.:;!?\s]+")


def _render(rng: random.Random, voice: Voice, phrase: str) -> str:
    template = rng.choice(voice.templates)
    text = template.format(
        p=phrase,
        comm=rng.choice(voice.communities),
        street=rng.choice(voice.streets),
        bld=rng.choice(voice.buildings),
        place=rng.choice(voice.places),
        time=rng.choice(voice.times),
        no=f"{rng.randrange(10**7, 10**8)}",
    )
    if rng.random() < 0.25:  # typed in a hurry: no punctuation, no spaces
        text = _PUNCT.sub("", text)
    if rng.random() < 0.2:  # a typo or two, where the text has a word the voice misspells
        for right, wrong in rng.sample(list(voice.typos), k=len(voice.typos)):
            if right in text:
                text = text.replace(right, wrong, 1)
                break
    return text


def _generate(phrases: dict[str, list[str]], voice: Voice, per_item: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    rows: list[tuple[str, str]] = []
    for code in sorted(phrases):
        seen: set[str] = set()
        pool = phrases[code]
        tries = 0
        while len(seen) < per_item and tries < per_item * 20:
            tries += 1
            # every phrasing at least once, then at random
            phrase = pool[len(seen)] if len(seen) < len(pool) else rng.choice(pool)
            text = _render(rng, voice, phrase)
            if text not in seen:
                seen.add(text)
                rows.append((text, code))
    return rows


def training_phrases() -> dict[str, list[str]]:
    """Every phrasing training may read: the first list, the second pass and the retired first held-out set."""
    return {code: [*TRAIN[code], *MORE[code], *FIRST_HELDOUT[code]] for code in TRAIN}


def training_rows(seed: int = SEED) -> list[tuple[str, str]]:
    return _generate(training_phrases(), TRAIN_VOICE, TRAIN_PER_ITEM, seed)


def heldout_rows(seed: int = SEED + 1) -> list[tuple[str, str]]:
    return _generate(HELDOUT, HELDOUT_VOICE, HELDOUT_PER_ITEM, seed)


def to_csv(rows: list[tuple[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["text", "item"])
    writer.writerows(rows)
    return buf.getvalue()


def read_examples(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [(r["text"], r["item"]) for r in csv.DictReader(fh)]


def write_examples(directory: Path = TRIAGE_DIR, log: Callable[[str], None] = print) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train.csv", training_rows()), ("heldout.csv", heldout_rows())):
        (directory / name).write_text(to_csv(rows), encoding="utf-8")
        log(f"{directory / name}: {len(rows)} examples")


if __name__ == "__main__":
    write_examples()
