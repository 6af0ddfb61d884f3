"""Import workers from a CSV/Excel roster: validate every row, preview, then write all or nothing.

Rows are matched by employee number, so re-importing a file changes nothing and a corrected file
updates the same workers in place.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select as sa_select  # more columns than sqlmodel's select is typed for
from sqlmodel import Session, col, select

from core import clock
from core.account_lifecycle import end_accounts_with_the_job
from core.audit import record
from core.errors import GridwiseError
from core.models import OrgLevel, OrgUnit, Worker, WorkerStatus
from core.scope import ScopeError, Viewer, unit_scope_clause
from core.tabular import Column, ReadResult, RowError, Schema, read_table
from core.tabular.messages import PerLang, row_error
from core.uploads import upload_problem

STATUS_CHOICES = {
    "在岗": "active",
    "active": "active",
    "请假": "on_leave",
    "on leave": "on_leave",
    "on_leave": "on_leave",
    "离职": "left",
    "left": "left",
}
GENDER_CHOICES = {"男": "男", "女": "女", "male": "男", "female": "女", "m": "男", "f": "女"}

WORKER_SCHEMA = Schema(
    name="workers",
    columns=[
        Column(
            "employee_no",
            ["工号", "员工编号", "employee no", "employee_no"],
            required=True,
            max_length=32,
            label_en="employee no",
            example="DP0301",
        ),
        Column("name", ["姓名", "name"], required=True, max_length=64, example="李晓明"),
        Column(
            "grid_code",
            ["网格编码", "网格编号", "grid code", "grid"],
            required=True,
            max_length=32,
            label_en="grid code",
            example="440307002007001",
        ),
        Column(
            "party_member",
            ["是否党员", "党员", "party member"],
            kind="bool",
            label_en="party member",
            example="是",
        ),
        Column(
            "hire_date", ["入职日期", "hire date"], kind="date", label_en="hire date", example="2019-03-01"
        ),
        Column("status", ["状态", "在岗状态", "status"], kind="enum", choices=STATUS_CHOICES, example="在岗"),
        Column("phone", ["手机号", "联系电话", "电话", "phone"], max_length=20, example="13800138000"),
        Column("gender", ["性别", "gender"], kind="enum", choices=GENDER_CHOICES, example="男"),
    ],
    key=["employee_no"],
)
_FIELDS = ["name", "grid_id", "party_member", "hire_date", "status", "phone", "gender"]


@dataclass
class WorkerImportPreview:
    filename: str
    rows_read: int
    errors: list[RowError]
    new: pd.DataFrame = field(default_factory=pd.DataFrame)
    changed: pd.DataFrame = field(default_factory=pd.DataFrame)
    unchanged: int = 0
    encoding: str | None = None
    sha256: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors

    def errors_frame(self, lang: str = "zh") -> pd.DataFrame:
        return pd.DataFrame(
            [
                {"row": e.row, "column": e.column, "value": e.value, "message": e.message(lang)}
                for e in self.errors
            ],
            columns=["row", "column", "value", "message"],
        )


def _grid_lookup(session: Session, viewer: Viewer) -> pd.DataFrame:
    stmt = select(OrgUnit.code, OrgUnit.id, OrgUnit.parent_id).where(
        OrgUnit.level == OrgLevel.GRID.value, unit_scope_clause(viewer)
    )
    grids = pd.DataFrame(session.exec(stmt).all(), columns=["grid_code", "grid_id", "community_id"])
    parents = pd.DataFrame(
        session.exec(select(OrgUnit.id, OrgUnit.parent_id)).all(), columns=["community_id", "subdistrict_id"]
    )
    return grids.merge(parents, on="community_id", how="left")


def preview_worker_import(
    session: Session, viewer: Viewer, data: bytes, filename: str
) -> WorkerImportPreview:
    """Read and check a roster without writing anything."""
    if (problem := upload_problem(data, filename)) is not None:  # e.g. an .xlsx that is not a workbook
        return WorkerImportPreview(filename, 0, [problem], sha256=hashlib.sha256(data).hexdigest())
    result: ReadResult = read_table(data, filename, WORKER_SCHEMA)
    errors = list(result.errors)
    rows = result.rows.rename(columns={"_row": "row"})  # itertuples() drops names starting with _
    grid_col = WORKER_SCHEMA.column("grid_code")
    rows = rows.merge(_grid_lookup(session, viewer), on="grid_code", how="left")
    for r in rows[rows["grid_id"].isna()].itertuples():
        errors.append(
            row_error(
                "unknown_grid",
                "workers.import.unknown_grid",
                row=int(r.row),
                column="grid_code",
                value=str(r.grid_code),
                col=PerLang(grid_col.label_zh, grid_col.label_en),
            )
        )
    rows = rows[rows["grid_id"].notna()]
    existing = pd.DataFrame(
        session.execute(
            sa_select(
                col(Worker.id),
                col(Worker.employee_no),
                col(Worker.community_id),
                *[getattr(Worker, f) for f in _FIELDS],
            ).where(col(Worker.employee_no).in_(rows["employee_no"].tolist()))
        ).all(),
        columns=["id", "employee_no", "old_community_id", *[f"old_{f}" for f in _FIELDS]],
    )
    rows = rows.assign(
        # Rosters are small (hundreds of rows): comparing as Python dates keeps the diff exact.
        hire_date=rows["hire_date"].map(lambda v: v.date() if pd.notna(v) else None).astype(object),
        party_member=rows["party_member"].fillna(False).astype(bool),
        status=rows["status"].fillna(WorkerStatus.ACTIVE.value),
        grid_id=rows["grid_id"].astype(int),
    ).merge(existing, on="employee_no", how="left")
    # A manager may update a worker only if the worker is in their scope now as well.
    if viewer.scope_unit_id is not None and not rows.empty:
        grids_in_scope = set(_grid_lookup(session, viewer)["grid_id"])
        outside = rows["id"].notna() & ~rows["old_grid_id"].isin(grids_in_scope)
        for r in rows[outside].itertuples():
            errors.append(
                row_error(
                    "worker_out_of_scope",
                    "workers.import.out_of_scope",
                    row=int(r.row),
                    column="employee_no",
                    value=r.employee_no,
                )
            )
    is_new = rows["id"].isna()
    same = pd.Series(True, index=rows.index)
    for f in _FIELDS:
        new_v, old_v = rows[f], rows[f"old_{f}"]
        same &= (new_v == old_v) | (new_v.isna() & old_v.isna())
    changed = rows[~is_new & ~same]
    return WorkerImportPreview(
        filename=filename,
        rows_read=result.rows_read,
        errors=sorted(errors, key=lambda e: e.row or 0),
        new=rows[is_new],
        changed=changed,
        unchanged=int((~is_new & same).sum()),
        encoding=result.encoding,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _worker(session: Session, worker_id: float) -> Worker:
    """A previewed worker (ids come from a pandas column, so may be floats), still there."""
    worker = session.get(Worker, int(worker_id))
    if worker is None:
        raise GridwiseError("core.err.worker_removed", worker_id=worker_id)
    return worker


def commit_worker_import(session: Session, viewer: Viewer, preview: WorkerImportPreview) -> tuple[int, int]:
    """Write a clean preview in the caller's transaction; returns (added, updated)."""
    if not preview.ok:
        raise GridwiseError("core.err.import_has_errors")
    # A preview is data: check its grids and workers against the viewer now, as preview_worker_import does.
    in_scope = set(_grid_lookup(session, viewer)["grid_id"])
    grids = {int(g) for g in preview.new["grid_id"]} | {int(g) for g in preview.changed["grid_id"]}
    grids |= {_worker(session, i).grid_id for i in preview.changed["id"]}
    if not grids <= in_scope:
        raise ScopeError("scope.err.roster_out_of_scope")
    now = clock.now()

    def _val(v: Any) -> Any:
        return None if v is None or (not isinstance(v, str) and pd.isna(v)) else v

    for r in preview.new.itertuples():
        session.add(
            Worker(
                employee_no=r.employee_no,
                name=r.name,
                grid_id=int(r.grid_id),
                community_id=int(r.community_id),
                subdistrict_id=int(r.subdistrict_id),
                party_member=bool(r.party_member),
                hire_date=_val(r.hire_date),
                status=r.status,
                phone=_val(r.phone),
                gender=_val(r.gender),
            )
        )
    for r in preview.changed.itertuples():
        worker = _worker(session, r.id)
        worker.name, worker.grid_id = r.name, int(r.grid_id)
        worker.community_id, worker.subdistrict_id = int(r.community_id), int(r.subdistrict_id)
        worker.party_member, worker.hire_date, worker.status = (
            bool(r.party_member),
            _val(r.hire_date),
            r.status,
        )
        worker.phone, worker.gender, worker.updated_at = _val(r.phone), _val(r.gender), now
        session.add(worker)
    session.flush()
    # Those who left or moved out of an account's scope lose that account, in this same unit of work.
    end_accounts_with_the_job(session, viewer, [int(i) for i in preview.changed["id"]])
    record(
        session,
        "import.workers",
        viewer=viewer,
        entity="file",
        entity_id=preview.filename[:64],
        detail={
            "filename": preview.filename,
            "sha256": preview.sha256,
            "rows_read": preview.rows_read,
            "added": len(preview.new),
            "changed": len(preview.changed),
            "unchanged": preview.unchanged,
        },
    )
    return len(preview.new), len(preview.changed)
