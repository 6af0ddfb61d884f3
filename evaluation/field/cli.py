"""``gridwise import metrics|events FILE`` and ``gridwise field …`` (recompute, escalate, quality)."""

from __future__ import annotations

import argparse
import ctypes
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Literal

from core.i18n import t


def _log(msg: str) -> None:
    print(msg, file=sys.stderr)


def _fixed_mmap_threshold(size: int = 64 * 1024) -> None:
    """glibc: allocations of ``size`` bytes and more are mapped, and unmapped when freed (mallopt
    M_MMAP_THRESHOLD, which also stops glibc raising the threshold as large blocks are freed). Elsewhere:
    nothing."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(-3, size)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError, TypeError):  # not glibc, or no C library to load by name
        pass


def cmd_import(args: argparse.Namespace) -> int:
    # imported when the command runs, so that `gridwise --help` stays light (core/cli.py)
    import pyarrow as pa

    from core.db import unit_of_work
    from core.scope import SYSTEM  # the command line acts for the installation as a whole
    from evaluation.field.imports import ImportRefused, import_file, preview_import, template

    # This process does one import, chunk after chunk of the same size: what a chunk frees should go back to
    # the system before the next one, not stay with the allocators (measured on 200,000 events in chunks of
    # 50,000: peak RSS 428 → 336 MB with Arrow on the C allocator instead of its mimalloc pool, → 315 MB
    # with glibc's mmap threshold fixed, instead of rising to 32 MB after the first large free).
    pa.set_memory_pool(pa.system_memory_pool())
    _fixed_mmap_threshold()
    if args.template:
        path = Path(args.template)
        fmt: Literal["csv", "xlsx"] = "csv" if path.suffix.lower() == ".csv" else "xlsx"
        path.write_bytes(template(args.kind, fmt, args.lang))
        _log(f"template written to {path}")
        return 0
    if not args.file:
        _log("error: give FILE to import, or --template FILE to write a template")
        return 2
    if args.chunk_rows < 1:
        _log("error: --chunk-rows must be at least 1")
        return 2
    path = Path(args.file)
    if not path.is_file():
        _log(f"error: no such file {path}")
        return 2
    tty = sys.stderr.isatty()

    def progress(rows: int, fraction: float | None) -> None:
        pct = f" ({fraction:.0%})" if fraction is not None else ""
        print(f"\r{rows:,} rows read{pct}", end="" if tty else "\n", file=sys.stderr, flush=True)

    run = preview_import if args.dry_run else import_file
    try:
        with unit_of_work() as session:  # a dry run writes nothing; a refused file raises and rolls back
            report = run(
                session,
                SYSTEM,
                args.kind,
                path,  # read from disk in blocks and chunks: memory follows --chunk-rows, not the file
                path.name,
                progress=progress if not args.json else None,
                chunk_rows=args.chunk_rows,
            )
    except ImportRefused as refused:
        report = refused.report
    if tty and not args.json:
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_dict(args.lang), ensure_ascii=False, indent=2, default=str))
    else:
        _log(
            f"{report.filename}: {report.rows_read} rows read, {report.added} to add, {report.changed} to change, "
            f"{report.unchanged} unchanged, {report.error_count} refused"
        )
        for e in report.errors[:50]:
            _log(f"  {e.message(args.lang)}")
        if report.error_count > 50:
            _log(f"  … and {report.error_count - 50} more")
        if args.dry_run:
            _log("dry run: nothing written")
        elif report.written:
            _log("committed")
        elif report.ok:
            _log("nothing to change")
        else:
            _log("refused: nothing written")
    return 0 if report.ok else 1


def cmd_field(args: argparse.Namespace) -> int:
    # imported when the command runs, so that `gridwise --help` stays light (core/cli.py)
    from core.db import unit_of_work
    from core.scope import SYSTEM  # the command line acts for the installation as a whole

    now = datetime.fromisoformat(args.now) if getattr(args, "now", None) else None
    with unit_of_work() as session:
        if args.field_command == "recompute":
            from evaluation.field.summary import recompute_event_metrics

            n = recompute_event_metrics(session, now=now)
            _log(f"{n} event-derived summary rows written")
        elif args.field_command == "escalate":
            from evaluation.field.events import escalate_overdue

            _log(json.dumps(escalate_overdue(session, now=now)))
        elif args.field_command == "quality":
            from evaluation.field.findings import run_checks

            _log(json.dumps(run_checks(session, SYSTEM, now=now, raise_tasks=not args.no_tasks)))
    return 0


def cmd_triage(args: argparse.Namespace) -> int:
    """``gridwise field triage FILE [--json]`` and ``gridwise field triage-train``: no database needed."""
    # imported when the command runs, so that `gridwise --help` stays light (core/cli.py)
    from evaluation.triage.service import TriageRefused, train, triage_file

    if args.field_command == "triage-train":
        _log(json.dumps(train()))
        return 0
    path = Path(args.file)
    if not path.is_file():
        _log(f"error: {t('triage.no_file', args.lang, filename=str(path))}")
        return 2
    try:
        rows = triage_file(path.read_bytes(), path.name)
    except TriageRefused as refused:
        _log(f"error: {refused.message(args.lang)}")
        return 1
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for n, row in enumerate(rows, start=1):
            mark = "?" if row["unsure"] else " "
            print(
                f"{n}\t{row['item']}{mark}\t{row['confidence']:.2f}\t{','.join(row['top3'])}\t{row['text']}"
            )
    return 0


def cmd_hotspots(args: argparse.Namespace) -> int:
    """``gridwise field hotspots --as-of DATE [--json]``: the warnings the rule finds for the 7 days ending
    DATE, read from the events (nothing stored, nobody notified; the daily job does that)."""
    # Imported here, not at the top: the CLI starts without loading pandas/scipy for other commands.
    from core.db import unit_of_work
    from evaluation.warning.service import hotspot_records, parse_as_of

    as_of = parse_as_of(args.as_of)  # a bad date is a GridwiseError: core.cli prints it, exit 2
    with unit_of_work() as session:
        rows = hotspot_records(session, as_of)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for r in rows:
        place = r["community_zh"] + (f" {r['grid_zh']}" if r["grid"] else "")
        what = r.get("item") or r.get("category")
        print(f"{place}\t{what}\t{r['observed']}\t{r['expected']:.2f}\t{r['score']:.2g}")
    _log(f"{len(rows)} warnings for the 7 days ending {as_of}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "import", help="import field data (monthly figures or an event list) from CSV/Excel"
    )
    p.add_argument("kind", choices=["metrics", "events"])
    p.add_argument("file", nargs="?", help="CSV or .xlsx file")
    p.add_argument("--dry-run", action="store_true", help="check and preview only; write nothing")
    p.add_argument("--json", action="store_true", help="print the preview as JSON")
    p.add_argument(
        "--chunk-rows",
        type=int,
        # 25,000: a million events peaked at 289 MB (323 MB in chunks of 50,000) for the same CPU (83 vs 86 s,
        # the command and its PostgreSQL backend; bench_import, issue #21: at most 300 MB)
        default=25_000,
        metavar="N",
        help="rows checked and written at a time (memory against speed; default 25000)",
    )
    p.add_argument("--template", metavar="FILE", help="write an empty template (.xlsx or .csv) and exit")
    p.add_argument(
        "--lang", choices=["zh", "en"], default="zh", help="language of messages and template headers"
    )
    p.set_defaults(func=cmd_import)

    f = subparsers.add_parser("field", help="field data maintenance")
    fs = f.add_subparsers(dest="field_command", required=True)
    for name, text in (
        ("recompute", "recompute event-derived monthly figures"),
        ("escalate", "催办/督办 overdue events (what the scheduler job does)"),
        ("quality", "run the data-quality checks: keep their findings, raise verification tasks"),
    ):
        q = fs.add_parser(name, help=text)
        q.add_argument("--now", help="ISO time to act as (default: now)")
        if name == "quality":
            q.add_argument(
                "--no-tasks", action="store_true", help="keep the findings only; raise no verification tasks"
            )
    tr = fs.add_parser("triage", help="suggest the taxonomy item of each report text in a CSV/Excel file")
    tr.add_argument("file", help="CSV or .xlsx file with a column text (内容)")
    tr.add_argument("--json", action="store_true", help="print a JSON list: text, item, confidence, top3")
    tr.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of error messages")
    tr.set_defaults(func=cmd_triage)
    hs = fs.add_parser(
        "hotspots", help="early warning: improbably high 7-day event counts per community/grid and item"
    )
    hs.add_argument("--as-of", required=True, help="last day of the 7-day window (YYYY-MM-DD)")
    hs.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list: community, grid (or null), item or category, observed, expected, score",
    )
    hs.set_defaults(func=cmd_hotspots)
    tt = fs.add_parser("triage-train", help="train the triage model from data/triage/train.csv")
    tt.set_defaults(func=cmd_triage)
    f.set_defaults(func=cmd_field)
