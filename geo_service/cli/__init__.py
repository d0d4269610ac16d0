"""The ``geogaps`` command line: load data, inspect it, score communes, serve the map.

One Typer app; each command family lives in its own module of this package and is registered
here, so the modules never import this one.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy.exc import OperationalError
from typer import rich_utils

# typer (>= 0.20, as declared) ships its own copy of click and raises its exceptions.
from typer._click.exceptions import ClickException

from domain.errors import GeogapsError
from geo_service.cli import accessibility, data, decision, mesa, robustness, runs, scores, serve
from geo_service.cli.common import UserError, errors, global_options

# typer frames --help in English; it reads these words when it draws the help, so the panels
# and the default/required marks come out in Spanish.
for _name, _words in {
    "ARGUMENTS_PANEL_TITLE": "Argumentos",
    "OPTIONS_PANEL_TITLE": "Opciones",
    "COMMANDS_PANEL_TITLE": "Comandos",
    "DEFAULT_STRING": "[por omisión: {}]",
    "REQUIRED_LONG_STRING": "[obligatorio]",
}.items():
    setattr(rich_utils, _name, _words)

app = typer.Typer(
    help="geogaps: brechas territoriales de las comunas de Chile.\n\n"
    "Sin GEOGAPS_DATABASE_URL cada comando usa el almacén embebido (archivos GeoParquet en "
    "GEOGAPS_STORE_DIR); con ella, PostGIS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Esquema de la base de datos (sólo PostGIS).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(mesa.app, name="mesa")


app.command()(data.load)
app.command("load-file")(data.load_one_file)
app.command()(data.remove)
app.command()(data.status)
db_app.command("upgrade")(data.db_upgrade)
app.command()(scores.score)
app.command("map")(scores.map_file)
app.command("portafolio")(decision.portafolio)
app.command("rezago")(decision.rezago)
app.command("siting")(decision.siting)
app.command("serve")(serve.serve)
app.command("runs")(runs.runs)
app.command("explain")(runs.explain)
app.command("sensitivity")(robustness.sensitivity)
app.command("audit")(robustness.audit)
app.command("accessibility")(accessibility.accessibility)


@app.callback()
def _global_options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Muestra la traza de Python de cualquier error.")
    ] = False,
) -> None:
    """Opciones de todos los comandos."""
    global_options["debug"] = debug


def main() -> None:
    """Entry point: user errors print one sentence and exit 1, usage errors exit 2.

    A misspelt command or option prints click's usage message. Errors that are not the user's
    (bugs) print their type and message; ``--debug`` (or ``GEOGAPS_DEBUG=1``) shows the
    traceback of any error.
    """
    global_options["debug"] = "--debug" in sys.argv[1:] or os.environ.get("GEOGAPS_DEBUG") == "1"
    try:
        code = app(standalone_mode=False)
    except ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except typer.Abort:
        errors.print("interrumpido")
        sys.exit(130)
    except (UserError, GeogapsError) as error:
        _traceback_if_debugging()
        errors.print(f"[red]error:[/red] {escape(str(error))}")
        sys.exit(1)
    except OperationalError as error:
        _traceback_if_debugging()
        errors.print(
            "[red]error:[/red] no se puede conectar con la base de datos "
            f"({escape(str(error.orig).strip())}); revise GEOGAPS_DATABASE_URL y que el "
            "servidor esté en marcha"
        )
        sys.exit(1)
    except Exception as error:
        _traceback_if_debugging()
        errors.print(
            f"[red]error inesperado:[/red] {type(error).__name__}: {escape(str(error))}; "
            "repita con --debug para ver el detalle"
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _traceback_if_debugging() -> None:
    if global_options["debug"]:
        errors.print(traceback.format_exc(), markup=False)
