"""The planners' web pages: ``/mapa``, ``/comunas/{cut}``, exports, light layers and assets.

The map page is a shell: its script reads scores from the JSON API (``/scores``, ``/gaps``,
``/communes/{cut}``). This router serves what the API does not: the page itself, the vendored
Leaflet, simplified outlines (cached per store state), point overlays, the printable profile and
the CSV/PNG exports.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

import geopandas as gpd
import pandas as pd
from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from analysis import load_catalogue
from analysis.formatting import format_day
from geo_service.api import gaps as gaps_api
from geo_service.api import runs as runs_api
from geo_service.api.communes import commune_profile_data
from geo_service.api.deps import MAX_PAGE, RegionQuery, get_store, resolve_run, run_result
from layers.stores import Store
from maps import overlays as overlay_features
from maps.assets import STATIC_DIR, STATIC_URL
from maps.exports import map_png, priority_csv
from maps.geometry import feature_collection, region_outlines, simplified_outlines
from maps.page import map_page, page_config
from maps.profile import (
    indicator_medians,
    inset_svg,
    lagging_section,
    portfolio_section,
    profile_page,
)

router = APIRouter(include_in_schema=False)
exports = APIRouter(tags=["exportaciones"])

_CACHE_LIMIT = 32
_lock = threading.Lock()


def _cached(request: Request, key: tuple[str, ...], build: Callable[[], Any]) -> Any:
    """``build()`` once per key and store state, kept on the application (a small LRU)."""
    cache: dict[tuple[str, ...], Any] = request.app.state.__dict__.setdefault("web_cache", {})
    # The store's state key changes whenever a dataset is (re)loaded: cached layers follow.
    full_key = (*key, get_store(request).state_key())
    with _lock:
        if full_key in cache:
            cache[full_key] = cache.pop(full_key)  # most recently used last
            return cache[full_key]
    value = build()
    with _lock:
        cache[full_key] = value
        while len(cache) > _CACHE_LIMIT:
            cache.pop(next(iter(cache)))
    return value


def _json_response(request: Request, payload: tuple[bytes, bytes], media_type: str) -> Response:
    """Cached JSON (plain, gzip) bytes; the gzip copy when the client accepts it (~5x smaller)."""
    headers = {"Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(payload[1], media_type=media_type, headers=headers)
    return Response(payload[0], media_type=media_type, headers=headers)


def _dumps(value: Any) -> tuple[bytes, bytes]:
    """Compact JSON bytes and their gzip, made once and cached together."""
    plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return plain, gzip.compress(plain, compresslevel=6, mtime=0)


def outlines(request: Request) -> gpd.GeoDataFrame:
    """Simplified commune outlines with label points, cached per store state."""

    def build() -> gpd.GeoDataFrame:
        communes = get_store(request).read_table(
            "communes", ["cut", "name", "region_code", "region_name", "geom"]
        )
        if communes.empty:
            raise HTTPException(404, "no hay comunas cargadas; ejecute `geogaps load`")
        return simplified_outlines(gpd.GeoDataFrame(communes, geometry="geom"))

    outlines_: gpd.GeoDataFrame = _cached(request, ("outlines",), build)
    return outlines_


def label_points(request: Request) -> dict[str, tuple[float, float]]:
    """Commune CUT → (lon, lat) of its label (inside its largest part)."""
    frame = outlines(request)
    return {cut: (p[0], p[1]) for cut, p in zip(frame["cut"], frame["label_point"], strict=True)}


def regions_of(request: Request) -> list[dict[str, str]]:
    """Region codes and names, in code order."""
    frame = outlines(request)[["region_code", "region_name"]].drop_duplicates()
    return [
        {"code": str(code), "name": str(name)}
        for code, name in frame.sort_values("region_code").itertuples(index=False)
    ]


# ------------------------------------------------------------------------------ pages


@router.get("/map")
def old_map(challenge: str | None = None, region: RegionQuery = None) -> RedirectResponse:
    """The map moved to ``/mapa``."""
    query = {k: v for k, v in (("desafio", challenge), ("region", region)) if v}
    suffix = f"?{urlencode(query)}" if query else ""
    return RedirectResponse("/mapa" + suffix, status_code=307)


@router.get("/mapa", response_class=HTMLResponse)
def map_page_route(
    request: Request,
    desafio: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]*$")] = None,
    region: RegionQuery = None,
) -> HTMLResponse:
    """The planners' map: choropleth, overlays, priority table, weights and commune panel."""
    store = get_store(request)
    catalogue = load_catalogue()
    try:
        run = store.newest_run()
    except LookupError:
        raise HTTPException(404, "no hay corridas guardadas; ejecute `geogaps score`") from None
    challenge = desafio if desafio in catalogue.score_ids else catalogue.composite_id

    def build() -> str:
        config = page_config(
            catalogue,
            regions_of(request),
            run.model_dump(),
            challenge=challenge,
            region=region,
            basemap_url=getattr(request.app.state.settings, "basemap_url", None),
            national_total=run.ranked_counts.get(challenge),
        )
        return map_page(config)

    page: str = _cached(request, ("page", run.run_id, challenge, region or ""), build)
    return HTMLResponse(page)


