"""The planners' web map page (``/mapa``): a folium/Leaflet shell whose script reads the API.

Folium builds the page (map element, vendored Leaflet, viewport), the template adds the side
column, and the scripts of ``static/`` (:data:`MAP_SCRIPTS`) draw communes and overlays from
JSON endpoints, so changing challenge, region or weights never reloads the page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

import folium
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from analysis.challenges import Catalogue
from analysis.formatting import UNIT_DECIMALS, format_day
from analysis.spatial import QUADRANT_LABELS
from analysis.view import UNSTABLE_SHARE
from domain.labels import LABELS
from maps.assets import STATIC_URL, TEMPLATE_DIR, localise
from maps.overlays import overlay_legends

#: Colour of each tier number, the same in every view (tier 1 = largest gaps, darkest).
#: ColorBrewer YlOrRd; tiers beyond five (rare: ``--tiers`` up to 10) reuse the lightest.
TIER_COLOURS: Final = ("#bd0026", "#f03b20", "#fd8d3c", "#fecc5c", "#ffffb2")
NO_SCORE_COLOUR: Final = "#bdbdbd"
#: Zoom from which commune names are written on the map.
LABEL_ZOOM: Final = 7
#: Longitude west of which communes are oceanic islands, left out of the first view.
CONTINENT_WEST: Final = -76.0
#: Continental Chile, south-west then north-east (lat, lon).
NATIONAL_BOUNDS: Final = ((-56.0, -76.0), (-17.4, -66.0))
PAGE_TITLE: Final = "Mapa de brechas territoriales para planificadores · geogaps"
#: The page's scripts in ``maps/static``, in load order: shared helpers, commune panel and
#: overlays (each defines one factory on ``window.geogaps``), then ``mapa.js``, which uses them.
MAP_SCRIPTS: Final = ("mapa_comun.js", "mapa_panel.js", "mapa_capas.js", "mapa.js")

_templates = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(["html"])
)


@dataclass(frozen=True)
class PageUrls:
    """Endpoints the page's script calls: the JSON API, the web router's layers and exports."""

    scores: str = "/scores"
    gaps: str = "/gaps"
    commune: str = "/communes/"
    profile: str = "/comunas/"
    communes: str = "/mapa/capas/comunas.geojson"
    regions: str = "/mapa/capas/regiones.geojson"
    overlays: str = "/mapa/capas/"
    csv: str = "/exports/prioridades.csv"
    png: str = "/exports/mapa.png"
    medians: str = "/mapa/medianas/"
    extra: dict[str, str] = field(default_factory=dict)


#: Overlays of the layer control: id (``/mapa/capas/{id}.geojson``) → Spanish label.
OVERLAYS: Final = {
    "apr": "Sistemas APR / SSR (tamaño según beneficiarios)",
    "proyectos": "Proyectos por tipología (borde punteado: ubicación aproximada)",
    "salud": "Establecimientos de salud en funcionamiento",
    "escuelas": "Establecimientos educacionales",
    "huella": "Presencia de Huella Local",
    "accesibilidad": "Tiempo de viaje de la población rural (geogaps accessibility)",
}
#: Colour and meaning of each significant local Moran quadrant (the clusters overlay's legend).
CLUSTER_LEGEND: Final = {
    QUADRANT_LABELS[1]: ("#b2182b", "brecha alta rodeada de brechas altas"),
    QUADRANT_LABELS[3]: ("#2166ac", "brecha baja rodeada de brechas bajas"),
    QUADRANT_LABELS[4]: ("#ef8a62", "brecha alta entre vecinas de brecha baja"),
    QUADRANT_LABELS[2]: ("#67a9cf", "brecha baja entre vecinas de brecha alta"),
}
#: Overlays drawn on the commune outlines from the API's run tables: id → (label, endpoint).
COMMUNE_OVERLAYS: Final = {
    "clusters": ("Agrupamientos espaciales (Moran local) del desafío", "/clusters"),
    "groups": ("Grupos intercomunales propuestos del desafío", "/groups"),
}


#: Decision-tool overlays (issue 8): id → (label, endpoint); drawn from ``/rezago`` on the
#: commune outlines and from ``/siting`` as points (the selected region only).
DECISION_OVERLAYS: Final = {
    "rezago": ("Zonas rezagadas (emulación)", "/rezago"),
    "sitios": ("Sitios propuestos (APS, 60 min)", "/siting"),
}
#: Parameters of the proposed-sites overlay: primary care, five new sites, 60-minute standard.
SITING_QUERY: Final = {"facility": "primary", "new": "5", "minutes": "60"}


def tier_colour(tier: float | None) -> str:
    """Colour of a tier number (the same tier wears the same colour in every view)."""
    if tier is None or tier != tier:  # NaN
        return NO_SCORE_COLOUR
    return TIER_COLOURS[min(int(tier), len(TIER_COLOURS)) - 1]


def page_config(
    catalogue: Catalogue,
    regions: list[dict[str, str]],
    run: dict[str, Any],
    *,
    challenge: str,
    region: str | None,
    basemap_url: str | None,
    national_total: int | None,
    urls: PageUrls | None = None,
    overlays: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Everything the page's script needs besides the API: catalogue, regions, run, colours.

    ``labels`` carries :data:`domain.labels.LABELS`, so the script writes a missing value and a
    place in a ranking with the same words and templates as the server.
    """
    urls = urls or PageUrls()
    parameters = run.get("parameters") or {}
    years = sorted({i.year for i in catalogue.indicators if i.year is not None})
    challenges = [
        {
            "id": challenge_.id,
            "label": challenge_.label,
            "weight": challenge_.weight,
            "indicators": [
                {"id": i.id, "label": i.label, "unit": i.unit, "weight": i.weight}
                for i in catalogue.indicators_of(challenge_.id)
            ],
        }
        for challenge_ in catalogue.challenges
    ]
    challenges.append(
        {
            "id": catalogue.composite_id,
            "label": catalogue.composite_label,
            "weight": 0,
            "indicators": [],
        }
    )
    created = run.get("created_at")
    legends = overlay_legends()
    return {
        "challenges": challenges,
        "composite_id": catalogue.composite_id,
        "weight_ids": [c.id for c in catalogue.challenges] + [i.id for i in catalogue.indicators],
        "regions": regions,
        "run": {k: run.get(k) for k in ("run_id", "scope", "created_at")},
        "run_date": format_day(created) if created is not None else None,
        "national_total": national_total,
        "tier_colours": list(TIER_COLOURS),
        "no_score_colour": NO_SCORE_COLOUR,
        "unstable_threshold": UNSTABLE_SHARE,
        "unit_decimals": UNIT_DECIMALS,
        "labels": dict(LABELS),
        "label_zoom": LABEL_ZOOM,
        "continent_west": CONTINENT_WEST,
        "national_bounds": [list(corner) for corner in NATIONAL_BOUNDS],
        "classification": _classification_sentence(parameters),
        "data_years": _years_sentence(years),
        "boundaries_source": "BCN / IDE Chile",
        "basemap": (
            {"url": basemap_url, "attribution": "Mapa base configurado (GEOGAPS_BASEMAP_URL)"}
            if basemap_url
            else None
        ),
        "initial": {"challenge": challenge, "region": region or ""},
        "overlays": [
            {
                "id": key,
                "label": label,
                "kind": "points",
                "url": f"{urls.overlays}{key}.geojson",
                "legend": legends.get(key),
            }
            for key, label in (overlays or OVERLAYS).items()
            if key not in COMMUNE_OVERLAYS
        ]
        + [
            {"id": key, "label": label, "kind": key, "url": url}
            for key, (label, url) in COMMUNE_OVERLAYS.items()
        ]
        + [
            {"id": key, "label": label, "kind": key, "url": url}
            for key, (label, url) in DECISION_OVERLAYS.items()
        ],
        "cluster_legend": [
            {"label": quadrant, "colour": colour, "meaning": meaning}
            for quadrant, (colour, meaning) in CLUSTER_LEGEND.items()
        ],
        "siting_query": dict(SITING_QUERY),
        "urls": {
            "scores": urls.scores,
            "gaps": urls.gaps,
            "commune": urls.commune,
            "profile": urls.profile,
            "communes": urls.communes,
            "regions": urls.regions,
            "csv": urls.csv,
            "png": urls.png,
            "medians": urls.medians,
            **urls.extra,
        },
    }


