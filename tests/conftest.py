"""Shared fixtures: the real data folder and real, throwaway PostGIS databases.

The PostGIS URL comes from ``GEOGAPS_TEST_DATABASE_URL`` (``scripts/test.sh`` starts a server and
sets it). Tests never mock the database: without the variable the PostGIS tests fail loudly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from layers.loading import load_directory
from layers.stores import EmbeddedStore, PostgisStore

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = (PROJECT_ROOT / ".." / "shared" / "data" / "chile").resolve()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA_DIR.is_dir():
        pytest.fail(f"the real data folder {DATA_DIR} is missing (CI always has it)")
    return DATA_DIR


@pytest.fixture(scope="session")
def database_url() -> str:
    url = os.environ.get("GEOGAPS_TEST_DATABASE_URL")
    if not url:
        pytest.fail(
            "GEOGAPS_TEST_DATABASE_URL is not set; run the tests with scripts/test.sh, which "
            "starts a throwaway PostGIS"
        )
    return url


def _fresh_database(url: str, name: str) -> str:
    """Create (or recreate) database ``name`` with PostGIS on the server of ``url``."""
    admin = make_url(url).set(database="postgres")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    target = make_url(url).set(database=name)
    engine = create_engine(target)
    with engine.begin() as connection:
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()
    return target.render_as_string(hide_password=False)


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


@pytest.fixture(scope="session")
def national_postgis(database_url: str, data_dir: Path) -> Iterator[PostgisStore]:
    """A separate PostGIS database loaded once with the whole real data folder (read-only)."""
    url = _fresh_database(database_url, make_url(database_url).database + "_national")
    store = PostgisStore(url)
    store.migrate()
    result = load_directory(store, data_dir)
    assert not result.failures, result.failures
    yield store
    store.close()


@pytest.fixture(scope="session")
def national_embedded(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    """An embedded store loaded once with the whole real data folder (read-only)."""
    store = EmbeddedStore(tmp_path_factory.mktemp("embedded"))
    result = load_directory(store, data_dir)
    assert not result.failures, result.failures
    return store


@pytest.fixture
def embedded_store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "store")


@pytest.fixture(scope="session")
def national_inputs(national_postgis: PostgisStore):
    """Analysis inputs read from the national PostGIS store."""
    from geo_service.services.inputs import read_analysis_inputs

    return read_analysis_inputs(national_postgis)
