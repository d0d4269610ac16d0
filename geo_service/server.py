"""The HTTP server's connection protocol: uvicorn's, with Nagle's algorithm switched off.

With ``--workers N`` uvicorn binds the listening socket itself and hands it to the workers
with ``proto`` 0, so asyncio does not set ``TCP_NODELAY`` on accepted connections: on Linux
every keep-alive response then waits ≈ 40 ms for the client's delayed ACK (uvicorn issue
#3149). Setting the option when each connection is made fixes it for any number of workers.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


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
