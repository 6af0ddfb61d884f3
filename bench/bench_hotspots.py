"""Early warning on the demo district: are the planted flare-ups warned in time, and how often does the rule
warn where nothing was planted? Against the goals of issue 24.

    python bench/bench_hotspots.py                 # seeds a full-size demo district in a scratch SQLite file
    python bench/bench_hotspots.py --db demo.db    # a demo database seeded already (copied, never changed)

The daily job (evaluation.warning.jobs.raise_warnings, de-duplication of ongoing flare-ups included) is
replayed on a scratch copy for every day from the first with a whole 8-week baseline (2020-03-04) to the
demo's "today" (2020-09-30); the stored warnings are then judged against evaluation.warning.demo.PLANTED
(evaluation.warning.demo.judge says what counts). Exit status 1 when a goal is missed: every planted
flare-up warned within 7 days of its start; fewer than 1 warning per community per month where nothing
was planted. CPU is the replay's, from /proc (time.process_time).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402
from sqlalchemy import delete, func, text  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from core.db import make_engine, unit_of_work  # noqa: E402
from core.demo import seed_demo  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.models import OrgUnit  # noqa: E402
from core.models_inbox import Notification  # noqa: E402
from evaluation.field.models import Event  # noqa: E402
from evaluation.field.registry import field_now  # noqa: E402
from evaluation.warning.demo import PLANTED, first_full_day, judge, replay  # noqa: E402
from evaluation.warning.models import HotspotWarning  # noqa: E402

GOAL_FALSE_PER_COMMUNITY_MONTH = 1.0


def _database(args: argparse.Namespace, tmp: Path) -> str:
    target = tmp / "demo.db"
    if args.db:
        shutil.copy(args.db, target)
        return f"sqlite:///{target}"
    url = f"sqlite:///{target}"
    print(f"seeding the demo district (scale {args.scale}) into a scratch database …", file=sys.stderr)
    upgrade(url)
    with unit_of_work(make_engine(url)) as session:
        seed_demo(session, seed=args.seed, scale=args.scale, log=lambda _m: None)
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an SQLite demo database file to copy (default: seed a new one)")
    parser.add_argument("--scale", type=float, default=1.0, help="demo volume when seeding (1.0 = full)")
    parser.add_argument("--seed", type=int, default=2020)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(_database(args, Path(tmp)))
        with unit_of_work(engine) as session:  # start from no warnings: the replay below is the history
            session.execute(delete(Notification).where(col(Notification.kind) == "field.hotspot"))
            session.execute(delete(HotspotWarning))
            last = field_now(session).date()
            history_start = session.exec(select(func.min(Event.reported_at))).one()
        first = first_full_day(history_start.date())
        started = time.process_time()
        with unit_of_work(engine) as session:
            totals = replay(session, first, last, log=lambda _m: None)
        cpu = time.process_time() - started
        with Session(engine) as session:
            warnings = pd.DataFrame([w.model_dump() for w in session.exec(select(HotspotWarning)).all()])
            units = session.exec(
                select(OrgUnit.name_zh, OrgUnit.id).where(OrgUnit.level == "community")
            ).all()
            events = session.exec(text("SELECT count(*) FROM field_event")).one()[0]
        engine.dispose()

    result = judge(warnings, dict(units), len(units), first, last)
    planted = result["planted"]
    print(f"demo district: {len(units)} communities, {events:,} events; job replayed {first} … {last}")
    print(
        f"  ({totals['days']} days, {totals['new']} warnings stored, CPU {cpu:.1f} s = {cpu / totals['days'] * 1000:.0f} ms a day)"
    )
    print(f"planted flare-ups ({len(PLANTED)}):")
    for r in planted.itertuples(index=False):
        lag = "not warned" if r.days_to_warn is None else f"first warned {r.days_to_warn} d after its start"
        print(f"  {r.flare_up}: {lag}, {r.warnings} warnings (community/grid × item/category)")
    detected = int(planted["detected"].sum())
    print(f"detection: {detected}/{len(planted)} warned within 7 days of their start (goal: all)")
    print(
        f"false alarms: {result['false_alarms']} warnings where nothing was planted over "
        f"{result['community_months']:.0f} community-months = {result['false_alarm_rate']:.2f} "
        f"per community per month (goal < {GOAL_FALSE_PER_COMMUNITY_MONTH:g}); "
        f"most in one community-month: {result['worst_community_month']}"
    )
    print(f"  by level and kind: {result['false_by_level']}")
    missed = []
    if detected < len(planted):
        missed.append("detection")
    if result["false_alarm_rate"] >= GOAL_FALSE_PER_COMMUNITY_MONTH:
        missed.append("false alarms")
    if missed:
        print(f"goal missed: {', '.join(missed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
