"""Point overlays of the web map as light GeoJSON: only what a tooltip shows, already in Spanish.

Each function takes frames read by ``layers`` and returns a FeatureCollection whose features
carry ``title`` (a name from the data: the page writes it with ``textContent``), ``lines``
(Spanish text, numbers from :mod:`analysis.formatting`), ``colour``, ``radius`` and
``approximate`` (drawn with a dashed border).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import pandas as pd

from analysis.formatting import format_integer, format_share, is_missing
from domain.projects import PROJECT_TYPOLOGIES, TYPOLOGY_LABELS

#: Colour of each project typology, in :data:`domain.PROJECT_TYPOLOGIES` order.
TYPOLOGY_COLOURS: Final = dict(
    zip(PROJECT_TYPOLOGIES, ("#6a3d9a", "#33a02c", "#b15928", "#1f78b4"), strict=True)
)
#: Health facility types grouped for colour: (label, colour, type names).
HEALTH_GROUPS: Final = (
    ("Hospital", "#e31a1c", ("Hospital",)),
    (
        "Atención primaria",
        "#1b9e77",
        (
            "Centro de Salud Familiar (CESFAM)",
            "Centro Comunitario de Salud Familiar (CECOSF)",
            "Consultorio General Rural (CGR)",
            "Consultorio General Urbano (CGU)",
        ),
    ),
    ("Posta de Salud Rural", "#66a61e", ("Posta de Salud Rural (PSR)",)),
    (
        "Urgencia",
        "#d95f02",
        (
            "Servicio de Atención Primaria de Urgencia (SAPU)",
            "Servicio de Urgencia Rural (SUR)",
            "Servicio de Atención Primaria de Urgencia de Alta Resolutividad (SAR)",
        ),
    ),
)
OTHER_HEALTH: Final = ("Otro establecimiento", "#7570b3")
SCHOOL_COLOUR: Final = "#f781bf"
APR_COLOUR: Final = "#08519c"
HUELLA_COLOUR: Final = "#ff7f00"
INTERVENTION_LABELS: Final = {
    "mesa_convergencia": "Mesa de Convergencia",
    "other": "Otra intervención",
}


def _point(lon: float, lat: float, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]},
        "properties": properties,
    }


def apr_features(apr: pd.DataFrame) -> dict[str, Any]:
    """APR systems sized by beneficiaries (circle area proportional to people served)."""
    features = []
    for row in apr.to_dict("records"):
        point = row.get("geom")
        if point is None or point.is_empty:
            continue
        served = row.get("beneficiaries")
        radius = 3.0 if is_missing(served) else min(3.0 + math.sqrt(float(served or 0)) / 3.0, 16.0)
        lines = [f"Beneficiarios: {format_integer(served)}"]
        if not is_missing(row.get("connections")):
            lines.append(f"Arranques: {format_integer(row['connections'])}")
        if row.get("status"):
            lines.append(f"Estado: {row['status']}")
        features.append(
            _point(
                point.x,
                point.y,
                {
                    "title": str(row["name"]),
                    "lines": lines,
                    "colour": APR_COLOUR,
                    "radius": round(radius, 1),
                },
            )
        )
    return {"type": "FeatureCollection", "features": features}


def project_features(
    projects: pd.DataFrame, label_points: Mapping[str, tuple[float, float]]
) -> dict[str, Any]:
    """Project sites by typology; projects located only to their commune sit at its label point."""
    features = []
    for row in projects.to_dict("records"):
        point = row.get("geom")
        precise = row["location_precision"] != "commune" and point is not None
        if precise and point is not None:
            lon, lat = point.x, point.y
        elif row["cut"] in label_points:
            lon, lat = label_points[row["cut"]]
        else:
            continue
        typology = str(row["typology"])
        lines = [TYPOLOGY_LABELS.get(typology, typology.replace("_", " "))]
        if row.get("stage"):
            lines.append(f"Etapa: {row['stage']}")
        if not is_missing(row.get("total_investment_clp")):
            lines.append(f"Inversión: {format_integer(row['total_investment_clp'])} CLP")
        if not precise:
            lines.append("Ubicación aproximada: dibujado en la comuna")
        elif row["location_precision"] == "locality":
            lines.append("Ubicación a nivel de localidad")
        features.append(
            _point(
                lon,
                lat,
                {
                    "title": str(row["name"]),
                    "lines": lines,
                    "colour": TYPOLOGY_COLOURS.get(typology, "#555555"),
                    "radius": 7,
                    "approximate": not precise,
                },
            )
        )
    return {"type": "FeatureCollection", "features": features}


def health_group(facility_type: str | None) -> tuple[str, str]:
    """Group label and colour of a health facility type."""
    for label, colour, types in HEALTH_GROUPS:
        if facility_type in types:
            return label, colour
    return OTHER_HEALTH


def is_operating(status: object) -> bool:
    """Whether a DEIS status means the facility operates (``Vigente en operación…``)."""
    return isinstance(status, str) and status.strip().lower().startswith("vigente")


def facility_features(facilities: pd.DataFrame, *, health: bool) -> dict[str, Any]:
    """Operating health facilities coloured by type group, or schools."""
    features = []
    for row in facilities.to_dict("records"):
        point = row.get("geom")
        if point is None or point.is_empty:
            continue
        if health:
            if not is_operating(row.get("operating_status")):
                continue
            group, colour = health_group(row.get("facility_type"))
            lines = [str(row.get("facility_type") or group)]
            if row.get("level"):
                lines.append(f"Nivel: {row['level']}")
        else:
            colour = SCHOOL_COLOUR
            lines = [str(row.get("facility_type") or "Establecimiento educacional")]
        features.append(
            _point(
                point.x,
                point.y,
                {
                    "title": str(row.get("name") or "Sin nombre"),
                    "lines": lines,
                    "colour": colour,
                    "radius": 3.5,
                },
            )
        )
    return {"type": "FeatureCollection", "features": features}


def huella_features(
    presence: pd.DataFrame,
    label_points: Mapping[str, tuple[float, float]],
    names: Mapping[str, str],
) -> dict[str, Any]:
    """Communes where Huella Local works, one marker per commune listing its interventions."""
    features = []
    for cut, rows in presence.groupby("cut", sort=True):
        if cut not in label_points:
            continue
        interventions = sorted(
            {INTERVENTION_LABELS.get(str(i), str(i)) for i in rows["intervention"]}
        )
        lon, lat = label_points[str(cut)]
        features.append(
            _point(
                lon,
                lat,
                {
                    "title": f"Huella Local · {names.get(str(cut), cut)}",
                    "lines": interventions,
                    "colour": HUELLA_COLOUR,
                    "radius": 6,
                },
            )
        )
    return {"type": "FeatureCollection", "features": features}


ACCESS_COLOUR: Final = "#6a51a3"
#: Destination kinds of ``geogaps accessibility``, in Spanish.
DESTINATION_LABELS: Final = {
    "primary": "atención primaria",
    "cesfam": "CESFAM",
    "hospital": "hospital",
    "school": "establecimiento educacional",
    "apr": "sistema APR",
    "centre": "centro comunal",
}
#: Colour of each destination kind: a commune's circles (one per kind) share its label point.
DESTINATION_COLOURS: Final = {
    "primary": "#1b9e77",
    "cesfam": "#66a61e",
    "hospital": "#e31a1c",
    "school": "#f781bf",
    "apr": "#08519c",
    "centre": "#6a51a3",
}


def accessibility_features(
    access: pd.DataFrame,
    label_points: Mapping[str, tuple[float, float]],
    names: Mapping[str, str],
) -> dict[str, Any]:
    """Travel time of each commune's rural population to its nearest facility, at the commune.

    One marker per commune and destination kind (from ``geogaps accessibility``), sized by the
    rural population's mean minutes.
    """
    features = []
    for row in access.sort_values(["cut", "facility"]).to_dict("records"):
        cut = str(row["cut"])
        if cut not in label_points:
            continue
        minutes = row.get("rural_minutes_mean")
        kind = str(row.get("facility"))
        lines = [
            f"Destino: {DESTINATION_LABELS.get(kind, kind)}",
            f"Minutos (media rural): {format_integer(minutes)}",
            "Población rural a más de 60 min: "
            + format_share(row.get("rural_share_beyond_60_minutes")),
        ]
        radius = 3.0 if is_missing(minutes) else min(3.0 + float(minutes or 0) / 15.0, 16.0)
        lon, lat = label_points[cut]
        features.append(
            _point(
                lon,
                lat,
                {
                    "title": f"Accesibilidad · {names.get(cut, cut)}",
                    "lines": lines,
                    "colour": DESTINATION_COLOURS.get(kind, ACCESS_COLOUR),
                    "radius": round(radius, 1),
                },
            )
        )
    return {"type": "FeatureCollection", "features": features}


def overlay_legends() -> dict[str, dict[str, Any]]:
    """The legend of each point overlay, from the colours and sizes the features above use.

    Returns
    -------
    dict
        Overlay id (``/mapa/capas/{id}.geojson``) → ``items`` (``label``, ``colour`` and
        ``dashed`` for an approximate location) and ``note`` (what a marker's size says, or
        None). The map page draws it when the overlay is switched on.
    """

    def item(label: str, colour: str, *, dashed: bool = False) -> dict[str, Any]:
        return {"label": label, "colour": colour, "dashed": dashed}

    approximate = "Ubicación aproximada: dibujado en el centro de la comuna (borde punteado)"
    return {
        "apr": {
            "items": [item("Sistema APR / SSR", APR_COLOUR)],
            "note": "Tamaño según beneficiarios; el círculo mínimo es un sistema sin dato "
            "de beneficiarios.",
        },
        "proyectos": {
            "items": [item(TYPOLOGY_LABELS[t], TYPOLOGY_COLOURS[t]) for t in PROJECT_TYPOLOGIES]
            + [item(approximate, "#ffffff", dashed=True)],
            "note": None,
        },
        "salud": {
            "items": [item(label, colour) for label, colour, _ in HEALTH_GROUPS]
            + [item(*OTHER_HEALTH)],
            "note": "Solo establecimientos vigentes en operación.",
        },
        "escuelas": {"items": [item("Establecimiento educacional", SCHOOL_COLOUR)], "note": None},
        "huella": {
            "items": [item("Comuna con intervención de Huella Local", HUELLA_COLOUR)],
            "note": None,
        },
        "accesibilidad": {
            "items": [
                item(f"Hasta {label}", DESTINATION_COLOURS[kind])
                for kind, label in DESTINATION_LABELS.items()
            ],
            "note": "Un círculo por comuna y destino, en el centro de la comuna. Tamaño según "
            "los minutos de viaje de la población rural al destino más cercano: mayor círculo, "
            "más lejos (tope a las 3 h 15 min); el círculo mínimo también marca una comuna sin "
            "dato de minutos.",
        },
    }
