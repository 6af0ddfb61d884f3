"""The 预警 page's parts: the warnings table, the series behind one, the acknowledge form and the map
(domain in evaluation.warning; this is the Streamlit glue)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core.i18n import pick
from core.scope import Viewer
from core.taxonomy import item_name
from evaluation.field.registry import field_now
from evaluation.warning import service
from evaluation.warning.charts import series_chart, warning_map
from ui import resources
from ui.basemap import ground
from ui.cells import table_height
from ui.errors import refusals
from ui.state import lang, tr

SHOW_DAYS = 120  # warnings last raised in the last four months


def load(viewer: Viewer) -> pd.DataFrame:
    with Session(resources.engine()) as session:
        since = field_now(session).date() - timedelta(days=SHOW_DAYS)
        return service.warnings_in_scope(session, viewer, since=since)


def place(row: pd.Series) -> str:
    community = pick(lang(), row["community_zh"], row["community_en"])
    grid = pick(lang(), row["grid_zh"], row["grid_en"]) if pd.notna(row["grid_zh"]) else ""
    return f"{community} · {grid}" if grid else community


def what(row: pd.Series) -> str:
    return tr("warning.what", kind=tr(f"warning.kind.{row['kind']}"), name=item_name(row["code"], lang()))


def table(warnings: pd.DataFrame) -> pd.DataFrame:
    """The warnings as shown (newest first), the rows in the reader's words."""
    shown = pd.DataFrame(
        {
            tr("warning.col.place"): warnings.apply(place, axis=1),
            tr("warning.col.what"): warnings.apply(what, axis=1),
            tr("warning.col.observed"): warnings["observed"].astype(int),
            tr("warning.col.expected"): warnings["expected"].round(1),
            tr("warning.col.peak"): warnings["peak"].astype(int),
            tr("warning.col.first"): pd.to_datetime(warnings["window_end"]).dt.strftime("%Y-%m-%d"),
            tr("warning.col.last"): pd.to_datetime(warnings["last_window_end"]).dt.strftime("%Y-%m-%d"),
            tr("warning.col.status"): warnings["acknowledged_at"]
            .notna()
            .map({True: tr("warning.status.ack"), False: tr("warning.status.open")}),
        }
    )
    st.dataframe(shown, hide_index=True, width="stretch", height=table_height(len(shown)), placeholder="")
    return shown


def series(viewer: Viewer, warning_id: int) -> None:
    with Session(resources.engine()) as session:
        data = service.warning_series(session, viewer, warning_id)
    labels = {k: tr(f"warning.series.{k}") for k in ("day", "week", "expected", "band")}
    st.altair_chart(series_chart(data, labels), width="stretch")
    st.caption(tr("warning.series.legend"))


def acknowledge_form(viewer: Viewer, row: pd.Series) -> None:
    if pd.notna(row["acknowledged_at"]):
        at = pd.Timestamp(row["acknowledged_at"]).strftime("%Y-%m-%d %H:%M")
        st.success(tr("warning.ack.by", at=at, note=row["ack_note"] or ""))
        return
    with st.form(f"ack_{int(row['id'])}"):
        note = st.text_area(tr("warning.ack.note"), max_chars=500)
        if st.form_submit_button(tr("warning.ack.button"), type="primary"):
            with refusals():
                with resources.unit_of_work() as session:
                    done = service.acknowledge(session, viewer, int(row["id"]), note)
                st.success(tr("warning.ack.done") if done else tr("warning.ack.already"))


def warnings_map(warnings: pd.DataFrame) -> None:
    labels = [f"{place(r)} · {what(r)} · {int(r['observed'])}" for _, r in warnings.iterrows()]
    st.pydeck_chart(warning_map(warnings, labels, ground()), height=460)
    st.caption(tr("warning.map.legend"))
