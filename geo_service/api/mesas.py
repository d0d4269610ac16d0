"""A Mesa de Convergencia's workspace: matrix, initiatives, commitments, follow-up, history.

``POST /mesas`` takes the service's API key (``X-API-Key``) and answers the first coordination
token; every other route takes a member's personal token (``Authorization: Bearer <token>``),
which opens its own Mesa only. A change (``PATCH``) requires the ``ETag`` of the version it is
based on in ``If-Match``. Annotations are evaluated at definition (no ``from __future__``), so
the routes made for each entity by :func:`_entity_routes` carry their own body models.
"""

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, cast

from fastapi import (
    APIRouter,
    Depends,
    File,
    Form,
    Header,
    Path,
    Query,
    Response,
    Security,
    UploadFile,
)
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, create_model

from domain import CUT_PATTERN
from geo_service.api.deps import CachesDep, SettingsDep, StoreDep, WriteAccess
from geo_service.api.responses import _error
from geo_service.errors import PayloadTooLargeError
from geo_service.services import mesa_workbook as workbook_service
from geo_service.services import mesas as service
from geo_service.services.map_data import outlines
from geo_service.services.mesa_workbook import XLSX_MEDIA_TYPE
from layers.mesas import MesaRecords, mesa_records

router = APIRouter(tags=["mesas de convergencia"])

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="Token de miembro",
    description="Token personal de un miembro de la mesa (se muestra una sola vez al crearlo).",
)


def get_records(store: StoreDep) -> MesaRecords:
    """The Mesas' records of the application's store."""
    return mesa_records(store)


RecordsDep = Annotated[MesaRecords, Depends(get_records)]
MesaId = Annotated[
    str,
    Path(pattern=r"^[0-9a-f]{16}$", description="Id de la mesa (lo entrega `POST /mesas`)."),
]
IfMatch = Annotated[
    str | None,
    Header(description="ETag de la versión leída; sin ella el cambio se rechaza (428)."),
]
RetiredQuery = Annotated[
    bool, Query(description="Incluir los registros retirados (nada se borra).")
]


def current_member(
    mesa_id: MesaId,
    records: RecordsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> dict[str, Any]:
    """The member whose token opens this Mesa (401 without a valid token, 403 another Mesa)."""
    return service.authenticate(
        records, mesa_id, None if credentials is None else credentials.credentials
    )


MemberDep = Annotated[dict[str, Any], Depends(current_member)]

#: Statuses of every member route.
MEMBER_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _error("Falta el token de miembro (Authorization: Bearer) o no es válido."),
    403: _error("El token es de otra mesa, o su rol no permite esta acción."),
}
#: Statuses of a route that writes.
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **MEMBER_RESPONSES,
    409: _error("El cambio contradice lo guardado."),
    422: _error("Un campo no es válido; el mensaje lo nombra."),
}
#: Statuses of a change based on a version (ETag / If-Match).
CHANGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **WRITE_RESPONSES,
    412: _error("Otra persona cambió el registro desde su lectura: léalo de nuevo (ETag)."),
    428: _error("Falta la cabecera If-Match con la ETag de la versión leída."),
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Criterion(_Body):
    """A participatory criterion of the matrix and its weight."""

    id: str = Field(description="Id en minúsculas (`magnitud`, `urgencia`...).")
    nombre: str | None = None
    peso: float = Field(default=1.0, gt=0, allow_inf_nan=False)


class Coordinator(_Body):
    """Who receives the first coordination token."""

    nombre: str | None = Field(default=None, max_length=200)
    tipo_actor: str | None = None
    organizacion: str | None = Field(default=None, max_length=200)


