"""HTTP routes of the decision tools: ``/portafolio``, ``/rezago`` and ``/siting``.

JSON for the map and the commune profile, Excel-ready CSV and a printable page for a Mesa.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response

from analysis import load_catalogue
from analysis.decision.eligibility import (
    DISCLAIMER,
    ISOLATION_THRESHOLD,
    ISOLATION_TOLERANCE,
    STATUSES,
    EligibilityResult,
)
from analysis.decision.portfolio import PortfolioReview
from domain import CUT_PATTERN, REGION_PATTERN, region_of
from domain.errors import NotFoundError
from geo_service.api.deps import CachesDep, RegionQuery, SettingsDep, StoreDep
from geo_service.services.accessibility import land_cover_path
from geo_service.services.cache import Caches
from geo_service.services.eligibility import eligibility
from geo_service.services.exports import (
    eligibility_csv,
    portfolio_challenges_csv,
    portfolio_communes_csv,
    portfolio_page,
)
from geo_service.services.portfolio import portfolio_review
from geo_service.services.rows import json_records as records
from geo_service.services.siting import SitingReport, siting
from geo_service.settings import Settings
from layers.stores import Store
from maps.eligibility import EMULATION_NOTE, curve_caption, threshold_curve_png

router = APIRouter(tags=["decisión"])


CutPath = Annotated[str, Path(pattern=CUT_PATTERN, description="Five-digit commune code (CUT).")]
TiersQuery = Annotated[
    int, Query(ge=1, le=10, description="Tiers counted as a high gap (1 = top tier).")
]
CSV_MEDIA = "text/csv; charset=utf-8"


def _commune_review(
    store: Store, caches: Caches, cut: str, tiers: int
) -> tuple[PortfolioReview, str]:
    review, source = portfolio_review(store, region_of(cut), tiers, caches=caches)
    try:
        return review.commune(cut), source
    except KeyError:
        raise NotFoundError(f"comuna desconocida {cut!r}") from None


def _finite(values: dict[str, Any]) -> dict[str, Any]:
    """Non-finite floats as ``null`` (JSON has no NaN)."""
    return {
        key: None if isinstance(value, float) and not math.isfinite(value) else value
        for key, value in values.items()
    }


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@router.get("/portafolio")
def portfolio(
    store: StoreDep, caches: CachesDep, region: RegionQuery = None, priority_tiers: TiersQuery = 1
) -> dict[str, Any]:
    """Each commune's projects against its gaps: money, high gaps without a project, suggestion."""
    review, source = portfolio_review(store, region, priority_tiers, caches=caches)
    return {
        "source": source,
        "catalogue_version": load_catalogue().version,
        "priority_tiers": priority_tiers,
        "communes": records(review.communes),
    }


@router.get("/portafolio.csv")
def portfolio_csv(
    store: StoreDep, caches: CachesDep, region: RegionQuery = None, priority_tiers: TiersQuery = 1
) -> Response:
    """The commune summary as Excel-ready CSV (UTF-8 with BOM, ``;``, decimal comma)."""
    review, _ = portfolio_review(store, region, priority_tiers, caches=caches)
    name = f"portafolio_{region or 'nacional'}.csv"
    return Response(portfolio_communes_csv(review), media_type=CSV_MEDIA, headers=_attachment(name))


@router.get("/portafolio/{cut}.csv")
def commune_portfolio_csv(
    store: StoreDep, caches: CachesDep, cut: CutPath, priority_tiers: TiersQuery = 1
) -> Response:
    """One commune's challenges with the projects and money aimed at each, as CSV."""
    review, _ = _commune_review(store, caches, cut, priority_tiers)
    return Response(
        portfolio_challenges_csv(review),
        media_type=CSV_MEDIA,
        headers=_attachment(f"portafolio_{cut}.csv"),
    )


@router.get("/portafolio/{cut}.html", response_class=HTMLResponse)
def commune_portfolio_page(
    store: StoreDep, caches: CachesDep, cut: CutPath, priority_tiers: TiersQuery = 1
) -> HTMLResponse:
    """A printable Spanish page of one commune's portfolio against its gaps."""
    review, source = _commune_review(store, caches, cut, priority_tiers)
    return HTMLResponse(portfolio_page(review, source, load_catalogue().version))


@router.get("/portafolio/{cut}")
def commune_portfolio(
    store: StoreDep, caches: CachesDep, cut: CutPath, priority_tiers: TiersQuery = 1
) -> dict[str, Any]:
    """One commune: summary, challenges, investment by typology and stage, and projects."""
    review, source = _commune_review(store, caches, cut, priority_tiers)
    return {
        "source": source,
        "priority_tiers": priority_tiers,
        "commune": records(review.communes)[0],
        "challenges": records(review.challenges),
        "investments": records(review.investments),
        "projects": records(review.projects),
    }


ThresholdQuery = Annotated[
    float | None,
    Query(
        ge=0.0,
        le=1.0,
        description="Umbral del índice de aislamiento (0–1) marcado en la curva; por omisión, "
        "el calibrado al rango de las listas publicadas por SUBDERE (120–135 comunas).",
    ),
]


def _eligibility(
    store: Store,
    caches: Caches,
    settings: Settings,
    region: str | None,
    threshold: float | None = None,
) -> tuple[EligibilityResult, pd.DataFrame]:
    return eligibility(
        store, region, caches, land_cover=land_cover_path(settings), threshold=threshold
    )


