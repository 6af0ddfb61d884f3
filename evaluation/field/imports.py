"""Imports of field data as offices export it (CSV/Excel through core.tabular): per-worker monthly
figures and event lists.

One pass over the file, in chunks: each chunk is checked (tabular errors, then lookups: worker, grid,
metric, chronology), diffed against the database by natural key (worker + period + metric; event number)
and, when importing and nothing was refused so far, written on the database's bulk path (import_bulk: executemany on SQLite, COPY on PostgreSQL).
``preview_import`` only checks; ``import_file`` writes in the caller's transaction and raises ImportRefused
on any refused row, so the caller's unit of work rolls the whole file back; for a clean file, event-derived
figures are recomputed for the months it touched.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, insert, update
from sqlalchemy import select as sa_select  # more columns than sqlmodel's select is typed for
from sqlmodel import Session, col, select

from core.audit import record
from core.errors import GridwiseError
from core.models import OrgLevel, OrgUnit, Worker
from core.scope import ScopeError, Viewer, unit_scope_clause, worker_scope_clause
from core.tabular import Column, Data, RowError, Schema, blocks, head_bytes, iter_table, template_bytes
from core.taxonomy import load_taxonomy
from core.uploads import upload_problem
from evaluation.field.import_bulk import (
    DeferredIndexes,
    columns_for,
    copy_insert_or_upsert,
    copy_upsert,
    executemany,
)
from evaluation.field.models import Event, EventState, FigureSource, MetricDef, MetricValue
from evaluation.field.registry import (
    ensure_reference_data,
    field_now,
    item_lookup,
    shipped_metrics,
    sla_levels,
)
from evaluation.field.summary import recompute_event_metrics

Kind = Literal["metrics", "events"]
Progress = Callable[[int, float | None], None]
IN_BATCH = 5000  # bound parameters per IN (…) lookup, well under SQLite's limit


def _metric_choices() -> dict[str, str]:
    out: dict[str, str] = {}
    for m in shipped_metrics():
        for spelling in (m["code"], m["name_zh"], m["name_en"]):
            out[spelling] = m["code"]
    return out


def _item_choices() -> dict[str, str]:
    out: dict[str, str] = {}
    for cat in load_taxonomy()["categories"]:
        for item in cat["items"]:
            for spelling in (item["code"], item["name_zh"], item["name_en"]):
                out[spelling] = item["code"]
    return out


PRIORITY_CHOICES = {
    "紧急": "urgent",
    "urgent": "urgent",
    "一般": "normal",
    "普通": "normal",
    "normal": "normal",
    "复杂": "complex",
    "重点难点": "complex",
    "复杂/重点难点": "complex",
    "complex": "complex",
}
SATISFACTION_CHOICES = {
    "满意": "satisfied",
    "satisfied": "satisfied",
    "基本满意": "basic",
    "basic": "basic",
    "mostly satisfied": "basic",
    "不满意": "unsatisfied",
    "unsatisfied": "unsatisfied",
}
VOID_RESULT = re.compile(r"作废|不予立案|无效|^void", re.IGNORECASE)

METRICS_SCHEMA = Schema(
    name="metrics",
    columns=[
        Column(
            "employee_no",
            ["工号", "网格员工号", "员工编号", "employee no", "employee_no"],
            required=True,
            max_length=32,
            label_en="employee no",
            example="DP0001",
        ),
        Column(
            "period",
            ["统计月份", "月份", "期间", "统计期", "period", "month"],
            required=True,
            max_length=20,
            label_en="period",
            example="2020-06",
        ),
        Column(
            "metric",
            ["指标", "指标名称", "指标代码", "metric"],
            kind="enum",
            required=True,
            choices=_metric_choices(),
            example="采集率",
        ),
        Column("numerator", ["分子", "numerator"], kind="float", required=True, min=0, example=412),
        Column("denominator", ["分母", "denominator"], kind="float", min=0, example=436),
    ],
    key=["employee_no", "period", "metric"],
)

EVENTS_SCHEMA = Schema(
    name="events",
    columns=[
        Column(
            "event_no",
            ["事件编号", "案卷号", "工单号", "event no", "event_no"],
            required=True,
            max_length=40,
            label_en="event no",
            example="DP2020060100001",
        ),
        Column(
            "item",
            ["事项", "事项名称", "事项代码", "小类", "item"],
            kind="enum",
            required=True,
            choices=_item_choices(),
            example="F02",
        ),
        Column(
            "grid_code",
            ["网格编码", "网格编号", "所属网格", "grid code", "grid"],
            required=True,
            max_length=32,
            label_en="grid code",
            example="440307002007001",
        ),
        Column(
            "location",
            ["地点", "位置", "地址", "事发地址", "location", "address"],
            max_length=200,
            example="下沙村三巷12号",
        ),
        Column(
            "building_code",
            ["楼栋编码", "建筑物编码", "building code"],
            max_length=40,
            label_en="building code",
        ),
        Column("lat", ["纬度", "lat", "latitude"], kind="float", min=-90, max=90),
        Column("lon", ["经度", "lon", "lng", "longitude"], kind="float", min=-180, max=180),
        Column(
            "priority",
            ["紧急程度", "等级", "优先级", "priority"],
            kind="enum",
            choices=PRIORITY_CHOICES,
            example="紧急",
        ),
        Column(
            "reporter_no",
            ["上报人工号", "上报人", "reporter", "reporter no"],
            max_length=32,
            label_en="reporter no",
            example="DP0001",
        ),
        Column(
            "assignee_no",
            ["处置人工号", "处置人", "承办人", "assignee", "assignee no"],
            max_length=32,
            label_en="assignee no",
            example="DP0001",
        ),
        Column(
            "discovered_at",
            ["发现时间", "discovered at", "discovered"],
            kind="datetime",
            label_en="discovered at",
            example=datetime(2020, 6, 1, 8, 30),
        ),
        Column(
            "reported_at",
            ["上报时间", "reported at", "reported"],
            kind="datetime",
            required=True,
            label_en="reported at",
            example=datetime(2020, 6, 1, 9, 0),
        ),
        Column(
            "accepted_at",
            ["受理时间", "立案时间", "accepted at", "accepted"],
            kind="datetime",
            label_en="accepted at",
            example=datetime(2020, 6, 1, 9, 40),
        ),
        Column(
            "dispatched_at",
            ["派遣时间", "分拨时间", "dispatched at", "dispatched"],
            kind="datetime",
            label_en="dispatched at",
            example=datetime(2020, 6, 1, 10, 0),
        ),
        Column(
            "signed_at",
            ["签收时间", "signed at", "signed"],
            kind="datetime",
            label_en="signed at",
            example=datetime(2020, 6, 1, 10, 20),
        ),
        Column(
            "feedback_at",
            ["反馈时间", "处置反馈时间", "feedback at", "feedback"],
            kind="datetime",
            label_en="feedback at",
            example=datetime(2020, 6, 1, 15, 0),
        ),
        Column(
            "closed_at",
            ["办结时间", "结案时间", "closed at", "closed"],
            kind="datetime",
            label_en="closed at",
            example=datetime(2020, 6, 1, 17, 0),
        ),
        Column("result", ["处置结果", "办理结果", "result"], max_length=500, example="已清理楼道电动车"),
        Column(
            "satisfaction",
            ["满意度", "回访结果", "satisfaction"],
            kind="enum",
            choices=SATISFACTION_CHOICES,
            example="满意",
        ),
        Column(
            "rework_count",
            ["返工次数", "rework count", "reworks"],
            kind="int",
            min=0,
            max=99,
            label_en="rework count",
        ),
        Column("postponed", ["是否缓办", "缓办", "postponed"], kind="bool"),
    ],
    key=["event_no"],
)
SCHEMAS: dict[str, Schema] = {"metrics": METRICS_SCHEMA, "events": EVENTS_SCHEMA}
STAGES = [
    "discovered_at",
    "reported_at",
    "accepted_at",
    "dispatched_at",
    "signed_at",
    "feedback_at",
    "closed_at",
]
EVENT_FIELDS = [
    "item_code",
    "category_code",
    "grid_id",
    "community_id",
    "location",
    "building_code",
    "lat",
    "lon",
    "priority",
    "reporter_id",
    "assignee_id",
    *STAGES,
    "voided_at",
    "started_at",
    "evaluated_at",
    "sign_due_at",
    "due_at",
    "result",
    "satisfaction",
    "rework_count",
    "postponed",
    "state",
]


@dataclass
class ImportReport:
    """What an import found (and did): counts, every refused row, and a sample of what changes."""

    kind: str
    filename: str
    rows_read: int = 0
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    warnings: list[RowError] = field(default_factory=list)
    encoding: str | None = None
    file_type: str | None = None
    written: bool = False  # rows were added or changed (the caller's unit of work commits them)
    periods: tuple[str, str] | None = None
    sample: pd.DataFrame = field(default_factory=pd.DataFrame)  # up to 200 added/changed rows, with status

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.filename,
            "rows_read": self.rows_read,
            "added": self.added,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "refused": self.error_count,
            "committed": self.written,
            "encoding": self.encoding,
            "file_type": self.file_type,
            "errors": [
                {
                    "row": e.row,
                    "column": e.column,
                    "value": e.value,
                    "code": e.code,
                    "message": e.message(lang),
                }
                for e in self.errors
            ],
            "warnings": [w.message(lang) for w in self.warnings],
        }

    def errors_frame(self, lang: str = "zh") -> pd.DataFrame:
        return pd.DataFrame(
            [
                {"row": e.row, "column": e.column, "value": e.value, "message": e.message(lang)}
                for e in self.errors
            ],
            columns=["row", "column", "value", "message"],
        )


def _err(rows: pd.Series, column: Column, values: pd.Series, code: str, zh: str, en: str) -> list[RowError]:
    """RowErrors for the rows of a mask (already filtered), with the row number and column label."""
    values = [v if not isinstance(v, float) else f"{v:g}" for v in values]
    return [
        RowError(
            int(r),
            column.key,
            None if pd.isna(v) else str(v),
            code,
            f"第 {int(r)} 行「{column.label_zh}」列的值“{v}”{zh}",
            f'Row {int(r)}, column "{column.label_en}": "{v}" {en}',
        )
        for r, v in zip(rows, values, strict=True)
    ]


def _in_batches(
    session: Session, stmt_for: Callable[[list], Any], keys: list, columns: list[str]
) -> pd.DataFrame:
    parts = [
        pd.DataFrame(session.exec(stmt_for(keys[i : i + IN_BATCH])).all(), columns=columns)
        for i in range(0, len(keys), IN_BATCH)
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


class _Lookups:
    """Workers and grids the viewer may import for, loaded once per file."""

    def __init__(self, session: Session, viewer: Viewer) -> None:
        self.workers = pd.DataFrame(
            session.exec(select(Worker.employee_no, Worker.id).where(worker_scope_clause(viewer))).all(),
            columns=["employee_no", "worker_id"],
        ).set_index("employee_no")["worker_id"]
        grids = pd.DataFrame(
            session.execute(
                sa_select(
                    col(OrgUnit.code),
                    col(OrgUnit.id),
                    col(OrgUnit.parent_id),
                    col(OrgUnit.lat),
                    col(OrgUnit.lon),
                ).where(col(OrgUnit.level) == OrgLevel.GRID.value, unit_scope_clause(viewer))
            ).all(),
            columns=["grid_code", "grid_id", "community_id", "grid_lat", "grid_lon"],
        )
        self.grids = grids.set_index("grid_code")


_PERIOD = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})(?:\s*月)?(?:[-/.]\d{1,2}(?:日)?)?(?:\s+.*)?$")


def normalise_period(values: pd.Series) -> pd.Series:
    """ "2020-06", "2020/6", "2020年6月", "2020-06-01" (an Excel date cell) → "2020-06"; NaN if not a month."""
    parts = values.astype("string").str.extract(_PERIOD)
    month = pd.to_numeric(parts[1], errors="coerce")
    ok = parts[0].notna() & month.between(1, 12)
    out = parts[0] + "-" + month.astype("Int64").astype("string").str.zfill(2)
    return out.where(ok)


def _metrics_chunk(
    session: Session,
    rows: pd.DataFrame,
    look: _Lookups,
    from_events: set[str],
    kinds: dict[str, str],
    seen: list[pd.DataFrame],
) -> tuple[pd.DataFrame, list[RowError]]:
    sch = METRICS_SCHEMA
    errors: list[RowError] = []
    rows = rows.assign(
        worker_id=rows["employee_no"].map(look.workers), period_norm=normalise_period(rows["period"])
    )
    bad = rows["worker_id"].isna()
    errors += _err(
        rows.loc[bad, "_row"],
        sch.column("employee_no"),
        rows.loc[bad, "employee_no"],
        "unknown_worker",
        "不是您管理范围内的网格员工号",
        "is not a worker in your scope",
    )
    badp = ~bad & rows["period_norm"].isna()
    errors += _err(
        rows.loc[badp, "_row"],
        sch.column("period"),
        rows.loc[badp, "period"],
        "bad_period",
        "不是有效的统计月份(如 2020-06)",
        "is not a month such as 2020-06",
    )
    ev = ~bad & ~badp & rows["metric"].isin(from_events)
    errors += _err(
        rows.loc[ev, "_row"],
        sch.column("metric"),
        rows.loc[ev, "metric"],
        "metric_from_events",
        "由平台根据事件、巡查或走访记录自动计算,不能作为数值导入",
        "is computed from event, patrol or visit records; it cannot be imported as a figure",
    )
    kind = rows["metric"].map(kinds)
    ok = ~bad & ~badp & ~ev
    no_den = ok & kind.eq("ratio") & rows["denominator"].isna()
    errors += _err(
        rows.loc[no_den, "_row"],
        sch.column("denominator"),
        rows.loc[no_den, "denominator"],
        "required",
        "为空:比率类指标必须填写分母",
        "is empty: a ratio metric needs a denominator",
    )
    over = ok & ~no_den & kind.eq("ratio") & (rows["numerator"] > rows["denominator"])
    errors += _err(
        rows.loc[over, "_row"],
        sch.column("numerator"),
        rows.loc[over, "numerator"],
        "numerator_over",
        "大于分母",
        "is larger than the denominator",
    )
    good = rows[ok & ~no_den & ~over].copy()
    good["denominator"] = good["denominator"].where(good["metric"].map(kinds).eq("ratio"))
    good = good.assign(period=good["period_norm"], worker_id=good["worker_id"].astype(int))
    good, repeated = _repeated_metric_keys(good, seen)
    return good[
        ["_row", "worker_id", "employee_no", "period", "metric", "numerator", "denominator"]
    ], errors + repeated


_METRIC_KEY = ["worker_id", "period", "metric"]


def _repeated_metric_keys(
    good: pd.DataFrame, seen: list[pd.DataFrame]
) -> tuple[pd.DataFrame, list[RowError]]:
    """Refuse a row whose worker × month × metric an earlier row of the file (this chunk or one before,
    kept in ``seen``) already gave under another spelling, e.g. 2020-06 and 2020/6: core.tabular's key
    check compares cells as written, and two such rows would both be inserted."""
    first = good.groupby(_METRIC_KEY, sort=False)["_row"].transform("first").to_numpy()
    if seen:
        earlier = good[_METRIC_KEY].merge(pd.concat(seen), on=_METRIC_KEY, how="left")["_first"].to_numpy()
        first = np.where(pd.isna(earlier), first, earlier).astype("int64")
    dup = first != good["_row"].to_numpy()
    seen.append(good.loc[~dup, [*_METRIC_KEY, "_row"]].rename(columns={"_row": "_first"}))
    errors = [
        RowError(
            int(r),
            "employee_no,period,metric",
            f"{no} {period} {metric}",
            "duplicate_key",
            f"第 {int(r)} 行与第 {int(o)} 行是同一网格员、同一月份、同一指标({no},{period},{metric})",
            f"Row {int(r)} repeats row {int(o)}: same worker, month and metric ({no}, {period}, {metric})",
        )
        for r, o, no, period, metric in zip(
            good.loc[dup, "_row"],
            first[dup],
            good.loc[dup, "employee_no"],
            good.loc[dup, "period"],
            good.loc[dup, "metric"],
            strict=True,
        )
    ]
    return good[~dup], errors


def _diff_metrics(session: Session, good: pd.DataFrame) -> pd.DataFrame:
    if good.empty:
        return good.assign(status=pd.Series(dtype=str), id=pd.Series(dtype="Int64"))
    existing = _in_batches(
        session,
        lambda ids: sa_select(
            col(MetricValue.id),
            col(MetricValue.worker_id),
            col(MetricValue.period),
            col(MetricValue.metric),
            col(MetricValue.numerator),
            col(MetricValue.denominator),
        ).where(
            col(MetricValue.worker_id).in_(ids),
            col(MetricValue.period).between(good["period"].min(), good["period"].max()),
        ),
        sorted(good["worker_id"].unique().tolist()),
        ["id", "worker_id", "period", "metric", "old_num", "old_den"],
    )
    merged = good.merge(existing, on=["worker_id", "period", "metric"], how="left")
    same = np.isclose(merged["numerator"], merged["old_num"].astype(float)) & (
        np.isclose(merged["denominator"].astype(float), merged["old_den"].astype(float))
        | (merged["denominator"].isna() & merged["old_den"].isna())
    )
    merged["status"] = np.where(merged["id"].isna(), "added", np.where(same, "unchanged", "changed"))
    return merged


def _write_metrics(session: Session, diff: pd.DataFrame, at: datetime) -> None:
    conn = session.connection()
    new = diff[diff["status"] == "added"]
    if len(new):
        recs = new[["worker_id", "period", "metric", "numerator", "denominator"]].astype(object)
        recs = recs.where(recs.notna(), None).assign(source=FigureSource.IMPORT.value, updated_at=at)
        conn.execute(insert(MetricValue), recs.to_dict("records"))
    chg = diff[diff["status"] == "changed"]
    if len(chg):
        recs = chg[["id", "numerator", "denominator"]].astype(object)
        recs = recs.where(recs.notna(), None).rename(
            columns={"id": "_id", "numerator": "num", "denominator": "den"}
        )
        conn.execute(
            update(MetricValue)
            .where(col(MetricValue.id) == bindparam("_id"))
            .values(
                numerator=bindparam("num"),
                denominator=bindparam("den"),
                updated_at=at,
                source=FigureSource.IMPORT.value,
            ),
            recs.to_dict("records"),
        )


def _map(values: pd.Series, table: Mapping[str, Any] | pd.Series) -> pd.Series:
    """``values.map(table)`` (same dtype and result), looking up each distinct value once: a chunk of
    50,000 events holds a few hundred workers, items and priorities."""
    codes, uniques = pd.factorize(values)
    mapped = pd.Series(uniques, dtype=values.dtype).map(table)
    return pd.Series(mapped.array.take(codes, allow_fill=True), index=values.index)


def _events_chunk(
    rows: pd.DataFrame, look: _Lookups, items: dict[str, dict], limits: dict[str, Any]
) -> tuple[pd.DataFrame, list[RowError]]:
    sch = EVENTS_SCHEMA
    errors: list[RowError] = []
    rows = rows.join(look.grids, on="grid_code")
    bad = rows["grid_id"].isna()
    errors += _err(
        rows.loc[bad, "_row"],
        sch.column("grid_code"),
        rows.loc[bad, "grid_code"],
        "unknown_grid",
        "不是您管理范围内的网格编码",
        "is not a grid in your scope",
    )
    for cname, out in (("reporter_no", "reporter_id"), ("assignee_no", "assignee_id")):
        rows[out] = _map(rows[cname], look.workers)
        unknown = rows[cname].notna() & rows[out].isna()
        errors += _err(
            rows.loc[unknown, "_row"],
            sch.column(cname),
            rows.loc[unknown, cname],
            "unknown_worker",
            "不是您管理范围内的网格员工号",
            "is not a worker in your scope",
        )
        bad |= unknown
    # Chronology: each stage at or after the latest earlier stage present.
    latest = pd.Series(pd.NaT, index=rows.index, dtype="datetime64[us]")
    for cname in STAGES:
        before = rows[cname].notna() & latest.notna() & (rows[cname] < latest)
        errors += _err(
            rows.loc[before & ~bad, "_row"],
            sch.column(cname),
            rows.loc[before & ~bad, cname].astype(str),
            "out_of_order",
            "早于前一环节的时间",
            "is earlier than the previous stage",
        )
        bad |= before
        latest = latest.where(rows[cname].isna() | (latest > rows[cname]), rows[cname])
    rows = rows[~bad].copy() if bad.any() else rows  # (the join made a frame of its own)
    if rows.empty:
        return rows, errors
    meta = pd.DataFrame.from_dict(items, orient="index")
    rows["item_code"] = rows["item"]
    rows["category_code"] = _map(rows["item"], meta["category_code"])
    rows["priority"] = rows["priority"].fillna(_map(rows["item"], meta["default_priority"]))
    rows["lat"] = rows["lat"].fillna(rows["grid_lat"])
    rows["lon"] = rows["lon"].fillna(rows["grid_lon"])
    sign_h = pd.to_timedelta(
        _map(rows["priority"], {k: v.sign_limit_hours for k, v in limits.items()}), unit="h"
    )
    handle_h = pd.to_timedelta(
        _map(rows["priority"], {k: v.handle_limit_hours for k, v in limits.items()}), unit="h"
    )
    voided = rows["result"].fillna("").str.contains(VOID_RESULT)
    self_handled = rows["dispatched_at"].isna() & rows["feedback_at"].notna()
    rows["assignee_id"] = rows["assignee_id"].where(
        rows["assignee_id"].notna() | ~self_handled, rows["reporter_id"]
    )
    rows["sign_due_at"] = rows["dispatched_at"] + sign_h
    start = (
        rows["signed_at"].fillna(rows["sign_due_at"]).fillna(rows["accepted_at"]).fillna(rows["reported_at"])
    )
    rows["due_at"] = (start + handle_h).where(~voided)
    rows["voided_at"] = rows["accepted_at"].fillna(rows["reported_at"]).where(voided)
    rows["accepted_at"] = rows["accepted_at"].where(~voided)
    rows["started_at"] = rows["signed_at"]
    rows["evaluated_at"] = rows["closed_at"].where(rows["satisfaction"].notna())
    rows["rework_count"] = rows["rework_count"].fillna(0).astype(int)
    rows["postponed"] = rows["postponed"].fillna(False).astype(bool)
    S = EventState
    rows["state"] = np.select(
        [
            voided,
            rows["closed_at"].notna() & rows["satisfaction"].notna(),
            rows["closed_at"].notna(),
            rows["feedback_at"].notna() & self_handled,
            rows["feedback_at"].notna(),
            rows["signed_at"].notna(),
            rows["dispatched_at"].notna(),
            rows["accepted_at"].notna(),
        ],
        [
            S.VOIDED.value,
            S.EVALUATED.value,
            S.CLOSED.value,
            S.SELF_RESOLVED.value,
            S.FEEDBACK.value,
            S.HANDLING.value,
            S.DISPATCHED.value,
            S.REGISTERED.value,
        ],
        default=S.REPORTED.value,
    )
    for cname in ("grid_id", "community_id"):
        rows[cname] = rows[cname].astype(int)
    for cname in ("reporter_id", "assignee_id"):
        rows[cname] = rows[cname].astype("Int64")
    rows["import_hash"] = _row_hash(rows)
    return rows, errors


def _row_hash(rows: pd.DataFrame) -> pd.Series:
    """A fingerprint of what the file says about an event: equal hash ⇒ re-import changes nothing."""
    cols = [
        "item_code",
        "grid_id",
        "location",
        "building_code",
        "lat",
        "lon",
        "priority",
        "reporter_id",
        "assignee_id",
        *STAGES,
        "result",
        "satisfaction",
        "rework_count",
        "postponed",
    ]
    h = pd.util.hash_pandas_object(rows[cols], index=False).to_numpy().astype(">u8")
    hexes = np.frombuffer(h.tobytes().hex().encode("ascii"), dtype="S16").astype(
        "U16"
    )  # f"{v:016x}", at once
    return pd.Series(hexes, index=rows.index, dtype="str")


def _existing_events(session: Session, numbers: list[str]) -> pd.DataFrame:
    """Stored events with these numbers: event_no, id, old_hash, old_grid_id.

    Plain driver SQL: SQLAlchemy's expanding IN renders every parameter in Python, which cost more than
    the lookups themselves (~5 s of CPU at a million rows). PostgreSQL takes the list as one JSON text
    (json.dumps in C; psycopg's array dumper quotes each element in Python: ~0.05 s per 50,000 numbers)."""
    conn = session.connection()
    sql = f"SELECT event_no, id, import_hash, grid_id FROM {Event.__tablename__} WHERE event_no "
    if conn.dialect.name == "postgresql":
        found = conn.exec_driver_sql(
            sql + "IN (SELECT json_array_elements_text(%s::json))", (json.dumps(numbers),)
        ).all()
    else:
        found = []
        for i in range(0, len(numbers), IN_BATCH):
            batch = tuple(numbers[i : i + IN_BATCH])
            found += conn.exec_driver_sql(sql + f"IN ({', '.join('?' * len(batch))})", batch).all()
    return pd.DataFrame(found, columns=["event_no", "id", "old_hash", "old_grid_id"])


def _diff_events(session: Session, rows: pd.DataFrame) -> pd.DataFrame:
    existing = _existing_events(session, rows["event_no"].tolist())
    merged = rows.merge(existing, on="event_no", how="left")
    merged["status"] = np.where(
        merged["id"].isna(),
        "added",
        np.where(merged["old_hash"] == merged["import_hash"], "unchanged", "changed"),
    )
    return merged


def _write_events(session: Session, diff: pd.DataFrame, at: datetime) -> None:
    sqlite = session.get_bind().dialect.name == "sqlite"
    cols = [*EVENT_FIELDS, "import_hash"]
    extra = ["event_no", "updated_at", "source", "reopen_count", "return_count", "escalation"]
    if not sqlite:  # PostgreSQL: new events COPYed in, changed ones upserted by event number
        constants = {
            "updated_at": at,
            "source": "import",
            "reopen_count": 0,
            "return_count": 0,
            "escalation": 0,
        }
        for status, write in (("added", copy_insert_or_upsert), ("changed", copy_upsert)):
            rows = diff["status"].to_numpy() == status
            if rows.any():
                write(
                    session,
                    Event.__tablename__,
                    diff if rows.all() else diff[rows],
                    cols + ["event_no"],
                    constants,
                    key="event_no",
                    update=[*cols, "updated_at"],  # a changed event keeps its counters, as the SQLite path
                    order_by="reported_at",  # the time indexes (and state, due) take the chunk in order
                )
        return
    new = diff[diff["status"] == "added"]
    if len(new):
        frame = new.assign(
            updated_at=pd.Timestamp(at),
            source="import",
            rework_count=new["rework_count"],
            reopen_count=0,
            return_count=0,
            escalation=0,
        )
        executemany(session, "field_event", cols + extra, columns_for(frame, cols + extra, sqlite))
    chg = diff[diff["status"] == "changed"]
    if len(chg):
        frame = chg.assign(updated_at=pd.Timestamp(at))
        executemany(
            session,
            "field_event",
            cols + ["updated_at"],
            columns_for(frame, cols + ["updated_at"], sqlite),
            where_id=chg["id"].astype(int).tolist(),
        )


def _months(frame: pd.DataFrame, cols: list[str]) -> tuple[str, str] | None:
    stamps = pd.concat([frame[c] for c in cols if c in frame], ignore_index=True).dropna()
    if stamps.empty:
        return None
    return stamps.min().strftime("%Y-%m"), stamps.max().strftime("%Y-%m")


def _merge_span(a: tuple[str, str] | None, b: tuple[str, str] | None) -> tuple[str, str] | None:
    if a is None or b is None:
        return a or b
    return min(a[0], b[0]), max(a[1], b[1])


def _sha256(data: Data) -> str:
    digest = hashlib.sha256()
    for block in blocks(data):
        digest.update(block)
    return digest.hexdigest()


class ImportRefused(GridwiseError):
    """A file with refused rows. Some of its chunks may already be written to the caller's transaction,
    which must roll back (a unit of work does, as the exception leaves it); ``report`` says what was wrong."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        super().__init__("field.import.refused_msg", n=report.error_count)


def preview_import(
    session: Session,
    viewer: Viewer,
    kind: Kind,
    data: Data,
    filename: str,
    *,
    progress: Progress | None = None,
    chunk_rows: int = 50_000,
    now: datetime | None = None,
    sample_rows: int = 200,
) -> ImportReport:
    """Check one file and say what importing it would add and change; writes nothing."""
    return _check_and_write(
        session,
        viewer,
        kind,
        data,
        filename,
        write=False,
        progress=progress,
        chunk_rows=chunk_rows,
        now=now,
        sample_rows=sample_rows,
    )


def import_file(
    session: Session,
    viewer: Viewer,
    kind: Kind,
    data: Data,
    filename: str,
    *,
    progress: Progress | None = None,
    chunk_rows: int = 50_000,
    now: datetime | None = None,
    sample_rows: int = 200,
    recompute_figures: bool = True,
) -> ImportReport:
    """Check and write one file, all or nothing, in the caller's transaction: a clean file is written with its
    audit entry (``report.written``); a refused row anywhere raises ImportRefused, so the caller's unit of
    work rolls back whatever earlier chunks wrote and the database stays as it was.

    ``recompute_figures=False`` leaves the event-derived monthly figures to the hourly
    field.recompute_metrics job, as for events moved through the app (the API's event stream: rebuilding
    a district's month per posted event would cost more than the event)."""
    report = _check_and_write(
        session,
        viewer,
        kind,
        data,
        filename,
        write=True,
        progress=progress,
        chunk_rows=chunk_rows,
        now=now,
        sample_rows=sample_rows,
        recompute_figures=recompute_figures,
    )
    if not report.ok:
        raise ImportRefused(report)
    return report


def _check_and_write(
    session: Session,
    viewer: Viewer,
    kind: Kind,
    data: Data,
    filename: str,
    *,
    write: bool,
    progress: Progress | None,
    chunk_rows: int,
    now: datetime | None,
    sample_rows: int,
    recompute_figures: bool = True,
) -> ImportReport:
    if not viewer.is_manager:
        raise ScopeError("scope.err.manager_field_import")
    if kind not in SCHEMAS:
        raise GridwiseError("field.err.import_kind", kind=kind)
    if (problem := upload_problem(data, filename)) is not None:  # e.g. an .xlsx that is not a workbook
        return ImportReport(kind=kind, filename=filename, errors=[problem], error_count=1)
    at = field_now(session, now)
    ensure_reference_data(session)
    look = _Lookups(session, viewer)
    report = ImportReport(kind=kind, filename=filename)
    total = sum(b.count(b"\n") for b in blocks(data)) if not head_bytes(data, 2) == b"PK" else None

    regs = session.exec(select(MetricDef.code, MetricDef.from_events, MetricDef.kind)).all()
    from_events = {c for c, fe, _ in regs if fe}
    kinds = {c: k for c, _, k in regs}
    items, limits = item_lookup(), sla_levels(session)
    samples: list[pd.DataFrame] = []
    seen_keys: list[pd.DataFrame] = []  # metrics: worker × month × metric → first row, across chunks
    writing = write
    deferred = DeferredIndexes(session, total) if write and kind == "events" else None
    for chunk in iter_table(data, filename, SCHEMAS[kind], chunk_rows=chunk_rows):
        report.encoding = report.encoding or chunk.encoding
        report.file_type = report.file_type or chunk.file_type
        report.warnings += chunk.warnings
        report.rows_read += chunk.rows_read
        errors = list(chunk.errors)
        report.error_count += chunk.error_count
        if len(chunk.rows):
            if kind == "metrics":
                good, more = _metrics_chunk(session, chunk.rows, look, from_events, kinds, seen_keys)
                diff = _diff_metrics(session, good)
                del good
                span = (diff["period"].min(), diff["period"].max()) if len(diff) else None
            else:
                good, more = _events_chunk(chunk.rows, look, items, limits)
                diff = _diff_events(session, good) if len(good) else good.assign(status=[])
                del good  # the diff holds its rows: one copy of the chunk the less while it is written
                if len(
                    diff
                ):  # an event number already used in a grid outside the viewer's scope is not theirs
                    theirs = diff["old_grid_id"].notna() & ~diff["old_grid_id"].isin(look.grids["grid_id"])
                    more += _err(
                        diff.loc[theirs, "_row"],
                        EVENTS_SCHEMA.column("event_no"),
                        diff.loc[theirs, "event_no"],
                        "event_out_of_scope",
                        "是您管理范围以外的事件编号",
                        "is the number of an event outside your scope",
                    )
                    diff = diff[~theirs]
                span = (
                    _months(diff, ["reported_at", "due_at", "feedback_at", "evaluated_at"])
                    if len(diff)
                    else None
                )
            errors += more
            report.error_count += len(more)
            counts = diff["status"].value_counts() if len(diff) else {}
            report.added += int(counts.get("added", 0))
            report.changed += int(counts.get("changed", 0))
            report.unchanged += int(counts.get("unchanged", 0))
            report.periods = _merge_span(report.periods, span)
            if report.error_count:
                writing = False
            if writing:
                (_write_metrics if kind == "metrics" else _write_events)(session, diff, at)
                if deferred is not None:
                    deferred.after_write()
            have = sum(len(s) for s in samples)
            if have < sample_rows and len(diff):
                # taken, not sliced: a head is a view whose (Arrow) buffers are the whole chunk's
                shown = np.flatnonzero((diff["status"] != "unchanged").to_numpy())[: sample_rows - have]
                samples.append(diff.take(shown))
            del diff  # nor is this chunk's frame alive while the next one is read
        report.errors += errors[: max(0, 1000 - len(report.errors))]
        if progress is not None:
            progress(report.rows_read, min(1.0, report.rows_read / total) if total else None)
        del chunk
    report.errors.sort(key=lambda e: e.row or 0)
    if samples:
        report.sample = pd.concat(samples, ignore_index=True)
    if write and report.ok and (report.added or report.changed):
        if deferred is not None:
            deferred.restore()
        if kind == "events" and recompute_figures:
            recompute_event_metrics(session, now=at, periods=report.periods)
        record(
            session,
            f"import.{kind}",
            viewer=viewer,
            entity="file",
            entity_id=filename[:64],
            detail={
                "filename": filename,
                "sha256": _sha256(data),
                "rows_read": report.rows_read,
                "added": report.added,
                "changed": report.changed,
                "unchanged": report.unchanged,
                "periods": report.periods,
            },
        )
        report.written = True
    return report


def template(kind: Kind, fmt: Literal["csv", "xlsx"] = "xlsx", lang: str = "zh") -> bytes:
    return template_bytes(SCHEMAS[kind], fmt, lang)