class NewMesa(_Body):
    """``POST /mesas``."""

    nombre: str = Field(min_length=1, max_length=200)
    comunas: list[Annotated[str, Field(pattern=CUT_PATTERN)]] = Field(min_length=1, max_length=60)
    fecha_inicio: date | None = None
    fecha_termino: date | None = None
    corrida: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="Corrida guardada de la que la matriz toma las brechas (por omisión, la "
        "nacional más reciente al crear cada fila).",
    )
    criterios: list[Criterion] | None = Field(
        default=None,
        description="Criterios participativos con su peso (por omisión magnitud, urgencia, "
        "factibilidad y prioridad comunitaria, peso 1).",
    )
    coordinador: Coordinator | None = None


class MesaFields(_Body):
    """What ``PATCH /mesas/{id}`` may change."""

    nombre: str = Field(min_length=1, max_length=200)
    fecha_inicio: date | None = None
    fecha_termino: date | None = None
    corrida: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    criterios: list[Criterion] = Field(description="Criterios y pesos de la matriz.")


class NewMember(_Body):
    """``POST /mesas/{id}/miembros``."""

    nombre: str = Field(min_length=1, max_length=200)
    tipo_actor: str = Field(description="municipio, gobierno regional, empresa, comunidad, ...")
    organizacion: str = Field(min_length=1, max_length=200)
    rol: str = Field(default="miembro", description="coordinacion, miembro o lectura.")


class NewMatrixRow(_Body):
    """``POST /mesas/{id}/matriz``: a need or problem, linked to the catalogue or free text."""

    necesidad: str = Field(min_length=1, max_length=1000)
    desafio: str | None = Field(default=None, description="Desafío del catálogo.")
    indicador: str | None = Field(default=None, description="Indicador del catálogo.")
    comuna: str | None = Field(default=None, pattern=CUT_PATTERN)
    puntajes: dict[str, int | None] = Field(
        default_factory=dict, description="Puntaje de 1 a 5 por criterio de la mesa."
    )
    recursos: str | None = Field(
        default=None, max_length=2000, description="Recursos y potencialidades."
    )


class NewInitiative(_Body):
    """``POST /mesas/{id}/iniciativas``."""

    nombre: str = Field(min_length=1, max_length=300)
    tipologia: str = Field(description="Equipamiento, Espacios Públicos, ...")
    etapa: str = Field(default="idea", description="idea, perfil, diseño, financiada, ...")
    monto_publico_clp: int | None = Field(default=None, ge=0)
    monto_privado_clp: int | None = Field(default=None, ge=0)
    fuente_financiamiento: str | None = Field(default=None, max_length=300)
    beneficiarios: int | None = Field(default=None, ge=0)
    comuna: str | None = Field(default=None, pattern=CUT_PATTERN)
    lon: float | None = Field(default=None, ge=-110, le=-66)
    lat: float | None = Field(default=None, ge=-56, le=-17)
    filas_matriz: list[int] = Field(default_factory=list, description="Filas de la matriz.")


class NewCommitment(_Body):
    """``POST /mesas/{id}/compromisos``."""

    responsable: int = Field(description="Id del miembro responsable.")
    descripcion: str = Field(min_length=1, max_length=2000)
    vence: date = Field(description="Fecha de vencimiento (ISO, AAAA-MM-DD).")
    estado: str = Field(
        default="pendiente", description="pendiente, en curso, cumplido, cancelado."
    )
    iniciativa_id: int | None = None


class NewFollowUp(_Body):
    """``POST /mesas/{id}/seguimiento``: one entry of the follow-up matrix."""

    fecha: date | None = Field(default=None, description="Por omisión, hoy.")
    avance: str = Field(min_length=1, max_length=4000)
    nudos_criticos: str | None = Field(default=None, max_length=4000)
    soluciones: str | None = Field(default=None, max_length=4000)
    proximo_paso: str | None = Field(default=None, max_length=4000)
    compromiso_id: int | None = None
    iniciativa_id: int | None = None


class NewMilestone(_Body):
    """``POST /mesas/{id}/hitos``."""

    fecha: date
    tipo: str = Field(default="otro", description="acuerdo firmado, sesión de mesa, ...")
    titulo: str = Field(min_length=1, max_length=500)
    iniciativa_id: int | None = None


