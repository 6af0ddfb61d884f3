"""Reads of personal data, accounted for: a page view recorded once per browser session and filter (not on
every rerun), a download recorded when it is clicked (the button's on_click), both with the client address."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from core.audit import record_read
from core.scope import Viewer
from core.tabular import safe_frame
from ui import resources
from ui.state import VIEWER_KEY

_SEEN = "_audit_views"


def record_view(
    viewer: Viewer, what: str, *, filters: dict[str, Any], rows: int, entity_id: object = ""
) -> None:
    """``view.<what>`` once per (what, filters, entity) in this browser session."""
    key = json.dumps([what, filters, str(entity_id)], default=str, sort_keys=True, ensure_ascii=False)
    seen: set[str] = st.session_state.setdefault(_SEEN, set())
    if key in seen:
        return
    with resources.unit_of_work() as session:
        record_read(session, viewer, what, filters=filters, rows=rows, entity_id=entity_id)
    seen.add(key)


def _record_export(viewer: Viewer, what: str, filters: dict[str, Any], rows: int, file_name: str) -> None:
    with resources.unit_of_work() as session:
        record_read(session, viewer, what, filters=filters, rows=rows, file_name=file_name)


def download_button(
    label: str,
    data: Any,
    *,
    what: str,
    filters: dict[str, Any],
    rows: int,
    file_name: str,
    viewer: Viewer | None = None,
    mime: str | None = None,
    container: Any = None,
    **kwargs: Any,
) -> bool:
    """``st.download_button`` (in ``container``, default the page) that records ``export.<what>`` (viewer,
    filter, rows, file; never the data) when clicked. ``viewer``: the signed-in one when not given."""
    who = viewer or st.session_state[VIEWER_KEY]
    return (container or st).download_button(
        label,
        data,
        file_name=file_name,
        mime=mime,
        on_click=_record_export,
        args=(who, what, filters, rows, file_name),
        **kwargs,
    )


def csv_download(
    label: str,
    frame: pd.DataFrame,
    *,
    what: str,
    filters: dict[str, Any],
    file_name: str,
    viewer: Viewer | None = None,
    **kwargs: Any,
) -> bool:
    """:func:`download_button` of ``frame`` as a UTF-8 CSV (with BOM, for Excel) that spreadsheets will not
    run as formulas (core.tabular.safe_frame), built when clicked — not on every run of the page."""
    return download_button(
        label,
        lambda: safe_frame(frame).to_csv(index=False).encode("utf-8-sig"),
        what=what,
        filters=filters,
        rows=len(frame),
        file_name=file_name,
        viewer=viewer,
        mime="text/csv",
        **kwargs,
    )
