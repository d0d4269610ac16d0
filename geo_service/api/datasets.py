"""Loaded datasets: their provenance, their layers page by page, and uploads."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any

import geopandas as gpd
from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import Response

from geo_service.api.deps import (
    CachesDep,
    LimitQuery,
    OffsetQuery,
    RegionQuery,
    SettingsDep,
    StoreDep,
    WriteAccess,
)
from geo_service.api.responses import SafeJSONResponse, page_links
from geo_service.errors import BadParameterError, NotFoundError, PayloadTooLargeError
from geo_service.services.rows import records
from layers.readers import KINDS
from layers.schema import DATA_TABLES

router = APIRouter(tags=["datos"])


@router.get(
    "/datasets",
    summary="Conjuntos de datos cargados",
    description="Procedencia de cada conjunto cargado: archivo, sha256, filas leídas, cargadas "
    "y rechazadas, fecha de carga. Paginado. `refused` lista los archivos cuyo último intento de "
    "carga fue rechazado, con el motivo; `retired`, los conjuntos retirados por una carga de "
    "reemplazo (`--replaces`): se conservan, pero no se sirven ni entran en los puntajes.",
)
def datasets(
    request: Request, store: StoreDep, limit: LimitQuery = 100, offset: OffsetQuery = 0
) -> dict[str, Any]:
    """Loaded datasets with their provenance."""
    columns = [
        "dataset",
        "kind",
        "table_name",
        "source",
        "file_name",
        "sha256",
        "loaded_at",
        "rows_read",
        "rows_loaded",
        "rows_rejected",
    ]
    total = store.count("dataset_provenance")
    rows = store.read(
        "dataset_provenance", columns=columns, limit=limit, offset=offset, order=["dataset"]
    )
    refused = store.unresolved_refusals()
    retired = store.retired_datasets().drop(columns=["provenance"])
    return {
        **page_links(request, total, limit, offset),
        "datasets": records(rows.assign(state="activo")),
        # Files whose newest load was refused: they hold no rows, so they appear only here.
        "refused": records(refused),
        # Datasets a replacement load retired: kept apart, neither served nor scored.
        "retired": records(retired.assign(state="retirado")),
    }


def _bbox(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise BadParameterError("bbox debe ser min_lon,min_lat,max_lon,max_lat") from None
    if len(values) != 4 or values[0] > values[2] or values[1] > values[3]:
        raise BadParameterError("bbox debe ser min_lon,min_lat,max_lon,max_lat")
    return values


@router.get(
    "/layers/{table}",
    summary="Una capa, página por página",
    description="Filas de una tabla cargada: GeoJSON (`FeatureCollection` con `numberMatched`, "
    "`numberReturned` y enlace `next`) para las capas espaciales, JSON para las tabulares. "
    "Filtros: `region` (código de dos dígitos) y `bbox` (lon/lat WGS84). Nunca se trunca en "
    "silencio: `total` y `next` dicen cuántas filas hay y dónde sigue.",
    responses={
        200: {
            "content": {
                "application/geo+json": {},
                "application/json": {
                    "example": {"total": 55, "next": None, "rows": [{"cut": "04303"}]}
                },
            }
        }
    },
)
def layer(
    request: Request,
    store: StoreDep,
    table: Annotated[
        str,
        Path(description=f"Una de: {', '.join(sorted(DATA_TABLES))}.", examples=["apr_systems"]),
    ],
    region: RegionQuery = None,
    bbox: Annotated[
        str | None,
        Query(
            description="min_lon,min_lat,max_lon,max_lat (EPSG:4326).",
            examples=["-71.5,-31,-70.5,-30"],
        ),
    ] = None,
    limit: LimitQuery = 1000,
    offset: OffsetQuery = 0,
) -> Response:
    """A layer page as GeoJSON (spatial tables) or JSON records."""
    if table not in DATA_TABLES:
        raise NotFoundError(
            f"capa desconocida {table!r}; las capas son {', '.join(sorted(DATA_TABLES))}"
        )
    box = _bbox(bbox)
    if box is not None and "geom" not in DATA_TABLES[table].__table__.c:
        raise BadParameterError(f"la capa {table!r} no tiene geometría para filtrar por bbox")
    total = store.count(table, region=region, bbox=box)
    frame = store.read(table, region=region, bbox=box, limit=limit, offset=offset)
    links = page_links(request, total, limit, offset)
    if "geom" in frame.columns:
        collection = json.loads(gpd.GeoDataFrame(frame).to_json(drop_id=True, na="null"))
        collection.update(
            {
                "numberMatched": total,
                "numberReturned": len(frame),
                **links,
                "links": [{"rel": "next", "href": links["next"]}] if links["next"] else [],
            }
        )
        return SafeJSONResponse(collection, media_type="application/geo+json")
    return SafeJSONResponse({**links, "rows": records(frame)})


#: An upload's file name: letters (accents included), digits, ``.``, ``_``, ``-`` and spaces,
#: not starting with a dot, with an extension; at most 120 characters.
UPLOAD_NAME = re.compile(r"^(?!\.)[\w .-]{1,116}\.[A-Za-z0-9]{1,10}$")


def upload_name(filename: str | None) -> str:
    """The name an upload is saved and recorded under; 422 for a name that is not a plain file.

    The client's name never reaches the filesystem as given: a path (``../x``, ``a/b``), ``.``,
    ``..``, a hidden or overlong name is refused before anything is written.
    """
    name = (filename or "").strip()
    if not UPLOAD_NAME.fullmatch(name) or name != FilePath(name).name:
        shown = name if len(name) <= 60 else name[:57] + "…"
        raise BadParameterError(
            f"nombre de archivo no válido {shown!r}: use un nombre simple con extensión "
            "(letras, dígitos, espacios, punto, guion o guion bajo; hasta 120 caracteres), "
            "p. ej. apr_2024.csv"
        )
    return name


@router.post(
    "/datasets/{kind}",
    summary="Subir y cargar un archivo",
    description="Carga un archivo como `geogaps load-file`: misma validación y mismo informe "
    "(filas leídas, cargadas, rechazadas y motivos). Requiere la cabecera `X-API-Key`; sin "
    "clave configurada las escrituras están deshabilitadas (403). Tamaño máximo: "
    "`GEOGAPS_MAX_UPLOAD_MB` (413 si se excede).",
    dependencies=[WriteAccess],
    status_code=201,
)
def upload_dataset(
    request: Request,
    store: StoreDep,
    caches: CachesDep,
    settings: SettingsDep,
    kind: Annotated[str, Path(description="Tipo de datos del archivo.", examples=["apr"])],
    file: Annotated[UploadFile, File(description="El archivo (CSV, GeoJSON, GeoPackage...).")],
    dataset: Annotated[str | None, Form(description="Nombre del conjunto.")] = None,
    crs: Annotated[str | None, Form(description="SRC si el archivo no declara uno.")] = None,
    force: Annotated[bool, Form(description="Recargar aunque el sha256 no cambie.")] = False,
    replaces: Annotated[
        str | None,
        Form(
            description="Conjunto activo del mismo tipo que este archivo corrige o sustituye: "
            "queda retirado (se conserva, no se sirve ni puntúa) en la misma transacción."
        ),
    ] = None,
) -> dict[str, Any]:
    """Upload one file and load it, with the same report as ``geogaps load-file``."""
    from layers.loading import load_file

    if kind not in KINDS:
        raise NotFoundError(f"tipo desconocido {kind!r}; los tipos son {', '.join(sorted(KINDS))}")
    limit = settings.max_upload_mb * 1024 * 1024
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise PayloadTooLargeError(f"el archivo supera el máximo de {settings.max_upload_mb} MB")
    name = upload_name(file.filename)
    with tempfile.TemporaryDirectory(prefix="geogaps-upload-") as folder:
        target = FilePath(folder) / name
        with target.open("wb") as out:
            copied = 0
            while chunk := file.file.read(1024 * 1024):
                copied += len(chunk)
                if copied > limit:
                    raise PayloadTooLargeError(
                        f"el archivo supera el máximo de {settings.max_upload_mb} MB"
                    )
                out.write(chunk)
        report = load_file(
            store, kind, target, crs=crs, dataset=dataset, force=force, replaces=replaces
        )
    # The data state changed: cached values stop matching; give their memory back now.
    caches.forget(
        "analysis_inputs", "scope_graph", "gaps", "page", "decision", "siting", "indicators"
    )
    caches.forget_recent()
    return {
        "dataset": report.dataset,
        "kind": report.kind,
        "table_name": report.table_name,
        "sha256": report.sha256,
        "rows_read": report.rows_read,
        "rows_loaded": report.rows_loaded,
        "rows_rejected": report.rows_rejected,
        "rejection_reasons": report.rejection_reasons(),
        "unchanged": report.skipped_unchanged,
        "replaces": report.replaces,
    }
