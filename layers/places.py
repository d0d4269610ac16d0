"""Whether each place lies where it says: on land, in its commune, in the Antarctic if Antártica.

Distances are geodesic (WGS 84 ellipsoid) between a point and the nearest point of a commune
outline; the nearest point is found in UTM 19S metres (EPSG:32719), which is enough to find it,
and the distance itself is then measured on the ellipsoid, so Isla de Pascua (40° from the UTM
central meridian) is measured as truly as Santiago.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod, Transformer

from domain.numbers import format_number
from layers.validation import CHILE_EXTENT, STORAGE_CRS, ValidationOutcome, in_boxes

#: Distance (km) from every commune outline beyond which a point is not on Chilean land: the
#: outlines follow the coastline, and a pier, a fish farm's shore base or a geocoding error of a
#: few hundred metres must not be lost; a point 5 km out at sea or across the border is no place.
COASTAL_BUFFER_KM = 5.0
#: Distance (km) from its declared commune within which a point in a neighbouring commune is
#: only flagged (``outside_declared_commune``): addresses on a boundary street, rounding of
#: coordinates to three decimals (~100 m) and generalised outlines all move points that far.
DECLARED_COMMUNE_TOLERANCE_KM = 2.0
#: The only commune whose places may lie in the Chilean Antarctic Territory.
ANTARCTIC_CUT = "12202"
ANTARCTIC_BOX = CHILE_EXTENT["Territorio Chileno Antártico"]
#: Metric CRS used to find the nearest point of an outline (UTM 19S, central meridian 69° W).
METRIC_CRS = "EPSG:32719"
#: Communes farther than this (degrees, in longitude/latitude space) from a point are never its
#: nearest within COASTAL_BUFFER_KM: 5 km is under 0.5° of longitude down to 84° S.
_SEARCH_DEGREES = 0.5
_GEOD = Geod(ellps="WGS84")
_TO_METRIC = Transformer.from_crs(STORAGE_CRS, METRIC_CRS, always_xy=True)
_TO_DEGREES = Transformer.from_crs(METRIC_CRS, STORAGE_CRS, always_xy=True)


def reject_antarctic_elsewhere(
    frame: gpd.GeoDataFrame, outcome: ValidationOutcome
) -> gpd.GeoDataFrame:
    """Reject places in the Antarctic box that declare a commune other than Antártica."""
    geoms = frame.geometry.array
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    antarctic = np.zeros(len(frame), dtype=bool)
    antarctic[present] = in_boxes(shapely.bounds(geoms[present]), [ANTARCTIC_BOX])
    elsewhere = pd.Series(antarctic, index=frame.index) & frame["cut"].notna()
    elsewhere &= frame["cut"] != ANTARCTIC_CUT
    if not elsewhere.any():
        return frame
    reasons = frame["cut"].map(
        lambda cut: (
            f"en el Territorio Chileno Antártico pero declara la comuna {cut}: solo la comuna "
            f"Antártica ({ANTARCTIC_CUT}) puede tener lugares allí"
        )
    )
    return outcome.reject_each(frame, elsewhere, reasons)


def geodesic_km(outlines: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Geodesic distance (km) from each point to the nearest point of its paired outline.

    Both arrays hold EPSG:4326 geometries, pairwise; the nearest point is found in METRIC_CRS.
    """
    if len(points) == 0:
        return np.zeros(0)
    # The same commune outline comes once per point near it: project each outline once.
    _, first, inverse = np.unique([id(g) for g in outlines], return_index=True, return_inverse=True)
    metric_outlines = shapely.transform(outlines[first], _metric, interleaved=False)[inverse]
    lines = shapely.shortest_line(
        metric_outlines, shapely.transform(points, _metric, interleaved=False)
    )
    ends = shapely.get_coordinates(lines).reshape(-1, 2, 2)
    lon, lat = _TO_DEGREES.transform(ends[:, :, 0], ends[:, :, 1])
    _, _, metres = _GEOD.inv(lon[:, 0], lat[:, 0], lon[:, 1], lat[:, 1])
    return np.asarray(metres) / 1000.0