def _optional(annotation: Any) -> Any:
    return Any if annotation is None else annotation | None


def _change_model(model: type[BaseModel], name: str) -> type[BaseModel]:
    """The ``PATCH`` body of an entity: its ``POST`` body's fields, all optional, and ``retirado``.

    ``retirado: true`` retires the row (nothing is deleted). Field checks are the service's.
    """
    fields: dict[str, Any] = {
        field: (_optional(info.annotation), Field(default=None, description=info.description))
        for field, info in model.model_fields.items()
    }
    fields["retirado"] = (
        bool | None,
        Field(default=None, description="true retira el registro (rol coordinación)."),
    )
    return create_model(name, __base__=_Body, **fields)


MesaChange = _change_model(MesaFields, "MesaChange")


def _set_etag(response: Response, entity: str, row: dict[str, Any]) -> None:
    response.headers["ETag"] = service.etag(entity, row)


@router.post(
    "/mesas",
    status_code=201,
    summary="Crear una mesa",
    description="Crea una Mesa de Convergencia de una o más comunas (clave `X-API-Key`). "
    "Responde su `id` y el `token` de coordinación del primer miembro: se muestra esta única "
    "vez (se guarda solo su huella sha256).",
    dependencies=[WriteAccess],
    responses={
        401: _error("Falta X-API-Key o no coincide."),
        403: _error("Escrituras deshabilitadas."),
    },
)
def create_mesa(body: NewMesa, store: StoreDep, records: RecordsDep) -> dict[str, Any]:
    """Create a Mesa."""
    return service.create_mesa(store, records, body.model_dump(exclude_none=True))


@router.get(
    "/mesas/{mesa_id}",
    summary="Una mesa",
    description="La mesa: nombre, comunas, fechas, criterios de la matriz con sus pesos y "
    "miembros (sin tokens). Envía `ETag` para cambiarla con `PATCH`.",
    responses=MEMBER_RESPONSES,
)
def read_mesa(
    mesa_id: MesaId, member: MemberDep, records: RecordsDep, response: Response
) -> dict[str, Any]:
    """One Mesa."""
    view = service.mesa_view(records, mesa_id)
    _set_etag(response, "mesa", view)
    return view


