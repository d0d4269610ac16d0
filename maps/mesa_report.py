"""The printable progress report of a Mesa de Convergencia (*reportabilidad*), and its page.

Milestones, money by typology, stage and source, the private contribution, commitments met
on time, the gaps each initiative addresses, the matrix by combined priority and the latest
follow-up. Built from the API's own views of the Mesa (one answer for every surface); every
number is formatted by :mod:`analysis.formatting`, every missing value says "sin dato".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from analysis.formatting import format_day, format_integer, format_number, format_share
from analysis.mesas import commitment_record, money_by, private_share
from domain.labels import MISSING
from domain.projects import TYPOLOGY_LABELS
from maps.assets import STATIC_URL, TEMPLATE_DIR

_templates = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(["html"])
)
#: Latest follow-up entries the report shows.
FOLLOW_UP_SHOWN = 10


def _clp(amount: Mapping[str, Any]) -> str:
    """A summed amount in CLP, saying how many initiatives had none."""
    text = MISSING if amount["total"] is None else f"$ {format_integer(amount['total'])}"
    if amount["sin_monto"]:
        text += f" ({amount['sin_monto']} sin monto)"
    return text


def _money_rows(
    groups: Sequence[Mapping[str, Any]], labels: Mapping[str, str]
) -> list[dict[str, str]]:
    return [
        {
            "grupo": MISSING if g["grupo"] is None else labels.get(g["grupo"], str(g["grupo"])),
            "iniciativas": format_integer(g["iniciativas"]),
            "publico": _clp(g["publico"]),
            "privado": _clp(g["privado"]),
        }
        for g in groups
    ]


def _day(text: Any) -> str:
    return MISSING if not text else format_day(date.fromisoformat(str(text)[:10]))


def _gaps_addressed(
    initiative: Mapping[str, Any],
    rows: Mapping[int, Mapping[str, Any]],
    challenge_labels: Mapping[str, str],
) -> str:
    """The needs an initiative addresses, with the gap of each one's challenge."""
    parts = []
    for row_id in initiative.get("filas_matriz") or []:
        row = rows.get(int(row_id))
        if row is None:
            continue
        gap = row.get("brecha") or {}
        challenge = row.get("desafio")
        where = ""
        if challenge:
            place = gap.get("lugar")
            total = gap.get("de")
            rank = MISSING if place is None else f"lugar {format_integer(place)}"
            if place is not None and total is not None:
                rank += f" de {format_integer(total)}"
            tier = gap.get("nivel_etiqueta") or MISSING
            where = f" — {challenge_labels.get(challenge, challenge)}: {tier}, {rank}"
        parts.append(f"{row['necesidad']}{where}")
    return "; ".join(parts) or "no vinculada a la matriz"


def mesa_report_html(
    mesa: Mapping[str, Any],
    matrix: Mapping[str, Any],
    initiatives: Sequence[Mapping[str, Any]],
    commitments: Sequence[Mapping[str, Any]],
    follow_up: Sequence[Mapping[str, Any]],
    milestones: Sequence[Mapping[str, Any]],
    history: Sequence[Mapping[str, Any]],
    *,
    today: date,
    commune_names: Mapping[str, str],
    challenge_labels: Mapping[str, str],
) -> str:
    """The report as one printable HTML page (names from the Mesa are escaped)."""
    members = {int(m["id"]): m for m in mesa["miembros"]}
    rows = {int(r["id"]): r for r in matrix["filas"]}
    record = commitment_record(commitments, history, today)
    share = private_share(initiatives)
    stages = {s: s.capitalize() for s in {str(i.get("etapa")) for i in initiatives}}
    ranked = sorted(
        matrix["filas"],
        key=lambda r: (r["prioridad"]["valor"] is None, -(r["prioridad"]["valor"] or 0.0)),
    )
    return _templates.get_template("mesa_reporte.html").render(
        nombre=mesa["nombre"],
        comunas=[f"{commune_names.get(c, MISSING)} ({c})" for c in mesa["comunas"]],
        desde=_day(mesa.get("fecha_inicio")),
        hasta=_day(mesa.get("fecha_termino")),
        hoy=format_day(today),
        miembros=[
            {**m, "creado": _day(m["creado"])} for m in members.values() if m["retirado"] is None
        ],
        hitos=[
            {**h, "fecha": _day(h["fecha"])}
            for h in sorted(milestones, key=lambda h: str(h["fecha"]))
        ],
        por_tipologia=_money_rows(money_by(initiatives, "tipologia"), TYPOLOGY_LABELS),
        por_etapa=_money_rows(money_by(initiatives, "etapa"), stages),
        por_fuente=_money_rows(money_by(initiatives, "fuente_financiamiento"), {}),
        aporte_privado=format_share(share["valor"], 1),
        aporte_privado_base=share,
        compromisos=record,
        cumplimiento=format_share(
            record["a_tiempo"] / (record["a_tiempo"] + record["con_atraso"])
            if record["a_tiempo"] + record["con_atraso"]
            else None
        ),
        iniciativas=[
            {
                "nombre": i["nombre"],
                "tipologia": TYPOLOGY_LABELS.get(str(i["tipologia"]), str(i["tipologia"])),
                "etapa": i["etapa"],
                "brechas": _gaps_addressed(i, rows, challenge_labels),
            }
            for i in initiatives
        ],
        matriz=[
            {
                "necesidad": r["necesidad"],
                "desafio": challenge_labels.get(r["desafio"], MISSING) if r["desafio"] else "—",
                "prioridad": format_number(r["prioridad"]["valor"], 2),
                "motivo": r["prioridad"]["motivo"],
                "recursos": r["recursos"] or "—",
            }
            for r in ranked
        ],
        seguimiento=[
            {
                **entry,
                "fecha": _day(entry["fecha"]),
                "autor": members.get(int(entry["autor"]), {}).get("nombre", MISSING),
            }
            for entry in sorted(follow_up, key=lambda e: str(e["fecha"]), reverse=True)[
                :FOLLOW_UP_SHOWN
            ]
        ],
        regla=matrix["regla"],
    )


def mesa_page_html(mesa_id: str) -> str:
    """The Mesa's page (a shell: its script reads everything with the member's token)."""
    return _templates.get_template("mesa.html").render(mesa_id=mesa_id, static_url=STATIC_URL)