def _metric(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:4326 coordinates in METRIC_CRS (a shapely.transform callback)."""
    mx, my = _TO_METRIC.transform(x, y)
    return np.asarray(mx), np.asarray(my)


def check_declared_communes(
    points: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame,
    outcome: ValidationOutcome,
    every_commune: Callable[[], gpd.GeoDataFrame] | None = None,
) -> gpd.GeoDataFrame:
    """Reject points far from every commune or from their own; flag the ones just outside it.

    A point outside the polygon of the commune it declares is rejected when it lies farther than
    COASTAL_BUFFER_KM from every commune (at sea, across the border), or farther than
    DECLARED_COMMUNE_TOLERANCE_KM from its declared commune (the reason gives the distance);
    closer than that it is kept with ``outside_declared_commune`` set. Points whose commune has
    no polygon (the Antarctic commune in the national boundaries) cannot be checked and pass.

    ``communes`` needs only the outlines of the declared communes when ``every_commune`` is
    given: that callable returns all of them, and is called only when a point lies beyond the
    tolerance of its own commune and its nearest commune must be found.
    """
    outlines = communes.set_index("cut").geometry
    geoms = points.geometry.array
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    declared = points["cut"].map(outlines)
    checkable = np.flatnonzero(present & declared.notna().to_numpy())
    outside = np.zeros(len(points), dtype=bool)
    if len(checkable):
        polygons = gpd.GeoSeries(declared.iloc[checkable], crs=STORAGE_CRS).array
        outside[checkable] = ~np.asarray(shapely.covers(polygons, geoms[checkable]))
    rows = np.flatnonzero(outside)
    reasons = pd.Series("", index=points.index, dtype=object)
    if len(rows):
        to_declared = geodesic_km(
            gpd.GeoSeries(declared.iloc[rows], crs=STORAGE_CRS).array, geoms[rows]
        )
        # Within the tolerance of its own commune a point is within COASTAL_BUFFER_KM of land
        # too (the tolerance is the smaller), so only the farther ones need the nearest commune.
        far = to_declared > DECLARED_COMMUNE_TOLERANCE_KM
        rows, to_declared = rows[far], to_declared[far]
        if len(rows) and every_commune is not None:
            communes = every_commune()
        nearest_km, nearest_cut = _nearest_communes(communes, geoms[rows])
        found = zip(rows.tolist(), to_declared, nearest_km, nearest_cut, strict=True)
        for row, own, near, near_cut in found:
            if near > COASTAL_BUFFER_KM:
                reasons.iloc[row] = (
                    f"fuera de toda comuna: a {format_number(near, 1)} km de la costa o del "
                    f"límite más cercano (se aceptan {COASTAL_BUFFER_KM:g} km)"
                )
            elif own > DECLARED_COMMUNE_TOLERANCE_KM:
                cut = points["cut"].iloc[row]
                if near == 0:
                    where = f"dentro de la comuna {near_cut}"
                elif near_cut == cut:
                    where = "sin otra comuna más cerca"
                else:
                    where = f"a {format_number(near, 1)} km de la comuna {near_cut}"
                reasons.iloc[row] = (
                    f"fuera de su comuna declarada {cut}: a {format_number(own, 1)} km de ella, "
                    f"{where} (se aceptan {DECLARED_COMMUNE_TOLERANCE_KM:g} km)"
                )
    rejected = reasons != ""
    flags = pd.Series(outside, index=points.index) & ~rejected
    outcome.outside_declared_commune += int(flags.sum())
    kept = outcome.reject_each(points, rejected, reasons)
    return kept.assign(outside_declared_commune=flags[~rejected].to_numpy())


def _nearest_communes(
    communes: gpd.GeoDataFrame, points: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Geodesic distance (km) from each point to its nearest commune, and that commune's CUT."""
    if len(points) == 0:
        return np.zeros(0), np.zeros(0, dtype=object)
    outlines = communes.geometry.array
    tree = shapely.STRtree(outlines)
    near = tree.query(points, predicate="dwithin", distance=_SEARCH_DEGREES)
    # The nearest in degrees too, so a point far from everything still gets a distance.
    nearest = tree.query_nearest(points)
    pairs = np.unique(np.concatenate([near, nearest], axis=1), axis=1)
    km = geodesic_km(outlines[pairs[1]], points[pairs[0]])
    table = pd.DataFrame({"point": pairs[0], "km": km, "cut": communes["cut"].to_numpy()[pairs[1]]})
    best = table.sort_values("km").drop_duplicates("point").set_index("point").sort_index()
    return best["km"].to_numpy(), best["cut"].to_numpy()
