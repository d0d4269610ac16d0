"""A Mesa de Convergencia's workspace, shared by the API and the CLI.

Who may do what: the service's API key creates Mesas; each member holds a personal token
(shown once, stored as its sha256) with a role: ``coordinacion`` edits the whole Mesa,
``miembro`` edits its own commitments and writes follow-up, ``lectura`` only reads. A token
opens its own Mesa only. Every write goes through :mod:`layers.mesas`, which logs it once in
the Mesa's history and refuses a change based on a stale version.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from analysis import load_catalogue
from analysis.mesas import (
    checked_criteria,
    checked_scores,
    combined_priority,
    default_criteria,
    is_overdue,
)
from domain.errors import (
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    StaleVersionError,
    UnauthenticatedError,
    VersionRequiredError,
)
from domain.mesas import (
    ACTOR_TYPES,
    COMMITMENT_STATES,
    MILESTONE_KINDS,
    PROJECT_STAGES,
    PROJECT_TYPOLOGIES,
    ROLES,
)
from domain.regions import region_of
from layers.mesas import Actor, MesaRecords, MesaWrite
from layers.runs import NATIONAL_SCOPE, RunRecord
from layers.stores import Store

#: Bytes of randomness of a member's token.
TOKEN_BYTES = 32
#: Who writes when the service's API key does (it only creates Mesas).
API_KEY_ACTOR = Actor(member_id=None, label="clave de API del servicio")
#: The combined priority's rule, as the matrix states it to its readers.
PRIORITY_RULE = (
    "prioridad = suma de (peso × puntaje) / suma de pesos, con puntajes de 1 a 5; "
    "sin dato mientras falte puntuar algún criterio"
)
#: Time zone of the Mesas' dates (a commitment is late the day after it was due, in Chile).
CHILE = ZoneInfo("America/Santiago")
COORDINATION = "coordinacion"
MEMBER = "miembro"


def today() -> date:
    """Today's date in Chile."""
    return datetime.now(CHILE).date()


def token_hash(token: str) -> str:
    """The stored form of a token (sha256, hex): the token itself is never stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_hash(token)


# -- who may do what -------------------------------------------------------------------------


def authenticate(records: MesaRecords, mesa_id: str, token: str | None) -> dict[str, Any]:
    """The member holding ``token``, if it opens Mesa ``mesa_id``.

    Raises
    ------
    domain.errors.UnauthenticatedError
        No token, or a token of nobody (or of a retired member): 401.
    domain.errors.ForbiddenError
        A valid token of another Mesa: 403 (it never reads or writes this one).
    """
    if not token:
        raise UnauthenticatedError(
            "falta la cabecera Authorization: Bearer <token> con el token personal de un "
            "miembro de la mesa"
        )
    member = records.member_by_token_hash(token_hash(token))
    if member is None or member["retirado"] is not None:
        raise UnauthenticatedError("el token no corresponde a ningún miembro vigente de una mesa")
    # The hash was looked up by equality; compare again in constant time for good measure.
    if not hmac.compare_digest(member["token_hash"], token_hash(token)):
        raise UnauthenticatedError("el token no corresponde a ningún miembro vigente de una mesa")
    if member["mesa_id"] != mesa_id:
        raise ForbiddenError("este token es de otra mesa: no abre los datos de esta mesa")
    return member


def require_role(member: Mapping[str, Any], roles: tuple[str, ...], action: str) -> None:
    """Raise :class:`ForbiddenError` unless the member's role is one of ``roles``."""
    if member["rol"] not in roles:
        allowed = " o ".join(roles)
        raise ForbiddenError(
            f"su rol ({member['rol']}) no permite {action}; hace falta el rol {allowed}"
        )


def actor_of(member: Mapping[str, Any]) -> Actor:
    """The history's "who" for a member."""
    return Actor(member_id=int(member["id"]), label=f"{member['nombre']} ({member['rol']})")


# -- checks of what a request says -----------------------------------------------------------


