"""Managers: import monthly figures and event lists — preview every row, then write all or nothing."""

import pandas as pd
import streamlit as st

from core.i18n import pick
from core.tabular import safe_frame
from core.uploads import TABLE_KINDS
from evaluation.field.imports import ImportRefused, ImportReport, import_file, preview_import, template
from evaluation.field.registry import item_lookup, shipped_metrics
from ui import resources
from ui.guard import require
from ui.state import lang, tr
from ui.uploads import accepted_upload

viewer = require(__file__)
L = lang()
ITEMS = item_lookup()
METRIC_NAMES = {m["code"]: (m["name_zh"], m["name_en"]) for m in shipped_metrics()}

st.title(tr("field.import.title"))
st.caption(tr("field.import.caption"))


def _run(kind: str, data: bytes, name: str, write: bool) -> ImportReport:
    """Preview (write nothing) or import the file in one unit of work; a refused file rolls back whole."""
    bar = st.progress(0.0, text=tr("field.import.reading", file=name))

    def progress(rows: int, fraction: float | None) -> None:
        bar.progress(fraction if fraction is not None else 0.5, text=tr("field.import.progress", rows=rows))

    try:
        with resources.unit_of_work() as session:
            report = (import_file if write else preview_import)(
                session, viewer, kind, data, name, progress=progress
            )
    except ImportRefused as refused:
        report = refused.report
    bar.empty()
    return report


SAMPLE_COLUMNS = {
    "metrics": {
        "status": "field.col.status",
        "employee_no": "col.employee_no",
        "period": "field.col.period",
        "metric": "field.col.metric",
        "numerator": "field.metrics.numerator",
        "denominator": "field.metrics.denominator",
    },
    "events": {
        "status": "field.col.status",
        "event_no": "field.col.event_no",
        "item_code": "field.col.item",
        "grid_code": "col.grid",
        "location": "field.col.location",
        "priority": "field.col.priority",
        "state": "field.col.state",
        "reported_at": "field.col.reported_at",
        "due_at": "field.col.due_at",
    },
}


def _sample(kind: str, sample: pd.DataFrame) -> pd.DataFrame:
    cols = {k: v for k, v in SAMPLE_COLUMNS[kind].items() if k in sample.columns}
    out = sample[list(cols)].copy()
    out["status"] = out["status"].map(lambda s: tr(f"field.status.{s}"))
    if "metric" in out:
        out["metric"] = out["metric"].map(lambda c: pick(L, *METRIC_NAMES.get(c, (c, c))))
    if "item_code" in out:
        out["item_code"] = out["item_code"].map(
            lambda c: f"{c} " + pick(L, ITEMS.get(c, {}).get("item_zh"), ITEMS.get(c, {}).get("item_en"))
        )
    if "priority" in out:
        out["priority"] = out["priority"].map(lambda s: tr(f"field.priority.{s}"))
    if "state" in out:
        out["state"] = out["state"].map(lambda s: tr(f"field.state.{s}"))
    return safe_frame(out.rename(columns={k: tr(v) for k, v in cols.items()}))


def _summary(report: ImportReport) -> None:
    c = st.columns(5)
    c[0].metric(tr("field.import.read"), f"{report.rows_read:,}")
    c[1].metric(tr("field.import.added"), f"{report.added:,}")
    c[2].metric(tr("field.import.changed"), f"{report.changed:,}")
    c[3].metric(tr("field.import.unchanged"), f"{report.unchanged:,}")
    c[4].metric(tr("field.import.refused"), f"{report.error_count:,}")
    if report.file_type:
        st.caption(tr("field.import.encoding", type=report.file_type, enc=report.encoding or "—"))


for kind, tab in zip(
    ("metrics", "events"),
    st.tabs([tr("field.import.tab_metrics"), tr("field.import.tab_events")]),
    strict=True,
):
    with tab:
        st.caption(tr(f"field.import.help_{kind}"))
        c1, c2, _ = st.columns([1, 1, 2])
        c1.download_button(
            tr("field.import.template_xlsx"),
            template(kind, "xlsx", L),
            f"{kind}_template.xlsx",
            key=f"tpl_xlsx_{kind}",
            icon=":material/download:",
        )
        c2.download_button(
            tr("field.import.template_csv"),
            template(kind, "csv", L),
            f"{kind}_template.csv",
            key=f"tpl_csv_{kind}",
            icon=":material/download:",
        )
        upload = st.file_uploader(tr("field.import.file"), type=["csv", "xlsx", "txt"], key=f"upload_{kind}")
        done_key = f"field_import_done_{kind}"
        if upload is None:
            st.session_state.pop(done_key, None)
            continue
        data = accepted_upload(upload, TABLE_KINDS)
        if data is None:
            continue
        done = st.session_state.get(done_key)
        if done and done["name"] == upload.name and done["size"] == len(data):
            st.success(
                tr("field.import.committed", added=done["added"], changed=done["changed"]),
                icon=":material/task_alt:",
            )
            if done["sample"] is not None:
                st.subheader(tr("field.import.recent"))
                st.dataframe(done["sample"], hide_index=True, width="stretch", placeholder="")
            # The data-quality checks run nightly: say how to check what was just written now.
            st.caption(tr("field.import.quality_hint", recheck=tr("field.dq.recheck")))
            st.page_link("pages/data_quality.py", label=tr("menu.data_quality"), icon=":material/rule:")
            continue
        report = _run(kind, data, upload.name, write=False)
        _summary(report)
        if not report.ok:
            st.error(tr("field.import.refused_msg", n=report.error_count), icon=":material/error:")
            errors = report.errors_frame(L).rename(
                columns={
                    "row": tr("field.col.row"),
                    "column": tr("field.col.column"),
                    "value": tr("field.col.value"),
                    "message": tr("field.col.problem"),
                }
            )
            st.dataframe(safe_frame(errors), hide_index=True, width="stretch", placeholder="")
            if report.error_count > len(report.errors):
                st.caption(tr("field.import.truncated", shown=len(report.errors)))
            continue
        for w in report.warnings:
            st.warning(w.message(L))
        if not (report.added or report.changed):
            st.info(tr("field.import.nothing"))
            continue
        st.subheader(tr("field.import.sample", n=len(report.sample)))
        sample = _sample(kind, report.sample)
        st.dataframe(sample, hide_index=True, width="stretch", placeholder="")
        if st.button(tr("field.import.commit"), type="primary", key=f"commit_{kind}", icon=":material/save:"):
            result = _run(kind, data, upload.name, write=True)
            if result.written:
                st.session_state[done_key] = {
                    "name": upload.name,
                    "size": len(data),
                    "added": result.added,
                    "changed": result.changed,
                    "sample": _sample(kind, result.sample),
                }
                st.rerun()
            st.error(tr("field.import.refused_msg", n=result.error_count))
