"""Two writers at once, and writers killed mid-load, on PostGIS and on the embedded store.

A small data folder (links to a few real files, one of them the 29,256 census localities) keeps
each load to a few seconds; the writers are real ``geogaps`` processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from layers.stores import EmbeddedStore, PostgisStore, Store
from tests.cli_runner import run_geogaps
from tests.conftest import _database_name, _drop_database, _fresh_database

pytestmark = [pytest.mark.postgis, pytest.mark.realdata]

SMALL_FOLDER = (
    "boundaries/codigos_territoriales.csv",
    "boundaries/comunas_chile_345.gpkg",
    "water/ssr_coyhaique_11101.geojson",
    "territory/localidades_censo2017.csv",
    "huella_local/presence_2023.csv",
)
TABLES = ("territorial_codes", "communes", "apr_systems", "localities", "huella_presence")
#: Seconds after start at which a forced load is killed: while reading, while writing the big
#: table, and near the end (where exactly it lands varies; every moment must be safe).
KILL_AFTER = (1.0, 2.5, 4.0)


@pytest.fixture(scope="module")
def small_data(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("small_data")
    for relative in SMALL_FOLDER:
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(data_dir / relative)
    return folder


@pytest.fixture(params=["postgis", "embedded"])
def target(request, database_url, tmp_path) -> Iterator[tuple[Store, dict[str, str]]]:
    name = _database_name(database_url) + "_concurrency"
    if request.param == "postgis":
        url = _fresh_database(database_url, name)
        store: Store = PostgisStore(url)
        store.migrate()
        env = {"GEOGAPS_DATABASE_URL": url}
    else:
        store = EmbeddedStore(tmp_path / "store")
        env = {"GEOGAPS_DATABASE_URL": "", "GEOGAPS_STORE_DIR": str(tmp_path / "store")}
    yield store, env
    store.close()
    if request.param == "postgis":
        _drop_database(database_url, name)


def _state(store: Store) -> dict[str, Any]:
    """Rows per table and dataset, and each dataset's provenance count and sha256."""
    counts = {}
    for table in TABLES:
        rows = store.read_table(table, ["dataset"])
        counts[table] = rows["dataset"].value_counts().sort_index().to_dict()
    provenance = store.provenance().set_index("dataset")
    return {
        "rows": counts,
        "provenance": {
            d: (int(r["rows_loaded"]), str(r["sha256"])) for d, r in provenance.iterrows()
        },
    }


def _consistent(state: dict) -> None:
    """Every dataset's provenance says exactly how many rows its table holds."""
    held = {d: n for per_table in state["rows"].values() for d, n in per_table.items()}
    assert held == {d: rows for d, (rows, _) in state["provenance"].items()}


def _start_load(small_data: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from geo_service.cli import main; main()",
            "load",
            "--force",
            "--data-dir",
            str(small_data),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def test_two_forced_loads_at_once_leave_the_counts_of_one(target, small_data):
    store, env = target
    first = run_geogaps("load", "--data-dir", str(small_data), env=env)
    assert first.returncode == 0, first.stderr
    once = _state(store)
    writers = [_start_load(small_data, env) for _ in range(2)]
    outputs = [writer.communicate(timeout=300) for writer in writers]
    for writer, (_, stderr) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, stderr
        assert "Traceback" not in stderr
    twice = _state(store)
    assert twice["rows"] == once["rows"]
    assert twice["provenance"] == once["provenance"]
    assert sum(twice["rows"]["localities"].values()) == 29_256
    again = run_geogaps("load", "--data-dir", str(small_data), env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("sin cambios") == len(SMALL_FOLDER)


def test_a_load_killed_mid_write_leaves_the_previous_state(target, small_data):
    store, env = target
    first = run_geogaps("load", "--data-dir", str(small_data), env=env)
    assert first.returncode == 0, first.stderr
    before = _state(store)
    _consistent(before)
    for delay in KILL_AFTER:
        writer = _start_load(small_data, env)
        time.sleep(delay)
        writer.send_signal(signal.SIGKILL)
        writer.communicate(timeout=60)
        after = _state(store)
        _consistent(after)
        assert after["rows"] == before["rows"]  # same files: the old or the new copy, whole
        status = run_geogaps("status", env=env)
        assert status.returncode == 0, status.stderr
    reload = run_geogaps("load", "--data-dir", str(small_data), env=env)
    assert reload.returncode == 0, reload.stderr
    if isinstance(store, EmbeddedStore):
        assert not list(store.root.glob("*.tmp"))
