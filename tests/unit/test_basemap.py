"""The offline ground under the maps (evaluation.field.basemap): every grid gets its area, each area holds its
own grid centre, nothing reaches past the district's outline, and an office's own boundary file wins."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.settings import get_settings
from evaluation.assignment.charts import task_map
from evaluation.field.basemap import MARGIN_DEG, basemap_layers, district_basemap, grid_areas
from evaluation.field.charts import event_map


def _grids(n: int = 40, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": range(1, n + 1),
            "lat": 22.59 + rng.normal(0, 0.02, n),
            "lon": 114.48 + rng.normal(0, 0.03, n),
            "community_id": [100 + i % 5 for i in range(n)],
            "subdistrict_id": [10 + i % 2 for i in range(n)],
        }
    )


def _inside(point: tuple[float, float], ring: list[list[float]]) -> bool:
    """Ray casting: is the (lon, lat) point inside the closed ring?"""
    x, y = point
    hit = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def test_every_grid_gets_an_area_that_holds_its_own_centre() -> None:
    """Test that each grid's area is drawn and contains the grid centre it was built around."""
    grids = _grids()
    areas = grid_areas(grids)
    by_id = {f["properties"]["grid_id"]: f["geometry"]["coordinates"][0] for f in areas["features"]}
    assert sorted(by_id) == grids["id"].tolist()
    for row in grids.itertuples():
        assert _inside((row.lon, row.lat), by_id[row.id]), row.id


def test_areas_stay_within_the_district_outline_and_are_deterministic() -> None:
    """Test that no area reaches further than the margin past the outermost grid centres, twice the same."""
    grids = _grids()
    areas = grid_areas(grids)
    xs = [p[0] for f in areas["features"] for p in f["geometry"]["coordinates"][0]]
    ys = [p[1] for f in areas["features"] for p in f["geometry"]["coordinates"][0]]
    assert min(xs) >= grids["lon"].min() - MARGIN_DEG - 1e-9
    assert max(xs) <= grids["lon"].max() + MARGIN_DEG + 1e-9
    assert min(ys) >= grids["lat"].min() - MARGIN_DEG - 1e-9
    assert max(ys) <= grids["lat"].max() + MARGIN_DEG + 1e-9
    assert grid_areas(grids) == areas


def test_no_coordinates_no_ground() -> None:
    """Test that an org without coordinates draws no ground instead of failing."""
    empty = _grids().assign(lat=None, lon=None)
    assert grid_areas(empty)["features"] == []
    assert basemap_layers(grid_areas(empty)) == []


def test_maps_draw_the_ground_first() -> None:
    """Test that the event map and the dispatch map put the ground beneath their dots."""
    ground = basemap_layers(grid_areas(_grids()))
    events = pd.DataFrame(
        {"lat": [22.59], "lon": [114.48], "overdue": [True], "event_no": ["E1"], "item_code": ["A01"]}
    ).assign(location="x", community_id=1)
    communities = pd.DataFrame(
        {"id": [1], "name_zh": ["下沙"], "name_en": ["Xiasha"], "lat": [22.59], "lon": [114.48]}
    )
    deck = json.loads(event_map(events, communities, "zh", ground).to_json())
    assert [layer["@@type"] for layer in deck["layers"]][0] == "GeoJsonLayer"
    tasks = pd.DataFrame(
        {"lat": [22.6], "lon": [114.5], "priority_rank": [1], "title_zh": ["t"], "title_en": ["t"]}
    )
    workers = pd.DataFrame(
        {"lat": [22.6], "lon": [114.5], "name": ["张三"], "grid_zh": ["一"], "grid_en": ["1"]}
    )
    deck = json.loads(task_map(tasks, workers, "en", ground).to_json())
    assert [layer["@@type"] for layer in deck["layers"]][0] == "GeoJsonLayer"


def test_an_office_boundary_file_is_drawn_instead(session, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Test that GRIDWISE_BASEMAP_GEOJSON replaces the drawn areas with the office's own file."""
    path = tmp_path / "district.geojson"
    ring = [[114.4, 22.5], [114.6, 22.5], [114.6, 22.7], [114.4, 22.5]]
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}}],
            }
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("GRIDWISE_BASEMAP_GEOJSON", str(path))
    get_settings.cache_clear()
    try:
        areas = district_basemap(session)
    finally:
        monkeypatch.delenv("GRIDWISE_BASEMAP_GEOJSON")
        get_settings.cache_clear()
    assert len(areas["features"]) == 1 and areas["features"][0]["properties"]["fill"]
    assert district_basemap(session)["features"] == []  # the empty test database has no grids
