"""Loading datasets: read, validate, write in one transaction, report, record provenance."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import BigInteger, Integer

from layers.errors import DependencyError, LayerError
from layers.readers import Kind, ReadContext, kind_named
from layers.readers.files import fold, read_csv, sha256_of
from layers.store import Store, table_named
from layers.validation import (
    SOURCE_ROW,
    ValidationOutcome,
    area_km2,
    drop_exact_duplicates,
    ensure_storage_crs,
    flag_outside_declared_commune,
    normalise_cuts,
    reject_conflicting_keys,
    reject_out_of_integer_range,
    reject_unknown_cuts,
    repair_geometries,
)

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
    ("territory/localidades_censo2017.csv", "localities"),
    ("territory/pndr_clasificacion_comunas_2024.csv", "rural_classification"),
    ("social/pobreza_multidimensional_comunal_2022.csv", "poverty"),
    ("social/catastro_campamentos_2024.geojson", "informal_settlements"),
    ("finance/sinim_2022_comunas.csv", "finance"),
    ("finance/sinim_2023_comunas.csv", "finance"),
    ("huella_local/presence_2023.csv", "huella_presence"),
    ("huella_local/projects_2023_sample.csv", "projects"),
    ("petorca/Establ_educacionales_Petorca_.geojson", "facilities"),
    ("petorca/Estab_Educ_parvularia_Petorca_.geojson", "facilities"),
    ("petorca/Antenas_Servicio_petorca_.geojson", "facilities"),
    ("petorca/Poblados_Petorca_.geojson", "villages"),
    ("petorca/Red_PRE_2018_Petorca_.geojson", "roads"),
)
#: Files of that layout deliberately left out of ``load``, and why.
NOT_LOADED: dict[str, str] = {
    "water/apr_petorca_05404_raw_with_duplicates.geojson": (
        "same layer as water/apr_petorca_05404.geojson with 23 duplicate rows; "
        "load it with `geogaps load-file --kind apr` to see the duplicate report"
    ),
    "petorca/Establecimientos_de_salud_Petorca_.geojson": (
        "older copy of facilities already in the national MINSAL-DEIS directory"
    ),
    "petorca/Comuna_Petorca_.geojson": "the commune outline is in the national boundaries",
    "petorca/Unidades_vecinales_2017_Petorca_.geojson": "no neighbourhood-unit table yet",
    "SOURCES.md": "documentation",
}
NAMES_SOURCE = "population/ine_proyecciones_urbana_rural_comuna.csv"


@dataclass
class LoadReport:
    """What loading one dataset did; stored as its provenance."""

    dataset: str
    kind: str
    table_name: str
    source: str
    path: Path
    sha256: str
    rows_read: int = 0
    rows_loaded: int = 0
    outcome: ValidationOutcome = field(default_factory=ValidationOutcome)
    skipped_unchanged: bool = False
    seconds: float = 0.0
    names_from: dict[str, str] | None = None

    @property
    def rows_rejected(self) -> int:
        """Source rows not loaded (each counted once, whatever the number of reasons)."""
        return len({r.row for r in self.outcome.rejections})

    def rejection_reasons(self) -> dict[str, int]:
        """Number of rejected rows per reason."""
        counts: dict[str, int] = {}
        for rejection in self.outcome.rejections:
            counts[rejection.reason] = counts.get(rejection.reason, 0) + 1
        return counts

    def as_provenance(self) -> dict[str, Any]:
        """The provenance row of this load."""
        outcome = self.outcome
        return {
            "dataset": self.dataset,
            "kind": self.kind,
            "table_name": self.table_name,
            "source": self.source,
            "file_name": self.path.name,
            "sha256": self.sha256,
            "loaded_at": datetime.now(UTC),
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "report": {
                "rejected_by_reason": self.rejection_reasons(),
                "rejections": [r.as_dict() for r in outcome.rejections],
                "repaired_geometries": outcome.repaired_geometries,
                "duplicates_removed": outcome.duplicates_removed,
                "outside_declared_commune": outcome.outside_declared_commune,
                "reprojected_from": outcome.reprojected_from,
                "names_from": self.names_from,
                "notes": outcome.notes,
            },
        }


ProgressCallback = Callable[[int, int, str], None]


def load_file(
    store: Store,
    kind_name: str,
    path: Path,
    *,
    crs: str | None = None,
    dataset: str | None = None,
    force: bool = False,
    context: ReadContext | None = None,
) -> LoadReport:
    """Load one file as a dataset of ``kind_name`` into ``store``.

    Parameters
    ----------
    store
        Where to load.
    kind_name
        One of :data:`layers.readers.KINDS`.
    path
        The file.
    crs
        CRS to assume when the file declares none (or to override the one it declares).
    dataset
        Name of the dataset; defaults to the file's stem. Loading a dataset again replaces it.
    force
        Reload even when the file's sha256 equals the one already loaded.
    context
        Commune names with accents and other lookups; built from the store when omitted.

    Returns
    -------
    LoadReport
        Rows read, loaded and rejected with reasons, repairs, duplicates, flags.

    Raises
    ------
    LayerError
        For any problem with the file or a missing prerequisite; nothing is written then.
    """
    started = time.perf_counter()
    path = Path(path)
    kind = kind_named(kind_name)
    if not path.is_file():
        raise LayerError(f"file not found: {path}")
    dataset = dataset or path.stem
    digest = sha256_of(path)
    report = LoadReport(dataset, kind.name, kind.table, kind.source, path, digest)
    # Only boundaries take names from a second file; a change of that file is a change too.
    report.names_from = context.names_source if context and kind.name == "communes" else None
    previous = store.provenance_of(dataset)
    if (
        not force
        and previous is not None
        and previous["sha256"] == digest
        and previous["report"].get("names_from") == report.names_from
    ):
        report.rows_read = int(previous["rows_read"])
        report.rows_loaded = int(previous["rows_loaded"])
        report.skipped_unchanged = True
        report.seconds = time.perf_counter() - started
        return report

    communes = _communes_for_checks(store, kind)
    context = replace(context or ReadContext(), name_lookup=lambda: _unique_names(store))
    raw = kind.open(path)
    report.rows_read = len(raw)
    outcome = report.outcome
    if kind.spatial:
        raw = ensure_storage_crs(raw, crs, outcome)
    frame = kind.transform(raw, path, context, outcome)
    if kind.drop_exact_duplicates:
        frame = drop_exact_duplicates(frame, outcome)
    frame = _validate(frame, kind, store, communes, outcome)
    report.rows_loaded = len(frame)
    store.replace_dataset(kind.table, dataset, frame, report.as_provenance())
    report.seconds = time.perf_counter() - started
    return report


def _validate(
    frame: pd.DataFrame,
    kind: Kind,
    store: Store,
    communes: gpd.GeoDataFrame | None,
    outcome: ValidationOutcome,
) -> pd.DataFrame:
    if kind.spatial:
        frame = repair_geometries(frame, kind.geometry_type or "", outcome, kind.geometry_optional)
        if frame["cut"].isna().any() and communes is not None:
            frame = _assign_cut_by_location(frame, communes, outcome)
    frame = normalise_cuts(frame, outcome)
    # The code list defines the communes; boundaries are checked against it when it is loaded;
    # everything else is checked against both.
    if kind.name == "communes":
        codes = store.read_reference("territorial_codes", ["cut"])["cut"]
        if not codes.empty:
            frame = reject_unknown_cuts(frame, codes, outcome)
    elif kind.name != "territorial_codes":
        known = store.known_cuts()
        if not known:
            raise DependencyError(
                f"{kind.name} rows are checked against the commune list, which is empty: load "
                "the communes first (geogaps load-file --kind communes FILE, or geogaps load)"
            )
        frame = reject_unknown_cuts(frame, known, outcome)
    frame = reject_conflicting_keys(frame, list(kind.key), outcome)
    frame = reject_out_of_integer_range(frame, _int32_columns(kind.table, frame), outcome)
    if kind.check_point_in_commune and communes is not None:
        frame = frame.assign(
            outside_declared_commune=flag_outside_declared_commune(frame, communes, outcome)
        )
    if kind.name == "communes":
        frame = frame.assign(area_km2=area_km2(frame.geometry).to_numpy())
    return frame.drop(columns=[SOURCE_ROW])


def _int32_columns(table_name: str, frame: pd.DataFrame) -> list[str]:
    table = table_named(table_name)
    return [
        c.name
        for c in table.columns
        if isinstance(c.type, Integer) and not isinstance(c.type, BigInteger) and c.name in frame
    ]


def _communes_for_checks(store: Store, kind: Kind) -> gpd.GeoDataFrame | None:
    if not kind.spatial or kind.name == "communes":
        return None
    communes = store.read_reference("communes", ["cut", "geom"])
    return None if communes.empty else communes


def _assign_cut_by_location(
    frame: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, outcome: ValidationOutcome
) -> gpd.GeoDataFrame:
    """Give rows without a CUT the commune that contains their representative point."""
    missing = frame["cut"].isna() & frame.geometry.notna()
    if not missing.any():
        return frame
    points = gpd.GeoDataFrame(
        geometry=frame.loc[missing].geometry.representative_point(), crs=frame.crs
    )
    joined = gpd.sjoin(points, communes, how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    frame = frame.copy()
    frame.loc[missing, "cut"] = joined["cut"].reindex(frame.index[missing]).to_numpy()
    outcome.notes.append(f"{int(missing.sum())} rows had no commune code: assigned by location")
    return frame


def _unique_names(store: Store) -> dict[str, str]:
    """Folded commune name → CUT, for names that identify a single commune."""
    names = pd.concat(
        [
            store.read_reference("territorial_codes", ["cut", "name"]),
            store.read_reference("communes", ["cut", "name"]),
        ]
    ).drop_duplicates()
    names["folded"] = names["name"].map(fold)
    unique = names.drop_duplicates("folded", keep=False)
    return dict(zip(unique["folded"], unique["cut"], strict=True))


def names_with_accents(data_dir: Path) -> ReadContext:
    """Commune and region names with accents from the INE projections, when the file is there."""
    path = data_dir / NAMES_SOURCE
    context = ReadContext()
    if path.is_file():
        table = read_csv(path)
        cut = table["codigo_comuna"].str.zfill(5)
        context.accented_names = dict(zip(cut, table["nombre_comuna"], strict=True))
        context.accented_regions = dict(zip(cut.str[:2], table["nombre_region"], strict=True))
        context.names_source = {"file": NAMES_SOURCE, "sha256": sha256_of(path)}
    return context


@dataclass
class DirectoryLoad:
    """Outcome of loading a whole data folder."""

    reports: list[LoadReport] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    not_loaded: dict[str, str] = field(default_factory=dict)


def load_directory(
    store: Store,
    data_dir: Path,
    *,
    force: bool = False,
    on_progress: ProgressCallback | None = None,
) -> DirectoryLoad:
    """Load every known file of a folder laid out like ``../shared/data/chile``.

    Each dataset loads in its own transaction; a dataset that fails is reported and the others
    still load. Files the manifest does not know are listed, never silently ignored.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise LayerError(f"data folder not found: {data_dir}")
    result = DirectoryLoad()
    context = names_with_accents(data_dir)
    present = [(rel, kind) for rel, kind in MANIFEST if (data_dir / rel).is_file()]
    result.missing = [rel for rel, _ in MANIFEST if not (data_dir / rel).is_file()]
    for step, (relative, kind_name) in enumerate(present, start=1):
        if on_progress is not None:
            on_progress(step, len(present), relative)
        try:
            report = load_file(store, kind_name, data_dir / relative, force=force, context=context)
        except LayerError as error:
            result.failures[relative] = str(error)
            continue
        result.reports.append(report)
    known = {rel for rel, _ in MANIFEST}
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(data_dir).as_posix()
        if relative not in known:
            result.not_loaded[relative] = NOT_LOADED.get(relative, "not a known dataset file")
    return result
