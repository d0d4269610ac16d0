"""``geogaps mesa …``: a Mesa de Convergencia's workspace from the command line.

The same operations and rules as the API (:mod:`geo_service.services.mesas`): ``crear`` is the
operator's (who has the store, as the API key's holder has the service) and prints the first
coordination token once; every other command acts as the member whose token it is given
(``--token`` or ``GEOGAPS_MESA_TOKEN``), with that member's role, and lands in the history.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from geo_service.cli.common import UserError, console, opened_store, settings_from_env
from layers import Store
from layers.mesas import MesaRecords, mesa_records

app = typer.Typer(
    help="Mesas de Convergencia: matriz de priorización, iniciativas, compromisos, seguimiento.",
    no_args_is_help=True,
)

MesaArgument = Annotated[str, typer.Argument(help="Id de la mesa (lo entrega `mesa crear`).")]
TokenOption = Annotated[
    str,
    typer.Option(
        envvar="GEOGAPS_MESA_TOKEN",
        help="Token personal de un miembro de la mesa.",
        show_default=False,
    ),
]


@contextmanager
def _member(mesa_id: str, token: str) -> Iterator[tuple[Store, MesaRecords, dict[str, Any]]]:
    """The store, the Mesas' records and the member whose token opens this Mesa."""
    from geo_service.services.mesas import authenticate

    with opened_store(settings_from_env()) as store:
        records = mesa_records(store)
        yield store, records, authenticate(records, mesa_id, token)


def _scores(pairs: list[str]) -> dict[str, int]:
    scores: dict[str, int] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if not value.strip().isdigit():
            raise UserError(
                f"puntaje no válido {pair!r}: escriba criterio=valor, p. ej. urgencia=4"
            )
        scores[name.strip()] = int(value)
    return scores


@app.command("crear")
def create(
    nombre: Annotated[str, typer.Argument(help="Nombre de la mesa.")],
    comuna: Annotated[
        list[str], typer.Option(help="Código CUT de una comuna de la mesa (repetible).")
    ],
    corrida: Annotated[
        str | None, typer.Option(help="Corrida guardada de la que se toman las brechas.")
    ] = None,
    coordinador: Annotated[str, typer.Option(help="Nombre de quien coordina.")] = "Coordinación",
    organizacion: Annotated[str, typer.Option(help="Organización de quien coordina.")] = (
        "sin organización indicada"
    ),
) -> None:
    """Crear una mesa; imprime su id y el token de coordinación (se muestra esta única vez)."""
    from geo_service.services.mesas import create_mesa

    body = {
        "nombre": nombre,
        "comunas": comuna,
        "corrida": corrida,
        "coordinador": {"nombre": coordinador, "organizacion": organizacion},
    }
    with opened_store(settings_from_env()) as store:
        created = create_mesa(store, mesa_records(store), body)
    console.print(f"mesa: {created['id']}")
    console.print(f"token de coordinación (guárdelo: no se vuelve a mostrar): {created['token']}")


@app.command("ver")
def show(mesa_id: MesaArgument, token: TokenOption) -> None:
    """La mesa: comunas, criterios con sus pesos y miembros."""
    from geo_service.services.mesas import mesa_view

    with _member(mesa_id, token) as (_, records, _caller):
        mesa = mesa_view(records, mesa_id)
    console.print(f"[bold]{escape(mesa['nombre'])}[/bold] · comunas {', '.join(mesa['comunas'])}")
    weights = ", ".join(f"{c['id']} (peso {c['peso']:g})" for c in mesa["criterios"])
    console.print(f"criterios: {weights}")
    table = Table(title="Miembros")
    for column in ("id", "nombre", "organización", "tipo de actor", "rol", "estado"):
        table.add_column(column)
    for m in mesa["miembros"]:
        state = "retirado" if m["retirado"] else "vigente"
        table.add_row(
            str(m["id"]),
            escape(m["nombre"]),
            escape(m["organizacion"]),
            m["tipo_actor"],
            m["rol"],
            state,
        )
    console.print(table)


@app.command("miembro")
def add_member(
    mesa_id: MesaArgument,
    token: TokenOption,
    nombre: Annotated[str, typer.Option(help="Nombre del miembro.")],
    tipo_actor: Annotated[str, typer.Option(help="municipio, empresa, comunidad, fundación...")],
    organizacion: Annotated[str, typer.Option(help="Organización del miembro.")],
    rol: Annotated[str, typer.Option(help="coordinacion, miembro o lectura.")] = "miembro",
) -> None:
    """Agregar un miembro (coordinación); imprime su token, esta única vez."""
    from geo_service.services.mesas import add

    body = {"nombre": nombre, "tipo_actor": tipo_actor, "organizacion": organizacion, "rol": rol}
    with _member(mesa_id, token) as (store, records, caller):
        member = add(store, records, caller, "miembro", body)
    console.print(f"miembro {member['id']}: {escape(member['nombre'])} ({member['rol']})")
    console.print(f"token (entréguelo a la persona; no se vuelve a mostrar): {member['token']}")


