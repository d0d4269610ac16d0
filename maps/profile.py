"""The printable commune profile (``/comunas/{cut}``): one A4 page a council can take away.

Built from the API's commune profile JSON (``/communes/{cut}``) plus the indicator medians of
the same run; names from loaded data are escaped by Jinja's autoescape.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from jinja2 import Environment, FileSystemLoader, select_autoescape

from analysis.challenges import Catalogue
from analysis.decision.portfolio import NO_PORTFOLIO_SOURCE, PROJECT_SITES_SOURCE
from analysis.formatting import (
    format_day,
    format_integer,
    format_number,
    format_share,
    format_value,
    is_missing,
    rank_of,
)
from analysis.view import UNCERTAIN, view_answer
from domain.labels import MISSING
from domain.regions import regions_of
from maps.assets import STATIC_URL, TEMPLATE_DIR
from maps.page import CONTINENT_WEST, tier_colour

_templates = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(["html"])
)
# A reason as a sentence: first letter up, the rest as written ("sin dato: …" → "Sin dato: …").
_templates.filters["capitalize_first"] = lambda text: str(text)[:1].upper() + str(text)[1:]
INSET_SIZE: Final = 260
#: Facility categories of the stores, as planners read them.
FACILITY_CATEGORIES: Final = {
    "salud": "Salud",
    "educacion": "Educación",
    "educacion_parvularia": "Educación parvularia",
    "telecomunicaciones": "Telecomunicaciones",
}


def indicator_medians(
    indicators: pd.DataFrame, catalogue: Catalogue, region: str
) -> dict[str, dict[str, float | None]]:
    """Regional and national medians of every indicator of a run.

    Parameters
    ----------
    indicators
        The run's raw indicator table (``cut`` plus one column per indicator).
    catalogue
        The run's catalogue (gives each indicator's column).
    region
        Two-digit region code.

    Returns
    -------
    dict
        Indicator id → ``{"regional_median": ..., "national_median": ...}`` (None when no
        commune has a value).
    """
    in_region = indicators[(regions_of(indicators["cut"]) == region).fillna(False).to_numpy(bool)]
    medians: dict[str, dict[str, float | None]] = {}
    for indicator in catalogue.indicators:
        column = indicator.column
        if column not in indicators.columns:
            medians[indicator.id] = {"regional_median": None, "national_median": None}
            continue
        medians[indicator.id] = {
            "regional_median": _median(in_region[column]),
            "national_median": _median(indicators[column]),
        }
    return medians


def _median(values: pd.Series) -> float | None:
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    return float(numbers.median()) if len(numbers) else None


def inset_svg(outlines: gpd.GeoDataFrame, cut: str) -> str:
    """A small SVG map: the commune (dark) among the communes of its region.

    Coordinates are scaled by the cosine of the latitude so shapes keep their proportions.
    Only numbers and fixed colours go into the SVG (no names), so it needs no escaping.
    """
    own = outlines[outlines["cut"] == cut]
    if own.empty:
        return ""
    region = outlines[outlines["region_code"] == own["region_code"].iloc[0]].copy()
    # Oceanic islands (some inside continental communes' polygons) would shrink the inset.
    region["geometry"] = shapely.clip_by_rect(
        np.asarray(region.geometry.array), CONTINENT_WEST, -60.0, -60.0, -15.0
    )
    region = region[~region.geometry.is_empty]
    west, south, east, north = region.total_bounds
    scale_x = math.cos(math.radians((south + north) / 2))
    width, height = (east - west) * scale_x, north - south
    factor = INSET_SIZE / max(width, height)

    def path(shape: Any) -> str:
        parts = []
        for polygon in shapely.get_parts(shape):
            for ring in [polygon.exterior, *polygon.interiors]:
                points = " ".join(
                    f"{(x - west) * scale_x * factor:.1f},{(north - y) * factor:.1f}"
                    for x, y in ring.coords
                )
                parts.append(f"M{points}Z")
        return "".join(parts)

    shapes = [
        f'<path d="{path(shape)}" fill="{"#1f3b57" if code == cut else "#d9d9d9"}" '
        'stroke="#ffffff" stroke-width="0.6"/>'
        for code, shape in zip(region["cut"], region.geometry, strict=True)
        if shape is not None
    ]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width * factor:.0f} {height * factor:.0f}" '
        f'width="{width * factor:.0f}" height="{height * factor:.0f}">'
        f"{''.join(shapes)}</svg>"
    )


def profile_page(
    profile: Mapping[str, Any],
    medians: Mapping[str, Mapping[str, float | None]],
    catalogue: Catalogue,
    inset: str,
    static_url: str = STATIC_URL,
    lagging: Mapping[str, Any] | None = None,
    portfolio: Mapping[str, Any] | None = None,
    mesas: Sequence[Mapping[str, Any]] = (),
) -> str:
    """Render the profile page from the API's profile JSON (see ``/communes/{cut}``).

    ``lagging`` and ``portfolio`` are the sections built by :func:`lagging_section` and
    :func:`portfolio_section` (``None`` prints that the section is not available).
    ``mesas`` are the Mesas de Convergencia in office that include the commune (``mesa_id``,
    ``nombre``, ``comunas``), each linked to its page and its report.
    """
    indicators = []
    for item in profile.get("indicators", []):
        median = medians.get(item["id"], {})
        values = [item.get("value"), median.get("regional_median"), median.get("national_median")]
        finite = [abs(float(v)) for v in values if v is not None and not _is_nan(v)]
        top = max(finite) if finite and max(finite) > 0 else 1.0
        indicators.append(
            {
                "label": item["label"],
                "missing_reason": item.get("missing_reason"),
                "challenge": catalogue.label_of(item["challenge"]),
                "source": item.get("source") or "",
                "year": item.get("year"),
                "dataset": source_dataset_text(item),
                "bars": [
                    {
                        "name": name,
                        "text": format_value(value, item["unit"]),
                        "width": 0 if value is None or _is_nan(value) else abs(value) / top * 100,
                    }
                    for name, value in zip(("Comuna", "Región", "País"), values, strict=True)
                ],
            }
        )
    scores = []
    for row in profile.get("scores", []):
        # The national view's answer and the region's, as every surface writes them
        # (analysis/view.py); profiles stored before views were kept get them here.
        view = row.get("view") or view_answer(row, region=None, within_region=False, ties={})
        regional = row.get("view_region") or view_answer(
            row, region=row.get("region_code"), within_region=False, ties={}
        )
        scores.append(
            {
                "label": row.get("label") or catalogue.label_of(row["challenge"]),
                "score": format_number(row.get("score"), 3),
                "tier_label": view["tier_label"],
                "colour": tier_colour(view["tier"]),
                "national": view["place_label"],
                "regional": regional["place_label"],
                "interval": view["interval_label"],
                "share": view["top_tier_label"],
                "certainty": view["certainty_label"],
                "unstable": view["certainty"] == UNCERTAIN,
                "drivers": row.get("explanation") or "",
                "bar": _interval_bar(
                    view["place"], view["interval_low"], view["interval_high"], view["total"]
                ),
            }
        )
    apr = profile.get("apr") or {}
    projects = profile.get("projects") or {}
    run = profile.get("run") or {}
    created = run.get("created_at")
    sources = sorted(
        {(item.get("source") or "", item.get("year")) for item in profile.get("indicators", [])},
        key=lambda pair: (str(pair[0]), pair[1] or 0),
    )
    return _templates.get_template("perfil.html").render(
        name=profile.get("name") or profile.get("cut"),
        cut=profile.get("cut"),
        province=profile.get("province_name") or "",
        region=profile.get("region_name") or "",
        region_code=profile.get("region_code") or "",
        area=format_number(profile.get("area_km2"), 1),
        inset=inset,
        scores=scores,
        indicators=indicators,
        explanation=profile.get("explanation"),
        apr_reason=apr.get("reason"),
        projects_reason=projects.get("reason"),
        apr_systems=format_integer(apr.get("systems")),
        apr_beneficiaries=format_integer(apr.get("beneficiaries")),
        apr_connections=format_integer(apr.get("connections")),
        apr_status=[(k, format_integer(v)) for k, v in (apr.get("by_status") or {}).items()],
        facilities=[
            (FACILITY_CATEGORIES.get(k, k.replace("_", " ")), format_integer(v))
            for k, v in (profile.get("facilities") or {}).items()
        ],
        huella=profile.get("huella_local") or {},
        projects=[
            {
                "name": p.get("name") or "",
                "typology": str(p.get("typology") or "").replace("_", " "),
                "stage": p.get("stage") or "",
                "investment": format_integer(p.get("total_investment_clp")),
            }
            for p in projects.get("items", [])
        ],
        projects_total=format_integer(projects.get("total")),
        projects_investment=format_integer(projects.get("investment_clp")),
        sources=[(source, year) for source, year in sources if source],
        run_id=str(run.get("run_id") or "")[:12],
        run_date=format_day(pd.Timestamp(created)) if created else MISSING,
        data_changed=profile.get("data_changed"),
        static_url=static_url,
        lagging=lagging,
        portfolio=portfolio,
        mesas=[
            {
                "name": mesa["nombre"],
                "page": f"/mesas/{mesa['mesa_id']}/pagina",
                "report": f"/mesas/{mesa['mesa_id']}/pagina#reporte",
                "communes": len(mesa["comunas"]),
            }
            for mesa in mesas
        ],
    )


#: What the profile says for an indicator of a run stored before sources were recorded.
SOURCE_NOT_RECORDED = "sin registro de fuente"


def source_dataset_text(item: Mapping[str, Any]) -> str:
    """The dataset that supplied one indicator value of a profile, as the page prints it.

    Runs record it (``source_dataset``); older runs did not ("sin registro de fuente"); a
    commune without a value has no source ("sin dato").
    """
    if "source_dataset" not in item:
        return SOURCE_NOT_RECORDED
    return str(item["source_dataset"]) if item["source_dataset"] else MISSING


def _text(value: Any) -> str:
    """A text field of a record; ``None`` and ``NaN`` (a missing value) print as nothing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value)
    return str(value)


