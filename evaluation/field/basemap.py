"""An offline base map for the district's maps (events, dispatch, warnings): the ground the dots stand on.

Tiles need the internet, which a government office network often blocks, so the ground is drawn from our own
org data: each grid's area is its Voronoi cell around the grid centre (``org_unit.lat/lon``), clipped to the
district's outline (the convex hull of all grid centres, widened by a margin), coloured by subdistrict with a
lighter or darker shade per community. An office with a real boundary file sets ``GRIDWISE_BASEMAP_GEOJSON`` to a
GeoJSON FeatureCollection (polygons, optional ``name`` property) and that is drawn instead.

The areas are an approximation and say so in the map's caption: a Voronoi cell is "nearest grid centre", not the
surveyed boundary.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pydeck as pdk
from scipy.spatial import ConvexHull, Voronoi
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from core.models import OrgLevel, OrgUnit
from core.settings import get_settings

# pydeck's ``map_style`` for "draw no basemap": Streamlit's map component (1.67) fetches Carto's style from the
# internet when a Deck has no map style, and skips the basemap only for this value of its own. The pages' CSP
# allows no map host, so tests/e2e/test_page_tour.py fails if a Streamlit upgrade changes this.
NO_BASEMAP = "__MAP_STYLE__"
MARGIN_DEG = 0.012  # the outline reaches this far past the outermost grid centres (~1.2 km)
# One hue per subdistrict (cycled), communities alternate between two shades of it.
HUES = [(76, 140, 200), (96, 170, 110), (200, 150, 80), (150, 110, 190), (200, 100, 110)]

Ring = list[tuple[float, float]]  # (lon, lat) points, counter-clockwise


def _outline(points: np.ndarray) -> Ring:
    """The convex hull of the points, pushed outwards from its centre by MARGIN_DEG (counter-clockwise)."""
    if len(points) < 3:
        lon, lat = points.mean(axis=0)
        m = MARGIN_DEG * 2
        return [(lon - m, lat - m), (lon + m, lat - m), (lon + m, lat + m), (lon - m, lat + m)]
    hull = ConvexHull(points)
    ring = points[hull.vertices]  # scipy gives 2-D hull vertices counter-clockwise
    centre = ring.mean(axis=0)
    out: Ring = []
    for p in ring:
        d = p - centre
        q = p + d / (float(np.hypot(*d)) or 1.0) * MARGIN_DEG
        out.append((float(q[0]), float(q[1])))
    return out


def _clip(polygon: Ring, clip: Ring) -> Ring:
    """Sutherland–Hodgman: the part of ``polygon`` inside the convex, counter-clockwise ``clip`` ring."""

    def inside(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> bool:
        return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]) >= 0

    def cross(
        p: tuple[float, float], q: tuple[float, float], a: tuple[float, float], b: tuple[float, float]
    ) -> tuple[float, float]:
        dx, dy = q[0] - p[0], q[1] - p[1]
        ex, ey = b[0] - a[0], b[1] - a[1]
        denom = dx * ey - dy * ex
        t = ((a[0] - p[0]) * ey - (a[1] - p[1]) * ex) / denom if denom else 0.0
        return (p[0] + t * dx, p[1] + t * dy)

    out = polygon
    for i, a in enumerate(clip):
        b = clip[(i + 1) % len(clip)]
        src, out = out, []
        for j, p in enumerate(src):
            q = src[(j + 1) % len(src)]
            if inside(q, a, b):
                if not inside(p, a, b):
                    out.append(cross(p, q, a, b))
                out.append(q)
            elif inside(p, a, b):
                out.append(cross(p, q, a, b))
        if not out:
            break
    return out


def grid_areas(grids: pd.DataFrame) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of grid areas.

    ``grids``: id, lat, lon, community_id, subdistrict_id (one row per grid; rows without coordinates are left
    out). Deterministic for the same input."""
    g = grids.dropna(subset=["lat", "lon"]).sort_values("id").reset_index(drop=True)
    if g.empty:
        return {"type": "FeatureCollection", "features": []}
    points = g[["lon", "lat"]].to_numpy(dtype=float)
    outline = _outline(points)
    # Four far-away points make every real cell finite.
    span = float(np.ptp(points, axis=0).max()) + 1.0
    lo, hi = points.min(axis=0) - span, points.max(axis=0) + span
    far = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
    unique, index = np.unique(points, axis=0, return_inverse=True)
    vor = Voronoi(np.vstack([unique, far]))
    subdistricts = {s: i for i, s in enumerate(sorted(g["subdistrict_id"].dropna().unique()))}
    communities = {c: i for i, c in enumerate(sorted(g["community_id"].dropna().unique()))}
    features = []
    for row_no, row in g.iterrows():
        region = vor.regions[vor.point_region[int(np.ravel(index)[row_no])]]
        if not region or -1 in region:
            continue
        cell: Ring = [(float(vor.vertices[v][0]), float(vor.vertices[v][1])) for v in region]
        if _signed_area(cell) < 0:
            cell.reverse()
        ring = _clip(cell, outline)
        if len(ring) < 3:
            continue
        r, gr, b = HUES[subdistricts.get(row["subdistrict_id"], 0) % len(HUES)]
        shade = 0.7 if communities.get(row["community_id"], 0) % 2 else 0.84
        fill = [
            int(255 - (255 - r) * (1 - shade)),
            int(255 - (255 - gr) * (1 - shade)),
            int(255 - (255 - b) * (1 - shade)),
        ]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in [*ring, ring[0]]]]},
                "properties": {"grid_id": int(row["id"]), "fill": [*fill, 255]},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _signed_area(ring: Ring) -> float:
    return 0.5 * sum(
        ring[i][0] * ring[(i + 1) % len(ring)][1] - ring[(i + 1) % len(ring)][0] * ring[i][1]
        for i in range(len(ring))
    )


def load_geojson(path: str | Path) -> dict[str, Any]:
    """An office's own boundary file (GeoJSON FeatureCollection); polygons get a neutral fill."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    for feature in data.get("features", []):
        feature.setdefault("properties", {}).setdefault("fill", [232, 236, 240, 255])
    return data


def basemap_layers(areas: dict[str, Any]) -> list[pdk.Layer]:
    """The ground layers to draw first: filled areas with white borders (nothing pickable)."""
    if not areas.get("features"):
        return []
    return [
        pdk.Layer(
            "GeoJsonLayer",
            data=areas,
            filled=True,
            stroked=True,
            get_fill_color="properties.fill",
            get_line_color=[255, 255, 255, 255],
            line_width_min_pixels=1,
            pickable=False,
        )
    ]


def district_basemap(session: Session) -> dict[str, Any]:
    """The district's ground: the office's boundary file when configured, else the grid areas.

    Org geometry is business data (no person in it) and small (one row per grid), so the whole district is
    drawn for every viewer: the map zooms to the viewer's points, the rest gives orientation."""
    path = get_settings().basemap_geojson
    if path:
        return load_geojson(path)
    community = aliased(OrgUnit)
    rows = session.execute(
        sa_select(
            col(OrgUnit.id),
            col(OrgUnit.lat),
            col(OrgUnit.lon),
            col(community.id).label("community_id"),
            col(community.parent_id).label("subdistrict_id"),
        )
        .join(community, col(community.id) == OrgUnit.parent_id)
        .where(col(OrgUnit.level) == OrgLevel.GRID.value, col(OrgUnit.is_active))
    ).all()
    return grid_areas(pd.DataFrame(rows, columns=["id", "lat", "lon", "community_id", "subdistrict_id"]))
