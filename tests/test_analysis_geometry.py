"""Spatial helpers: great-circle distances, rural sample points, contiguity."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import box

from analysis.geometry import (
    EARTH_RADIUS_KM,
    contiguity,
    grid_points,
    nearest_distance_km,
    points_within,
    rural_sample,
    utm_south_epsg,
)


def test_distances_are_great_circle_kilometres() -> None:
    one_degree = EARTH_RADIUS_KM * math.pi / 180
    distance = nearest_distance_km(
        np.array([0.0, -109.4]), np.array([0.0, -27.1]), np.array([1.0, 50.0]), np.array([0.0, 0.0])
    )
    assert distance[0] == pytest.approx(one_degree, rel=1e-9)
    # Isla de Pascua is measured on the sphere, not in a distant UTM zone: nearest is (1, 0).
    assert distance[1] > 10_000

    assert np.isnan(
        nearest_distance_km(np.array([0.0]), np.array([0.0]), np.array([]), np.array([]))
    ).all()


def test_grid_points_fall_inside_and_number_about_the_target() -> None:
    square = box(0, 0, 10_000, 10_000)
    x, y = grid_points(square, 100)
    assert len(x) == 100
    assert shapely.contains_xy(square, x, y).all()

    sliver = box(0, 0, 1, 1000)
    x, y = grid_points(sliver, 100)
    assert len(x) >= 1
    assert shapely.intersects_xy(sliver, x, y).all()


def test_rural_sample_avoids_urban_zones_and_falls_back_for_fully_urban_communes() -> None:
    communes = gpd.GeoDataFrame(
        {"cut": ["05101", "05102", "05103"]},
        geometry=[box(-71.0, -33.2, -70.8, -33.0), box(-70.8, -33.2, -70.6, -33.0), None],
        crs=4326,
    )
    urban = gpd.GeoDataFrame(
        {"cut": ["05101", "05102"]},
        geometry=[box(-70.95, -33.15, -70.85, -33.05), box(-70.8, -33.2, -70.6, -33.0)],
        crs=4326,
    )

    sample = rural_sample(communes, urban, points_per_commune=50, min_area_km2=1.0)
    summary = sample.summary.set_index("cut")

    first = sample.points[sample.points["cut"] == "05101"]
    assert 40 <= len(first) <= 60
    assert not points_within(
        first["lon"].to_numpy(), first["lat"].to_numpy(), urban.iloc[[0]]
    ).any()
    assert not bool(summary.loc["05101", "rural_sample_fallback"])
    # About three quarters of the 0.2 x 0.2 degree square is rural.
    assert summary.loc["05101", "rural_area_km2"] == pytest.approx(0.75 * 22.2 * 18.6, rel=0.05)
    assert bool(summary.loc["05102", "rural_sample_fallback"])
    assert (sample.points["cut"] == "05102").sum() > 0
    assert summary.loc["05103", "rural_sample_points"] == 0


def test_contiguity_links_touching_polygons_and_leaves_islands_alone() -> None:
    shapes = np.array(
        [box(0, 0, 1, 1), box(1, 0, 2, 1), box(1, 1, 2, 2), box(10, 10, 11, 11), None], dtype=object
    )
    neighbours = contiguity(shapes)
    assert neighbours[0] == [1, 2]  # queen: the corner counts
    assert neighbours[1] == [0, 2]
    assert neighbours[3] == []
    assert neighbours[4] == []


def test_points_within_and_utm_zones() -> None:
    zones = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], crs=4326)
    inside = points_within(np.array([0.5, 2.0, np.nan]), np.array([0.5, 2.0, np.nan]), zones)
    np.testing.assert_array_equal(inside, [True, False, False])
    assert utm_south_epsg(-70.6) == 32719
    assert utm_south_epsg(-73.5) == 32718
    assert utm_south_epsg(-109.4) == 32712