def _criterion_value(value: Any, unit: str) -> str:
    """Percentages and margins with one decimal, the 0–1 isolation index with two."""
    return format_number(None if is_missing(value) else float(value), 2 if "0–1" in unit else 1)


def lagging_section(
    commune: Mapping[str, Any],
    criteria: Sequence[Mapping[str, Any]],
    territory: Mapping[str, Any] | None,
    disclaimer: str,
) -> dict[str, Any]:
    """The Zonas Rezagadas emulation of one commune, formatted for the profile.

    Parameters
    ----------
    commune, criteria, territory, disclaimer
        The parts of ``/rezago/{cut}``: the commune row, its criteria rows (``label, value,
        threshold, margin, unit, met, probability``), its territory row or ``None``, and the
        sentence saying it is an emulation.
    """
    rows = []
    for row in criteria:
        unit = str(row.get("unit") or "")
        probability = row.get("probability")
        met = row.get("met")
        rows.append(
            {
                "label": _text(row.get("label")),
                "value": _criterion_value(row.get("value"), unit),
                "threshold": _criterion_value(row.get("threshold"), unit),
                "margin": _criterion_value(row.get("margin"), unit),
                "unit": unit,
                "probability": MISSING if is_missing(probability) else format_share(probability),
                "met": MISSING if is_missing(met) else ("Sí" if met else "No"),
            }
        )
    # Issue 18: the probability of being susceptible and the people in isolation (emulated
    # SUBDERE index); absent with the fallback isolation measure.
    probability = commune.get("probabilidad_susceptible")
    isolated = commune.get("aislamiento_poblacion_aislada")
    return {
        "probability": None if is_missing(probability) else format_share(probability),
        "isolated": None
        if is_missing(isolated)
        else f"{format_integer(isolated)} habitantes en aislamiento "
        f"({format_number(commune.get('aislamiento_poblacion_pct'), 1)} % de la comuna)",
        "status": _text(commune.get("status")) or MISSING,
        "met": format_integer(commune.get("criteria_met")),
        "total": format_integer(commune.get("criteria_total")),
        "failed": _text(commune.get("failed_criteria")),
        "criteria": rows,
        "territory": None
        if territory is None
        else {
            "id": _text(territory.get("territory")),
            "communes": format_integer(territory.get("communes")),
            "names": _text(territory.get("names")),
            "population": format_integer(territory.get("population")),
        },
        "disclaimer": disclaimer,
    }


