"""Scoring runs: read inputs from a store, score, record the run reproducibly, read it back."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from analysis import (
    AnalysisInputs,
    Catalogue,
    ScoringParameters,
    ScoringResult,
    load_catalogue,
    score_communes,
)
from analysis.scoring import ScopeGraph
from analysis.sources import indicator_sources
from domain.errors import NotFoundError
from geo_service import __version__
from geo_service.services.inputs import input_provenance, read_analysis_inputs
from geo_service.services.profiles import (
    PROFILES_TABLE,
    SOURCES_TABLE,
    profiles_table,
    scored_profiles,
    sources_by_cut,
)
from layers.runs import RunRecord, scope_of
from layers.stores import Store
from layers.tables import stored_columns

#: Libraries whose versions shape the results, recorded with (and hashed into) every run.
RESULT_LIBRARIES = ("numpy", "pandas", "esda", "mapclassify", "spopt", "scipy")
#: Name under which the run's catalogue (after overrides) is stored among its tables.
CATALOGUE_TABLE = "catalogue"
#: Name of the run table with the result's source notes (explanations cite them).
NOTES_TABLE = "notes"


@dataclass(frozen=True)
class PreparedInputs:
    """What a scoring reads, already at hand for the store's current data (a server's caches).

    ``raw_indicators`` are :func:`analysis.compute_indicators` of ``inputs`` with the packaged
    catalogue; ``graph`` is the neighbour graph of the run's scope.
    """

    inputs: AnalysisInputs
    raw_indicators: pd.DataFrame
    graph: ScopeGraph


@dataclass(frozen=True)
class ScoreRunRecord:
    """A finished run: its result and the record stored with it."""

    result: ScoringResult
    run: RunRecord
    stored: bool = False


def library_versions() -> dict[str, str]:
    """Installed versions of :data:`RESULT_LIBRARIES`."""
    return {name: importlib.metadata.version(name) for name in RESULT_LIBRARIES}


def run_identity(
    inputs: dict[str, str],
    parameters: ScoringParameters,
    catalogue: Catalogue,
    versions: dict[str, str],
) -> str:
    """sha256 of everything that determines a run's result."""
    determinants: dict[str, Any] = {
        "inputs": inputs,
        "parameters": parameters.model_dump(mode="json"),
        "catalogue": catalogue.model_dump(mode="json"),
        "software_version": __version__,
        "versions": versions,
    }
    canonical = json.dumps(determinants, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def run_scoring(
    store: Store,
    parameters: ScoringParameters,
    catalogue_override: dict[str, Any] | None = None,
    save: bool = True,
    *,
    prepared: PreparedInputs | None = None,
) -> ScoreRunRecord:
    """Score the communes in ``store`` and (by default) save the run in the same store.

    The run id is the sha256 of everything that determines the result — the hashes of the
    datasets the scoring reads, parameters (seed included), catalogue, software and library
    versions — so the same inputs and parameters always get the same id and byte-identical
    result tables. Saving an id already stored is a no-op when its results are identical and a
    :class:`layers.runs.RunConflictError` otherwise.

    ``prepared`` (the store's current inputs, raw indicators and the scope's neighbour graph,
    as a server caches them) saves reading and computing them again; it is only used with the
    packaged catalogue (no ``catalogue_override``), for which its indicators were computed.
    """
    catalogue = load_catalogue(catalogue_override)
    if prepared is not None and catalogue_override is None:
        inputs = prepared.inputs
        result = score_communes(
            inputs,
            parameters,
            catalogue,
            raw_indicators=prepared.raw_indicators,
            graph=prepared.graph,
        )
    else:
        inputs = read_analysis_inputs(store)
        result = score_communes(inputs, parameters, catalogue)
    provenance = input_provenance(store)
    versions = library_versions()
    run_id = run_identity(provenance, parameters, catalogue, versions)
    run = RunRecord(
        run_id=run_id,
        scope=scope_of(parameters.region),
        created_at=datetime.now(UTC),
        software_version=__version__,
        seed=parameters.seed,
        parameters={
            **parameters.model_dump(mode="json"),
            "catalogue_version": catalogue.version,
            "catalogue_override": catalogue_override,
        },
        inputs=provenance,
        result_sha256=result.digest(),
        versions=versions,
        ranked_counts={s: result.ranked_count(s) for s in result.catalogue.score_ids},
    )
    stored = False
    if save:
        sources = indicator_sources(inputs, result.indicators, result.catalogue)
        # Profiles are a pure function of the run: built once here, served as stored.
        profiles = profiles_table(scored_profiles(result, run, sources=sources_by_cut(sources)))
        tables = {**run_tables_of(result), PROFILES_TABLE: profiles, SOURCES_TABLE: sources}
        stored = store.save_run(run, result_rows(result, run_id), tables)
        if not stored:
            run = store.run(run_id)
    return ScoreRunRecord(result, run, stored)


def run_tables_of(result: ScoringResult) -> dict[str, pd.DataFrame]:
    """Every table of a result, its source notes and its catalogue, as stored with the run.

    The notes are kept beside the digested tables (not in them), so explanations rebuilt from
    the stored run say what the fresh result said.
    """
    catalogue = pd.DataFrame({"json": [result.catalogue.model_dump_json()]})
    return {**result.tables(), NOTES_TABLE: result.notes, CATALOGUE_TABLE: catalogue}


def rerun_parameters(
    run: RunRecord | dict[str, Any],
) -> tuple[ScoringParameters, dict[str, Any] | None]:
    """Parameters and catalogue override of a stored run, to reproduce it."""
    stored = dict(run.parameters if isinstance(run, RunRecord) else run["parameters"])
    override = stored.pop("catalogue_override", None)
    stored.pop("catalogue_version", None)
    return ScoringParameters.model_validate(stored), override


def stored_result(store: Store, run: RunRecord) -> ScoringResult:
    """The :class:`ScoringResult` of a stored run, rebuilt from its stored tables.

    Explanations and profiles come from here, never from re-scoring today's data.

    Raises
    ------
    NotFoundError
        If the run was stored without its tables (before they were kept).
    """
    table_fields = {f.name for f in fields(ScoringResult)} - {"_ranked"}
    tables = store.run_tables(run.run_id, names=[*sorted(table_fields), CATALOGUE_TABLE])
    if CATALOGUE_TABLE not in tables or "scores" not in tables:
        raise NotFoundError(
            f"la corrida {run.run_id[:12]} no guardó sus tablas de resultados; vuelva a "
            "ejecutar `geogaps score`"
        )
    parameters, _ = rerun_parameters(run)
    catalogue = Catalogue.model_validate_json(str(tables.pop(CATALOGUE_TABLE)["json"].iloc[0]))
    return ScoringResult(
        **{name: frame for name, frame in tables.items() if name in table_fields},
        parameters=parameters,
        catalogue=catalogue,
        scope_label="nacional" if parameters.region is None else f"región {parameters.region}",
        communes_in_scope=len(tables["indicators"]),
        _ranked=dict(run.ranked_counts),
    )


def data_changes(store: Store, run: RunRecord) -> str | None:
    """A Spanish sentence when the datasets in the store differ from those the run read."""
    current = input_provenance(store)
    changed = sorted(
        name for name in set(current) | set(run.inputs) if current.get(name) != run.inputs.get(name)
    )
    if not changed:
        return None
    return (
        f"Los datos cambiaron desde la corrida {run.run_id[:12]} "
        f"({run.created_at:%Y-%m-%d}): {', '.join(changed)}. Los resultados mostrados son los "
        "de esa corrida; ejecute `geogaps score` para actualizarlos."
    )


def result_rows(result: ScoringResult, run_id: str) -> pd.DataFrame:
    """The rows of ``score_results`` for one run."""
    rows = result.scores.assign(run_id=run_id)
    return rows.reindex(columns=stored_columns("score_results"))
