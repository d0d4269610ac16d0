"""The ``geogaps`` command: help, exit codes and messages, end to end on real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_runner import run_geogaps

pytestmark = pytest.mark.realdata


@pytest.fixture
def embedded_env(tmp_path: Path) -> dict[str, str]:
    env = {"GEOGAPS_STORE_DIR": str(tmp_path / "store"), "GEOGAPS_DATABASE_URL": ""}
    return env


def test_help_lists_the_sub_commands(embedded_env):
    result = run_geogaps("--help", env=embedded_env)
    assert result.returncode == 0
    for command in ("load", "load-file", "status"):
        assert command in result.stdout


def test_load_file_then_status_in_the_embedded_store(embedded_env, data_dir):
    codes = run_geogaps(
        "load-file",
        "--kind",
        "territorial_codes",
        str(data_dir / "boundaries/codigos_territoriales.csv"),
        env=embedded_env,
    )
    assert codes.returncode == 0, codes.stderr
    assert "cargadas 346" in codes.stdout
    status = run_geogaps("status", env=embedded_env)
    assert "codigos_territoriales" in status.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("load-file", "--kind", "apr", "/nonexistent/apr.geojson"), "no se encontró el archivo"),
        (("load-file", "--kind", "rivers", "x.geojson"), "el tipo 'rivers' no existe"),
        (("load", "--data-dir", "/nonexistent"), "no se encontró la carpeta de datos"),
    ],
)
def test_user_errors_exit_non_zero_without_traceback(embedded_env, args, message):
    result = run_geogaps(*args, env=embedded_env)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_settings_are_reported(embedded_env):
    result = run_geogaps("status", env={**embedded_env, "GEOGAPS_DATABASE_URL": "mysql://x"})
    assert result.returncode == 1
    assert "GEOGAPS_DATABASE_URL" in result.stderr


def test_unreachable_database_is_a_message_not_a_traceback(embedded_env):
    url = "postgresql+psycopg://nobody@127.0.0.1:9/none"
    result = run_geogaps("status", env={**embedded_env, "GEOGAPS_DATABASE_URL": url})
    assert result.returncode == 1
    assert "no se puede conectar con la base de datos" in result.stderr
    assert "Traceback" not in result.stderr


def test_dependency_error_names_the_fix(embedded_env, data_dir):
    result = run_geogaps(
        "load-file",
        "--kind",
        "apr",
        str(data_dir / "water/ssr_coyhaique_11101.geojson"),
        env=embedded_env,
    )
    assert result.returncode == 1
    assert "cargue primero las comunas" in result.stderr


def test_reading_commands_never_create_a_missing_store(tmp_path):
    missing = tmp_path / "no_existe"
    env = {"GEOGAPS_STORE_DIR": str(missing), "GEOGAPS_DATABASE_URL": ""}
    for command in (("status",), ("score", "--draws", "0"), ("runs",)):
        result = run_geogaps(*command, env=env)
        assert result.returncode == 1, (command, result.stderr)
        assert "geogaps load" in result.stderr and "Traceback" not in result.stderr
        assert not missing.exists(), command
