"""Pure rules of a Mesa de Convergencia's workspace: criteria, combined priority, lateness.

The combined priority of a row of the *matriz de priorización* is the weighted mean of its
participatory scores::

    prioridad = Σ peso_i · puntaje_i / Σ peso_i      (puntaje_i in 1–5, peso_i > 0)

so it stays on the 1–5 scale of the scores whatever weights the Mesa sets. A row with any
criterion still unscored has no priority (null, with the criteria missing named): missing is
never zero, and a partial mean would rank a half-scored row beside fully scored ones.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from analysis.formatting import format_number
from domain.errors import InvalidInputError
from domain.labels import MISSING
from domain.mesas import DEFAULT_CRITERIA, OPEN_COMMITMENT_STATES, SCORE_MAX, SCORE_MIN

_CRITERION_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
#: Most criteria a Mesa may score (a matrix is filled by hand in one session).
MAX_CRITERIA = 12


def default_criteria() -> list[dict[str, Any]]:
    """The participatory criteria of a new Mesa, as stored (id, nombre, peso)."""
    return [{"id": cid, "nombre": label, "peso": weight} for cid, label, weight in DEFAULT_CRITERIA]


def checked_criteria(criteria: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The Mesa's criteria, validated: distinct ids, a name, a positive finite weight.

    Raises
    ------
    domain.errors.InvalidInputError
        Naming the first problem found.
    """
    if not criteria:
        raise InvalidInputError("la matriz necesita al menos un criterio")
    if len(criteria) > MAX_CRITERIA:
        raise InvalidInputError(f"la matriz admite a lo más {MAX_CRITERIA} criterios")
    checked: list[dict[str, Any]] = []
    seen: set[str] = set()
    for criterion in criteria:
        cid = str(criterion.get("id", ""))
        if not _CRITERION_ID.match(cid):
            raise InvalidInputError(
                f"id de criterio no válido {cid!r}: use minúsculas, dígitos y guion bajo"
            )
        if cid in seen:
            raise InvalidInputError(f"el criterio {cid!r} está repetido")
        seen.add(cid)
        weight = criterion.get("peso", 1.0)
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not math.isfinite(weight)
            or weight <= 0
        ):
            raise InvalidInputError(f"el peso del criterio {cid!r} debe ser un número positivo")
        name = str(criterion.get("nombre") or cid.replace("_", " ").capitalize())
        checked.append({"id": cid, "nombre": name, "peso": float(weight)})
    return checked


def checked_scores(
    scores: Mapping[str, Any], criteria: Sequence[Mapping[str, Any]]
) -> dict[str, int | None]:
    """A row's scores, validated against the Mesa's criteria (unscored ones are null).

    Raises
    ------
    domain.errors.InvalidInputError
        An unknown criterion or a score that is not a whole number from 1 to 5.
    """
    known = [str(c["id"]) for c in criteria]
    unknown = sorted(set(scores) - set(known))
    if unknown:
        raise InvalidInputError(
            f"criterio desconocido: {', '.join(unknown)}; los criterios de la mesa son "
            f"{', '.join(known)}"
        )
    checked: dict[str, int | None] = {}
    for cid in known:
        value = scores.get(cid)
        if value is None:
            checked[cid] = None
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not (SCORE_MIN <= value <= SCORE_MAX)
        ):
            raise InvalidInputError(
                f"el puntaje de {cid!r} debe ser un entero de {SCORE_MIN} a {SCORE_MAX}"
            )
        checked[cid] = value
    return checked


