"""Scoring runs: read inputs from a store, score, and record the run reproducibly."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from analysis import ScoringParameters, ScoringResult, load_catalogue, score_communes
from geo_service import __version__
from geo_service.inputs import input_provenance, read_analysis_inputs
from layers.store import Store, stored_columns


@dataclass(frozen=True)
class ScoreRunRecord:
    """A finished run: its result and the record stored with it."""

    result: ScoringResult
    run: dict[str, Any]


def run_scoring(
    store: Store,
    parameters: ScoringParameters,
    catalogue_override: dict[str, Any] | None = None,
    save: bool = True,
) -> ScoreRunRecord:
    """Score the communes in ``store`` and (by default) save the run in the same store.

    The run id is the sha256 of everything that determines the result — dataset hashes,
    parameters (seed included), catalogue and software version — so the same inputs and
    parameters always get the same id and byte-identical result tables.
    """
    inputs = read_analysis_inputs(store)
    catalogue = load_catalogue(catalogue_override)
    result = score_communes(inputs, parameters, catalogue)
    parameters_json = parameters.model_dump(mode="json")
    determinants: dict[str, Any] = {
        "inputs": input_provenance(store),
        "parameters": parameters_json,
        "catalogue": catalogue.model_dump(mode="json"),
        "software_version": __version__,
    }
    canonical = json.dumps(determinants, sort_keys=True, ensure_ascii=False)
    run_id = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    run: dict[str, Any] = {
        "run_id": run_id,
        "created_at": datetime.now(UTC),
        "software_version": __version__,
        "seed": parameters.seed,
        "parameters": {
            **parameters_json,
            "catalogue_version": catalogue.version,
            "catalogue_override": catalogue_override,
        },
        "inputs": determinants["inputs"],
        "result_sha256": result.digest(),
    }
    if save:
        store.save_score_run(run, result_rows(result, run_id))
    return ScoreRunRecord(result, run)


def rerun_parameters(run: dict[str, Any]) -> tuple[ScoringParameters, dict[str, Any] | None]:
    """Parameters and catalogue override of a stored run, to reproduce or explain it."""
    stored = dict(run["parameters"])
    override = stored.pop("catalogue_override", None)
    stored.pop("catalogue_version", None)
    return ScoringParameters.model_validate(stored), override


def result_rows(result: ScoringResult, run_id: str) -> pd.DataFrame:
    """The rows of ``score_results`` for one run."""
    rows = result.scores.assign(run_id=run_id)
    return rows[stored_columns("score_results")]