def _one_of(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise InvalidInputError(
            f"{what} desconocido {value!r}; los valores son {', '.join(allowed)}"
        )
    return value


def _text(value: Any, what: str) -> str:
    text = str(value or "").strip()
    if not text:
        raise InvalidInputError(f"falta {what}")
    return text


def _optional_text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def checked_communes(store: Store, cuts: list[str]) -> list[str]:
    """The Mesa's communes, each a commune of the loaded boundaries."""
    wanted = sorted(set(cuts))
    if not wanted:
        raise InvalidInputError("la mesa necesita al menos una comuna (código CUT)")
    known = store.read("communes", cuts=wanted, columns=["cut"])
    unknown = sorted(set(wanted) - set(known["cut"].astype(str)))
    if unknown:
        raise InvalidInputError(f"comuna desconocida: {', '.join(unknown)}")
    return wanted


def _checked_run(store: Store, run_id: str | None) -> str | None:
    if run_id is not None:
        store.run(run_id)  # NotFound (404) naming the run when it is not stored
    return run_id


def _existing(write: MesaWrite, entity: str, row_id: int | None, what: str) -> int | None:
    if row_id is None:
        return None
    row = next((r for r in write.rows(entity) if r["id"] == row_id), None)
    if row is None or row["retirado"] is not None:
        raise InvalidInputError(f"{what} {row_id} no existe en esta mesa")
    return row_id


# -- views -------------------------------------------------------------------------------------


def etag(entity: str, row: Mapping[str, Any]) -> str:
    """The ``ETag`` of a row: its entity, id and version."""
    return f'"{entity}-{row.get("id", row.get("mesa_id"))}-v{row["version"]}"'


def expected_version(entity: str, row_id: int | str, if_match: str | None) -> int:
    """The version an ``If-Match`` header says a change is based on.

    Raises
    ------
    domain.errors.VersionRequiredError
        No ``If-Match`` (428): a change must say which version it saw.
    domain.errors.StaleVersionError
        A tag of another row or not made by this service (412).
    """
    if not if_match:
        raise VersionRequiredError(
            "falta la cabecera If-Match con la ETag que entregó la lectura; lea el registro y "
            "repita el cambio con esa ETag"
        )
    prefix = f'"{entity}-{row_id}-v'
    for tag in (t.strip().removeprefix("W/") for t in if_match.split(",")):
        if tag.startswith(prefix) and tag.endswith('"') and tag[len(prefix) : -1].isdigit():
            return int(tag[len(prefix) : -1])
    raise StaleVersionError("la cabecera If-Match no corresponde a la versión de este registro")


def member_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """A member as shown (never the token's hash)."""
    return {k: v for k, v in row.items() if k not in ("token_hash", "mesa_id")}


def _view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "mesa_id"}


def _current(rows: list[dict[str, Any]], retired: bool) -> list[dict[str, Any]]:
    return rows if retired else [r for r in rows if r["retirado"] is None]


def mesa_view(records: MesaRecords, mesa_id: str) -> dict[str, Any]:
    """The Mesa: its row, communes and members."""
    mesa = records.mesa(mesa_id)
    return {
        "id": mesa_id,
        **{k: v for k, v in mesa.items() if k != "mesa_id"},
        "comunas": records.communes(mesa_id),
        "miembros": [member_view(m) for m in records.rows(mesa_id, "miembro")],
    }


def matrix_view(records: MesaRecords, mesa_id: str, retired: bool = False) -> dict[str, Any]:
    """The matrix: criteria with weights, the rule, and each row with its combined priority."""
    criteria = records.mesa(mesa_id)["criterios"]
    rows = [
        {**_view(row), "prioridad": combined_priority(row["puntajes"], criteria)}
        for row in _current(records.rows(mesa_id, "fila_matriz"), retired)
    ]
    return {"criterios": criteria, "regla": PRIORITY_RULE, "filas": rows}


