"""Light commune and region outlines for the web map: simplified with shared boundaries kept."""

from __future__ import annotations

from typing import Any, Final

import geopandas as gpd
import numpy as np
import shapely

#: Simplification tolerance in degrees (~500 m): legible at regional zoom, light nationally.
SIMPLIFY_DEGREES: Final = 0.005
#: Island parts smaller than this (degrees², ~1 km²) are dropped; a commune keeps its largest.
MIN_PART_AREA: Final = 1e-4
#: Decimals of the coordinates written (~100 m), enough for the simplified lines.
COORDINATE_DECIMALS: Final = 3


def simplified_outlines(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Communes simplified as one coverage, so neighbours still share their borders.

    Parameters
    ----------
    communes
        ``cut``, ``name``, ``region_code``, ``region_name`` and polygons in EPSG:4326.

    Returns
    -------
    geopandas.GeoDataFrame
        Same rows, tiny islands dropped, boundaries simplified with
        :func:`shapely.coverage_simplify` (topology-preserving across communes), plus a
        ``label_point`` column (lon, lat inside the largest part) for labels and markers.
    """
    shapes = np.array([_without_specks(shape) for shape in communes.geometry.array])
    simplified = shapely.coverage_simplify(shapes, SIMPLIFY_DEGREES)
    simplified = shapely.make_valid(simplified)
    outlines = gpd.GeoDataFrame(
        communes.drop(columns=communes.geometry.name), geometry=simplified, crs=communes.crs
    )
    largest = [_largest_part(shape) for shape in shapes]
    points = shapely.point_on_surface(np.array(largest))
    outlines["label_point"] = [
        [round(float(p.x), COORDINATE_DECIMALS), round(float(p.y), COORDINATE_DECIMALS)]
        for p in points
    ]
    return outlines


def region_outlines(outlines: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Regions as the union of their (already simplified) communes."""
    regions = outlines.dissolve(by="region_code", as_index=False, aggfunc="first")
    # Outlines only frame the communes: a coarser line (~2 km) keeps them light.
    coarse = shapely.coverage_simplify(np.asarray(regions.geometry.array), 4 * SIMPLIFY_DEGREES)
    regions["geometry"] = shapely.make_valid(coarse)
    return regions[["region_code", "region_name", "geometry"]]


def feature_collection(frame: gpd.GeoDataFrame, properties: list[str]) -> dict[str, Any]:
    """GeoJSON dict with rounded coordinates and only ``properties``."""
    features = []
    for record, shape in zip(
        frame[properties].to_dict("records"), frame.geometry.array, strict=True
    ):
        if shape is None or shape.is_empty:
            continue
        rounded = shapely.set_precision(shape, 10.0**-COORDINATE_DECIMALS)
        geometry = shapely.geometry.mapping(rounded)
        features.append({"type": "Feature", "properties": record, "geometry": geometry})
    return {"type": "FeatureCollection", "features": features}


def _without_specks(shape: Any) -> Any:
    parts = shapely.get_parts(shape)
    if len(parts) <= 1:
        return shape
    areas = shapely.area(parts)
    return shapely.multipolygons(parts[(areas >= MIN_PART_AREA) | (areas == areas.max())])


def _largest_part(shape: Any) -> Any:
    parts = shapely.get_parts(shape)
    return parts[int(np.argmax(shapely.area(parts)))] if len(parts) else shape
