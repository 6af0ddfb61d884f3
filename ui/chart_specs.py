"""Altair charts whose Vega-Lite spec is built once per key and drawn with each viewer's own rows.

``st.altair_chart`` turns the chart into Vega-Lite on every draw: altair's ``to_dict`` validates the whole
spec against the Vega-Lite JSON schema (3–6 ms a chart, most of a small chart's cost, issue #21). For a chart
whose spec depends only on a few labels (titles, a language, the order of a scheme's components) and not on
the rows, the spec is built with altair once per such key — validated then — and each draw hands it, with the
viewer's rows, to ``st.vega_lite_chart``: the same Vega-Lite, the same Arrow rows, no schema walk.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

MAX_SPECS = 256  # keys are labels × languages × schemes: a handful; the bound only guards against a leak

_specs: dict[Hashable, dict[str, Any]] = {}
_lock = threading.Lock()


def chart_spec(key: Hashable, build: Callable[[], alt.TopLevelMixin]) -> dict[str, Any]:
    """The Vega-Lite spec of ``build()`` — a chart without data, whose spec depends on ``key`` alone — built
    and validated once per key and shared (not to be changed by the caller)."""
    spec = _specs.get(key)
    if spec is None:
        spec = build().to_dict()
        # Altair gives a chart without data a dataset of one empty row (named by each layer of a layered chart
        # too); the rows come with each draw, for the chart and the layers that inherit them.
        spec.pop("data", None)
        empty = spec.pop("datasets", None) or {}
        for layer in spec.get("layer", ()):
            if layer.get("data", {}).get("name") in empty:
                del layer["data"]
        # The charts drawn here set no config of their own: a config is altair's default theme (a 300 × 300
        # view), which st.altair_chart leaves out too (it converts with the theme "none").
        spec.pop("config", None)
        with _lock:
            if len(_specs) >= MAX_SPECS:
                _specs.clear()
            _specs[key] = spec
    return spec


def draw_chart(data: pd.DataFrame, key: Hashable, build: Callable[[], alt.TopLevelMixin]) -> None:
    """``st.altair_chart(chart, width="stretch")`` for the chart ``build()`` with ``data`` as its rows, its spec
    built once per ``key`` (chart_spec)."""
    st.vega_lite_chart(data, chart_spec(key, build), width="stretch")


def clear_chart_specs() -> None:
    """Forget the built specs (tests)."""
    with _lock:
        _specs.clear()
