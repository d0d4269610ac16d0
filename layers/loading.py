"""Loading datasets: read, validate, write in one transaction, report, record provenance."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import BigInteger, Integer

from layers.constraints import unique_keys
from layers.errors import DependencyError, LayerError
from layers.readers import KINDS, Kind, ReadContext, kind_named
from layers.readers.files import fold, read_csv, sha256_of
from layers.store import Store
from layers.tables import table_named
from layers.validation import (
    SOURCE_ROW,
    ValidationOutcome,
    area_km2,
    check_geometry_kind,
    drop_exact_duplicates,
    ensure_storage_crs,
    flag_outside_declared_commune,
    normalise_cuts,
    parse_crs,
    reject_conflicting_keys,
    reject_non_finite_coordinates,
    reject_out_of_integer_range,
    reject_out_of_range,
    reject_outside_chile,
    reject_unknown_cuts,
    repair_geometries,
)

#: Version of the readers and validation rules; bump it when a change alters what a file
#: loads as, so unchanged files are reloaded once.
READER_VERSION = "2"
#: Files that belong to a main file of the same name (a Shapefile is several files).
SIDECAR_SUFFIXES = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".qmd")
#: A reload that keeps less than this share of a dataset's rows needs ``allow_shrink``.
SHRINK_LIMIT = 0.5

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
    fingerprint: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)

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
                "fingerprint": self.fingerprint,
                "inputs": self.inputs,
            },
        }

    def as_attempt(self) -> dict[str, Any]:
        """The load-attempts row of this load (loaded, or skipped as unchanged)."""
        return attempt_row(
            self.dataset,
            kind=self.kind,
            path=self.path,
            sha256=self.sha256,
            status="unchanged" if self.skipped_unchanged else "loaded",
            rows_read=self.rows_read,
            rows_loaded=self.rows_loaded,
        )


def attempt_row(
    dataset: str,
    *,
    status: str,
    kind: str | None = None,
    path: Path | None = None,
    sha256: str | None = None,
    reason: str | None = None,
    rows_read: int | None = None,
    rows_loaded: int | None = None,
) -> dict[str, Any]:
    """One row of the ``load_attempts`` table."""
    return {
        "dataset": dataset,
        "attempted_at": datetime.now(UTC),
        "kind": kind,
        "file_name": None if path is None else path.name,
        "sha256": sha256,
        "status": status,
        "reason": reason,
        "rows_read": rows_read,
        "rows_loaded": rows_loaded,
    }


def sidecar_files(path: Path) -> list[Path]:
    """Files next to ``path`` with its name and a sidecar suffix (``.dbf``, ``.prj``...)."""
    if path.suffix.lower() not in SIDECAR_SUFFIXES:
        return []
    return sorted(
        p
        for p in path.parent.glob(f"{path.stem}.*")
        if p != path and p.suffix.lower() in SIDECAR_SUFFIXES and p.is_file()
    )


def load_inputs(
    path: Path,
    kind: Kind,
    crs: str | None,
    layer: str | None,
    names_from: dict[str, str] | None,
) -> dict[str, Any]:
    """Everything that shapes what a file loads as, for change detection."""
    return {
        "file": {"name": path.name, "sha256": sha256_of(path)},
        "sidecars": {p.name: sha256_of(p) for p in sidecar_files(path)},
        "kind": kind.name,
        "crs": None if crs is None else parse_crs(crs).to_string(),
        "layer": layer,
        "reader_version": READER_VERSION,
        "names_from": names_from,
    }


def fingerprint_of(inputs: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a load's inputs."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


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
    layer: str | None = None,
    allow_shrink: bool = False,
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
        Name of the dataset; defaults to the file's stem. Loading a dataset again replaces it,
        in whichever table it was (a change of kind moves it).
    force
        Reload even when nothing that shapes the result changed (file and sidecar hashes,
        kind, ``crs``, ``layer``, reader version, names source).
    context
        Commune names with accents and other lookups; built from the store when omitted.
    layer
        Layer of a multi-layer GeoPackage.
    allow_shrink
        Accept a reload that leaves the dataset empty or with less than half its rows.

    Returns
    -------
    LoadReport
        Rows read, loaded and rejected with reasons, repairs, duplicates, flags.

    Raises
    ------
    LayerError
        For any problem with the file or a missing prerequisite; nothing is written then, and
        the refusal is recorded in the store's load attempts with its reason.
    """
    path = Path(path)
    dataset = dataset or path.stem
    try:
        kind = kind_named(kind_name)
    except ValueError:
        raise LayerError(
            f"el tipo {kind_name!r} no existe; use uno de {', '.join(KINDS)}"
        ) from None
    try:
        with store.write_lock():
            report = _load_locked(
                store, kind, path, dataset, crs, force, context, layer, allow_shrink
            )
    except LayerError as error:
        _record_refusal(store, dataset, kind.name, path, "refused", str(error))
        raise
    except Exception as error:
        _record_refusal(
            store, dataset, kind.name, path, "failed", f"{type(error).__name__}: {error}"
        )
        raise
    if report.skipped_unchanged:
        store.record_attempt(report.as_attempt())
    return report


def _record_refusal(
    store: Store, dataset: str, kind: str, path: Path, status: str, reason: str
) -> None:
    """Log a refused or failed load; never hide the original error behind a logging one."""
    sha256 = sha256_of(path) if path.is_file() else None
    # The store may be what failed (database down): the original error is what to report.
    with contextlib.suppress(Exception):
        store.record_attempt(
            attempt_row(dataset, kind=kind, path=path, sha256=sha256, status=status, reason=reason)
        )


