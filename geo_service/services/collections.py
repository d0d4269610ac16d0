"""The collections the service publishes through OGC API – Features and vector tiles.

Five collections: the communes with the newest national run's scores of every challenge of the
catalogue and of the composite index, the rural water systems, the health and the education
facilities, and the development projects. Their description types and the SQL that serves them
live in :mod:`layers.features`; the choice of tables, titles and score properties is here,
where the challenge catalogue of :mod:`analysis` may be read.
"""

from __future__ import annotations

from functools import cache

from analysis import load_catalogue
from domain.errors import NotFoundError
from layers.features import RUN_ID, Collection, Property, PropertyType, table_properties


class UnknownCollectionError(NotFoundError):
    """No collection has the requested id."""


#: Result of a challenge served per commune: ``score_results`` column, JSON type, title.
_SCORE_FIELDS: tuple[tuple[str, PropertyType, str], ...] = (
    ("score", "number", "puntaje de brecha (mayor = más brecha)"),
    ("rank", "integer", "lugar nacional (1 = mayor brecha)"),
    ("tier", "integer", "tramo de prioridad (1 = muy alta)"),
    ("tier_label", "string", "tramo de prioridad"),
)

_FACILITY_TITLES = {
    "source_id": "Código del establecimiento en su fuente",
    "name": "Nombre",
    "facility_type": "Tipo de establecimiento",
    "level": "Nivel de atención",
    "operating_status": "Estado de funcionamiento",
    "ownership": "Dependencia",
    "cut": "Código único territorial (CUT) de la comuna",
    "outside_declared_commune": "El punto cae fuera de la comuna declarada",
}


def _score_properties() -> tuple[Property, ...]:
    """Score, rank, tier and tier label of every challenge and of the composite index."""
    catalogue = load_catalogue()
    challenges = [(c.id, c.label) for c in catalogue.challenges]
    challenges.append((catalogue.composite_id, catalogue.composite_label))
    return tuple(
        Property(
            f"{challenge}_{result}",
            f"{label}: {what}",
            kind,
            challenge=challenge,
            result=result,
        )
        for challenge, label in challenges
        for result, kind, what in _SCORE_FIELDS
    )


def _communes() -> Collection:
    return Collection(
        id="comunas",
        title="Comunas de Chile con sus puntajes de brecha",
        description=(
            "Límites de las 345 comunas con el puntaje, el lugar nacional y el nivel de "
            "prioridad de cada desafío y del índice compuesto, tomados de la corrida nacional "
            "de puntajes más reciente (run_id)."
        ),
        table="communes",
        key="cut",
        geometry_type="MultiPolygon",
        properties=(
            *table_properties(
                "communes",
                {
                    "cut": "Código único territorial (CUT)",
                    "name": "Nombre de la comuna",
                    "province_name": "Provincia",
                    "region_code": "Código de región",
                    "region_name": "Región",
                    "area_km2": "Superficie (km²)",
                },
            ),
            Property(
                RUN_ID, "Corrida nacional de la que vienen los puntajes", "string", result=RUN_ID
            ),
            *_score_properties(),
        ),
        with_scores=True,
    )


def _apr() -> Collection:
    return Collection(
        id="apr",
        title="Sistemas de agua potable rural (APR/SSR)",
        description="Sistemas de agua potable rural o servicios sanitarios rurales, como puntos.",
        table="apr_systems",
        key="id",
        geometry_type="Point",
        properties=table_properties(
            "apr_systems",
            {
                "name": "Nombre del sistema",
                "cut": "Código único territorial (CUT) de la comuna",
                "connections": "Arranques (conexiones)",
                "beneficiaries": "Beneficiarios estimados",
                "status": "Estado",
                "network_status": "Estado de la red",
                "organisation_status": "Estado de la organización",
                "size_class": "Clasificación por tamaño",
                "water_source_type": "Tipo de fuente de agua",
                "source": "Archivo de origen",
                "outside_declared_commune": "El punto cae fuera de la comuna declarada",
            },
        ),
    )


def _facilities() -> tuple[Collection, Collection]:
    health = Collection(
        id="establecimientos_salud",
        title="Establecimientos de salud",
        description=(
            "Establecimientos de salud en funcionamiento (directorio MINSAL-DEIS); los "
            "cerrados no se cargan."
        ),
        table="facilities",
        key="id",
        geometry_type="Point",
        properties=table_properties("facilities", _FACILITY_TITLES),
        category="salud",
    )
    schools = Collection(
        id="establecimientos_educacionales",
        title="Establecimientos educacionales",
        description=(
            "Establecimientos educacionales (directorio MINEDUC) en funcionamiento; los "
            "cerrados no se cargan."
        ),
        table="facilities",
        key="id",
        geometry_type="Point",
        properties=table_properties(
            "facilities", {**_FACILITY_TITLES, "level": "Nivel de enseñanza"}
        ),
        category="educacion",
    )
    return health, schools


def _projects() -> Collection:
    return Collection(
        id="proyectos",
        title="Proyectos de desarrollo (Huella Local)",
        description=(
            "Proyectos de las Mesas de Convergencia con tipología, etapa e inversión; los que "
            "no tienen coordenadas van sin geometría."
        ),
        table="project_sites",
        key="project_id",
        geometry_type="Point",
        properties=table_properties(
            "project_sites",
            {
                "project_id": "Identificador del proyecto",
                "cut": "Código único territorial (CUT) de la comuna",
                "name": "Nombre del proyecto",
                "typology": "Tipología",
                "stage": "Etapa",
                "total_investment_clp": "Inversión total (CLP)",
                "private_contribution_clp": "Aporte privado (CLP)",
                "location_precision": "Precisión de la ubicación (exact, locality, commune)",
                "source_note": "Nota de la fuente",
                "outside_declared_commune": "El punto cae fuera de la comuna declarada",
            },
        ),
    )


@cache
def collections() -> dict[str, Collection]:
    """Every served collection by id, in the order the service lists them."""
    health, schools = _facilities()
    return {c.id: c for c in (_communes(), _apr(), health, schools, _projects())}


def collection_named(collection_id: str) -> Collection:
    """The collection called ``collection_id``.

    Raises
    ------
    UnknownCollectionError
        Naming the id and listing the collections.
    """
    try:
        return collections()[collection_id]
    except KeyError:
        raise UnknownCollectionError(
            f"no existe la colección {collection_id!r}; las colecciones son "
            f"{', '.join(collections())}"
        ) from None