def map_page(config: dict[str, Any], static_url: str = STATIC_URL) -> str:
    """Render the ``/mapa`` page: a folium map with local Leaflet and the side column.

    Parameters
    ----------
    config
        From :func:`page_config`; embedded as JSON (``<`` escaped, so names from loaded data
        cannot close the script element).
    static_url
        Where ``maps/static`` is served.

    Returns
    -------
    str
        The HTML page, ``lang="es"``, with a ``<title>`` and no request to another host.
    """
    folium_map = localise(
        folium.Map(
            location=[-33.0, -71.0],
            zoom_start=4,
            tiles=None,
            # The script adds a metric-only scale (folium's would show miles too).
            control_scale=False,
            prefer_canvas=True,
            min_zoom=3,
            zoom_snap=0.25,
        ),
        static_url,
    )
    root: Any = folium_map.get_root()  # a branca Figure: header, html and script sections
    # An empty icon: the browser would otherwise ask for /favicon.ico.
    root.header.add_child(
        folium.Element(f'<title>{PAGE_TITLE}</title>\n<link rel="icon" href="data:,">')
    )
    root.header.add_child(folium.Element(f'<link rel="stylesheet" href="{static_url}/mapa.css"/>'))
    body = _templates.get_template("mapa.html").render(
        config_json=Markup(safe_json(config)),
        csv_url=config["urls"]["csv"],
        png_url=config["urls"]["png"],
    )
    root.html.add_child(folium.Element(body))
    page: str = root.render()
    page = page.replace("<html>", '<html lang="es">', 1)
    # The page's own scripts run after folium's map is created (end of the document).
    handover = f"<script>window.geogapsMap = {folium_map.get_name()};</script>"
    scripts = "\n".join(f'<script src="{static_url}/{name}"></script>' for name in MAP_SCRIPTS)
    return page.replace("</html>", f"{handover}\n{scripts}\n</html>", 1)