def _method(result: EligibilityResult, sources: pd.DataFrame) -> dict[str, Any]:
    calibration = result.calibration
    return {
        "emulation": True,
        "disclaimer": DISCLAIMER,
        "rule": (
            "Susceptible: pobreza por ingresos y pobreza multidimensional sobre los promedios "
            "regional y nacional (promedios ponderados por población de las estimaciones "
            "comunales) y al menos un lugar poblado en condición de aislamiento según el índice "
            "SUBDERE emulado. Casi susceptible: no lo es, pero su probabilidad de serlo "
            "(intervalos de pobreza y sorteos de velocidad) alcanza el mínimo del catálogo."
            if calibration is not None
            else "Susceptible: pobreza por ingresos y pobreza multidimensional sobre los "
            "promedios regional y nacional y medida de aislamiento mayor o igual al umbral. Casi "
            "susceptible: falla un solo criterio y dentro de su intervalo."
        ),
        "isolation_inputs": list(result.isolation_inputs),
        "isolation_threshold": (
            calibration["umbral"] if calibration is not None else ISOLATION_THRESHOLD
        ),
        "isolation_tolerance": None if calibration is not None else ISOLATION_TOLERANCE,
        "calibration": calibration,
        "sources": records(sources),
    }


@router.get("/rezago")
def lagging_zones(
    store: StoreDep, caches: CachesDep, settings: SettingsDep, region: RegionQuery = None
) -> dict[str, Any]:
    """Zonas Rezagadas eligibility emulated on open data, per commune, with territories."""
    result, sources = _eligibility(store, caches, settings, region)
    counts = result.communes["status"].value_counts()
    return {
        **_method(result, sources),
        "counts": {status: int(counts.get(status, 0)) for status in STATUSES},
        "communes": records(result.communes),
        "territories": records(result.territories),
    }


@router.get("/rezago.csv")
def lagging_zones_csv(
    store: StoreDep, caches: CachesDep, settings: SettingsDep, region: RegionQuery = None
) -> Response:
    """The emulation as Excel-ready CSV (UTF-8 with BOM, ``;``, decimal comma)."""
    result, _ = _eligibility(store, caches, settings, region)
    name = f"rezago_{region or 'nacional'}.csv"
    return Response(
        eligibility_csv(result.communes), media_type=CSV_MEDIA, headers=_attachment(name)
    )


def _curve(
    store: Store, caches: Caches, settings: Settings, threshold: float | None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The national threshold curve and the calibration record."""
    result, _ = _eligibility(store, caches, settings, None, threshold)
    if result.curve is None or result.calibration is None:
        raise NotFoundError("sin curva de umbral: el índice de aislamiento SUBDERE no se calculó")
    return result.curve, result.calibration


@router.get("/rezago/curva")
def lagging_zones_curve(
    store: StoreDep, caches: CachesDep, settings: SettingsDep, umbral: ThresholdQuery = None
) -> dict[str, Any]:
    """How the national count of susceptible communes moves with the isolation threshold."""
    curve, calibration = _curve(store, caches, settings, umbral)
    return {
        "emulation": True,
        "disclaimer": DISCLAIMER,
        "note": EMULATION_NOTE,
        "caption": curve_caption(calibration),
        "calibration": calibration,
        "curve": records(curve),
    }


@router.get(
    "/rezago/curva.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "Imagen PNG."}},
)
def lagging_zones_curve_png(
    store: StoreDep, caches: CachesDep, settings: SettingsDep, umbral: ThresholdQuery = None
) -> Response:
    """The threshold curve as a PNG chart, with the published range and the threshold used."""
    curve, calibration = _curve(store, caches, settings, umbral)
    return Response(threshold_curve_png(curve, calibration), media_type="image/png")


@router.get("/rezago/{cut}")
def commune_lagging_zone(
    store: StoreDep, caches: CachesDep, settings: SettingsDep, cut: CutPath
) -> dict[str, Any]:
    """One commune's criteria (value, threshold, margin, probability) for the profile page."""
    result, sources = _eligibility(store, caches, settings, region_of(cut))
    row = result.communes[result.communes["cut"] == cut]
    if row.empty:
        raise NotFoundError(f"comuna desconocida {cut!r}")
    territory = row["territory"].iloc[0]
    members = result.territories[result.territories["territory"] == territory]
    return {
        **_method(result, sources),
        "commune": records(row)[0],
        "criteria": records(result.criteria[result.criteria["cut"] == cut]),
        "territory": records(members)[0] if len(members) else None,
    }


@router.get("/siting")
def siting_route(
    store: StoreDep,
    caches: CachesDep,
    settings: SettingsDep,
    region: Annotated[str, Query(pattern=REGION_PATTERN, description="Region, e.g. 04.")],
    facility: Annotated[
        Literal["primary", "cesfam", "hospital", "school", "apr", "centre"],
        Query(description="Facility kind to place."),
    ] = "primary",
    new: Annotated[int, Query(ge=1, le=50, description="New sites (p).")] = 5,
    minutes: Annotated[float, Query(ge=5, le=600, description="Coverage standard T.")] = 60.0,
    model: Annotated[Literal["mclp", "pmedian"], Query(description="Model.")] = "mclp",
    max_candidates: Annotated[int, Query(ge=1, le=200, description="Candidate set size.")] = 60,
) -> dict[str, Any]:
    """New sites that reach the most rural people: sites (GeoJSON), coverage, communes gaining."""
    # A siting run takes seconds and the map asks again: keep the report per data state.
    report: SitingReport = caches.get_or_make(
        "siting",
        (region, facility, new, minutes, model, max_candidates),
        lambda: siting(
            store,
            land_cover_path(settings),
            facility,
            new,
            minutes,
            region,
            max_candidates=max_candidates,
            model=model,
        ),
        state=caches.data_state(store),
    )
    return {
        "parameters": report.parameters,
        "summary": _finite(report.result.summary),
        "sites": json.loads(report.sites.to_json(drop_id=True)),
        "communes": records(report.communes),
    }
