"""Shared fixtures: the real data folder and real, throwaway PostGIS databases.

The PostGIS URL comes from ``GEOGAPS_TEST_DATABASE_URL`` (``scripts/test.sh`` starts a server and
sets it). Tests never mock the database: without the variable the PostGIS tests fail loudly.

Every test module gets stores of its own, so modules may write (score, reload, upload) and run
in any order:

- ``postgis_store`` / ``embedded_store``: empty stores, fresh for each test;
- ``national_postgis`` / ``national_embedded``: the whole real data folder, fresh for each
  module. The folder is loaded once per session into templates (a PostGIS template database and
  an embedded store folder); each module gets a copy (``CREATE DATABASE ... TEMPLATE`` and a
  folder copy), dropped when the module ends;
- ``national_inputs``: the analysis inputs of the real data, read once per session and deep
  copied for each module.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from analysis.inputs import AnalysisInputs
from layers.loading import load_directory
from layers.stores import EmbeddedStore, PostgisStore

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = (PROJECT_ROOT / ".." / "shared" / "data" / "chile").resolve()
#: PostgreSQL's longest identifier, in bytes.
MAX_NAME = 63

# Apps the tests start warm their caches but not the national Zonas Rezagadas emulation (about
# 20 s of a core each): the tests that need it ask for it (``warm_eligibility=True``, /rezago).
os.environ.setdefault("GEOGAPS_WARM_ELIGIBILITY", "false")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA_DIR.is_dir():
        pytest.fail(f"the real data folder {DATA_DIR} is missing (CI always has it)")
    return DATA_DIR


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url = os.environ.get("GEOGAPS_TEST_DATABASE_URL")
    if not url:
        pytest.fail(
            "GEOGAPS_TEST_DATABASE_URL is not set; run the tests with scripts/test.sh, which "
            "starts a throwaway PostGIS"
        )
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        # Under pytest-xdist each worker gets its own base database, so the template and module
        # copies derived from it never collide with another worker's.
        name = f"{_database_name(url)}_{worker}"
        yield _fresh_database(url, name)
        _drop_database(url, name)
        return
    yield url


def _database_name(url: str) -> str:
    """The database of ``url`` (the tests' base name for the databases they create)."""
    name = make_url(url).database
    assert name, f"{url} names no database"
    return name


def _admin(url: str, *statements: str) -> None:
    """Run ``statements`` on the server's ``postgres`` database, outside any transaction."""
    engine = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def _drop_database(url: str, name: str) -> None:
    _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fresh_database(url: str, name: str) -> str:
    """Create (or recreate) database ``name`` with PostGIS on the server of ``url``."""
    _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    target = make_url(url).set(database=name)
    engine = create_engine(target)
    with engine.begin() as connection:
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()
    return target.render_as_string(hide_password=False)


def _copy_database(url: str, template: str, name: str) -> str:
    """Create database ``name`` as a copy of ``template`` (which must have no connection)."""
    _admin(
        url,
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        # FILE_COPY copies the files instead of logging every page: faster for a small database.
        f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY',
    )
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _module_suffix(request: pytest.FixtureRequest) -> str:
    """A short, identifier-safe name of the requesting test module."""
    module = request.module.__name__.rpartition(".")[2]
    return re.sub(r"[^a-z0-9_]", "_", module.lower())


def _module_database_name(base: str, request: pytest.FixtureRequest) -> str:
    """``<base>_<module>``, shortened with a hash when longer than PostgreSQL allows."""
    name = f"{base}_{_module_suffix(request)}"
    if len(name.encode()) > MAX_NAME:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = f"{name[: MAX_NAME - 9]}_{digest}"
    return name


@pytest.fixture(scope="session")
def _scratch_postgis(database_url: str) -> Iterator[PostgisStore]:
    store = PostgisStore(database_url)
    store.migrate()
    yield store
    store.close()


@pytest.fixture
def postgis_store(_scratch_postgis: PostgisStore) -> PostgisStore:
    """An empty, migrated PostGIS store (tables truncated before each test)."""
    _scratch_postgis.truncate_all()
    return _scratch_postgis


@pytest.fixture
def embedded_store(tmp_path: Path) -> EmbeddedStore:
    """An empty embedded store in the test's own folder."""
    return EmbeddedStore(tmp_path / "store")


# -- the real data: loaded once per session into templates, copied for each module ---------------


@pytest.fixture(scope="session")
def _national_postgis_template(database_url: str, data_dir: Path) -> Iterator[str]:
    """Name of a database loaded once with the whole real data folder, then left unconnected.

    Nothing may connect to it while a module's copy is made: only the fixtures below open it,
    and they dispose of their engine before returning.
    """
    name = _database_name(database_url) + "_national"
    store = PostgisStore(_fresh_database(database_url, name))
    try:
        store.migrate()
        result = load_directory(store, data_dir)
        assert not result.failures, result.failures
    finally:
        store.close()
    yield name
    _drop_database(database_url, name)


@pytest.fixture(scope="module")
def national_postgis(
    request: pytest.FixtureRequest, database_url: str, _national_postgis_template: str
) -> Iterator[PostgisStore]:
    """This module's own PostGIS database holding the whole real data folder.

    A copy of the session's template: the module may write to it (runs, reloads, uploads)
    without any other module seeing it. Dropped when the module ends.
    """
    name = _module_database_name(_database_name(database_url), request)
    store = PostgisStore(_copy_database(database_url, _national_postgis_template, name))
    yield store
    store.close()
    _drop_database(database_url, name)


@pytest.fixture(scope="session")
def _national_embedded_template(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder of an embedded store loaded once with the whole real data folder (never opened
    again: modules open copies)."""
    folder = tmp_path_factory.mktemp("national_embedded_template") / "store"
    result = load_directory(EmbeddedStore(folder), data_dir)
    assert not result.failures, result.failures
    return folder


@pytest.fixture(scope="module")
def national_embedded(
    request: pytest.FixtureRequest,
    _national_embedded_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[EmbeddedStore]:
    """This module's own embedded store holding the whole real data folder (a folder copy of
    the session's template, removed when the module ends)."""
    parent = tmp_path_factory.mktemp(f"national_embedded_{_module_suffix(request)}")
    folder = shutil.copytree(_national_embedded_template, parent / "store")
    yield EmbeddedStore(folder)
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="session")
def _national_inputs_template(database_url: str, _national_postgis_template: str) -> AnalysisInputs:
    """Analysis inputs read once from the PostGIS template (never handed out: see below)."""
    from geo_service.services.inputs import read_analysis_inputs

    url = make_url(database_url).set(database=_national_postgis_template)
    store = PostgisStore(url.render_as_string(hide_password=False))
    try:
        return read_analysis_inputs(store)
    finally:
        store.close()


@pytest.fixture(scope="module")
def national_inputs(_national_inputs_template: AnalysisInputs) -> AnalysisInputs:
    """Analysis inputs of the whole real data folder, this module's own deep copy."""
    return copy.deepcopy(_national_inputs_template)
