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
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import shapely.geometry

from analysis import load_catalogue
from analysis.mesas import (
    checked_criteria,
    checked_scores,
    combined_priority,
    default_criteria,
    is_overdue,
    progress_by_month,
)
from domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    StaleVersionError,
    UnauthenticatedError,
    VersionRequiredError,
)
from domain.labels import MISSING
from domain.mesas import (
    ACTOR_TYPES,
    COMMITMENT_STATES,
    MILESTONE_KINDS,
    PROJECT_STAGES,
    PROJECT_TYPOLOGIES,
    ROLES,
)
from domain.projects import TYPOLOGY_LABELS
from layers.mesas import Actor, MesaRecords, MesaWrite
from layers.mesas.base import plain
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
#: Longitudes and latitudes of an initiative's point (continental and insular Chile).
CHILE_LON = (-110.0, -66.0)
CHILE_LAT = (-56.0, -17.0)
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
            f"valor {value!r} no admitido en {what}; los valores son {', '.join(allowed)}"
        )
    return value


#: Control characters (tab and line breaks aside): invisible, and refused by spreadsheets.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _optional_text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    if _CONTROL.search(text):
        raise InvalidInputError(
            f"el texto {text[:40]!r} tiene caracteres de control; escríbalo sin ellos"
        )
    return text or None


def _text(value: Any, what: str) -> str:
    text = _optional_text(value)
    if text is None:
        raise InvalidInputError(f"falta {what}")
    return text


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


# -- writes: one table of rules per entity -------------------------------------------------


@dataclass
class WriteContext:
    """What a field's check may consult: the store, the open write, the caller, the Mesa."""

    store: Store
    write: MesaWrite
    caller: Mapping[str, Any]
    mesa: dict[str, Any]
    communes: list[str]


Check = Callable[[WriteContext, Any], Any]


def _text_check(what: str) -> Check:
    return lambda _, value: _text(value, what)


def _optional(_: WriteContext, value: Any) -> str | None:
    return _optional_text(value)


def _choice(allowed: tuple[str, ...], what: str, default: str | None = None) -> Check:
    return lambda _, value: _one_of(str(value if value is not None else default), allowed, what)


def _as_is(_: WriteContext, value: Any) -> Any:
    return value


def _link(entity: str, what: str) -> Check:
    return lambda ctx, value: _existing(ctx.write, entity, value, what)


def _amount_check(what: str) -> Check:
    return lambda _, value: _amount(value, what)


def _commune(ctx: WriteContext, value: Any) -> str | None:
    """A commune of the Mesa (the only one by default)."""
    if value is None:
        return ctx.communes[0] if len(ctx.communes) == 1 else None
    if value not in ctx.communes:
        raise InvalidInputError(f"la comuna {value} no es de esta mesa ({', '.join(ctx.communes)})")
    return str(value)


def _responsible(ctx: WriteContext, value: Any) -> int:
    """The commitment's responsible member: any for coordination, oneself for a member."""
    member_id = int(value)
    if ctx.caller["rol"] != COORDINATION and member_id != ctx.caller["id"]:
        raise ForbiddenError(
            "su rol (miembro) solo permite compromisos propios: responsable debe ser su id "
            f"({ctx.caller['id']})"
        )
    _existing(ctx.write, "miembro", member_id, "el miembro")
    return member_id


def _scores(ctx: WriteContext, value: Any) -> dict[str, int | None]:
    return checked_scores(dict(value or {}), ctx.mesa["criterios"])


def _matrix_rows(ctx: WriteContext, value: Any) -> list[int]:
    rows = sorted({int(r) for r in value or []})
    for row_id in rows:
        _existing(ctx.write, "fila_matriz", row_id, "la fila de la matriz")
    return rows


def _typology(_: WriteContext, value: Any) -> str:
    return _one_of(str(value).replace(" ", "_"), PROJECT_TYPOLOGIES, "tipología")


def _run(ctx: WriteContext, value: Any) -> str | None:
    return _checked_run(ctx.store, value)


def _criteria(_: WriteContext, value: Any) -> list[dict[str, Any]]:
    return checked_criteria(value or [])


