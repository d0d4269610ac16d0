"""The kinds of dataset geogaps loads, and the registry that names them.

A :class:`Kind` says which table a dataset fills, which reader (one module per family of
sources: ``territory``, ``water``, ``services``, ``social``, ``projects``, ``demo``) maps its
file to that table's columns, and which checks the loader applies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from domain.errors import NotFoundError
from layers.readers import demo, projects, services, social, territory, water
from layers.readers.columns import Frame
from layers.readers.context import ReadContext
from layers.readers.files import read_csv, read_vector
from layers.validation import ValidationOutcome


@dataclass(frozen=True)
class Kind:
    """A kind of dataset: which table it fills, how its files are read, which checks apply."""

    name: str
    table: str
    source: str
    description: str
    transform: Callable[[Frame, Path, ReadContext, ValidationOutcome], Frame]
    geometry_type: str | None = None
    geometry_optional: bool = False
    check_point_in_commune: bool = False
    key: tuple[str, ...] = ()
    #: False where identical rows are distinct real entities (the census locality list has no
    #: district code, so two "Indeterminada" entities of 12 inhabitants look the same).
    drop_exact_duplicates: bool = True

    @property
    def spatial(self) -> bool:
        """Whether rows of this kind carry a geometry."""
        return self.geometry_type is not None

    def open(self, path: Path, layer: str | None = None) -> Frame:
        """Open ``path`` (``layer`` of a GeoPackage) as a vector file or a CSV."""
        if self.spatial:
            spatial: Frame = read_vector(path, layer, points_optional=self.geometry_optional)
            return spatial
        if path.suffix.lower() != ".csv":
            frame = read_vector(path, layer)
            return pd.DataFrame(frame.drop(columns=frame.geometry.name))
        return read_csv(path)


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "territorial_codes",
            "territorial_codes",
            "SUBDERE",
            "official region/province/commune code list",
            territory.territorial_codes,
            key=("cut",),
        ),
        Kind(
            "communes",
            "communes",
            "INE/SUBDERE (chilemapas)",
            "commune boundaries",
            territory.communes,
            geometry_type="MULTIPOLYGON",
            key=("cut",),
        ),
        Kind(
            "urban_zones",
            "urban_zones",
            "INE Censo 2017",
            "urban census zones",
            territory.urban_zones,
            geometry_type="MULTIPOLYGON",
            key=("geocode",),
        ),
        Kind(
            "population",
            "population",
            "INE",
            "population by year and urban/rural area",
            territory.population,
            key=("cut", "year", "area"),
        ),
        Kind(
            "water_sources",
            "water_sources",
            "INE Censo 2017",
            "dwellings by drinking-water source",
            water.water_sources,
            key=("cut",),
        ),
        Kind(
            "apr",
            "apr_systems",
            "MOP-DOH Servicios Sanitarios Rurales",
            "APR/SSR rural drinking-water systems",
            water.apr,
            geometry_type="POINT",
            check_point_in_commune=True,
        ),
        Kind(
            "facilities",
            "facilities",
            "MINSAL-DEIS / MINEDUC / SUBTEL",
            "health, education and other service facilities",
            services.facilities,
            geometry_type="POINT",
            check_point_in_commune=True,
        ),
        Kind(
            "huella_presence",
            "huella_presence",
            "Fundación Huella Local",
            "communes where the foundation works",
            projects.huella_presence,
            key=("cut", "intervention"),
        ),
        Kind(
            "projects",
            "project_sites",
            "Fundación Huella Local",
            "development projects with typology and stage",
            projects.projects,
            geometry_type="POINT",
            geometry_optional=True,
            check_point_in_commune=True,
            key=("project_id",),
        ),
        Kind(
            "localities",
            "localities",
            "INE Censo 2017",
            "localities and rural entities",
            territory.localities,
            drop_exact_duplicates=False,
        ),
        Kind(
            "rural_classification",
            "rural_classification",
            "ODEPA",
            "national rural policy class",
            territory.rural_classification,
            key=("cut",),
        ),
        Kind(
            "poverty",
            "poverty",
            "MDSF",
            "multidimensional poverty with confidence interval",
            social.poverty,
            key=("cut",),
        ),
        Kind(
            "income_poverty",
            "poverty",
            "MDSF",
            "income poverty (small-area estimates) with confidence interval",
            social.income_poverty,
            key=("cut",),
        ),
        Kind(
            "finance",
            "municipal_finance",
            "SUBDERE-SINIM",
            "municipal finance",
            social.finance,
            key=("cut", "year"),
        ),
        Kind(
            "informal_settlements",
            "informal_settlements",
            "MINVU",
            "informal settlements (campamentos)",
            social.informal_settlements,
            geometry_type="MULTIPOLYGON",
        ),
        Kind(
            "villages",
            "villages",
            "municipal demo layer",
            "village outlines",
            demo.villages,
            geometry_type="MULTIPOLYGON",
        ),
        Kind(
            "roads",
            "road_segments",
            "SUBTRANS / MOP",
            "road and trail network",
            demo.roads,
            geometry_type="MULTILINESTRING",
        ),
    )
}


class UnknownKindError(NotFoundError):
    """No kind of dataset has the requested name."""


def kind_named(name: str) -> Kind:
    """Return the kind called ``name``; raise an UnknownKindError listing the kinds otherwise."""
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownKindError(
            f"tipo desconocido {name!r}; elija uno de {', '.join(KINDS)}"
        ) from None
