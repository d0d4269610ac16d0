"""Accessibility on the real Chilean data: schools load, totals hold, islands and roads."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis.accessibility import AccessibilityResult, LandCover, run_accessibility
from analysis.accessibility.friction import road_speeds
from geo_service.services.inputs import read_analysis_inputs
from layers.accessibility import save_accessibility
from layers.loading import load_file
from layers.rasters import LAND_COVER_FILE, read_land_cover
from layers.stores import EmbeddedStore

PETORCA = "05404"
JUAN_FERNANDEZ = "05104"
ISLA_DE_PASCUA = "05201"


@pytest.fixture(scope="module")
def national_1km(national_embedded: EmbeddedStore, data_dir) -> AccessibilityResult:
    """The national 1 km run, primary care only (the other kinds share every step but MCP)."""
    land_cover = read_land_cover(data_dir / LAND_COVER_FILE)
    return run_accessibility(
        read_analysis_inputs(national_embedded),
        resolution=1000,
        kinds=("primary",),
        land_cover=LandCover(land_cover.classes, land_cover.transform, land_cover.crs),
        roads=national_embedded.read_table("road_segments"),
        villages=national_embedded.read_table("villages"),
    )


def test_mineduc_schools_load_as_education_with_rejections_named(
    national_embedded: EmbeddedStore,
) -> None:
    facilities = national_embedded.read_table("facilities")
    schools = facilities[facilities["dataset"] == "establecimientos_educacionales_mineduc"]
    # Petorca's own school layer is not loaded: the national directory is the one source.
    assert "Establ_educacionales_Petorca_" not in set(facilities["dataset"])
    assert set(schools["category"]) == {"educacion"}
    assert "Vigente" in set(schools["operating_status"])
    provenance = national_embedded.provenance_of("establecimientos_educacionales_mineduc")
    assert provenance is not None
    reasons = provenance["report"]["rejected_by_reason"]
    without = reasons["establecimiento educacional sin coordenadas (LATITUD/LONGITUD)"]
    assert without > 0
    assert provenance["rows_loaded"] + provenance["rows_rejected"] == provenance["rows_read"]
    assert len(schools) == provenance["rows_loaded"]


def test_every_commune_total_is_preserved(national_1km: AccessibilityResult, national_embedded):
    report = national_1km.population.set_index("cut")
    communes = national_embedded.read_table("communes")
    with_shape = communes.loc[~communes.geometry.isna(), "cut"]
    assert set(with_shape) <= set(report.index)
    relative = (report["population_raster"] - report["population_input"]).abs() / report[
        "population_input"
    ].where(report["population_input"] > 0)
    assert (relative.dropna() <= 0.005).all(), relative.sort_values().tail()


def test_petorca_uses_its_road_network(national_1km: AccessibilityResult) -> None:
    table = national_1km.table.set_index("cut")
    assert table.loc[PETORCA, "method"] == "roads"
    assert (table["method"] == "land_cover").sum() > 300  # no national network is bundled
    assert np.isfinite(table["rural_minutes_mean"][PETORCA])


def test_islands_are_handled_explicitly(national_1km: AccessibilityResult) -> None:
    treatment = national_1km.territory.set_index("cut")["treatment"]
    assert treatment[JUAN_FERNANDEZ] == "own_grid"
    assert treatment[ISLA_DE_PASCUA] == "own_grid"
    assert {JUAN_FERNANDEZ, ISLA_DE_PASCUA} <= set(national_1km.grids)
    table = national_1km.table.set_index("cut")
    for cut in (JUAN_FERNANDEZ, ISLA_DE_PASCUA):
        assert table.loc[cut, "grid"] == cut
        assert table["destinations"][cut] >= 1  # the island's own health post or hospital
        assert table["population"][cut] > 0
    # Hanga Roa's hospital is on the island: its people are minutes, not hours, away.
    assert table["minutes_mean"][ISLA_DE_PASCUA] < 30


def test_results_round_trip_through_the_embedded_store(
    national_1km: AccessibilityResult, embedded_store: EmbeddedStore, data_dir
) -> None:
    for relative, kind in (
        ("boundaries/codigos_territoriales.csv", "territorial_codes"),
        ("boundaries/comunas_chile_345.gpkg", "communes"),
    ):
        load_file(embedded_store, kind, data_dir / relative)
    written = save_accessibility(embedded_store, national_1km.table, {"region": None})
    assert written == ["accesibilidad_primary_1000m"]
    stored = embedded_store.read_table("accessibility").set_index("cut")
    expected = national_1km.table.set_index("cut")
    assert len(stored) == len(expected)
    assert np.allclose(
        stored["rural_minutes_mean"].reindex(expected.index),
        expected["rural_minutes_mean"],
        equal_nan=True,
    )
    provenance = embedded_store.provenance_of("accesibilidad_primary_1000m")
    assert provenance is not None and provenance["table_name"] == "accessibility"


def test_osm_style_roads_load_through_the_roads_kind(
    embedded_store: EmbeddedStore, data_dir, tmp_path
) -> None:
    for relative, kind in (
        ("boundaries/codigos_territoriales.csv", "territorial_codes"),
        ("boundaries/comunas_chile_345.gpkg", "communes"),
    ):
        load_file(embedded_store, kind, data_dir / relative)
    lines = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"highway": highway, "surface": surface, "name": name},
                "geometry": {"type": "LineString", "coordinates": coordinates},
            }
            for highway, surface, name, coordinates in (
                ("primary", "asphalt", "Ruta E-35", [[-70.95, -32.25], [-70.90, -32.20]]),
                ("track", "gravel", "Camino a Chalaco", [[-70.80, -32.30], [-70.75, -32.32]]),
            )
        ],
    }
    path = tmp_path / "osm_petorca.geojson"
    path.write_text(json.dumps(lines), encoding="utf-8")
    report = load_file(embedded_store, "roads", path)
    assert report.rows_loaded == 2
    roads = embedded_store.read_table("road_segments")
    assert list(roads["road_type"]) == ["primary", "track"]
    assert list(roads["surface"]) == ["asphalt", "gravel"]
    assert roads["cut"].str.startswith("054").all()  # assigned by location (Petorca province)
    speeds = road_speeds(roads["road_type"], roads["surface"])
    assert speeds[0] > speeds[1]
