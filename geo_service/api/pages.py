"""The people's web pages: the map ``/mapa``, the printable profile, the API's documentation.

The map page is a shell: its script reads scores from the JSON API (``/scores``, ``/gaps``,
``/communes/{cut}``) and its layers from :mod:`geo_service.api.map_layers`. Pages are not part
of the OpenAPI document. ``/docs`` and ``/redoc`` load Swagger UI and ReDoc from the vendored
copies in ``maps/static/vendor`` (FastAPI's defaults would load them from public CDNs).
"""

from __future__ import annotations

from pathlib import Path as PathLike
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from analysis import load_catalogue
from analysis.decision.eligibility import DISCLAIMER
from domain import REGION_PATTERN, region_of
from domain.errors import GeogapsError, NotFoundError
from geo_service.api.deps import CachesDep, RegionQuery, SettingsDep, StoreDep
from geo_service.services.accessibility import land_cover_path
from geo_service.services.cache import Caches
from geo_service.services.eligibility import eligibility, eligibility_is_ready
from geo_service.services.map_data import json_bytes, medians, outlines, region_list
from geo_service.services.portfolio import portfolio_review
from geo_service.services.rows import json_records as records
from geo_service.services.serving import commune_profile_data
from layers.mesas import mesa_records
from layers.stores import Store
from maps.assets import FAVICON, REDOC_JS, STATIC_DIR, STATIC_URL, SWAGGER_UI_CSS, SWAGGER_UI_JS
from maps.page import map_page, page_config
from maps.profile import inset_svg, lagging_section, portfolio_section, profile_page

router = APIRouter(include_in_schema=False)


@router.get("/map")
def old_map(challenge: str | None = None, region: RegionQuery = None) -> RedirectResponse:
    """The map moved to ``/mapa``."""
    query = {k: v for k, v in (("desafio", challenge), ("region", region)) if v}
    suffix = f"?{urlencode(query)}" if query else ""
    return RedirectResponse("/mapa" + suffix, status_code=307)


@router.get("/mapa", response_class=HTMLResponse)
def map_page_route(
    store: StoreDep,
    caches: CachesDep,
    settings: SettingsDep,
    desafio: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]*$")] = None,
    region: RegionQuery = None,
) -> HTMLResponse:
    """The planners' map: choropleth, overlays, priority table, weights and commune panel."""
    catalogue = load_catalogue()
    try:
        run = store.newest_run()
    except LookupError:
        raise NotFoundError("no hay corridas guardadas; ejecute `geogaps score`") from None
    challenge = desafio if desafio in catalogue.score_ids else catalogue.composite_id

    def build() -> str:
        config = page_config(
            catalogue,
            region_list(store, caches),
            run.model_dump(),
            challenge=challenge,
            region=region,
            basemap_url=settings.basemap_url,
            national_total=run.ranked_counts.get(challenge),
        )
        return map_page(config)

    page: str = caches.get_or_make(
        "page", ("map", run.run_id, challenge, region or ""), build, state=caches.data_state(store)
    )
    return HTMLResponse(page)


#: The documentation pages may fetch images, fonts and data from this server only: ReDoc's
#: sidebar asks cdn.redoc.ly for a logo, which the browser then does not request (the image
#: hides itself when it fails).
DOCS_POLICY: Final = "img-src 'self' data:; font-src 'self' data:; connect-src 'self'"


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    """Interactive API documentation (Swagger UI), every asset from this server."""
    page = get_swagger_ui_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} · documentación interactiva de la API",
        swagger_js_url=f"{STATIC_URL}/{SWAGGER_UI_JS}",
        swagger_css_url=f"{STATIC_URL}/{SWAGGER_UI_CSS}",
        swagger_favicon_url=f"{STATIC_URL}/{FAVICON}",
        # No validator badge: it would send the OpenAPI document to validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    )
    page.headers["Content-Security-Policy"] = DOCS_POLICY
    return page


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    """API reference (ReDoc), every asset from this server and the system's fonts."""
    page = get_redoc_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} · referencia de la API",
        redoc_js_url=f"{STATIC_URL}/{REDOC_JS}",
        redoc_favicon_url=f"{STATIC_URL}/{FAVICON}",
        with_google_fonts=False,
    )
    page.headers["Content-Security-Policy"] = DOCS_POLICY
    return page


def _openapi_url(request: Request) -> str:
    """Where the OpenAPI document is, behind a proxy's root path too."""
    return str(request.scope.get("root_path", "")) + str(request.app.openapi_url)


@router.get("/static/mapa/{asset:path}")
def static_asset(asset: str) -> FileResponse:
    """Vendored Leaflet, Swagger UI and ReDoc (with licences), the pages' scripts and styles."""
    path = (STATIC_DIR / asset).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file():
        raise NotFoundError(f"no existe {STATIC_URL}/{asset}")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/mapa/medianas/{region}.json")
def medians_route(
    store: StoreDep, caches: CachesDep, region: Annotated[str, Path(pattern=REGION_PATTERN)]
) -> Response:
    """Regional and national medians of each indicator (the commune panel compares to them)."""
    return Response(json_bytes(medians(store, caches, region))[0], media_type="application/json")


@router.get("/comunas/{cut}", response_class=HTMLResponse)
def profile_route(
    store: StoreDep,
    caches: CachesDep,
    settings: SettingsDep,
    cut: Annotated[str, Path(pattern=r"^\d{4,5}$")],
) -> HTMLResponse:
    """Printable profile of one commune (A4), from the API's profile of the stored run."""
    profile = commune_profile_data(store, caches, cut)
    code = str(profile["cut"])
    region_medians = medians(store, caches, str(profile["region_code"])) if profile["run"] else {}
    frame = outlines(store, caches)
    inset = caches.get_or_make(
        "page", ("inset", code), lambda: inset_svg(frame, code), state=caches.data_state(store)
    )
    return HTMLResponse(
        profile_page(
            profile,
            region_medians,
            load_catalogue(),
            inset,
            lagging=_lagging(store, caches, code, land_cover_path(settings)),
            portfolio=_portfolio(store, caches, code),
            mesas=mesa_records(store).mesas_of_communes([code]),
        )
    )


def _lagging(store: Store, caches: Caches, cut: str, land_cover: PathLike) -> dict[str, Any] | None:
    """The commune's Zonas Rezagadas emulation (as ``/rezago/{cut}``), or None without data.

    Not computed here when this worker does not hold it yet: the section then says where to
    open it (``pending``), so the profile never waits for national travel times.
    """
    if not eligibility_is_ready(store, caches, land_cover=land_cover):
        return {"pending": True, "url": f"/rezago/{cut}"}
    try:
        result, _ = eligibility(store, region_of(cut), caches, land_cover=land_cover)
    except GeogapsError:
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


def _portfolio(store: Store, caches: Caches, cut: str) -> dict[str, Any] | None:
    """The commune's Mesa portfolio against its gaps (as ``/portafolio/{cut}``), or None."""
    try:
        review, source = portfolio_review(store, region_of(cut), caches=caches)
        own = review.commune(cut)
    except (GeogapsError, LookupError):
        return None
    return portfolio_section(
        records(own.communes)[0], records(own.challenges), records(own.investments), source
    )