def _with_gap(ctx: WriteContext, row: dict[str, Any], changed: set[str]) -> dict[str, Any]:
    """A matrix row's challenge (its own or its indicator's) and gap, when they change."""
    if not changed & {"desafio", "indicador", "comuna"}:
        return {}
    # A new indicator alone brings its own challenge; a challenge sent is checked against it.
    own = row.get("desafio") if "desafio" in changed or "indicador" not in changed else None
    challenge = _catalogue_link(own, row.get("indicador"))
    return {
        "desafio": challenge,
        "brecha": _gap(ctx.store, ctx.mesa["corrida"], row.get("comuna"), challenge),
    }


def _point(_: WriteContext, row: dict[str, Any], changed: set[str]) -> dict[str, Any]:
    lon, lat = row.get("lon"), row.get("lat")
    if lon is None or lat is None:
        if lon is not None or lat is not None:
            raise InvalidInputError("un punto necesita lon y lat, o ninguno de los dos")
        return {}
    if not (CHILE_LON[0] <= lon <= CHILE_LON[1] and CHILE_LAT[0] <= lat <= CHILE_LAT[1]):
        raise InvalidInputError(
            f"el punto ({lon}, {lat}) está fuera de Chile; ¿están lon y lat invertidas?"
        )
    return {}


def _dates(_: WriteContext, row: dict[str, Any], changed: set[str]) -> dict[str, Any]:
    _check_dates(_as_date(row.get("fecha_inicio")), _as_date(row.get("fecha_termino")))
    return {}


def _keeps_a_coordinator(
    ctx: WriteContext, row: dict[str, Any], changed: set[str]
) -> dict[str, Any]:
    """A Mesa always keeps one coordinator in office (or nobody could add members)."""
    others = [
        m
        for m in ctx.write.rows("miembro")
        if m["rol"] == COORDINATION and m["retirado"] is None and m["id"] != row.get("id")
    ]
    leaves = row.get("rol") != COORDINATION or row.get("retirado") is not None
    if "id" in row and leaves and not others:
        raise ConflictError("la mesa quedaría sin coordinación: nombre antes a otra persona")
    return {}


def _no_check(_: WriteContext, row: dict[str, Any], changed: set[str]) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Rules:
    """Who may write an entity, and the check of each field a request may send."""

    fields: dict[str, Check]
    create: tuple[str, ...]
    change: tuple[str, ...]
    words: str
    #: Field naming the member whose row it is: a member changes only its own rows.
    owner: str | None = None
    #: Checks of the whole row (several fields together); they may add derived fields.
    finish: Callable[[WriteContext, dict[str, Any], set[str]], dict[str, Any]] = _no_check


