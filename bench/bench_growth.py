"""Flat growth: each page's server CPU on the demo district and on the same district with ≥ 10× its history.

    .venv/bin/python bench/bench_growth.py                                  # manager pages, 10× events+houses
    .venv/bin/python bench/bench_growth.py --roles worker,manager --factor 10 --print-only

The 10× district is the seeded demo (bench_pages' SQLite template, var/bench-demo.db) with ``factor − 1``
more copies of its events and house records (``grow``): each copy is a past year's history (event times
shifted back by whole years, every copy closed, event numbers suffixed) and another set of houses (codes
and standard addresses suffixed, same grids), so the current month and its open work are the demo's and
only history grows. The grown copy is then migrated and its data-quality findings are made again, as the
daily job would over that history (``gridwise field quality --no-tasks``: the verification tasks of nine
past years would be closed by now). It is kept as var/bench-demo-<factor>x.db (``--fresh`` makes it again;
so does a template seeded before a migration that added a served table: run bench_pages.py ``--fresh``).

Then bench/bench_pages.py runs on each (same roles and pages, one after the other in this command) and
the ratio 10× ÷ 1× is printed per page, cold and warm. Goal (issue #21): ≤ 1.2×. /proc counts 10 ms
ticks, so a page is judged only when its 10× cost is more than 30 ms above its 1× cost (smaller
differences are a few ticks). Exit status 1 when a goal is missed (``--print-only``: 0), 2 when a run fails.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from grown_demo import ROOT, arguments, columns, copy_rows, gridwise, page_costs

GOAL_RATIO, NOISE_S = 1.2, 0.030


def grow(src: Path, dst: Path, factor: int) -> None:
    """Copy ``src`` to ``dst`` with ``factor − 1`` more years of events and sets of house records."""
    tmp = dst.with_suffix(".tmp")
    shutil.copy(src, tmp)
    db = sqlite3.connect(tmp)
    times = {c for c in columns(db, "field_event") if c.endswith("_at")}
    for k in range(1, factor):
        shifted = {c: f"datetime({c}, '-{k} years')" for c in times}
        shifted |= {
            "event_no": f"event_no || '-h{k}'",
            "state": "'closed'",
            "closed_at": f"datetime(COALESCE(closed_at, due_at, reported_at), '-{k} years')",
            "escalation": "0",
            "import_hash": "NULL",
        }
        copy_rows(db, "field_event", shifted, "event_no NOT LIKE '%-h%'")
        renamed = {"house_code": f"house_code || '-g{k}'", "standard_address": f"standard_address || '#{k}'"}
        copy_rows(db, "field_house_record", renamed, "house_code NOT LIKE '%-g%'")
    db.commit()
    counts = [
        db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("field_event", "field_house_record")
    ]
    db.execute("ANALYZE")
    db.close()
    served_results(tmp)
    tmp.replace(dst)
    print(f"grown ×{factor}: {counts[0]:,} events, {counts[1]:,} house records → {dst}", flush=True)


def served_results(db: Path) -> None:
    """Migrate ``db`` and keep its data-quality findings as the daily job would over its whole history."""
    for command in (["migrate"], ["field", "quality", "--no-tasks"]):
        gridwise(db, *command, quiet=True)


def main() -> int:
    parser = arguments(__doc__, roles="xiasha,manager", fresh="grow the 10× district again")
    parser.add_argument("--factor", type=int, default=10)
    args = parser.parse_args()
    big = ROOT / "var" / f"bench-demo-{args.factor}x.db"
    costs = page_costs(args, big, lambda src, dst: grow(src, dst, args.factor), ("1x", f"{args.factor}x"))
    if costs is None:
        return 2
    small = costs["1x"]
    missed = 0
    print(f"\n{'role':8} {'page':16} {'phase':5} {'1x ms':>7} {f'{args.factor}x ms':>7} {'ratio':>6}  goal")
    for key, b in costs[f"{args.factor}x"].items():
        if key not in small:
            continue
        a = small[key]
        ratio = b / a if a > 0 else float("inf") if b > 0 else 1.0
        judged = b - a > NOISE_S
        ok = not judged or ratio <= GOAL_RATIO
        missed += not ok
        verdict = f"≤ {GOAL_RATIO}×: {'MET' if ok else 'MISSED'}" if judged else "(within 30 ms)"
        print(f"{key[0]:8} {key[1]:16} {key[2]:5} {a * 1000:7.0f} {b * 1000:7.0f} {ratio:6.2f}  {verdict}")
    print(f"\n{missed} page(s) grew more than {GOAL_RATIO}×")
    return 1 if missed and not args.print_only else 0


if __name__ == "__main__":
    raise SystemExit(main())
