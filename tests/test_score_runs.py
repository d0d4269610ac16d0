"""Score runs end to end: stored in PostGIS and the embedded store, reproducible, exported."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from analysis import ScoringParameters
from geo_service.services.runs import rerun_parameters, run_scoring
from tests.cli_runner import run_geogaps

pytestmark = [pytest.mark.postgis, pytest.mark.realdata]

PARAMETERS = ScoringParameters(region="04", draws=100, seed=11)


def test_a_run_is_stored_and_read_back(national_postgis):
    record = run_scoring(national_postgis, PARAMETERS)
    run, results = national_postgis.read_score_run(record.run.run_id)
    assert run.result_sha256 == record.result.digest()
    assert run.inputs["comunas_chile_345"] == national_postgis.dataset_sha256("comunas_chile_345")
    assert run.seed == 11
    assert run.scope == "04"
    assert set(results["challenge"]) == {"agua", "conectividad", "rural_urbano", "compuesto"}
    assert len(results) == 4 * 15  # Coquimbo has 15 communes
    parameters, override = rerun_parameters(run)
    assert parameters == PARAMETERS and override is None


def test_same_inputs_and_parameters_give_identical_results(national_postgis, national_embedded):
    first = run_scoring(national_postgis, PARAMETERS)
    again = run_scoring(national_postgis, PARAMETERS)
    embedded = run_scoring(national_embedded, PARAMETERS)
    assert first.run.run_id == again.run.run_id == embedded.run.run_id
    assert first.result.digest() == again.result.digest() == embedded.result.digest()
    _, stored_postgis = national_postgis.read_score_run(first.run.run_id)
    _, stored_embedded = national_embedded.read_score_run(first.run.run_id)
    pd.testing.assert_frame_equal(stored_postgis, stored_embedded)


def test_another_seed_is_another_run(national_postgis):
    first = run_scoring(national_postgis, PARAMETERS, save=False)
    other = run_scoring(national_postgis, PARAMETERS.model_copy(update={"seed": 12}), save=False)
    assert first.run.run_id != other.run.run_id


def test_weights_override_is_recorded_and_changes_the_run(national_postgis):
    override = {"agua": 3.0}
    weighted = run_scoring(national_postgis, PARAMETERS, override, save=False)
    plain = run_scoring(national_postgis, PARAMETERS, save=False)
    assert weighted.run.run_id != plain.run.run_id
    assert weighted.run.parameters["catalogue_override"] == override
    assert weighted.result.catalogue.version.endswith("+override")


@pytest.fixture
def postgis_env(national_postgis, tmp_path) -> dict[str, str]:
    url = national_postgis.engine.url.render_as_string(hide_password=False)
    return {"GEOGAPS_DATABASE_URL": url, "GEOGAPS_STORE_DIR": str(tmp_path / "unused")}


def test_cli_score_prints_ranking_and_writes_files(postgis_env, tmp_path: Path):
    weights = tmp_path / "pesos.toml"
    weights.write_text("agua = 2.0\nagua_sin_red_publica = 0.5\n", encoding="utf-8")
    gpkg = tmp_path / "brechas.gpkg"
    result = run_geogaps(
        "score",
        "--region",
        "04",
        "--challenge",
        "agua",
        "--draws",
        "50",
        "--weights",
        str(weights),
        "--out",
        str(gpkg),
        env=postgis_env,
    )
    assert result.returncode == 0, result.stderr
    assert "Brechas — agua" in result.stdout
    assert "corrida " in result.stdout and "guardada" in result.stdout
    written = gpd.read_file(gpkg)
    assert len(written) == 4 * 15
    assert written.geometry.notna().all()
    csv = tmp_path / "brechas.csv"
    assert (
        run_geogaps(
            "score", "--region", "04", "--draws", "20", "--out", str(csv), env=postgis_env
        ).returncode
        == 0
    )
    assert set(pd.read_csv(csv, dtype={"cut": str})["cut"].str[:2]) == {"04"}


@pytest.fixture
def stored_run(national_postgis):
    """A run `geogaps explain` can read (the newest of any scope, when none is national)."""
    return run_scoring(national_postgis, PARAMETERS)


def test_cli_explain_and_bad_options(postgis_env, stored_run):
    explained = run_geogaps("explain", "4303", env=postgis_env)
    assert explained.returncode == 0, explained.stderr
    assert "Monte Patria" in explained.stdout and "Agua" in explained.stdout
    for args, message in [
        (("explain", "99999"), "99999"),
        (("score", "--region", "4x"), "opciones de cálculo no válidas"),
        (("score", "--challenge", "salud"), "desafío desconocido"),
        (("score", "--normalization", "fancy"), "opciones de cálculo no válidas"),
        (("score", "--weights", "/nonexistent.toml"), "no se encuentra el archivo"),
    ]:
        result = run_geogaps(*args, env=postgis_env)
        assert result.returncode == 1, (args, result.stdout)
        assert message in result.stderr
        assert "Traceback" not in result.stderr