@app.command("matriz")
def matrix(mesa_id: MesaArgument, token: TokenOption) -> None:
    """La matriz de priorización, con la brecha de datos y la prioridad combinada."""
    from analysis.formatting import format_number
    from geo_service.services.mesas import matrix_view

    with _member(mesa_id, token) as (_, records, _caller):
        view = matrix_view(records, mesa_id)
    criteria = [c["id"] for c in view["criterios"]]
    table = Table(title="Matriz de priorización")
    for column in ("id", "necesidad", "desafío", "brecha", *criteria, "prioridad"):
        table.add_column(column)
    for row in view["filas"]:
        gap = row["brecha"] or {}
        table.add_row(
            str(row["id"]),
            escape(row["necesidad"]),
            row["desafio"] or "—",
            escape(str(gap.get("nivel_etiqueta") or "sin dato")),
            *(str(row["puntajes"].get(c) or "sin dato") for c in criteria),
            format_number(row["prioridad"]["valor"], 2),
        )
    console.print(table)
    console.print(view["regla"])


@app.command("fila")
def add_row(
    mesa_id: MesaArgument,
    token: TokenOption,
    necesidad: Annotated[str, typer.Option(help="La necesidad o el problema.")],
    desafio: Annotated[str | None, typer.Option(help="Desafío del catálogo.")] = None,
    indicador: Annotated[str | None, typer.Option(help="Indicador del catálogo.")] = None,
    comuna: Annotated[str | None, typer.Option(help="Comuna de la mesa (CUT).")] = None,
    puntaje: Annotated[
        list[str] | None, typer.Option(help="criterio=valor de 1 a 5 (repetible).")
    ] = None,
    recursos: Annotated[str | None, typer.Option(help="Recursos y potencialidades.")] = None,
) -> None:
    """Agregar una fila a la matriz (coordinación)."""
    from geo_service.services.mesas import add

    body = {
        "necesidad": necesidad,
        "desafio": desafio,
        "indicador": indicador,
        "comuna": comuna,
        "puntajes": _scores(puntaje or []),
        "recursos": recursos,
    }
    with _member(mesa_id, token) as (store, records, caller):
        row = add(store, records, caller, "fila_matriz", body)
    console.print(
        f"fila {row['id']} agregada; prioridad: {row['prioridad']['valor'] or 'sin dato'}"
    )


@app.command("compromiso")
def add_commitment(
    mesa_id: MesaArgument,
    token: TokenOption,
    responsable: Annotated[int, typer.Option(help="Id del miembro responsable.")],
    descripcion: Annotated[str, typer.Option(help="Qué se compromete.")],
    vence: Annotated[str, typer.Option(help="Fecha de vencimiento, AAAA-MM-DD.")],
    iniciativa: Annotated[int | None, typer.Option(help="Id de la iniciativa.")] = None,
) -> None:
    """Agregar un compromiso (coordinación; un miembro, solo los propios)."""
    from geo_service.services.mesas import add

    try:
        due = date.fromisoformat(vence)
    except ValueError:
        raise UserError(f"fecha no válida {vence!r}: use AAAA-MM-DD") from None
    body = {
        "responsable": responsable,
        "descripcion": descripcion,
        "vence": due,
        "iniciativa_id": iniciativa,
    }
    with _member(mesa_id, token) as (store, records, caller):
        row = add(store, records, caller, "compromiso", body)
    console.print(f"compromiso {row['id']} agregado (vence {row['vence']})")


@app.command("compromisos")
def commitments(mesa_id: MesaArgument, token: TokenOption) -> None:
    """Los compromisos, con los atrasados en rojo."""
    from geo_service.services.mesas import rows_view

    with _member(mesa_id, token) as (_, records, _caller):
        rows = rows_view(records, mesa_id, "compromiso")
    table = Table(title="Compromisos")
    for column in ("id", "responsable", "descripción", "vence", "estado"):
        table.add_column(column)
    for row in rows:
        state = "[red]atrasado[/red]" if row["atrasado"] else row["estado"]
        table.add_row(
            str(row["id"]), str(row["responsable"]), escape(row["descripcion"]), row["vence"], state
        )
    console.print(table)


@app.command("seguimiento")
def add_follow_up(
    mesa_id: MesaArgument,
    token: TokenOption,
    avance: Annotated[str, typer.Option(help="El avance.")],
    nudos_criticos: Annotated[str | None, typer.Option(help="Nudos críticos.")] = None,
    soluciones: Annotated[str | None, typer.Option(help="Soluciones acordadas.")] = None,
    proximo_paso: Annotated[str | None, typer.Option(help="Próximo paso.")] = None,
    compromiso: Annotated[int | None, typer.Option(help="Id del compromiso.")] = None,
) -> None:
    """Registrar una entrada de seguimiento (coordinación o miembro)."""
    from geo_service.services.mesas import add

    body = {
        "avance": avance,
        "nudos_criticos": nudos_criticos,
        "soluciones": soluciones,
        "proximo_paso": proximo_paso,
        "compromiso_id": compromiso,
    }
    with _member(mesa_id, token) as (store, records, caller):
        row = add(store, records, caller, "seguimiento", body)
    console.print(f"entrada de seguimiento {row['id']} registrada ({row['fecha']})")