@router.patch(
    "/mesas/{mesa_id}",
    summary="Cambiar una mesa",
    description="Nombre, fechas, corrida o criterios y pesos de la matriz (rol coordinación). "
    "Requiere `If-Match` con la `ETag` leída.",
    responses=CHANGE_RESPONSES,
)
def change_mesa(
    mesa_id: MesaId,
    body: MesaChange,  # type: ignore[valid-type]
    member: MemberDep,
    store: StoreDep,
    records: RecordsDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Change a Mesa."""
    version = service.expected_version("mesa", mesa_id, if_match)
    changes = cast(BaseModel, body).model_dump(exclude_unset=True)
    service.change(store, records, member, "mesa", None, version, changes)
    view = service.mesa_view(records, mesa_id)
    _set_etag(response, "mesa", view)
    return view


@router.get(
    "/mesas/{mesa_id}/matriz",
    summary="Matriz de priorización",
    description="Necesidades y problemas con la brecha de datos de la comuna (de una corrida "
    "guardada: puntaje, nivel, lugar, motivos), los puntajes participativos, los recursos y "
    "la prioridad combinada según la regla indicada en `regla`.",
    responses=MEMBER_RESPONSES,
)
def read_matrix(
    mesa_id: MesaId,
    member: MemberDep,
    records: RecordsDep,
    incluir_retirados: RetiredQuery = False,
) -> dict[str, Any]:
    """The matrix."""
    return service.matrix_view(records, mesa_id, incluir_retirados)


@router.get(
    "/mesas/{mesa_id}/matriz.xlsx",
    summary="Matriz y seguimiento en Excel",
    description="Libro `.xlsx` con las hojas Matriz (puntajes con lista desplegable de 1 a 5), "
    "Compromisos (estado con lista desplegable), Seguimiento y Léame. Cada fila lleva su `id` "
    "y la `version` exportada, para importarlo de vuelta.",
    responses={**MEMBER_RESPONSES, 200: {"content": {XLSX_MEDIA_TYPE: {}}}},
    response_class=Response,
)
def export_workbook(mesa_id: MesaId, member: MemberDep, records: RecordsDep) -> Response:
    """The Mesa's workbook."""
    content = workbook_service.export_workbook(records, mesa_id)
    return Response(
        content,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="mesa_{mesa_id}_matriz.xlsx"'},
    )


@router.post(
    "/mesas/{mesa_id}/matriz.xlsx",
    summary="Importar la matriz editada en Excel",
    description="Sube el libro exportado y editado (campo multipart `file`). Sin `aplicar` "
    "responde la vista previa de los cambios; con `aplicar=true` los aplica, todos o ninguno. "
    "Cada fila se valida como en la API (422 nombrando hoja, fila y columna: fórmulas, "
    "valores fuera de rango, hojas o columnas que faltan); una fila que otra persona cambió "
    "después de exportar se nombra y no se aplica nada (409). Rol coordinación.",
    responses={
        **WRITE_RESPONSES,
        413: _error("El archivo supera GEOGAPS_MAX_UPLOAD_MB."),
    },
)
def import_workbook(
    mesa_id: MesaId,
    member: MemberDep,
    store: StoreDep,
    records: RecordsDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="El libro .xlsx exportado y editado.")],
    aplicar: Annotated[
        bool, Form(description="true aplica los cambios; por omisión, solo la vista previa.")
    ] = False,
) -> dict[str, Any]:
    """Preview or apply an edited workbook."""
    limit = settings.max_upload_mb * 1024 * 1024
    content = file.file.read(limit + 1)
    if len(content) > limit:
        raise PayloadTooLargeError(f"el archivo supera el máximo de {settings.max_upload_mb} MB")
    return workbook_service.import_workbook(store, records, member, content, apply=aplicar)


class PortfolioImport(_Body):
    """``POST /mesas/{id}/iniciativas/cartera``."""

    conjunto: str = Field(
        min_length=1, max_length=120, description="Conjunto de proyectos cargado (project_sites)."
    )
    aplicar: bool = Field(default=False, description="true aplica; por omisión, vista previa.")


@router.post(
    "/mesas/{mesa_id}/iniciativas/cartera",
    summary="Importar una cartera cargada como iniciativas",
    description="Copia los proyectos de un conjunto `project_sites` ya cargado (con la "
    "validación de toda carga) que están en las comunas de la mesa: tipología, etapa, comuna, "
    "montos y punto. Cada proyecto pasa las reglas de las iniciativas; todos o ninguno (422 "
    "nombrando los rechazados). Sin `aplicar`, vista previa. Los ya importados se omiten. "
    "Rol coordinación.",
    responses=WRITE_RESPONSES,
)
def import_portfolio(
    mesa_id: MesaId,
    body: PortfolioImport,
    member: MemberDep,
    store: StoreDep,
    records: RecordsDep,
) -> dict[str, Any]:
    """Import a loaded portfolio into the Mesa's initiatives."""
    from geo_service.services.mesa_portfolio import import_portfolio as run_import

    return run_import(store, records, member, body.conjunto, apply=body.aplicar)


@dataclass(frozen=True)
class EntityRoutes:
    """The routes of one entity of a Mesa: its list, a new row, one row and its change."""

    entity: str
    path: str
    item: str
    body: type[BaseModel]
    title: str
    new_title: str
    description: str
    #: Whether ``GET /mesas/{id}/<path>`` is made here (the matrix has its own).
    listed: bool = True


