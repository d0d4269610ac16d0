"""One source per fact (issue 16): replacement loads, retired datasets, sources of a run.

The refusals (a second source, a key repeated in a file, a wrong ``--replaces``) are cases of
the bad-input corpus (tests/test_bad_inputs.py). Here: ``--replaces`` through the real
``geogaps`` command on both stores, a replacement the store refuses leaving everything as it
was, and a score run after the replacement recording and showing which dataset it used.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from analysis import ScoringParameters
from geo_service.app import create_app
from geo_service.services.inputs import read_analysis_inputs
from geo_service.services.profiles import SOURCES_TABLE
from geo_service.services.runs import run_scoring
from geo_service.settings import Settings
from layers.errors import StoreWriteError
from layers.loading import attempt_row, load_file
from layers.runs import table_from_bytes
from layers.stores import EmbeddedStore, PostgisStore, Store
from layers.stores.base import RETIRED_TABLE
from maps.profile import SOURCE_NOT_RECORDED, source_dataset_text
from tests.cli_runner import run_geogaps

pytestmark = [pytest.mark.postgis, pytest.mark.realdata]

CORRECTION_FILE = (
    Path(__file__).resolve().parent / "bad_inputs/source/pobreza_correccion_alto_hospicio_2022.csv"
)
OFFICIAL = "pobreza_multidimensional_comunal_2022"
CORRECTION = "pobreza_correccion_2022"
ALTO_HOSPICIO = "01107"


def _env(store: Store) -> dict[str, str]:
    if isinstance(store, PostgisStore):
        return {"GEOGAPS_DATABASE_URL": store.engine.url.render_as_string(hide_password=False)}
    assert isinstance(store, EmbeddedStore)
    return {"GEOGAPS_DATABASE_URL": "", "GEOGAPS_STORE_DIR": str(store.root)}


@pytest.fixture(scope="module")
def replaced(national_postgis: PostgisStore, national_embedded: EmbeddedStore) -> dict[str, Any]:
    """Both national stores after the Alto Hospicio correction replaced the official file."""
    stores: dict[str, Store] = {"postgis": national_postgis, "embedded": national_embedded}
    outputs = {}
    for name, store in stores.items():
        official_rows = store.read("poverty", equals={"dataset": OFFICIAL})
        args = ["load-file", str(CORRECTION_FILE), "--kind", "poverty", "--dataset", CORRECTION]
        replace = [*args, "--replaces", OFFICIAL]
        outputs[name] = {
            "refused": run_geogaps(*args, env=_env(store)),
            "shrinking": run_geogaps(*replace, env=_env(store)),
            "loaded": run_geogaps(*replace, "--allow-shrink", env=_env(store)),
            "official_rows": official_rows,
        }
    run = run_scoring(national_embedded, ScoringParameters(draws=20, seed=16))
    return {"stores": stores, "outputs": outputs, "run": run}


@pytest.mark.parametrize("store_name", ["postgis", "embedded"])
def test_replaces_retires_the_official_dataset_and_keeps_it(replaced, store_name):
    outputs = replaced["outputs"][store_name]
    store = replaced["stores"][store_name]
    assert outputs["refused"].returncode == 1
    assert "--replaces pobreza_multidimensional_comunal_2022" in " ".join(
        outputs["refused"].stderr.split()
    )
    # One row for 345 communes: the other 344 would be left without data unless asked for.
    shrinking = " ".join(outputs["shrinking"].stderr.split())
    assert outputs["shrinking"].returncode == 1
    assert f"reemplazar '{OFFICIAL}' (345 filas) por '{CORRECTION}' (1 filas)" in shrinking
    assert "--allow-shrink" in shrinking
    loaded = outputs["loaded"]
    assert loaded.returncode == 0, loaded.stderr
    assert f"reemplaza a {OFFICIAL}" in " ".join(loaded.stdout.split())

    provenance = store.provenance().set_index("dataset")
    assert OFFICIAL not in provenance.index
    assert provenance.loc[CORRECTION, "report"]["replaces"]["dataset"] == OFFICIAL
    # Not served: the data tables hold no row of the retired dataset.
    poverty = store.read_table("poverty")
    assert OFFICIAL not in set(poverty["dataset"])
    assert set(poverty.loc[poverty["dataset"] == CORRECTION, "cut"]) == {ALTO_HOSPICIO}
    # Kept: its rows and provenance, with who replaced it and when.
    retired = store.retired_datasets().set_index("dataset")
    assert retired.loc[OFFICIAL, "replaced_by"] == CORRECTION
    assert retired.loc[OFFICIAL, "table_name"] == "poverty"
    assert retired.loc[OFFICIAL, "rows"] == len(outputs["official_rows"])
    assert retired.loc[OFFICIAL, "provenance"]["file_name"] == f"{OFFICIAL}.csv"
    content = store.read(RETIRED_TABLE, columns=["content"], equals={"dataset": OFFICIAL})
    kept = table_from_bytes(content["content"].iloc[0])
    assert sorted(kept["cut"]) == sorted(outputs["official_rows"]["cut"])
    # Recorded: the retirement and the load that caused it.
    attempts = store.load_attempts()
    newest = attempts.sort_values("attempted_at", kind="stable").groupby("dataset").tail(1)
    statuses = dict(zip(newest["dataset"], newest["status"], strict=True))
    assert statuses[OFFICIAL] == "retired"
    assert statuses[CORRECTION] == "loaded"


def test_datasets_endpoint_shows_the_retired_state(replaced):
    store = replaced["stores"]["embedded"]
    settings = Settings(database_url=None, store_dir=store.root)
    with TestClient(create_app(settings)) as client:
        payload = client.get("/datasets", params={"limit": 100}).json()
    states = {row["dataset"]: row["state"] for row in payload["datasets"]}
    assert states[CORRECTION] == "activo"
    [retired] = [row for row in payload["retired"] if row["dataset"] == OFFICIAL]
    assert (retired["state"], retired["replaced_by"]) == ("retirado", CORRECTION)


def test_score_after_replacement_reads_and_records_the_new_dataset(replaced):
    run = replaced["run"]
    store = replaced["stores"]["embedded"]
    assert CORRECTION in run.run.inputs
    assert OFFICIAL not in run.run.inputs
    poverty = read_analysis_inputs(store).poverty
    multidimensional = poverty[poverty["measure"] == "multidimensional"]
    assert set(multidimensional["dataset"]) == {CORRECTION}
    sources = store.run_tables(run.run.run_id, [SOURCES_TABLE])[SOURCES_TABLE]
    used = sources[sources["indicator"] == "pobreza_multidimensional_pct"]
    # Only Alto Hospicio has a value now, and it comes from the correction.
    assert dict(zip(used["cut"], used["dataset"], strict=True)) == {ALTO_HOSPICIO: CORRECTION}
    indicators = run.result.indicators.set_index("cut")["pobreza_multidimensional_pct"]
    correction = pd.read_csv(CORRECTION_FILE, sep=";", decimal=",")
    assert indicators[ALTO_HOSPICIO] == pytest.approx(100 * correction["pobreza_p"].iloc[0])
    assert indicators.drop(ALTO_HOSPICIO).isna().all()


def test_profile_shows_the_source_of_each_value(replaced):
    store = replaced["stores"]["embedded"]
    run_id = replaced["run"].run.run_id
    settings = Settings(database_url=None, store_dir=store.root)
    with TestClient(create_app(settings)) as client:
        profile = client.get(f"/communes/{ALTO_HOSPICIO}", params={"run_id": run_id}).json()
        page = client.get(f"/comunas/{ALTO_HOSPICIO}", params={"run_id": run_id}).text
    items = {item["id"]: item for item in profile["indicators"]}
    assert items["pobreza_multidimensional_pct"]["source_dataset"] == CORRECTION
    water = store.provenance().set_index("dataset")
    assert items["agua_sin_red_publica"]["source_dataset"] in water.index
    assert f"Fuente: {CORRECTION}" in page


def test_runs_without_sources_say_so():
    assert source_dataset_text({"id": "x"}) == SOURCE_NOT_RECORDED
    assert source_dataset_text({"id": "x", "source_dataset": None}) == "sin dato"
    assert source_dataset_text({"id": "x", "source_dataset": CORRECTION}) == CORRECTION


@pytest.fixture(params=["postgis", "embedded"])
def official_loaded(request, data_dir) -> Iterator[Store]:
    """An empty store of each kind with the code list and the official poverty file."""
    store: Store = request.getfixturevalue(f"{request.param}_store")
    load_file(store, "territorial_codes", data_dir / "boundaries/codigos_territoriales.csv")
    load_file(store, "poverty", data_dir / f"social/{OFFICIAL}.csv")
    yield store


def test_a_replacement_the_store_refuses_changes_nothing(official_loaded):
    store = official_loaded
    before = store.read_table("poverty")
    provenance = store.provenance()
    # A row no validation would pass (rate 5): the store refuses it inside the commit that
    # would also have retired the official dataset.
    bad = before.head(1).drop(columns=["dataset"]).assign(rate=5.0)
    record = {**provenance.set_index("dataset").loc[OFFICIAL].to_dict(), "dataset": CORRECTION}
    with pytest.raises(StoreWriteError):
        store.replace_dataset(
            "poverty",
            CORRECTION,
            bad,
            record,
            attempt=attempt_row(CORRECTION, status="loaded"),
            replaces=OFFICIAL,
        )
    pd.testing.assert_frame_equal(store.read_table("poverty"), before)
    pd.testing.assert_frame_equal(store.provenance(), provenance)
    assert store.retired_datasets().empty
    assert "retired" not in set(store.load_attempts()["status"])