BOTH = (COORDINATION, MEMBER)
RULES: dict[str, Rules] = {
    "mesa": Rules(
        {
            "nombre": _text_check("el nombre de la mesa"),
            "fecha_inicio": _as_is,
            "fecha_termino": _as_is,
            "corrida": _run,
            "criterios": _criteria,
        },
        (),
        (COORDINATION,),
        "la mesa",
        finish=_dates,
    ),
    "miembro": Rules(
        {
            "nombre": _text_check("el nombre del miembro"),
            "tipo_actor": _choice(ACTOR_TYPES, "tipo de actor"),
            "organizacion": _text_check("la organización"),
            "rol": _choice(ROLES, "rol", MEMBER),
        },
        (COORDINATION,),
        (COORDINATION,),
        "los miembros",
        finish=_keeps_a_coordinator,
    ),
    "fila_matriz": Rules(
        {
            "necesidad": _text_check("la necesidad o problema"),
            "desafio": _optional,
            "indicador": _optional,
            "comuna": _commune,
            "puntajes": _scores,
            "recursos": _optional,
        },
        (COORDINATION,),
        (COORDINATION,),
        "la matriz de priorización",
        finish=_with_gap,
    ),
    "iniciativa": Rules(
        {
            "nombre": _text_check("el nombre de la iniciativa"),
            "tipologia": _typology,
            "etapa": _choice(PROJECT_STAGES, "etapa", "idea"),
            "monto_publico_clp": _amount_check("el monto público"),
            "monto_privado_clp": _amount_check("el monto privado"),
            "fuente_financiamiento": _optional,
            "beneficiarios": _amount_check("beneficiarios"),
            "comuna": _commune,
            "lon": _as_is,
            "lat": _as_is,
            "filas_matriz": _matrix_rows,
        },
        (COORDINATION,),
        (COORDINATION,),
        "las iniciativas",
        finish=_point,
    ),
    "compromiso": Rules(
        {
            "responsable": _responsible,
            "descripcion": _text_check("la descripción del compromiso"),
            "vence": _as_is,
            "estado": _choice(COMMITMENT_STATES, "estado", "pendiente"),
            "iniciativa_id": _link("iniciativa", "la iniciativa"),
        },
        BOTH,
        BOTH,
        "los compromisos",
        owner="responsable",
    ),
    "seguimiento": Rules(
        {
            "fecha": lambda _, value: value or today(),
            "avance": _text_check("el avance"),
            "nudos_criticos": _optional,
            "soluciones": _optional,
            "proximo_paso": _optional,
            "compromiso_id": _link("compromiso", "el compromiso"),
            "iniciativa_id": _link("iniciativa", "la iniciativa"),
        },
        BOTH,
        BOTH,
        "el seguimiento",
        owner="autor",
    ),
    "hito": Rules(
        {
            "fecha": _as_is,
            "tipo": _choice(MILESTONE_KINDS, "tipo de hito", "otro"),
            "titulo": _text_check("el título del hito"),
            "iniciativa_id": _link("iniciativa", "la iniciativa"),
        },
        (COORDINATION,),
        (COORDINATION,),
        "los hitos",
    ),
}


def _checked(ctx: WriteContext, rules: Rules, body: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - set(rules.fields))
    if unknown:
        raise InvalidInputError(f"campo desconocido: {', '.join(unknown)}")
    return {name: rules.fields[name](ctx, value) for name, value in body.items()}


@contextmanager
def writing_context(
    store: Store, records: MesaRecords, caller: Mapping[str, Any]
) -> Iterator[WriteContext]:
    """One write of the caller's Mesa, with what the field checks consult."""
    mesa_id = caller["mesa_id"]
    with records.writing(mesa_id, actor_of(caller)) as write:
        yield WriteContext(store, write, caller, write.row("mesa"), records.communes(mesa_id))


def view_of(entity: str, row: Mapping[str, Any], mesa: Mapping[str, Any]) -> dict[str, Any]:
    """A row as the API shows it (derived fields added, private ones left out)."""
    if entity == "compromiso":
        return commitment_view(row)
    if entity == "miembro":
        return member_view(row)
    if entity == "fila_matriz":
        return {**_view(row), "prioridad": combined_priority(row["puntajes"], mesa["criterios"])}
    return _view(row)


def add_in(
    ctx: WriteContext,
    entity: str,
    body: Mapping[str, Any],
    recorded: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], str | None]:
    """Add a row inside an open write; return it and, for a member, its new token.

    ``recorded`` are fields the service sets itself (an imported initiative's ``origen``).
    """
    rules = RULES[entity]
    require_role(ctx.caller, rules.create, f"escribir en {rules.words}")
    token = None
    values = _checked(ctx, rules, {name: body.get(name) for name in rules.fields})
    if rules.owner == "autor":
        values["autor"] = ctx.caller["id"]
    if entity == "miembro":
        token, values["token_hash"] = _new_token()
    values.update(rules.finish(ctx, values, set(values)))
    values.update(recorded or {})
    return ctx.write.insert(entity, values), token


