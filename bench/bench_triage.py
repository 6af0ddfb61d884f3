"""The triage model on its held-out set: top-1, top-3, CPU per report, against the goals of issue 24.

    python bench/bench_triage.py            # the shipped model (data/triage/model.json.gz)
    python bench/bench_triage.py --compare  # also train and score the methods it was chosen against

The held-out set is data/triage/heldout.csv (never read by training). CPU is ``time.process_time`` over
``--repeat`` passes of every held-out report through ``evaluation.triage.service.suggest`` (the path the
report page and the API use: model + taxonomy facts), after one warm-up pass; the model file's loading is
outside it. Exit status 1 when a goal is missed: top-1 ≥ 85 %, top-3 ≥ 95 %, ≤ 5 ms CPU per report.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluation.triage import model as triage_model  # noqa: E402
from evaluation.triage.evaluate import compare, evaluate  # noqa: E402
from evaluation.triage.examples import TRIAGE_DIR, read_examples  # noqa: E402
from evaluation.triage.service import suggest  # noqa: E402

GOAL_TOP1, GOAL_TOP3, GOAL_CPU_MS = 0.85, 0.95, 5.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", action="store_true", help="also train and score the other methods")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    heldout = read_examples(TRIAGE_DIR / "heldout.csv")
    model = triage_model.shipped()
    figures = evaluate(model, heldout)
    texts = [text for text, _ in heldout]
    for text in texts:  # warm-up
        suggest(text)
    started = time.process_time()
    for _ in range(args.repeat):
        for text in texts:
            suggest(text)
    cpu_ms = (time.process_time() - started) / (args.repeat * len(texts)) * 1000

    print(f"held-out reports: {len(heldout)} ({len(set(label for _, label in heldout))} items)")
    print(f"top-1 {figures.top1:.1%} (goal ≥ {GOAL_TOP1:.0%})")
    print(f"top-3 {figures.top3:.1%} (goal ≥ {GOAL_TOP3:.0%})")
    print(f"CPU per report {cpu_ms:.3f} ms (goal ≤ {GOAL_CPU_MS} ms)")
    print(
        f"unsure (confidence < {triage_model.UNSURE_BELOW}): {figures.unsure_share:.1%} of reports; "
        f"top-1 on the others {figures.top1_when_sure:.1%}"
    )
    if args.compare:
        print("\nmethods trained on data/triage/train.csv, scored on data/triage/heldout.csv:")
        for f in compare():
            print("  " + f.line())
    missed = [
        name
        for name, ok in (
            ("top-1", figures.top1 >= GOAL_TOP1),
            ("top-3", figures.top3 >= GOAL_TOP3),
            ("CPU", cpu_ms <= GOAL_CPU_MS),
        )
        if not ok
    ]
    if missed:
        print(f"FAIL: goal missed: {', '.join(missed)}")
        return 1
    print("ok: every goal met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