@app.command("historial")
def history(mesa_id: MesaArgument, token: TokenOption) -> None:
    """Cada escritura de la mesa: quién, cuándo, qué registro y qué hizo."""
    from geo_service.services.mesas import history_view

    with _member(mesa_id, token) as (_, records, _caller):
        entries = history_view(records, mesa_id)
    table = Table(title="Historial")
    for column in ("#", "cuándo (UTC)", "quién", "registro", "acción"):
        table.add_column(column)
    for entry in entries:
        what = entry["entidad"] + (f" {entry['entidad_id']}" if entry["entidad_id"] else "")
        table.add_row(
            str(entry["id"]), entry["en"][:19], escape(entry["quien"]), what, entry["accion"]
        )
    console.print(table)


@app.command("exportar")
def export(
    mesa_id: MesaArgument,
    token: TokenOption,
    salida: Annotated[Path, typer.Option(help="Archivo .xlsx a escribir.")],
) -> None:
    """Exportar la matriz, los compromisos y el seguimiento a un libro Excel."""
    from geo_service.services.mesa_workbook import export_workbook

    with _member(mesa_id, token) as (_, records, _caller):
        salida.write_bytes(export_workbook(records, mesa_id))
    console.print(f"libro escrito en {salida}")


@app.command("importar")
def import_(
    mesa_id: MesaArgument,
    archivo: Annotated[Path, typer.Argument(help="El libro .xlsx exportado y editado.")],
    token: TokenOption,
    aplicar: Annotated[
        bool, typer.Option(help="Aplicar los cambios (sin esta opción, solo la vista previa).")
    ] = False,
) -> None:
    """Importar un libro editado: vista previa de los cambios, o aplicarlos todos o ninguno."""
    from geo_service.services.mesa_workbook import import_workbook

    if not archivo.is_file():
        raise UserError(f"no existe el archivo {archivo}")
    with _member(mesa_id, token) as (store, records, caller):
        outcome = import_workbook(store, records, caller, archivo.read_bytes(), apply=aplicar)
    verb = "aplicados" if outcome["aplicado"] else "por aplicar (use --aplicar)"
    console.print(f"{len(outcome['cambios'])} cambios {verb}")
    for change in outcome["cambios"]:
        console.print(
            f"  hoja {change['hoja']}, fila {change['fila']}: {change['accion']} "
            f"{escape(str(change['despues']))}"
        )


@app.command("reporte")
def report(
    mesa_id: MesaArgument,
    token: TokenOption,
    salida: Annotated[Path, typer.Option(help="Archivo .html a escribir.")],
) -> None:
    """Escribir el reporte de avance imprimible (HTML)."""
    from geo_service.services.mesas import report_html

    with _member(mesa_id, token) as (store, records, _caller):
        salida.write_text(report_html(store, records, mesa_id), encoding="utf-8")
    console.print(f"reporte escrito en {salida}")


@app.command("ejemplo")
def example() -> None:
    """Crear la mesa de EJEMPLO (San Pedro, 2023) con hechos de los documentos semilla."""
    from geo_service.services.mesa_example import create_example

    with opened_store(settings_from_env()) as store:
        created = create_example(store, mesa_records(store))
    console.print(f"mesa de ejemplo: {created['id']}")
    console.print(f"token de coordinación (guárdelo: no se vuelve a mostrar): {created['token']}")


@app.command("cartera")
def portfolio(
    mesa_id: MesaArgument,
    conjunto: Annotated[str, typer.Argument(help="Conjunto project_sites ya cargado.")],
    token: TokenOption,
    aplicar: Annotated[
        bool, typer.Option(help="Aplicar (sin esta opción, solo la vista previa).")
    ] = False,
) -> None:
    """Importar como iniciativas los proyectos de una cartera cargada (todos o ninguno)."""
    from geo_service.services.mesa_portfolio import import_portfolio

    with _member(mesa_id, token) as (store, records, caller):
        outcome = import_portfolio(store, records, caller, conjunto, apply=aplicar)
    verb = "importadas" if outcome["aplicado"] else "por importar (use --aplicar)"
    console.print(f"{len(outcome['iniciativas'])} iniciativas {verb}")
    for initiative in outcome["iniciativas"]:
        console.print(f"  {initiative['origen']}: {escape(str(initiative['nombre']))}")
    if outcome["ya_importados"]:
        console.print(f"{len(outcome['ya_importados'])} proyectos ya estaban importados")
