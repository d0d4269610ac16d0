"""Loading one file: read, validate, write in one transaction, report, record the attempt."""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from pathlib import Path

from domain.datasets import (
    dataset_name_from_file,
    invalid_dataset_name_message,
    is_dataset_name,
)
from layers.errors import InvalidDatasetNameError, LayerError
from layers.loading.checks import (
    check_replacement,
    refuse_keys_of_other_datasets,
    refuse_second_source,
    refuse_shrinking,
    unique_names,
    validate_rows,
)
from layers.loading.report import LoadReport, attempt_row, fingerprint_of, load_inputs
from layers.readers import KINDS, Kind, ReadContext, UnknownKindError, kind_named
from layers.readers.files import sha256_of
from layers.stores.base import Store
from layers.validation import (
    check_geometry_kind,
    drop_exact_duplicates,
    ensure_storage_crs,
    reject_non_finite_coordinates,
    reject_outside_chile,
)


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
    replaces: str | None = None,
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
        Name of the dataset (letters, digits and ``_``, see :mod:`domain.datasets`); defaults
        to the file's stem made such a name. Loading a dataset again replaces it, in whichever
        table it was (a change of kind moves it).
    force
        Reload even when nothing that shapes the result changed (file and sidecar hashes,
        kind, ``crs``, ``layer``, reader version, names source).
    context
        Commune names with accents and other lookups; built from the store when omitted.
    layer
        Layer of a multi-layer GeoPackage.
    allow_shrink
        Accept a reload that leaves the dataset empty or loses more than
        :data:`~layers.loading.checks.SHRINK_TOLERANCE` of its rows (or, with ``replaces``,
        has that many rows fewer than the dataset it retires).
    replaces
        An active dataset of the same table this one corrects or supersedes: it is retired
        (kept apart, no longer served or scored) in the same commit, and the provenance of
        both says so. Without it, rows for facts another active dataset supplies (a commune
        and year of the same indicator, see :data:`layers.constraints.FACT_SCOPES`) refuse
        the load.

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
    dataset = dataset or dataset_name_from_file(path.stem)
    try:
        kind = kind_named(kind_name)
    except UnknownKindError:
        raise LayerError(
            f"el tipo {kind_name!r} no existe; use uno de {', '.join(KINDS)}"
        ) from None
    try:
        # A given name is refused, never rewritten: the user must know what it is called.
        if not is_dataset_name(dataset):
            raise InvalidDatasetNameError(invalid_dataset_name_message(dataset))
        with store.write_lock():
            report = _load_locked(
                store, kind, path, dataset, crs, force, context, layer, allow_shrink, replaces
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
    replaces: str | None = None,
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
    check_replacement(store, kind, dataset, replaces)
    report.replaces = replaces
    previous = store.provenance_of(dataset)
    if (
        replaces is None
        and not force
        and previous is not None
        and previous["report"].get("fingerprint") == report.fingerprint
    ):
        report.rows_read = int(previous["rows_read"])
        report.rows_loaded = int(previous["rows_loaded"])
        report.skipped_unchanged = True
        report.seconds = time.perf_counter() - started
        return report

    context = replace(context or ReadContext(), name_lookup=lambda: unique_names(store))
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
    frame = validate_rows(frame, kind, store, outcome, path.name)
    report.rows_loaded = len(frame)
    replaced = None if replaces is None else store.provenance_of(replaces)
    refuse_shrinking(report, previous, allow_shrink, replaced)
    refuse_keys_of_other_datasets(store, kind, dataset, frame, replaces)
    refuse_second_source(store, kind, dataset, frame, replaces)
    store.replace_dataset(
        kind.table,
        dataset,
        frame,
        report.as_provenance(),
        attempt=report.as_attempt(),
        replaces=replaces,
    )
    report.seconds = time.perf_counter() - started
    return report