def portfolio_section(
    commune: Mapping[str, Any],
    challenges: Sequence[Mapping[str, Any]],
    investments: Sequence[Mapping[str, Any]],
    source: str,
) -> dict[str, Any]:
    """The Mesa portfolio of one commune against its gaps, formatted for the profile.

    Parameters
    ----------
    commune, challenges, investments
        The parts of ``/portafolio/{cut}``: the commune summary, one row per challenge and one
        per typology and stage.
    source : str
        Where the gap scores come from.
    """
    return {
        "projects": format_integer(commune.get("projects_total")),
        "projects_source": _text(commune.get("portfolio_source")),
        # The loaded dataset's missing-data reason speaks only for a portfolio taken from it.
        "from_mesa": commune.get("portfolio_source")
        not in (None, PROJECT_SITES_SOURCE, NO_PORTFOLIO_SOURCE),
        "investment": format_integer(
            0 if not commune.get("projects_total") else commune.get("total_investment_clp")
        ),
        "on_high_gap": format_integer(commune.get("projects_on_high_gap")),
        "unaddressed": _text(commune.get("unaddressed_high_gaps")),
        "suggested": _text(commune.get("suggested_typology_label")),
        "suggestion": _text(commune.get("suggestion")),
        "challenges": [
            {
                "label": _text(row.get("challenge_label")),
                "rank": rank_of(row.get("rank"), row.get("ranked")),
                "high": bool(row.get("high_gap")),
                "projects": format_integer(row.get("projects_aimed")),
                "investment": format_integer(
                    0 if not row.get("projects_aimed") else row.get("investment_aimed_clp")
                ),
                "flag": bool(row.get("high_gap_without_project")),
            }
            for row in challenges
        ],
        "investments": [
            {
                "typology": _text(row.get("typology_label")),
                "stage": _text(row.get("stage")),
                "projects": format_integer(row.get("projects")),
                "investment": format_integer(row.get("total_investment_clp")),
                "challenges": _text(row.get("challenge_labels")),
            }
            for row in investments
        ],
        "source": source,
    }


def _is_nan(value: Any) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def _interval_bar(
    rank: float | None, low: float | None, high: float | None, total: int | None
) -> dict[str, float] | None:
    """Positions (0–100 %) of a rank and its 5–95 % interval on a 1…N scale."""
    if rank is None or low is None or high is None or not total or total < 2:
        return None

    def at(value: float) -> float:
        return (float(value) - 1) / (total - 1) * 100

    return {"rank": at(rank), "low": at(low), "width": max(at(high) - at(low), 0.8)}