def commitment_view(row: Mapping[str, Any], on: date | None = None) -> dict[str, Any]:
    """A commitment with ``atrasado`` derived from its due date (never stored)."""
    late = is_overdue(str(row["estado"]), date.fromisoformat(str(row["vence"])), on or today())
    return {**_view(row), "atrasado": late}


def rows_view(
    records: MesaRecords, mesa_id: str, entity: str, retired: bool = False
) -> list[dict[str, Any]]:
    """Rows of an entity as shown (commitments with ``atrasado``)."""
    rows = _current(records.rows(mesa_id, entity), retired)
    if entity == "compromiso":
        return [commitment_view(r) for r in rows]
    return [_view(r) for r in rows]


# -- writes ------------------------------------------------------------------------------------


def create_mesa(store: Store, records: MesaRecords, body: Mapping[str, Any]) -> dict[str, Any]:
    """Create a Mesa and its first coordination member; return the id and the token (once)."""
    communes = checked_communes(store, list(body.get("comunas") or []))
    criteria = checked_criteria(body.get("criterios") or default_criteria())
    coordinator = dict(body.get("coordinador") or {})
    token, hashed = _new_token()
    mesa_id = secrets.token_hex(8)
    _check_dates(body.get("fecha_inicio"), body.get("fecha_termino"))
    values = {
        "nombre": _text(body.get("nombre"), "el nombre de la mesa"),
        "fecha_inicio": body.get("fecha_inicio"),
        "fecha_termino": body.get("fecha_termino"),
        "corrida": _checked_run(store, body.get("corrida")),
        "criterios": criteria,
    }
    with records.writing(mesa_id, API_KEY_ACTOR, new=True) as write:
        write.insert("mesa", values)
        write.set_communes(communes)
        member = write.insert(
            "miembro",
            {
                "nombre": _text(coordinator.get("nombre") or "Coordinación", "el nombre"),
                "tipo_actor": _one_of(
                    coordinator.get("tipo_actor") or "fundación", ACTOR_TYPES, "tipo de actor"
                ),
                "organizacion": _text(
                    coordinator.get("organizacion") or "sin organización indicada", "organización"
                ),
                "rol": COORDINATION,
                "token_hash": hashed,
            },
        )
    return {"id": mesa_id, "token": token, "miembro": member_view(member)}


