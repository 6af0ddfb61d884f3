"""The district's ground for every map (evaluation.field.basemap), read once per database and hour: the org's
grid geometry changes rarely, and drawing it costs ~40 ms on the demo district."""

from __future__ import annotations

from typing import Any

import pydeck as pdk
import streamlit as st
from sqlmodel import Session

from core.settings import get_settings
from evaluation.field.basemap import basemap_layers, district_basemap
from ui import resources


@st.cache_data(ttl=3600, show_spinner=False, max_entries=4)
def _areas(db: str) -> dict[str, Any]:
    with Session(resources.engine()) as session:
        return district_basemap(session)


def ground() -> list[pdk.Layer]:
    """Layers to draw beneath a map's own (empty when the org has no coordinates)."""
    return basemap_layers(_areas(get_settings().database_url))