def _entity_routes(spec: EntityRoutes) -> None:
    """Register the routes of one entity (the same rules and statuses for every entity)."""
    entity, path = spec.entity, f"/mesas/{{mesa_id}}/{spec.path}"
    item_path = f"{path}/{{{spec.item}}}"
    item_type = Annotated[int, Path(alias=spec.item, ge=1, description="Id del registro.")]
    change_body = _change_model(spec.body, f"{spec.body.__name__}Change")

    def read_rows(
        mesa_id: MesaId,
        member: MemberDep,
        records: RecordsDep,
        incluir_retirados: RetiredQuery = False,
    ) -> dict[str, Any]:
        return {spec.path: service.rows_view(records, mesa_id, entity, incluir_retirados)}

    def add_row(
        mesa_id: MesaId,
        body: spec.body,  # type: ignore[name-defined]
        member: MemberDep,
        store: StoreDep,
        records: RecordsDep,
        response: Response,
    ) -> dict[str, Any]:
        view = service.add(store, records, member, entity, body.model_dump())
        _set_etag(response, entity, view)
        return view

    def read_row(
        mesa_id: MesaId,
        item_id: item_type,
        member: MemberDep,
        records: RecordsDep,
        response: Response,
    ) -> dict[str, Any]:
        view = service.item(records, mesa_id, entity, item_id)
        _set_etag(response, entity, view)
        return view

    def change_row(
        mesa_id: MesaId,
        item_id: item_type,
        body: change_body,  # type: ignore[valid-type]
        member: MemberDep,
        store: StoreDep,
        records: RecordsDep,
        response: Response,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        version = service.expected_version(entity, item_id, if_match)
        changes = cast(BaseModel, body).model_dump(exclude_unset=True)
        view = service.change(store, records, member, entity, item_id, version, changes)
        _set_etag(response, entity, view)
        return view

    for function, verb in ((read_rows, "read"), (add_row, "add"), (read_row, "read_one")):
        function.__name__ = f"{verb}_{entity}"
    change_row.__name__ = f"change_{entity}"
    if spec.listed:
        router.get(
            path, summary=spec.title, description=spec.description, responses=MEMBER_RESPONSES
        )(read_rows)
    router.post(
        path,
        status_code=201,
        summary=spec.new_title,
        description=f"{spec.new_title}. {service.RULES[entity].create and _who(entity, 'create')}",
        responses=WRITE_RESPONSES,
    )(add_row)
    router.get(
        item_path,
        summary=f"{spec.title}: un registro",
        description="Envía `ETag`: un cambio (`PATCH`) debe traerla en `If-Match`.",
        responses=MEMBER_RESPONSES,
    )(read_row)
    router.patch(
        item_path,
        summary=f"{spec.title}: cambiar un registro",
        description="Solo cambian los campos enviados. Requiere `If-Match` con la `ETag` leída: "
        "si otra persona lo cambió entretanto responde 412 y no sobrescribe nada. "
        f"`retirado: true` lo retira (nada se borra). {_who(entity, 'change')}",
        responses=CHANGE_RESPONSES,
    )(change_row)


def _who(entity: str, action: str) -> str:
    """Who may write an entity, in words."""
    rules = service.RULES[entity]
    roles = rules.create if action == "create" else rules.change
    own = " (un miembro, solo lo propio)" if rules.owner and "miembro" in roles else ""
    return f"Roles: {', '.join(roles)}{own}."


for _spec in (
    EntityRoutes(
        "miembro",
        "miembros",
        "mid",
        NewMember,
        "Miembros",
        "Agregar un miembro",
        "Miembros con su tipo de actor, organización y rol. La respuesta de `POST` trae su "
        "`token` personal, esta única vez.",
    ),
    EntityRoutes(
        "fila_matriz",
        "matriz",
        "fid",
        NewMatrixRow,
        "Matriz de priorización",
        "Agregar una fila a la matriz",
        "Una necesidad o problema, vinculado a un desafío o indicador del catálogo o en texto "
        "libre; la brecha se copia de la corrida de la mesa.",
        listed=False,
    ),
    EntityRoutes(
        "iniciativa",
        "iniciativas",
        "iid",
        NewInitiative,
        "Iniciativas",
        "Agregar una iniciativa",
        "Cartera de la mesa: tipología, etapa, montos público y privado (CLP) con su fuente, "
        "beneficiarios, lugar y filas de la matriz que atienden.",
    ),
    EntityRoutes(
        "compromiso",
        "compromisos",
        "cid",
        NewCommitment,
        "Compromisos",
        "Agregar un compromiso",
        "Quién se comprometió a qué y para cuándo; `atrasado` se deriva de la fecha (pendiente "
        "o en curso después de `vence`).",
    ),
    EntityRoutes(
        "seguimiento",
        "seguimiento",
        "sid",
        NewFollowUp,
        "Matriz de seguimiento",
        "Agregar una entrada de seguimiento",
        "Entradas fechadas con avance, nudos críticos, soluciones acordadas y próximo paso, a "
        "nombre de quien las escribe.",
    ),
    EntityRoutes(
        "hito",
        "hitos",
        "hid",
        NewMilestone,
        "Hitos",
        "Agregar un hito",
        "Hitos comunicables: acuerdo firmado, sesiones de la mesa, hitos de iniciativas.",
    ),
):
    _entity_routes(_spec)


@router.get(
    "/mesas/{mesa_id}/reporte",
    summary="Reporte de avance imprimible",
    description="Página HTML para imprimir (*reportabilidad*): hitos, inversión por tipología, "
    "etapa y fuente, aporte privado, compromisos cumplidos a tiempo, qué brechas atiende "
    "cada iniciativa, la matriz por prioridad y el seguimiento reciente.",
    responses={**MEMBER_RESPONSES, 200: {"content": {"text/html": {}}}},
    response_class=HTMLResponse,
)
def read_report(
    mesa_id: MesaId, member: MemberDep, store: StoreDep, records: RecordsDep
) -> HTMLResponse:
    """The Mesa's progress report."""
    return HTMLResponse(service.report_html(store, records, mesa_id))


@router.get(
    "/mesas/{mesa_id}/mapa.geojson",
    summary="Mapa de la mesa",
    description="Las comunas de la mesa con su brecha compuesta (de la corrida de la mesa, o la "
    "nacional más reciente) y color de tramo, y sus iniciativas: en su punto, o en la comuna "
    "cuando no tienen punto (`ubicacion`). `sin_ubicacion` cuenta las que no tienen ninguno.",
    responses=MEMBER_RESPONSES,
)
def read_map(
    mesa_id: MesaId, member: MemberDep, store: StoreDep, caches: CachesDep, records: RecordsDep
) -> dict[str, Any]:
    """The Mesa's communes over the gap choropleth, and its initiatives."""
    return service.map_view(store, records, mesa_id, outlines(store, caches))


@router.get(
    "/mesas/{mesa_id}/avance",
    summary="Avance de la mesa por mes",
    description="Por mes: compromisos cumplidos (según el historial, el mes en que se marcaron "
    "cumplidos), su acumulado y entradas de seguimiento.",
    responses=MEMBER_RESPONSES,
)
def read_progress(mesa_id: MesaId, member: MemberDep, records: RecordsDep) -> dict[str, Any]:
    """The Mesa's progress over time."""
    return service.progress_view(records, mesa_id)


@router.get("/mesas/{mesa_id}/pagina", include_in_schema=False, response_class=HTMLResponse)
def mesa_page(mesa_id: MesaId) -> HTMLResponse:
    """The Mesa's page: a shell that asks for the member's token and reads the JSON API."""
    from maps.mesa_report import mesa_page_html

    return HTMLResponse(mesa_page_html(mesa_id))


@router.get(
    "/mesas/{mesa_id}/historial",
    summary="Historial de la mesa",
    description="Cada escritura, una vez: quién, cuándo, qué registro, antes y después.",
    responses=MEMBER_RESPONSES,
)
def read_history(mesa_id: MesaId, member: MemberDep, records: RecordsDep) -> dict[str, Any]:
    """The Mesa's history."""
    return {"historial": service.history_view(records, mesa_id)}