def change_in(
    ctx: WriteContext,
    entity: str,
    row_id: int | None,
    version: int,
    changes: Mapping[str, Any],
) -> dict[str, Any]:
    """Change a row inside an open write (see :func:`change`)."""
    rules = RULES[entity]
    caller = ctx.caller
    require_role(caller, rules.change, f"cambiar {rules.words}")
    fields = {k: v for k, v in changes.items() if k != "retirado"}
    retire = bool(changes.get("retirado"))
    if retire:
        require_role(caller, (COORDINATION,), f"retirar registros de {rules.words}")
    if not fields and not retire:
        raise InvalidInputError("el cambio no modifica ningún campo")
    current = ctx.write.row(entity, row_id)
    if current["retirado"] is not None:
        raise ConflictError("el registro está retirado: ya no se cambia")
    if rules.owner and caller["rol"] != COORDINATION and current[rules.owner] != caller["id"]:
        raise ForbiddenError(f"su rol (miembro) solo permite cambiar lo propio en {rules.words}")
    if entity == "fila_matriz" and isinstance(fields.get("puntajes"), Mapping):
        # Scores sent are merged into the row's: a criterion left out keeps its score (an
        # explicit null clears it); an unknown criterion is still refused by the check.
        kept = {c["id"]: current["puntajes"].get(c["id"]) for c in ctx.mesa["criterios"]}
        fields = {**fields, "puntajes": {**kept, **fields["puntajes"]}}
    values = _checked(ctx, rules, fields)
    merged = {**current, **{k: plain(v) for k, v in values.items()}}
    if retire:
        merged["retirado"] = ctx.write.now
    values.update(rules.finish(ctx, merged, set(values)))
    return ctx.write.update(entity, row_id, version, values, retire=retire)


def add(
    store: Store,
    records: MesaRecords,
    caller: Mapping[str, Any],
    entity: str,
    body: Mapping[str, Any],
) -> dict[str, Any]:
    """Add a row of ``entity`` if the caller's role allows it; log it once.

    A new member's answer carries its token, shown this once.
    """
    with writing_context(store, records, caller) as ctx:
        row, token = add_in(ctx, entity, body)
    view = view_of(entity, row, ctx.mesa)
    return view if token is None else {**view, "token": token}


def change(
    store: Store,
    records: MesaRecords,
    caller: Mapping[str, Any],
    entity: str,
    row_id: int | None,
    version: int,
    changes: Mapping[str, Any],
) -> dict[str, Any]:
    """Change a row still at ``version`` (only the fields sent); ``retirado: true`` retires it.

    A member changes only its own rows (its commitments, its follow-up entries); retiring is
    for coordination. Nothing is deleted: a retired row stays, with its history.
    """
    with writing_context(store, records, caller) as ctx:
        row = change_in(ctx, entity, row_id, version, changes)
    return view_of(entity, row, ctx.mesa if entity != "mesa" else row)


def item(records: MesaRecords, mesa_id: str, entity: str, row_id: int) -> dict[str, Any]:
    """One row as shown."""
    return view_of(entity, records.row(mesa_id, entity, row_id), records.mesa(mesa_id))