@router.get("/static/mapa/{asset:path}")
def static_asset(asset: str) -> FileResponse:
    """Vendored Leaflet (with its licence), the page's script and styles."""
    path = (STATIC_DIR / asset).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file():
        raise HTTPException(404, f"no existe {STATIC_URL}/{asset}")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})


# ----------------------------------------------------------------------------- layers


@router.get("/mapa/capas/comunas.geojson")
def communes_layer(request: Request) -> Response:
    """Commune outlines, simplified as one coverage (shared borders kept)."""
    payload = _cached(
        request,
        ("communes.geojson",),
        lambda: _dumps(
            feature_collection(outlines(request), ["cut", "name", "region_code", "label_point"])
        ),
    )
    return _json_response(request, payload, "application/geo+json")


@router.get("/mapa/capas/regiones.geojson")
def regions_layer(request: Request) -> Response:
    """Region outlines, the union of their simplified communes."""
    payload = _cached(
        request,
        ("regions.geojson",),
        lambda: _dumps(
            feature_collection(region_outlines(outlines(request)), ["region_code", "region_name"])
        ),
    )
    return _json_response(request, payload, "application/geo+json")


OVERLAY_NAMES = ("apr", "proyectos", "salud", "escuelas", "huella", "accesibilidad")


@router.get("/mapa/capas/{name}.geojson")
def overlay_layer(
    request: Request,
    name: Annotated[str, Path(pattern=r"^[a-z]+$")],
    region: RegionQuery = None,
) -> Response:
    """A point overlay of the map (APR, projects, health, schools, Huella Local)."""
    if name not in OVERLAY_NAMES:
        raise HTTPException(404, f"capa desconocida {name!r}; capas: {', '.join(OVERLAY_NAMES)}")
    payload = _cached(
        request, ("overlay", name, region or ""), lambda: _dumps(_overlay(request, name, region))
    )
    return _json_response(request, payload, "application/geo+json")


def _overlay(request: Request, name: str, region: str | None) -> dict[str, Any]:
    store = get_store(request)

    def read(table: str, columns: list[str]) -> pd.DataFrame:
        frame = store.read_table(table, columns)
        return frame[frame["cut"].str[:2] == region] if region else frame

    if name == "apr":
        return overlay_features.apr_features(
            read("apr_systems", ["cut", "name", "beneficiaries", "connections", "status", "geom"])
        )
    if name == "proyectos":
        columns = ["cut", "name", "typology", "stage", "total_investment_clp",
                   "location_precision", "geom"]  # fmt: skip
        return overlay_features.project_features(
            read("project_sites", columns), label_points(request)
        )
    if name in ("salud", "escuelas"):
        facilities = read(
            "facilities",
            ["cut", "name", "category", "facility_type", "level", "operating_status", "geom"],
        )
        category = facilities["category"].fillna("")
        if name == "salud":
            chosen = facilities[category == load_catalogue().settings.health_category]
        else:
            chosen = facilities[category.str.startswith("educacion")]
        return overlay_features.facility_features(chosen, health=name == "salud")
    names = dict(zip(outlines(request)["cut"], outlines(request)["name"], strict=True))
    if name == "accesibilidad":
        columns = ["cut", "facility", "rural_minutes_mean", "rural_share_beyond_60_minutes"]
        return overlay_features.accessibility_features(
            read("accessibility", columns), label_points(request), names
        )
    presence = read("huella_presence", ["cut", "intervention"])
    return overlay_features.huella_features(presence, label_points(request), names)


# ----------------------------------------------------------------- profile and medians


def _serving(request: Request) -> Any:
    return request.app.state.serving


def _medians(request: Request, region: str) -> dict[str, dict[str, float | None]]:
    """Indicator medians of the newest national run: in ``region`` and nationally."""
    store = get_store(request)
    run = resolve_run(store, None)
    result = run_result(store, _serving(request), run)
    medians: dict[str, dict[str, float | None]] = _cached(
        request,
        ("medians", run.run_id, region),
        lambda: indicator_medians(result.indicators, result.catalogue, region),
    )
    return medians


@router.get("/mapa/medianas/{region}.json")
def medians_route(
    request: Request, region: Annotated[str, Path(pattern=r"^(0[1-9]|1[0-6])$")]
) -> Response:
    """Regional and national medians of each indicator (the commune panel compares to them)."""
    return Response(_dumps(_medians(request, region))[0], media_type="application/json")


@router.get("/comunas/{cut}", response_class=HTMLResponse)
def profile_route(
    request: Request, cut: Annotated[str, Path(pattern=r"^\d{4,5}$")]
) -> HTMLResponse:
    """Printable profile of one commune (A4), from the API's profile of the stored run."""
    store = get_store(request)
    profile = commune_profile_data(store, _serving(request), cut)
    code = str(profile["cut"])
    medians = _medians(request, str(profile["region_code"])) if profile.get("run") else {}
    frame = outlines(request)
    inset = _cached(request, ("inset", code), lambda: inset_svg(frame, code))
    return HTMLResponse(
        profile_page(
            profile,
            medians,
            load_catalogue(),
            inset,
            lagging=_lagging(store, code),
            portfolio=_portfolio(store, code),
        )
    )


