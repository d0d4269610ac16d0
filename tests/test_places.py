"""Plausible places (issue 16): swapped coordinates, points far from every commune or from their
own, the Antarctic reserved to Antártica, and reprojections that move the data out of Chile."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from layers.errors import LayerError
from layers.places import (
    check_declared_communes,
    geodesic_km,
    reject_antarctic_elsewhere,
)
from layers.validation import (
    SOURCE_ROW,
    SWAPPED_REASON,
    ValidationOutcome,
    check_transform,
    reject_outside_chile,
)

PUNTA_ARENAS = (-70.9167, -53.1667)


def _points(points: list[tuple[float, float]], cuts: list[str] | None = None) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {SOURCE_ROW: range(1, len(points) + 1)},
        geometry=[Point(x, y) for x, y in points],
        crs=4326,
    )
    if cuts is not None:
        frame["cut"] = cuts
    return frame


def test_swapped_row_is_rejected_naming_the_swap():
    x, y = PUNTA_ARENAS
    outcome = ValidationOutcome()
    kept = reject_outside_chile(_points([(x, y), (y, x), (-3.7, 40.4)]), outcome, "f")
    assert list(kept[SOURCE_ROW]) == [1]
    reasons = {r.row: r.reason for r in outcome.rejections}
    assert reasons == {2: SWAPPED_REASON, 3: "coordenadas fuera de Chile"}
    assert SWAPPED_REASON.startswith("latitud y longitud invertidas: ")


def test_file_mostly_swapped_is_refused_with_the_hint():
    x, y = PUNTA_ARENAS
    with pytest.raises(LayerError, match="2 de 3 geometrías tienen latitud y longitud invertidas"):
        reject_outside_chile(_points([(y, x), (y - 0.1, x), (x, y)]), ValidationOutcome(), "f")


def test_real_antarctic_points_are_not_taken_for_swaps():
    # Villa Las Estrellas and Base O'Higgins read the other way round are east of Chile.
    outcome = ValidationOutcome()
    kept = reject_outside_chile(_points([(-58.9667, -62.2), (-57.9, -63.32)]), outcome, "f")
    assert len(kept) == 2 and not outcome.rejections


def test_only_antartica_may_lie_in_the_antarctic():
    frame = _points([(-58.9667, -62.2), (-58.9, -62.1), PUNTA_ARENAS], ["12202", "11101", "12101"])
    outcome = ValidationOutcome()
    kept = reject_antarctic_elsewhere(frame, outcome)
    assert list(kept["cut"]) == ["12202", "12101"]
    (rejection,) = outcome.rejections
    assert rejection.row == 2 and "declara la comuna 11101" in rejection.reason


@pytest.fixture
def communes() -> gpd.GeoDataFrame:
    """Two 0.2° squares side by side on the coast at 33° S (west: sea), and one without outline."""
    return gpd.GeoDataFrame(
        {"cut": ["05101", "05102", "05103"]},
        geometry=[box(-71.6, -33.2, -71.4, -33.0), box(-71.4, -33.2, -71.2, -33.0), None],
        crs=4326,
    )


def test_declared_commune_checks(communes):
    km = 1 / 93.4  # degrees of longitude per km at 33.1° S
    frame = _points(
        [
            (-71.5, -33.1),  # inside its commune
            (-71.4 + 1 * km, -33.1),  # 1 km into the neighbour: flagged
            (-71.4 + 10 * km, -33.1),  # 10 km into the neighbour: rejected with the distance
            (-71.6 - 1.5 * km, -33.1),  # 1.5 km at sea: flagged
            (-71.6 - 3 * km, -33.1),  # 3 km at sea: too far from its commune
            (-71.6 - 300 * km, -33.1),  # 300 km at sea: outside every commune
            (-68.83, -32.89),  # Mendoza
            (-71.5, -33.1),  # declares a commune without outline: cannot be checked
        ],
        ["05101", "05101", "05101", "05101", "05101", "05101", "05101", "05103"],
    )
    outcome = ValidationOutcome()
    kept = check_declared_communes(frame, communes, outcome)
    assert list(kept[SOURCE_ROW]) == [1, 2, 4, 8]
    assert list(kept["outside_declared_commune"]) == [False, True, True, False]
    assert outcome.outside_declared_commune == 2
    reasons = {r.row: r.reason for r in outcome.rejections}
    assert reasons[3].startswith(
        "fuera de su comuna declarada 05101: a 10,0 km de ella, dentro de la comuna 05102"
    )
    assert reasons[5].startswith("fuera de su comuna declarada 05101: a 3,0 km de ella, sin otra")
    assert reasons[6].startswith("fuera de toda comuna: a 299,8 km de la costa")
    assert reasons[7].startswith("fuera de toda comuna: a ")


def test_geodesic_distance_is_true_far_from_the_utm_meridian():
    # Isla de Pascua, 40° west of UTM 19S's meridian: 0.1° of latitude is ~11.08 km anyway.
    line = box(-109.5, -27.2, -109.3, -27.1)
    km = geodesic_km(np.array([line]), np.array([Point(-109.4, -27.3)]))
    assert km[0] == pytest.approx(11.08, abs=0.05)


def test_transform_that_breaks_the_data_is_refused():
    frame = _points([(np.nan, np.nan), (-70.0, -33.0)])
    with pytest.raises(LayerError, match="desde EPSG:1 da coordenadas infinitas o no numéricas"):
        check_transform(frame, "EPSG:1", "f")
    with pytest.raises(LayerError, match=r"el centro de los datos queda en lon -3\.7000"):
        check_transform(_points([(-3.7, 40.4), (-3.7, 40.4)]), "EPSG:2", "f")
    mixed = _points([(-70.0, -33.0), (-70.1, -33.1), (-109.4, -27.1)])
    assert check_transform(mixed, "EPSG:3", "f") is mixed