def create_mesa(store: Store, records: MesaRecords, body: Mapping[str, Any]) -> dict[str, Any]:
    """Create a Mesa and its first coordination member; return the id and the token (once)."""
    communes = checked_communes(store, list(body.get("comunas") or []))
    coordinator = dict(body.get("coordinador") or {})
    _check_dates(body.get("fecha_inicio"), body.get("fecha_termino"))
    token, hashed = _new_token()
    mesa_id = secrets.token_hex(8)
    values = {
        "nombre": _text(body.get("nombre"), "el nombre de la mesa"),
        "fecha_inicio": body.get("fecha_inicio"),
        "fecha_termino": body.get("fecha_termino"),
        "corrida": _checked_run(store, body.get("corrida")),
        "criterios": checked_criteria(body.get("criterios") or default_criteria()),
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


def _as_date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _amount(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError(f"{what} debe ser un entero no negativo")
    return value


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
        reason = f"sin dato: la corrida ({run.scope}) no puntuó la comuna {cut}"
        return {**base, "motivo": reason}
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


def history_view(records: MesaRecords, mesa_id: str) -> list[dict[str, Any]]:
    """The Mesa's history, oldest first."""
    return [_view(entry) for entry in records.history(mesa_id)]


def report_html(store: Store, records: MesaRecords, mesa_id: str) -> str:
    """The Mesa's printable progress report (see :mod:`maps.mesa_report`)."""
    from maps.mesa_report import mesa_report_html

    mesa = mesa_view(records, mesa_id)
    names = store.read("communes", cuts=mesa["comunas"], columns=["cut", "name"])
    catalogue = load_catalogue()
    labels = {c.id: c.label for c in catalogue.challenges}
    labels[catalogue.composite_id] = catalogue.composite_label
    return mesa_report_html(
        mesa,
        matrix_view(records, mesa_id),
        rows_view(records, mesa_id, "iniciativa"),
        rows_view(records, mesa_id, "compromiso"),
        rows_view(records, mesa_id, "seguimiento"),
        rows_view(records, mesa_id, "hito"),
        records.history(mesa_id),
        today=today(),
        commune_names=dict(zip(names["cut"].astype(str), names["name"].astype(str), strict=True)),
        challenge_labels=labels,
    )


def progress_view(records: MesaRecords, mesa_id: str) -> dict[str, Any]:
    """The Mesa's progress by month (commitments met, follow-up entries), from its records."""
    return {
        "meses": progress_by_month(
            rows_view(records, mesa_id, "compromiso"),
            rows_view(records, mesa_id, "seguimiento"),
            records.history(mesa_id),
        )
    }


def map_view(store: Store, records: MesaRecords, mesa_id: str, outlines: Any) -> dict[str, Any]:
    """The Mesa's communes with their composite gap, and its initiatives, as GeoJSON.

    Parameters
    ----------
    outlines : geopandas.GeoDataFrame
        The simplified commune outlines of the map (``cut``, ``name``, ``label_point``).

    Each commune carries the composite gap of the Mesa's run (else the newest national one),
    as the matrix copies it, with its tier colour; a commune without a score says why. An
    initiative with a point is drawn there; one without, at its commune's label point and
    marked ``ubicacion: "comuna"``; one of an intercommunal Mesa with neither is counted in
    ``sin_ubicacion``. Retired initiatives are left out.
    """
    from maps.page import tier_colour

    mesa = records.mesa(mesa_id)
    catalogue = load_catalogue()
    cuts = records.communes(mesa_id)
    own = outlines[outlines["cut"].isin(cuts)]
    features: list[dict[str, Any]] = []
    label_points: dict[str, list[float]] = {}
    for row in own.itertuples():
        gap = _gap(store, mesa["corrida"], str(row.cut), catalogue.composite_id) or {}
        label_points[str(row.cut)] = list(row.label_point)
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(row.geometry),
                "properties": {
                    "tipo": "comuna",
                    "cut": str(row.cut),
                    "nombre": str(row.name),
                    "brecha": gap,
                    "color": tier_colour(gap.get("nivel")),
                },
            }
        )
    unplaced = 0
    for initiative in rows_view(records, mesa_id, "iniciativa"):
        if initiative["lon"] is not None and initiative["lat"] is not None:
            point, placed = [initiative["lon"], initiative["lat"]], "punto"
        elif initiative["comuna"] in label_points:
            point, placed = label_points[initiative["comuna"]], "comuna"
        else:
            unplaced += 1
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": point},
                "properties": {
                    "tipo": "iniciativa",
                    "id": initiative["id"],
                    "nombre": initiative["nombre"],
                    "tipologia": TYPOLOGY_LABELS.get(str(initiative["tipologia"]), MISSING),
                    "etapa": initiative["etapa"],
                    "ubicacion": placed,
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "desafio": catalogue.composite_label,
        "sin_ubicacion": unplaced,
    }


class PreviewRollbackError(Exception):
    """Raised at the end of a preview so that its write rolls back (never reaches a client)."""

    def __init__(self, changes: list[dict[str, Any]]) -> None:
        super().__init__("vista previa")
        self.changes = changes


def all_or_nothing(outcome: Mapping[str, list[Any]], apply: bool, what: str) -> None:
    """End an import: refuse it whole on conflicts or problems, roll a preview back."""
    if outcome.get("conflicts"):
        raise ConflictError(
            f"{what} no se importó: otra persona cambió registros después de la exportación "
            "(nada se mezcló ni se sobrescribió): "
            + "; ".join(outcome["conflicts"])
            + ". Exporte de nuevo y repita sus cambios."
        )
    if outcome["problems"]:
        raise InvalidInputError(f"{what} no se importó: " + "; ".join(outcome["problems"]))
    if not apply:
        raise PreviewRollbackError(outcome["changes"])