def _lagging(store: Store, cut: str) -> dict[str, Any] | None:
    """The commune's Zonas Rezagadas emulation (as ``/rezago/{cut}``), or None without data."""
    from analysis.decision.eligibility import DISCLAIMER
    from geo_service.api.decision import records
    from geo_service.services.decision import eligibility

    try:
        result, _ = eligibility(store, cut[:2])
    except (LookupError, KeyError, ValueError):
        return None
    row = result.communes[result.communes["cut"] == cut]
    if row.empty:
        return None
    members = result.territories[result.territories["territory"] == row["territory"].iloc[0]]
    return lagging_section(
        records(row)[0],
        records(result.criteria[result.criteria["cut"] == cut]),
        records(members)[0] if len(members) else None,
        DISCLAIMER,
    )


def _portfolio(store: Store, cut: str) -> dict[str, Any] | None:
    """The commune's Mesa portfolio against its gaps (as ``/portafolio/{cut}``), or None."""
    from geo_service.api.decision import records
    from geo_service.services.decision import portfolio_review

    try:
        review, source = portfolio_review(store, cut[:2])
        own = review.commune(cut)
    except (LookupError, KeyError, ValueError):
        return None
    return portfolio_section(
        records(own.communes)[0], records(own.challenges), records(own.investments), source
    )


# ------------------------------------------------------------------------------ exports

ChallengeQuery = Annotated[
    str, Query(pattern=r"^[a-z][a-z0-9_]*$", description="Desafío del catálogo o `compuesto`.")
]
WeightsQuery = Annotated[
    str | None,
    Query(max_length=2000, description="Pesos `clave:peso` como en `/gaps` (opcional)."),
]


def view_rows(
    request: Request, challenge: str, region: str | None, weights: str | None
) -> list[dict[str, Any]]:
    """Score rows of the page's current view, from the same API functions the page calls."""
    store, serving = get_store(request), _serving(request)
    if weights:
        body = gaps_api.gaps(
            request,
            store,
            serving,
            request.app.state.settings,
            region=region,
            challenge=challenge,
            normalization="minmax",
            aggregation="arithmetic",
            weights=weights,
            limit=MAX_PAGE,
            offset=0,
        )
    else:
        body = runs_api.scores(
            request, store, serving, challenge=challenge, region=region, run_id=None,
            limit=MAX_PAGE, offset=0,
        )  # fmt: skip
    rows: list[dict[str, Any]] = body["scores"]
    return rows


@exports.get(
    "/exports/prioridades.csv",
    summary="Tabla de prioridades para Excel",
    description="Las comunas del desafío (y región) ordenadas por lugar, como CSV para Excel en "
    "castellano: UTF-8 con BOM, separador `;`, coma decimal y encabezados en castellano. Con "
    "`weights`, los puntajes se calculan a pedido como en `/gaps`.",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV para Excel."}},
)
def priorities_csv(
    request: Request,
    challenge: ChallengeQuery = "compuesto",
    region: RegionQuery = None,
    weights: WeightsQuery = None,
) -> Response:
    """The priority table of the map's view as a CSV download."""
    rows = view_rows(request, challenge, region, weights)
    names = {r["code"]: r["name"] for r in regions_of(request)}
    filename = f"prioridades_{challenge}_{region or 'nacional'}.csv"
    return Response(
        priority_csv(rows, region, names),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@exports.get(
    "/exports/mapa.png",
    summary="Mapa estático (PNG)",
    description="Mapa de un desafío de la corrida nacional guardada: comunas por tramo, tramos "
    "inestables achurados, límites regionales y leyenda; de todo Chile continental o de una "
    "región.",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "Imagen PNG."}},
)
def map_png_route(
    request: Request, challenge: ChallengeQuery = "compuesto", region: RegionQuery = None
) -> Response:
    """A static PNG of the map for reports."""
    catalogue = load_catalogue()
    if challenge not in catalogue.score_ids:
        raise HTTPException(
            422, f"desafío desconocido {challenge!r}; use {', '.join(catalogue.score_ids)}"
        )
    run = resolve_run(get_store(request), None)  # 404 naming what to do when none is stored
    rows = view_rows(request, challenge, region, None)
    names = {r["code"]: r["name"] for r in regions_of(request)}
    scope = f"Región {names.get(region, region)}" if region else "Chile continental"

    def build() -> bytes:
        return map_png(
            outlines(request),
            rows,
            title=f"{catalogue.label_of(challenge)} · {scope}",
            subtitle=f"Tramos nacionales · corrida {run.run_id[:12]} del "
            f"{format_day(run.created_at)}",
            region=region,
        )

    image = _cached(request, ("png", run.run_id, challenge, region or ""), build)
    return Response(image, media_type="image/png", headers={"Cache-Control": "no-cache"})
