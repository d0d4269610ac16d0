"""``geogaps accessibility`` end to end on PostGIS: rasters, overlay, stored table, scoring."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import rasterio
from rio_cogeo.cogeo import cog_validate

from analysis import compute_indicators
from geo_service.services.inputs import read_analysis_inputs
from layers.loading import load_file, names_with_accents
from layers.stores import PostgisStore
from tests.cli_runner import run_geogaps

NEEDED = (
    ("boundaries/codigos_territoriales.csv", "territorial_codes"),
    ("boundaries/comunas_chile_345.gpkg", "communes"),
    ("boundaries/zonas_censales_urbanas_2017.gpkg", "urban_zones"),
    ("population/ine_proyecciones_urbana_rural_comuna.csv", "population"),
    ("services/establecimientos_salud_deis_2026.gpkg", "facilities"),
    ("petorca/Red_PRE_2018_Petorca_.geojson", "roads"),
)


def test_accessibility_command_writes_rasters_and_feeds_the_indicators(
    postgis_store: PostgisStore, data_dir: Path, tmp_path: Path
) -> None:
    context = names_with_accents(data_dir)
    for relative, kind in NEEDED:
        load_file(postgis_store, kind, data_dir / relative, context=context)
    out = tmp_path / "acceso.csv"
    rasters = tmp_path / "rasters"
    url = postgis_store.engine.url.render_as_string(hide_password=False)
    result = run_geogaps(
        "accessibility",
        "--facility",
        "primary",
        "--facility",
        "hospital",
        "--resolution",
        "1000",
        "--region",
        "05",
        "--out",
        str(out),
        env={
            "GEOGAPS_DATABASE_URL": url,
            "GEOGAPS_DATA_DIR": str(data_dir),
            "GEOGAPS_RASTER_DIR": str(rasters),
        },
    )
    assert result.returncode == 0, result.stderr

    table = pd.read_csv(out, dtype={"cut": str})
    assert {"minutes_mean", "rural_minutes_mean", "rural_share_beyond_60_minutes"} <= set(
        table.columns
    )
    assert set(table["cut"].str[:2]) == {"05"}
    assert set(table["facility"]) == {"primary", "hospital"}
    assert table.loc[table["cut"] == "05404", "method"].iloc[0] == "roads"

    minutes = rasters / "minutos_primary_1000m_continental_region05.tif"
    valid, problems, _ = cog_validate(str(minutes))
    assert valid, problems
    with rasterio.open(minutes) as dataset:
        assert dataset.crs.to_epsg() == 5361
        assert dataset.overviews(1)
    bounds = json.loads(minutes.with_suffix(".json").read_text(encoding="utf-8"))["bounds"]
    (south, west), (north, east) = bounds
    assert -36 < south < north < -30 and -76 < west < east < -68
    assert (rasters / "minutos_primary_1000m_05201_region05.png").is_file()

    stored = postgis_store.read_table("accessibility")
    assert set(stored["dataset"]) == {
        "accesibilidad_primary_1000m_region05",
        "accesibilidad_hospital_1000m_region05",
    }
    indicators = compute_indicators(read_analysis_inputs(postgis_store)).set_index("cut")
    valparaiso = indicators[indicators.index.str.startswith("05")]
    assert valparaiso["salud_primaria_minutos"].notna().sum() >= 35
    assert (
        indicators["salud_primaria_minutos"]["13101"]
        != indicators.loc["13101", "salud_primaria_minutos"]
    )  # outside the region: missing, not zero
    assert (valparaiso["hospital_minutos"].dropna() >= 0).all()
