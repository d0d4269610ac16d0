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
from pydantic_core import ErrorDetails
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from domain.numbers import format_number
from geo_service.settings import Settings
from layers import Store, open_store

# Piped output (CI logs, tests) gets wide lines instead of rich's 80-column default.
console = Console(width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


class UserError(Exception):
    """A problem the user can fix; printed without a traceback."""


#: pydantic's refusals a person meets on the command line, in Spanish (``{…}`` from its context).
VALIDATION_WORDS: dict[str, str] = {
    "string_pattern_mismatch": "no tiene el formato esperado",
    "greater_than_equal": "debe ser mayor o igual que {ge}",
    "greater_than": "debe ser mayor que {gt}",
    "less_than_equal": "debe ser menor o igual que {le}",
    "less_than": "debe ser menor que {lt}",
    "literal_error": "debe ser {expected}",
    "int_parsing": "debe ser un número entero",
    "int_from_float": "debe ser un número entero",
    "float_parsing": "debe ser un número",
    "bool_parsing": "debe ser verdadero o falso",
    "missing": "falta",
    "extra_forbidden": "no es una opción conocida",
}


def validation_details(error: ValidationError) -> str:
    """Pydantic's refusal as ``field: reason`` in Spanish, without its links or input dumps.

    The reasons our validators write (``value_error``) are Spanish already; other known kinds
    come from :data:`VALIDATION_WORDS`, with numbers formatted the Chilean way.
    """
    return "; ".join(dict.fromkeys(_detail(item) for item in error.errors()))


def _detail(item: ErrorDetails) -> str:
    field = ".".join(map(str, item["loc"]))
    words = VALIDATION_WORDS.get(item["type"])
    if item["type"] == "value_error" or words is None:
        reason = str(item["msg"]).removeprefix("Value error, ")
    else:
        context = {key: _spoken(value) for key, value in (item.get("ctx") or {}).items()}
        reason = words.format(**context)
    return f"{field}: {reason}" if field else reason


def _spoken(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value).replace(" or ", " o ")
    return format_number(value, 0 if float(value).is_integer() else 2)


def settings_from_env() -> Settings:
    """Read settings, turning validation errors into a user error."""
    try:
        return Settings()
    except ValidationError as error:
        raise UserError(f"configuración no válida: {validation_details(error)}") from None


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