def _load_locked(
    store: Store,
    kind: Kind,
    path: Path,
    dataset: str,
    crs: str | None,
    force: bool,
    context: ReadContext | None,
    layer: str | None,
    allow_shrink: bool,
) -> LoadReport:
    """The load itself, run while holding the store's writer lock."""
    started = time.perf_counter()
    if not path.is_file():
        raise LayerError(f"no se encontró el archivo {path}; revise la ruta")
    # Only boundaries take names from a second file; a change of that file is a change too.
    names_from = context.names_source if context and kind.name == "communes" else None
    inputs = load_inputs(path, kind, crs, layer, names_from)
    report = LoadReport(dataset, kind.name, kind.table, kind.source, path, inputs["file"]["sha256"])
    report.names_from, report.inputs = names_from, inputs
    report.fingerprint = fingerprint_of(inputs)
    previous = store.provenance_of(dataset)
    if (
        not force
        and previous is not None
        and previous["report"].get("fingerprint") == report.fingerprint
    ):
        report.rows_read = int(previous["rows_read"])
        report.rows_loaded = int(previous["rows_loaded"])
        report.skipped_unchanged = True
        report.seconds = time.perf_counter() - started
        return report

    communes = _communes_for_checks(store, kind)
    context = replace(context or ReadContext(), name_lookup=lambda: _unique_names(store))
    raw = kind.open(path, layer)
    report.rows_read = len(raw)
    outcome = report.outcome
    if kind.spatial:
        check_geometry_kind(raw, kind.geometry_type or "", kind.name, path.name)
        raw = reject_non_finite_coordinates(raw, outcome)
        raw = ensure_storage_crs(raw, crs, outcome, path.name)
        raw = reject_outside_chile(raw, outcome, path.name)
    frame = kind.transform(raw, path, context, outcome)
    if kind.drop_exact_duplicates:
        frame = drop_exact_duplicates(frame, outcome)
    frame = _validate(frame, kind, store, communes, outcome)
    report.rows_loaded = len(frame)
    _refuse_shrinking(report, previous, allow_shrink)
    _refuse_keys_of_other_datasets(store, kind, dataset, frame)
    store.replace_dataset(
        kind.table, dataset, frame, report.as_provenance(), attempt=report.as_attempt()
    )
    report.seconds = time.perf_counter() - started
    return report


def _refuse_shrinking(
    report: LoadReport, previous: dict[str, Any] | None, allow_shrink: bool
) -> None:
    """Refuse a load that would leave a dataset empty or much smaller, saying what is lost."""
    reasons = ", ".join(
        f"{reason} ({count})" for reason, count in report.rejection_reasons().items()
    )
    why = f"; filas rechazadas: {reasons}" if reasons else ""
    if previous is None:
        if report.rows_loaded == 0:
            raise LayerError(
                f"{report.path.name}: no hay ninguna fila que cargar ({report.rows_read} leídas, "
                f"{report.rows_rejected} rechazadas){why}; revise el archivo y --kind"
            )
        return
    before = int(previous["rows_loaded"])
    if allow_shrink or before == 0 or report.rows_loaded >= SHRINK_LIMIT * before:
        return
    raise LayerError(
        f"{report.path.name}: la carga dejaría el conjunto {report.dataset!r} con "
        f"{report.rows_loaded} filas en lugar de {before} (se perderían "
        f"{before - report.rows_loaded} filas cargadas desde {previous['file_name']}){why}; "
        "no se cambió nada: si es intencional repita con --allow-shrink"
    )


def _refuse_keys_of_other_datasets(
    store: Store, kind: Kind, dataset: str, frame: pd.DataFrame
) -> None:
    """Refuse rows whose key another dataset of the same table already holds.

    Commune codes and census zones are unique across the whole table: the boundaries loaded
    twice under two names would count every commune twice.
    """
    keys = unique_keys(kind.table)
    if not keys or "dataset" in keys or frame.empty:
        return
    existing = store.read_table(kind.table, ["dataset", *keys])
    others = existing[existing["dataset"] != dataset]
    clash = pd.DataFrame(frame[keys]).merge(others, on=keys)
    if clash.empty:
        return
    owner = str(clash["dataset"].iloc[0])
    examples = ", ".join(map(str, clash[keys[0]].head(3)))
    raise LayerError(
        f"{len(clash)} filas repiten claves ({', '.join(keys)}: {examples}…) que ya tiene el "
        f"conjunto {owner!r} de la tabla {kind.table}; para reemplazarlo cargue con --dataset "
        f"{owner}, o elimínelo antes con geogaps remove {owner}"
    )


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
                f"las filas de {kind.name} se comprueban contra la lista de comunas, que está "
                "vacía: cargue primero las comunas (geogaps load-file --kind communes ARCHIVO, "
                "o geogaps load)"
            )
        frame = reject_unknown_cuts(frame, known, outcome)
    frame = reject_conflicting_keys(frame, list(kind.key), outcome)
    frame = reject_out_of_integer_range(frame, _int32_columns(kind.table, frame), outcome)
    frame = reject_out_of_range(frame, kind.table, outcome)
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
            result.not_loaded[relative] = NOT_LOADED.get(relative, "not a known dataset file")
    return result