def _check_dates(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise InvalidInputError("la fecha de término es anterior a la de inicio")


def add_member(
    records: MesaRecords, caller: Mapping[str, Any], body: Mapping[str, Any]
) -> dict[str, Any]:
    """Add a member (coordination only); the answer carries its token, shown this once."""
    require_role(caller, (COORDINATION,), "agregar miembros")
    token, hashed = _new_token()
    with records.writing(caller["mesa_id"], actor_of(caller)) as write:
        member = write.insert(
            "miembro",
            {
                "nombre": _text(body.get("nombre"), "el nombre del miembro"),
                "tipo_actor": _one_of(str(body.get("tipo_actor")), ACTOR_TYPES, "tipo de actor"),
                "organizacion": _text(body.get("organizacion"), "la organización"),
                "rol": _one_of(str(body.get("rol") or MEMBER), ROLES, "rol"),
                "token_hash": hashed,
            },
        )
    return {**member_view(member), "token": token}


def _gap(
    store: Store, run_id: str | None, cut: str | None, challenge: str | None
) -> dict[str, Any] | None:
    """The data-driven gap of a commune for a challenge, copied from a stored run.

    The run named by the Mesa, else the newest national one; the copy records which, so the
    matrix keeps saying where its figures came from even after newer runs.
    """
    if challenge is None:
        return None
    base: dict[str, Any] = {"desafio": challenge, "comuna": cut, "corrida": run_id}
    if cut is None:
        return {**base, "motivo": "sin dato: la fila no nombra una comuna de la mesa"}
    try:
        run: RunRecord = store.run(run_id) if run_id else store.newest_run(NATIONAL_SCOPE)
    except NotFoundError:
        return {**base, "motivo": "sin dato: no hay una corrida de puntajes guardada"}
    found = store.read(
        "score_results",
        cuts=[cut],
        equals={"run_id": run.run_id, "challenge": challenge},
        columns=["score", "rank", "tier", "tier_label", "explanation"],
    )
    base["corrida"] = run.run_id
    if found.empty:
        return {**base, "motivo": f"sin dato: la corrida no puntuó esta comuna ({region_of(cut)})"}
    result = found.iloc[0]

    def value(name: str) -> Any:
        item = result[name]
        return None if item is None or item != item else item  # NaN is missing, never zero

    score = value("score")
    return {
        **base,
        "puntaje": None if score is None else float(score),
        "nivel": None if value("tier") is None else int(value("tier")),
        "nivel_etiqueta": value("tier_label"),
        "lugar": None if value("rank") is None else int(value("rank")),
        "de": run.ranked_counts.get(challenge),
        "motivos": value("explanation"),
        "motivo": None if score is not None else "sin dato: la comuna no tiene puntaje",
    }


def _catalogue_link(challenge: str | None, indicator: str | None) -> str | None:
    """The challenge a row speaks of (its own, or its indicator's), checked on the catalogue."""
    catalogue = load_catalogue()
    if challenge is not None and challenge not in catalogue.score_ids:
        raise InvalidInputError(
            f"desafío desconocido {challenge!r}; los desafíos son {', '.join(catalogue.score_ids)}"
        )
    if indicator is not None:
        match = next((i for i in catalogue.indicators if i.id == indicator), None)
        if match is None:
            raise InvalidInputError(f"indicador desconocido {indicator!r} en el catálogo")
        if challenge is not None and challenge != match.challenge:
            raise InvalidInputError(
                f"el indicador {indicator!r} es del desafío {match.challenge!r}, "
                f"no de {challenge!r}"
            )
        return match.challenge
    return challenge


def add_matrix_row(
    store: Store, records: MesaRecords, caller: Mapping[str, Any], body: Mapping[str, Any]
) -> dict[str, Any]:
    """Add a need/problem to the matrix (coordination), its gap pre-filled from the run."""
    require_role(caller, (COORDINATION,), "editar la matriz de priorización")
    mesa_id = caller["mesa_id"]
    mesa = records.mesa(mesa_id)
    communes = records.communes(mesa_id)
    cut = body.get("comuna") or (communes[0] if len(communes) == 1 else None)
    if cut is not None and cut not in communes:
        raise InvalidInputError(f"la comuna {cut} no es de esta mesa ({', '.join(communes)})")
    indicator = _optional_text(body.get("indicador"))
    challenge = _catalogue_link(_optional_text(body.get("desafio")), indicator)
    values = {
        "necesidad": _text(body.get("necesidad"), "la necesidad o problema"),
        "desafio": challenge,
        "indicador": indicator,
        "comuna": cut,
        "brecha": _gap(store, mesa["corrida"], cut, challenge),
        "puntajes": checked_scores(dict(body.get("puntajes") or {}), mesa["criterios"]),
        "recursos": _optional_text(body.get("recursos")),
    }
    with records.writing(mesa_id, actor_of(caller)) as write:
        row = write.insert("fila_matriz", values)
    return {**_view(row), "prioridad": combined_priority(row["puntajes"], mesa["criterios"])}


def _amount(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError(f"{what} debe ser un entero de pesos no negativo")
    return value


def add_initiative(
    records: MesaRecords, caller: Mapping[str, Any], body: Mapping[str, Any]
) -> dict[str, Any]:
    """Add an initiative (coordination): typology, stage, amounts, place, matrix rows."""
    require_role(caller, (COORDINATION,), "registrar iniciativas")
    mesa_id = caller["mesa_id"]
    communes = records.communes(mesa_id)
    cut = body.get("comuna") or (communes[0] if len(communes) == 1 else None)
    if cut is not None and cut not in communes:
        raise InvalidInputError(f"la comuna {cut} no es de esta mesa ({', '.join(communes)})")
    lon, lat = body.get("lon"), body.get("lat")
    if (lon is None) != (lat is None):
        raise InvalidInputError("un punto necesita lon y lat, o ninguno de los dos")
    with records.writing(mesa_id, actor_of(caller)) as write:
        rows = [int(r) for r in body.get("filas_matriz") or []]
        for row_id in rows:
            _existing(write, "fila_matriz", row_id, "la fila de la matriz")
        initiative = write.insert(
            "iniciativa",
            {
                "nombre": _text(body.get("nombre"), "el nombre de la iniciativa"),
                "tipologia": _one_of(
                    str(body.get("tipologia")).replace(" ", "_"), PROJECT_TYPOLOGIES, "tipología"
                ),
                "etapa": _one_of(str(body.get("etapa") or "idea"), PROJECT_STAGES, "etapa"),
                "monto_publico_clp": _amount(body.get("monto_publico_clp"), "el monto público"),
                "monto_privado_clp": _amount(body.get("monto_privado_clp"), "el monto privado"),
                "fuente_financiamiento": _optional_text(body.get("fuente_financiamiento")),
                "beneficiarios": _amount(body.get("beneficiarios"), "beneficiarios"),
                "comuna": cut,
                "lon": lon,
                "lat": lat,
                "filas_matriz": sorted(set(rows)),
            },
        )
    return _view(initiative)


def _responsible(write: MesaWrite, caller: Mapping[str, Any], member_id: int) -> int:
    """The commitment's responsible member: any for coordination, oneself for a member."""
    if caller["rol"] != COORDINATION and member_id != caller["id"]:
        raise ForbiddenError(
            "su rol (miembro) solo permite compromisos propios: responsable debe ser su id "
            f"({caller['id']})"
        )
    _existing(write, "miembro", member_id, "el miembro")
    return member_id


def add_commitment(
    records: MesaRecords, caller: Mapping[str, Any], body: Mapping[str, Any]
) -> dict[str, Any]:
    """Add a commitment (coordination for anyone; a member for itself)."""
    require_role(caller, (COORDINATION, MEMBER), "registrar compromisos")
    with records.writing(caller["mesa_id"], actor_of(caller)) as write:
        row = write.insert(
            "compromiso",
            {
                "responsable": _responsible(write, caller, int(body["responsable"])),
                "descripcion": _text(body.get("descripcion"), "la descripción del compromiso"),
                "vence": body["vence"],
                "estado": _one_of(
                    str(body.get("estado") or "pendiente"), COMMITMENT_STATES, "estado"
                ),
                "iniciativa_id": _existing(
                    write, "iniciativa", body.get("iniciativa_id"), "la iniciativa"
                ),
            },
        )
    return commitment_view(row)


def commitment(records: MesaRecords, mesa_id: str, commitment_id: int) -> dict[str, Any]:
    """One commitment as shown."""
    return commitment_view(records.row(mesa_id, "compromiso", commitment_id))


def change_commitment(
    records: MesaRecords,
    caller: Mapping[str, Any],
    commitment_id: int,
    version: int,
    changes: Mapping[str, Any],
) -> dict[str, Any]:
    """Change a commitment still at ``version`` (coordination, or its responsible member).

    ``retirado: true`` retires it (coordination only): it stays, with its history.
    """
    require_role(caller, (COORDINATION, MEMBER), "cambiar compromisos")
    with records.writing(caller["mesa_id"], actor_of(caller)) as write:
        current = write.row("compromiso", commitment_id)
        if caller["rol"] != COORDINATION and current["responsable"] != caller["id"]:
            raise ForbiddenError("su rol (miembro) solo permite cambiar sus propios compromisos")
        values: dict[str, Any] = {}
        if "responsable" in changes:
            values["responsable"] = _responsible(write, caller, int(changes["responsable"]))
        if "descripcion" in changes:
            values["descripcion"] = _text(changes["descripcion"], "la descripción")
        if "vence" in changes:
            values["vence"] = changes["vence"]
        if "estado" in changes:
            values["estado"] = _one_of(str(changes["estado"]), COMMITMENT_STATES, "estado")
        if "iniciativa_id" in changes:
            values["iniciativa_id"] = _existing(
                write, "iniciativa", changes["iniciativa_id"], "la iniciativa"
            )
        retire = bool(changes.get("retirado"))
        if retire:
            require_role(caller, (COORDINATION,), "retirar compromisos")
        if not values and not retire:
            raise InvalidInputError("el cambio no modifica ningún campo")
        row = write.update("compromiso", commitment_id, version, values, retire=retire)
    return commitment_view(row)


def add_follow_up(
    records: MesaRecords, caller: Mapping[str, Any], body: Mapping[str, Any]
) -> dict[str, Any]:
    """Add a follow-up entry (coordination or member), authored by the caller."""
    require_role(caller, (COORDINATION, MEMBER), "registrar seguimiento")
    with records.writing(caller["mesa_id"], actor_of(caller)) as write:
        row = write.insert(
            "seguimiento",
            {
                "fecha": body.get("fecha") or today(),
                "autor": caller["id"],
                "avance": _text(body.get("avance"), "el avance"),
                "nudos_criticos": _optional_text(body.get("nudos_criticos")),
                "soluciones": _optional_text(body.get("soluciones")),
                "proximo_paso": _optional_text(body.get("proximo_paso")),
                "compromiso_id": _existing(
                    write, "compromiso", body.get("compromiso_id"), "el compromiso"
                ),
                "iniciativa_id": _existing(
                    write, "iniciativa", body.get("iniciativa_id"), "la iniciativa"
                ),
            },
        )
    return _view(row)


def add_milestone(
    records: MesaRecords, caller: Mapping[str, Any], body: Mapping[str, Any]
) -> dict[str, Any]:
    """Add a milestone (coordination): signed agreement, Mesa session, initiative milestone."""
    require_role(caller, (COORDINATION,), "registrar hitos")
    with records.writing(caller["mesa_id"], actor_of(caller)) as write:
        row = write.insert(
            "hito",
            {
                "fecha": body["fecha"],
                "tipo": _one_of(str(body.get("tipo") or "otro"), MILESTONE_KINDS, "tipo de hito"),
                "titulo": _text(body.get("titulo"), "el título del hito"),
                "iniciativa_id": _existing(
                    write, "iniciativa", body.get("iniciativa_id"), "la iniciativa"
                ),
            },
        )
    return _view(row)


def history_view(records: MesaRecords, mesa_id: str) -> list[dict[str, Any]]:
    """The Mesa's history, oldest first."""
    return [_view(entry) for entry in records.history(mesa_id)]


def change_mesa(
    store: Store,
    records: MesaRecords,
    caller: Mapping[str, Any],
    version: int,
    changes: Mapping[str, Any],
) -> dict[str, Any]:
    """Change the Mesa's name, dates, run or criteria and weights (coordination)."""
    require_role(caller, (COORDINATION,), "editar la mesa")
    values: dict[str, Any] = {}
    if "nombre" in changes:
        values["nombre"] = _text(changes["nombre"], "el nombre de la mesa")
    for name in ("fecha_inicio", "fecha_termino"):
        if name in changes:
            values[name] = changes[name]
    if "corrida" in changes:
        values["corrida"] = _checked_run(store, changes["corrida"])
    if "criterios" in changes:
        values["criterios"] = checked_criteria(changes["criterios"] or [])
    if not values:
        raise InvalidInputError("el cambio no modifica ningún campo")
    with records.writing(caller["mesa_id"], actor_of(caller)) as write:
        current = write.row("mesa")
        merged = {**current, **{k: v for k, v in values.items()}}
        _check_dates(_as_date(merged["fecha_inicio"]), _as_date(merged["fecha_termino"]))
        write.update("mesa", None, version, values)
    return mesa_view(records, caller["mesa_id"])


def _as_date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value