def combined_priority(
    scores: Mapping[str, int | None], criteria: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The row's combined priority by the documented rule (module docstring).

    Returns
    -------
    dict
        ``valor`` (1–5, two decimals), ``texto`` (as people read it: ``3,75``, ``sin dato``)
        and ``motivo``: null when computed, otherwise why it is missing (criteria unscored).
    """
    scored = {cid: value for cid, value in scores.items() if value is not None}
    missing = [str(c["id"]) for c in criteria if str(c["id"]) not in scored]
    if missing:
        reason = f"sin dato: falta puntuar {', '.join(missing)}"
        return {"valor": None, "texto": MISSING, "motivo": reason}
    total_weight = sum(float(c["peso"]) for c in criteria)
    weighted = sum(float(c["peso"]) * scored[str(c["id"])] for c in criteria)
    value = round(weighted / total_weight, 2)
    return {"valor": value, "texto": format_number(value, 2), "motivo": None}


def is_overdue(state: str, due: date, today: date) -> bool:
    """Whether a commitment is late: still open (pendiente, en curso) after its due date."""
    return state in OPEN_COMMITMENT_STATES and due < today


def _amount_total(values: Sequence[int | None]) -> dict[str, Any]:
    known = [v for v in values if v is not None]
    return {"total": sum(known) if known else None, "sin_monto": len(values) - len(known)}


def money_by(initiatives: Sequence[Mapping[str, Any]], key: str) -> list[dict[str, Any]]:
    """Public and private amounts (CLP) of the initiatives grouped by ``key``.

    Each group says how many initiatives lack an amount (``sin_monto``): a missing amount is
    left out of the sum and counted, never added as zero. Initiatives without ``key`` are
    grouped under None. Groups come sorted by name, None last.
    """
    groups: dict[Any, list[Mapping[str, Any]]] = {}
    for initiative in initiatives:
        groups.setdefault(initiative.get(key), []).append(initiative)
    summary = []
    for name in sorted(groups, key=lambda g: (g is None, str(g))):
        members = groups[name]
        summary.append(
            {
                "grupo": name,
                "iniciativas": len(members),
                "publico": _amount_total([m.get("monto_publico_clp") for m in members]),
                "privado": _amount_total([m.get("monto_privado_clp") for m in members]),
            }
        )
    return summary


def private_share(initiatives: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Private share of the money of initiatives whose public and private amounts are known.

    Returns
    -------
    dict
        ``valor`` (0–1, or None when no initiative has both amounts or they add to nothing),
        ``iniciativas`` counted and ``sin_monto`` left out.
    """
    known = [
        (int(i["monto_publico_clp"]), int(i["monto_privado_clp"]))
        for i in initiatives
        if i.get("monto_publico_clp") is not None and i.get("monto_privado_clp") is not None
    ]
    total = sum(public + private for public, private in known)
    share = sum(private for _, private in known) / total if total > 0 else None
    return {"valor": share, "iniciativas": len(known), "sin_monto": len(initiatives) - len(known)}


def fulfilment_dates(history: Sequence[Mapping[str, Any]]) -> dict[int, date]:
    """When each commitment was first marked ``cumplido`` (UTC day of the history entry)."""
    fulfilled: dict[int, date] = {}
    for entry in history:
        if entry.get("entidad") != "compromiso" or entry.get("entidad_id") is None:
            continue
        after = entry.get("despues") or {}
        before = entry.get("antes") or {}
        if after.get("estado") == "cumplido" and before.get("estado") != "cumplido":
            day = date.fromisoformat(str(entry["en"])[:10])
            fulfilled.setdefault(int(entry["entidad_id"]), day)
    return fulfilled


def commitment_record(
    commitments: Sequence[Mapping[str, Any]],
    history: Sequence[Mapping[str, Any]],
    today: date,
) -> dict[str, int]:
    """How the Mesa keeps its word: commitments met on time, met late, late and still open.

    A commitment is met on time when it was first marked ``cumplido`` on or before its due
    date (by the history, which nobody edits).
    """
    fulfilled = fulfilment_dates(history)
    record = {"total": 0, "a_tiempo": 0, "con_atraso": 0, "atrasados": 0, "abiertos": 0}
    record["cancelados"] = 0
    for row in commitments:
        record["total"] += 1
        due = date.fromisoformat(str(row["vence"]))
        state = str(row["estado"])
        if state == "cumplido":
            met = fulfilled.get(int(row["id"]))
            record["a_tiempo" if met is not None and met <= due else "con_atraso"] += 1
        elif state == "cancelado":
            record["cancelados"] += 1
        elif is_overdue(state, due, today):
            record["atrasados"] += 1
        else:
            record["abiertos"] += 1
    return record


def progress_by_month(
    commitments: Sequence[Mapping[str, Any]],
    follow_up: Sequence[Mapping[str, Any]],
    history: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """The Mesa's progress over time: commitments met and follow-up entries, month by month.

    A commitment counts in the month it was first marked ``cumplido`` (by the history), and
    only while it is still ``cumplido``; a follow-up entry counts in the month of its date.
    Every month from the first to the last with either is listed (a month without any has
    zeros: those are counts of recorded events, not missing measurements).

    Returns
    -------
    list of dict
        ``{"mes": "AAAA-MM", "cumplidos", "cumplidos_acumulados", "seguimiento"}``, oldest
        first; empty when nothing was met nor followed up yet.
    """
    fulfilled = fulfilment_dates(history)
    met = [
        fulfilled[int(row["id"])]
        for row in commitments
        if row["estado"] == "cumplido" and int(row["id"]) in fulfilled
    ]
    entries = [date.fromisoformat(str(row["fecha"])) for row in follow_up]
    days = met + entries
    if not days:
        return []
    first, last = min(days), max(days)
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    total = 0
    series = []
    for year, month in months:
        met_now = sum(1 for day in met if (day.year, day.month) == (year, month))
        total += met_now
        series.append(
            {
                "mes": f"{year:04d}-{month:02d}",
                "cumplidos": met_now,
                "cumplidos_acumulados": total,
                "seguimiento": sum(1 for day in entries if (day.year, day.month) == (year, month)),
            }
        )
    return series
