"""``geogaps serve``: uvicorn with the app factory and a connection protocol without Nagle.

With ``--workers N`` uvicorn binds the listening socket itself and hands it to the workers
with ``proto`` 0, so asyncio does not set ``TCP_NODELAY`` on accepted connections: on Linux
every keep-alive response then waits ≈ 40 ms for the client's delayed ACK (uvicorn issue
#3149). Setting the option when each connection is made fixes it for any number of workers.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Annotated

import typer
from uvicorn.protocols.http.h11_impl import H11Protocol

from geo_service.cli.common import settings_from_env


def disable_nagle(transport: asyncio.BaseTransport) -> None:
    """Send small responses at once on a TCP ``transport`` (no-op for other sockets)."""
    connection = transport.get_extra_info("socket")
    if connection is not None and connection.family in (socket.AF_INET, socket.AF_INET6):
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with ``TCP_NODELAY`` on every connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Switch Nagle's algorithm off, then let uvicorn take the connection."""
        disable_nagle(transport)
        super().connection_made(transport)


def serve(
    host: Annotated[str, typer.Option(help="Interfaz en la que escuchar.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Puerto TCP.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Procesos de trabajo.")] = 1,
) -> None:
    """Sirve la API HTTP y el mapa (antes, `geogaps db upgrade`: el servidor no migra)."""
    import uvicorn

    settings = settings_from_env()  # refuse bad settings before starting workers
    if settings.warm_caches:
        typer.echo(
            "cada proceso atiende de inmediato y calienta sus cachés en segundo plano: "
            "/ready responde 503 hasta terminar (el registro muestra cada paso)"
        )
    uvicorn.run(
        "geo_service.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        http=NoDelayH11Protocol,
        # Workers import geopandas, pyarrow and shapely: give a busy machine time to start them.
        timeout_worker_healthcheck=60,
    )
