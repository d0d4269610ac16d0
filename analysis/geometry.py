"""Spatial helpers: rural sample points, great-circle nearest distances and contiguity.

Distances are great-circle distances on a sphere of mean Earth radius, found with a k-d tree
on 3-D unit vectors (the chord is monotone in the arc), so no projected CRS distorts them:
Isla de Pascua and Juan Fernández are measured as accurately as the mainland. Sample grids
are laid out in the UTM zone (WGS 84, south) of each commune's centroid.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

FloatArray = npt.NDArray[np.float64]
GeometryArray = npt.NDArray[np.object_]
#: Mean Earth radius (IUGG), km.
EARTH_RADIUS_KM = 6371.0088


def geometries(frame: gpd.GeoDataFrame) -> GeometryArray:
    """Return the active geometries as a numpy array of shapely objects (``None`` if absent)."""
    values: GeometryArray = np.asarray(frame.geometry.array, dtype=object)
    missing = shapely.is_missing(values) | shapely.is_empty(values)
    values[missing] = None
    return values


def unit_vectors(lon: FloatArray, lat: FloatArray) -> FloatArray:
    """Return 3-D unit vectors of points given in degrees, shape (m, 3)."""
    lon_r = np.radians(lon)
    lat_r = np.radians(lat)
    cos_lat = np.cos(lat_r)
    return np.column_stack((cos_lat * np.cos(lon_r), cos_lat * np.sin(lon_r), np.sin(lat_r)))


def nearest_distance_km(
    lon: FloatArray, lat: FloatArray, target_lon: FloatArray, target_lat: FloatArray
) -> FloatArray:
    """Great-circle distance from each point to the nearest target, in km.

    Parameters
    ----------
    lon, lat : ndarray of shape (m,)
        Points, degrees.
    target_lon, target_lat : ndarray of shape (t,)
        Targets (e.g. facilities), degrees; searched nationally.

    Returns
    -------
    ndarray of shape (m,)
        Distances; all ``NaN`` when there is no target.
    """
    if len(target_lon) == 0 or len(lon) == 0:
        return np.full(len(lon), np.nan)
    tree = cKDTree(unit_vectors(target_lon, target_lat))
    chord, _ = tree.query(unit_vectors(lon, lat), k=1)
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(np.asarray(chord) / 2.0, 0.0, 1.0))


def utm_south_epsg(lon: float) -> int:
    """Return the EPSG code of the WGS 84 / UTM south zone containing a longitude."""
    zone = int(np.floor((lon + 180.0) / 6.0)) % 60 + 1
    return 32700 + zone


@dataclass(frozen=True)
class RuralSample:
    """Sample points of each commune's rural territory.

    Attributes
    ----------
    points : pandas.DataFrame
        One row per point: ``cut``, ``lon``, ``lat``.
    summary : pandas.DataFrame
        One row per commune: ``cut``, ``rural_area_km2`` (commune minus urban zones),
        ``rural_sample_points`` and ``rural_sample_fallback`` (``True`` when the rural
        part was smaller than the minimum area and the whole commune was sampled).
    """

    points: pd.DataFrame
    summary: pd.DataFrame


def rural_sample(
    communes: gpd.GeoDataFrame,
    urban_zones: gpd.GeoDataFrame,
    points_per_commune: int,
    min_area_km2: float,
) -> RuralSample:
    """Lay a regular grid of about ``points_per_commune`` points on each rural territory.

    The rural territory of a commune is its polygon minus the union of its own 2017 urban
    census zones. The grid spacing is ``sqrt(area / points_per_commune)``, so every commune
    gets about the same number of points whatever its size; a territory too small or thin to
    hold a grid node gets its representative point. Communes without geometry get no point.

    Parameters
    ----------
    communes : geopandas.GeoDataFrame
        ``cut`` and geometry in EPSG:4326.
    urban_zones : geopandas.GeoDataFrame
        ``cut`` and geometry in EPSG:4326.
    points_per_commune : int
        Target number of points per commune.
    min_area_km2 : float
        Below this rural area (e.g. slivers left by boundary mismatch in fully urban
        communes) the whole commune polygon is sampled instead.

    Returns
    -------
    RuralSample
        Points and per-commune summary.
    """
    cuts = communes["cut"].astype(str).to_numpy()
    shapes = geometries(communes)
    has_shape = shapes != None  # noqa: E711 - element-wise comparison on an object array
    invalid = has_shape.copy()
    invalid[has_shape] = ~shapely.is_valid(shapes[has_shape])
    shapes[invalid] = shapely.make_valid(shapes[invalid])

    urban_by_cut = _urban_unions(urban_zones)
    urban = np.array([urban_by_cut.get(cut) for cut in cuts], dtype=object)
    with_urban = has_shape & (urban != None)  # noqa: E711
    rural = shapes.copy()
    rural[with_urban] = shapely.difference(shapes[with_urban], urban[with_urban])

    rural_area = np.full(len(cuts), np.nan)
    fallback = np.zeros(len(cuts), dtype=bool)
    point_cuts: list[npt.NDArray[np.str_]] = []
    point_lon: list[FloatArray] = []
    point_lat: list[FloatArray] = []
    counts = np.zeros(len(cuts), dtype=int)

    centroid_lon = np.full(len(cuts), np.nan)
    centroid_lon[has_shape] = shapely.get_x(shapely.centroid(shapes[has_shape]))
    zone_members: dict[int, list[int]] = defaultdict(list)
    for position in np.flatnonzero(has_shape).tolist():
        zone_members[utm_south_epsg(float(centroid_lon[position]))].append(position)

    for epsg, members in sorted(zone_members.items()):
        forward = Transformer.from_crs(4326, epsg, always_xy=True)
        backward = Transformer.from_crs(epsg, 4326, always_xy=True)
        index = np.asarray(members, dtype=np.int64)
        commune_m = shapely.transform(shapes[index], _projector(forward))
        rural_m = shapely.transform(rural[index], _projector(forward))
        area_km2 = shapely.area(rural_m) / 1e6
        rural_area[index] = area_km2
        too_small = area_km2 < min_area_km2
        fallback[index] = too_small
        sampled = np.where(too_small, commune_m, rural_m)
        for position, geometry in zip(index.tolist(), sampled, strict=True):
            x, y = grid_points(geometry, points_per_commune)
            if len(x) == 0:
                continue
            lon, lat = backward.transform(x, y)
            point_cuts.append(np.full(len(x), cuts[position]))
            point_lon.append(np.asarray(lon, dtype=float))
            point_lat.append(np.asarray(lat, dtype=float))
            counts[position] = len(x)

    points = pd.DataFrame(
        {
            "cut": np.concatenate(point_cuts) if point_cuts else np.array([], dtype=str),
            "lon": np.concatenate(point_lon) if point_lon else np.array([], dtype=float),
            "lat": np.concatenate(point_lat) if point_lat else np.array([], dtype=float),
        }
    )
    summary = pd.DataFrame(
        {
            "cut": cuts,
            "rural_area_km2": rural_area,
            "rural_sample_points": counts,
            "rural_sample_fallback": fallback,
        }
    )
    return RuralSample(points=points, summary=summary)


def _projector(transformer: Transformer) -> Callable[[FloatArray], FloatArray]:
    def project(coordinates: FloatArray) -> FloatArray:
        x, y = transformer.transform(coordinates[:, 0], coordinates[:, 1])
        return np.column_stack((x, y))

    return project


def _urban_unions(urban_zones: gpd.GeoDataFrame) -> dict[str, object]:
    """Union of the urban zones of each commune, keyed by CUT."""
    if urban_zones is None or len(urban_zones) == 0:
        return {}
    shapes = geometries(urban_zones)
    keep = shapes != None  # noqa: E711
    shapes = shapes[keep]
    shapes = np.where(shapely.is_valid(shapes), shapes, shapely.make_valid(shapes))
    cuts = urban_zones["cut"].astype(str).to_numpy()[keep]
    unions: dict[str, object] = {}
    for cut in np.unique(cuts):
        unions[str(cut)] = shapely.union_all(shapes[cuts == cut])
    return unions


def grid_points(geometry: object, target_count: int) -> tuple[FloatArray, FloatArray]:
    """Return a regular grid of about ``target_count`` points inside a projected polygon.

    Falls back to the polygon's representative point when no grid node falls inside.
    Returns empty arrays for a missing or empty geometry.
    """
    if geometry is None or shapely.is_empty(geometry):
        return np.array([], dtype=float), np.array([], dtype=float)
    area = float(shapely.area(geometry))
    min_x, min_y, max_x, max_y = shapely.bounds(geometry)
    if area > 0:
        spacing = float(np.sqrt(area / target_count))
        xs = np.arange(min_x + spacing / 2.0, max_x, spacing)
        ys = np.arange(min_y + spacing / 2.0, max_y, spacing)
        grid_x, grid_y = (axis.ravel() for axis in np.meshgrid(xs, ys))
        shapely.prepare(geometry)
        inside = shapely.contains_xy(geometry, grid_x, grid_y)
        if inside.any():
            return grid_x[inside], grid_y[inside]
    point = shapely.point_on_surface(geometry)
    return np.array([shapely.get_x(point)]), np.array([shapely.get_y(point)])


def contiguity(shapes: GeometryArray) -> dict[int, list[int]]:
    """Queen-style contiguity: polygons that touch or overlap are neighbours.

    Uses libpysal's ``fuzzy_contiguity`` (an ``intersects`` test rather than shared
    vertices), which is robust to the small gaps and overlaps of simplified boundaries.
    Missing geometries have no neighbours (they are islands).

    Parameters
    ----------
    shapes : ndarray of shapely geometries (or ``None``)
        Polygons in any one CRS.

    Returns
    -------
    dict
        ``{i: sorted neighbour positions}`` for every position ``i``.
    """
    neighbours: dict[int, list[int]] = {i: [] for i in range(len(shapes))}
    present = np.flatnonzero(shapes != None)  # noqa: E711
    if present.size == 0:
        return neighbours
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # libpysal warns about islands, which we expect
        from libpysal.weights import fuzzy_contiguity  # slow to import; only here

        weights = fuzzy_contiguity(gpd.GeoDataFrame(geometry=list(shapes[present])))
    for local, links in weights.neighbors.items():
        neighbours[int(present[local])] = sorted(int(present[j]) for j in links)
    return neighbours


def points_within(
    lon: FloatArray, lat: FloatArray, polygons: gpd.GeoDataFrame
) -> npt.NDArray[np.bool_]:
    """Return ``True`` for each point lying inside any of the polygons (EPSG:4326)."""
    inside = np.zeros(len(lon), dtype=bool)
    if len(lon) == 0 or polygons is None or len(polygons) == 0:
        return inside
    shapes = geometries(polygons)
    shapes = shapes[shapes != None]  # noqa: E711
    valid = np.isfinite(lon) & np.isfinite(lat)
    if shapes.size == 0 or not valid.any():
        return inside
    tree = shapely.STRtree(shapes)
    candidates = np.flatnonzero(valid)
    hits, _ = tree.query(shapely.points(lon[candidates], lat[candidates]), predicate="within")
    inside[candidates[np.unique(hits)]] = True
    return inside