def safe_json(value: Any) -> str:
    """JSON for a ``<script type="application/json">`` block: ``<``, ``>``, ``&`` escaped."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_NORMALIZATIONS: Final = {
    "minmax": "mín–máx",
    "zscore": "puntaje z",
    "rank": "rango percentil",
    "target": "distancia a la meta",
}
_AGGREGATIONS: Final = {"arithmetic": "aritmética", "geometric": "geométrica"}


def _classification_sentence(parameters: dict[str, Any]) -> str:
    tiers = parameters.get("tier_count", 5)
    method = parameters.get("tier_method", "quantiles")
    method_text = "cuantiles" if method == "quantiles" else "cortes naturales (Jenks)"
    normalization = _NORMALIZATIONS.get(parameters.get("normalization", "minmax"), "mín–máx")
    aggregation = _AGGREGATIONS.get(parameters.get("aggregation", "arithmetic"), "aritmética")
    return (
        f"Clasificación: {tiers} tramos por {method_text} del puntaje (tramo 1 = mayor brecha); "
        f"normalización {normalization}, media {aggregation}."
    )


def _years_sentence(years: list[int]) -> str:
    if not years:
        return "años de los datos no declarados en el catálogo"
    if len(years) == 1:
        return f"indicadores del año {years[0]}"
    return f"indicadores de {years[0]} a {years[-1]} (año por indicador en el perfil)"
