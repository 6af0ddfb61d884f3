"""The training plan page's 培训通报 tab (the monthly bulletin: headline, communities, the Excel download) and
the table formatting the page's tabs share."""

from datetime import date

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.i18n import col
from core.scope import Viewer
from courses.training.supervision import (
    bulletin_workbook,
    community_summary,
    headline,
    month_end,
    plan_status,
)
from ui import resources
from ui.audit_reads import download_button as audited_download
from ui.state import lang, tr


def shown_table(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """The columns to show, numbers rounded, completion as a percentage, headers translated."""
    L = lang()
    out = df[cols].copy()
    for c in ("required_to_date", "credited", "preservice_hours", "preservice_credited"):
        if c in out:
            out[c] = out[c].astype(float).map(lambda v: f"{v:.1f}")
    if "completion" in out:
        out["completion"] = out["completion"].astype(float).map(lambda v: "" if v != v else f"{v * 100:.0f}%")
    for c in ("due", "preservice_deadline", "hire_date"):
        if c in out:
            out[c] = pd.to_datetime(out[c]).dt.strftime("%Y-%m-%d")
    return out.rename(columns=lambda c: tr(f"training.col.{c.removesuffix('_' + L)}"))


def bulletin_tab(viewer: Viewer, year: int, as_of: date) -> None:
    """The month's bulletin for ``year`` (the month defaults to ``as_of``'s); managers download it as Excel."""
    L = lang()
    month = int(st.selectbox(tr("training.plan.month"), list(range(1, 13)), index=as_of.month - 1))
    if viewer.is_manager:

        def workbook(y: int = year, m: int = month) -> bytes:  # built on click, not on every view (#21)
            with Session(resources.engine()) as s:
                return bulletin_workbook(s, viewer, year=y, month=m, lang=L)

        audited_download(
            tr("training.plan.download"),
            workbook,
            viewer=viewer,
            what="training_plan",
            filters={"year": year, "month": month},
            rows=0,
            file_name=f"training-bulletin-{year}-{month:02d}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            width="stretch",
        )
        with Session(resources.engine()) as session:
            month_status = plan_status(session, viewer, year=year, as_of=month_end(year, month))
        head = headline(month_status)
        st.markdown(f"## {tr('training.bulletin.title', year=year, month=month)}")
        st.caption(tr("training.bulletin.as_of", day=month_end(year, month).isoformat()))
        head["completion"] = f"{(head['completion'] or 0) * 100:.0f}%"
        st.markdown("\n".join(f"- {tr(f'training.col.{k}')}: **{v}**" for k, v in head.items()))
        st.table(
            shown_table(
                community_summary(month_status),
                [col(L, "community"), "workers", "required_to_date", "credited", "completion", "behind"],
            )
        )
