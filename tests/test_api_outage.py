"""A database outage under a running server: 503 with a reason, then recovery without restart.

The test runs its own small PostgreSQL cluster (never the shared one) and stops and starts it
under a uvicorn server listening on loopback.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy.engine import make_url

from geo_service.app import create_app
from geo_service.settings import Settings
from layers.stores import PostgisStore

pytestmark = [pytest.mark.postgis]

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(*command: str) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        wrapped = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(command)]
    else:
        wrapped = list(command)
    return subprocess.run(wrapped, capture_output=True, text=True, check=False, timeout=60)


class PrivateCluster:
    """A throwaway PostgreSQL cluster on its own port and folder."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="geogaps-a1-outage-"))
        self.port = _free_port()
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        created = _as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.folder / "data"), "-U", "postgres",
            "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        assert created.returncode == 0, created.stderr

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        started = _as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.folder / "data"), "-l",
            str(self.folder / "server.log"), "-w", "-o", f"'{options}'", "start",
        )  # fmt: skip
        assert started.returncode == 0, started.stderr + started.stdout

    def stop(self) -> None:
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "stop")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL binaries are missing in {PG_BIN}")
    private = PrivateCluster()
    try:
        yield private
    finally:
        private.remove()


@pytest.fixture
def server(cluster: PrivateCluster) -> Iterator[str]:
    """A uvicorn server on loopback over the private cluster, started while it is DOWN."""
    port = _free_port()
    settings = Settings(database_url=cluster.url, store_dir=cluster.folder / "unused")
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="error")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.started, "the server did not start while the database was down"
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


def _wait_ready(base: str, seconds: float = 20) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while True:
        response = httpx.get(f"{base}/ready", timeout=10)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.3)


def test_outage_gives_503_and_the_server_recovers(cluster: PrivateCluster, server: str) -> None:
    assert httpx.get(f"{server}/health", timeout=10).json() == {"status": "ok"}
    down = httpx.get(f"{server}/ready", timeout=10)
    assert down.status_code == 503
    assert down.json()["status"] == "unavailable" and down.json()["reason"]
    # What is unavailable, never where: no host, port or driver text reaches the client.
    port = str(make_url(cluster.url).port)
    assert port not in down.text and "127.0.0.1" not in down.text

    cluster.start()
    assert _wait_ready(server).status_code == 200
    # Migrations are a separate step: before it, routes say so with a 503, never a 500.
    unmigrated = httpx.get(f"{server}/communes", timeout=10)
    assert unmigrated.status_code == 503 and "db upgrade" in unmigrated.json()["detail"]
    store = PostgisStore(cluster.url)
    with store.connection() as connection:
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
        connection.commit()
    store.migrate()
    store.close()
    assert httpx.get(f"{server}/communes", timeout=10).json()["total"] == 0

    cluster.stop()
    outage = httpx.get(f"{server}/communes", timeout=10)
    assert outage.status_code == 503
    assert "no disponible" in outage.json()["detail"]
    assert port not in outage.text and "connection" not in outage.text.lower()
    assert httpx.get(f"{server}/ready", timeout=10).status_code == 503

    cluster.start()
    assert _wait_ready(server).status_code == 200
    assert httpx.get(f"{server}/communes", timeout=10).json()["total"] == 0
