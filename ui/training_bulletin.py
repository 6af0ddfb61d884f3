"""The training plan page's 培训通报 tab (the monthly bulletin: headline, communities, the Excel download) and
the table formatting the page's tabs share."""

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.i18n import col
from core.scope import Viewer
from courses.training import progress
from courses.training.progress import Figures
from courses.training.supervision import bulletin_workbook
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


def figures_caption(figures: Figures) -> None:
    """统计时间: when the served figures were computed and the day they are as of."""
    at = f"{figures.updated_at:%Y-%m-%d %H:%M}"
    st.caption(tr("training.plan.figures_at", at=at, day=figures.as_of.isoformat()))


def bulletin_tab(viewer: Viewer, year: int, months: list[int], *, has_plan: bool) -> None:
    """The month's bulletin for ``year`` from the served figures (the month defaults to the latest served);
    managers download it as Excel (computed on click, as of the month's last day)."""
    L = lang()
    if not months:
        st.info(tr("training.plan.not_served" if has_plan else "training.plan.empty", year=year))
        return
    month = int(st.selectbox(tr("training.plan.month"), months, index=len(months) - 1))
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
            figures = progress.figures_at(session, viewer, year=year, month=month)
            if figures is None:
                return
            head = progress.headline(session, viewer, figures)
            summary = progress.communities(session, viewer, figures)
        st.markdown(f"## {tr('training.bulletin.title', year=year, month=month)}")
        figures_caption(figures)
        head["completion"] = f"{(head['completion'] or 0) * 100:.0f}%"
        st.markdown("\n".join(f"- {tr(f'training.col.{k}')}: **{v}**" for k, v in head.items()))
        st.table(
            shown_table(
                summary,
                [col(L, "community"), "workers", "required_to_date", "credited", "completion", "behind"],
            )
        )
