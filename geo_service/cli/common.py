"""What every ``geogaps`` command shares: consoles, the user-error type, settings and the store.

Each command family is a module of ``geo_service/cli/`` that the package's ``__init__`` registers
on its Typer app; they all import these helpers from here, so a command module never imports the
package itself.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from geo_service.settings import Settings
from layers import Store, open_store

# Piped output (CI logs, tests) gets wide lines instead of rich's 80-column default.
console = Console(width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


class UserError(Exception):
    """A problem the user can fix; printed without a traceback."""


def settings_from_env() -> Settings:
    """Read settings, turning validation errors into a user error."""
    try:
        return Settings()
    except ValidationError as error:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise UserError(f"configuración no válida: {details}") from None


@contextmanager
def opened_store(settings: Settings, *, create: bool = False) -> Iterator[Store]:
    """Open the configured store with its schema up to date.

    Only the commands that load data pass ``create``: the others refuse a missing embedded
    store instead of making an empty one.
    """
    store = open_store(settings.database_url, settings.store_dir, create=create)
    try:
        store.migrate()
        yield store
    finally:
        store.close()


def progress_bar(label: str) -> Progress:
    """The bar long commands show on stderr: label, bar, n of N, current step, elapsed time."""
    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    )


#: Options every command sees: ``debug`` is set by ``--debug`` or ``GEOGAPS_DEBUG=1``.
global_options: dict[str, bool] = {"debug": False}
