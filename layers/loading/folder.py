"""Loading a whole data folder laid out like ``../shared/data/chile``, in dependency order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from domain.regions import regions_of
from layers.errors import LayerError
from layers.loading.load import load_file
from layers.loading.report import LoadReport
from layers.readers import ReadContext
from layers.readers.files import read_csv, sha256_of
from layers.stores.base import Store

#: Files of a folder laid out like ``../shared/data/chile``, in load order (codes and
#: boundaries first: the other datasets are validated against them).
MANIFEST: tuple[tuple[str, str], ...] = (
    ("boundaries/codigos_territoriales.csv", "territorial_codes"),
    ("boundaries/comunas_chile_345.gpkg", "communes"),
    ("boundaries/zonas_censales_urbanas_2017.gpkg", "urban_zones"),
    ("population/ine_proyecciones_urbana_rural_comuna.csv", "population"),
    ("population/censo2024_poblacion_comuna.csv", "population"),
    ("population/censo2017_zonas_urbano_rural_comuna.csv", "population"),
    ("water/censo2017_origen_agua_viviendas_comuna.csv", "water_sources"),
    ("water/apr_petorca_05404.geojson", "apr"),
    ("water/ssr_coyhaique_11101.geojson", "apr"),
    ("services/establecimientos_salud_deis_2026.gpkg", "facilities"),
    ("services/establecimientos_educacionales_mineduc.csv", "facilities"),
    ("territory/localidades_censo2017.csv", "localities"),
    ("territory/pndr_clasificacion_comunas_2024.csv", "rural_classification"),
    ("social/pobreza_multidimensional_comunal_2022.csv", "poverty"),
    ("social/pobreza_ingresos_comunal_2022.csv", "income_poverty"),
    ("social/catastro_campamentos_2024.geojson", "informal_settlements"),
    ("finance/sinim_2022_comunas.csv", "finance"),
    ("finance/sinim_2023_comunas.csv", "finance"),
    ("huella_local/presence_2023.csv", "huella_presence"),
    ("huella_local/projects_2023_sample.csv", "projects"),
    ("petorca/Estab_Educ_parvularia_Petorca_.geojson", "facilities"),
    ("petorca/Antenas_Servicio_petorca_.geojson", "facilities"),
    ("petorca/Poblados_Petorca_.geojson", "villages"),
    ("petorca/Red_PRE_2018_Petorca_.geojson", "roads"),
)
#: Files of that layout deliberately left out of ``load``, and why.
NOT_LOADED: dict[str, str] = {
    "water/apr_petorca_05404_raw_with_duplicates.geojson": (
        "la misma capa que water/apr_petorca_05404.geojson con 23 filas duplicadas; "
        "cárguela con `geogaps load-file --kind apr` para ver el informe de duplicados"
    ),
    "petorca/Establecimientos_de_salud_Petorca_.geojson": (
        "copia antigua de establecimientos que ya están en el directorio nacional MINSAL-DEIS"
    ),
    "petorca/Establ_educacionales_Petorca_.geojson": (
        "los establecimientos de Petorca ya están en el directorio nacional del MINEDUC: una "
        "fuente por dato (una segunda capa de los mismos colegios los contaría dos veces)"
    ),
    "petorca/Comuna_Petorca_.geojson": "el contorno de la comuna ya está en los límites nacionales",
    "petorca/Unidades_vecinales_2017_Petorca_.geojson": "aún no hay tabla de unidades vecinales",
    "SOURCES.md": "documentación",
}
NAMES_SOURCE = "population/ine_proyecciones_urbana_rural_comuna.csv"


ProgressCallback = Callable[[int, int, str], None]


def names_with_accents(data_dir: Path) -> ReadContext:
    """Commune and region names with accents from the INE projections, when the file is there."""
    path = data_dir / NAMES_SOURCE
    context = ReadContext()
    if path.is_file():
        table = read_csv(path)
        cut = table["codigo_comuna"].str.zfill(5)
        context.accented_names = dict(zip(cut, table["nombre_comuna"], strict=True))
        context.accented_regions = dict(zip(regions_of(cut), table["nombre_region"], strict=True))
        context.names_source = {"file": NAMES_SOURCE, "sha256": sha256_of(path)}
    return context


@dataclass
class DirectoryLoad:
    """Outcome of loading a whole data folder."""

    reports: list[LoadReport] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    #: Unexpected errors (bugs, not bad files) by file, for ``--debug`` tracebacks.
    errors: dict[str, BaseException] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    not_loaded: dict[str, str] = field(default_factory=dict)


def load_directory(
    store: Store,
    data_dir: Path,
    *,
    force: bool = False,
    on_progress: ProgressCallback | None = None,
    allow_shrink: bool = False,
) -> DirectoryLoad:
    """Load every known file of a folder laid out like ``../shared/data/chile``.

    Each dataset loads in its own transaction; a dataset that fails (a refused file, or an
    unexpected error) is reported and recorded, and the others still load. Files the manifest
    does not know are listed, never silently ignored.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise LayerError(f"no se encontró la carpeta de datos {data_dir}; revise --data-dir")
    result = DirectoryLoad()
    context = names_with_accents(data_dir)
    present = [(rel, kind) for rel, kind in MANIFEST if (data_dir / rel).is_file()]
    result.missing = [rel for rel, _ in MANIFEST if not (data_dir / rel).is_file()]
    for step, (relative, kind_name) in enumerate(present, start=1):
        if on_progress is not None:
            on_progress(step, len(present), relative)
        try:
            report = load_file(
                store,
                kind_name,
                data_dir / relative,
                force=force,
                context=context,
                allow_shrink=allow_shrink,
            )
        except LayerError as error:
            result.failures[relative] = str(error)
            continue
        except Exception as error:  # one broken file must not hide the others
            result.failures[relative] = f"error inesperado ({type(error).__name__}: {error})"
            result.errors[relative] = error
            continue
        result.reports.append(report)
    known = {rel for rel, _ in MANIFEST}
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(data_dir).as_posix()
        if relative not in known:
            result.not_loaded[relative] = NOT_LOADED.get(
                relative, "no es un archivo de un conjunto conocido"
            )
    return result
