"""Reading the analysis inputs out of a store (the seam between layers/ and analysis/)."""

from __future__ import annotations

from dataclasses import fields

from analysis.inputs import AnalysisInputs
from layers.errors import DependencyError
from layers.store import Store


def read_analysis_inputs(store: Store) -> AnalysisInputs:
    """Read every table the analysis needs; refuse an empty store with what to do."""
    tables = {field.name: store.read_table(field.name) for field in fields(AnalysisInputs)}
    if tables["communes"].empty:
        raise DependencyError("no communes loaded: run `geogaps load` before scoring")
    return AnalysisInputs(**tables)


def input_provenance(store: Store) -> dict[str, str]:
    """Dataset name → sha256 of the file it was loaded from, for score-run records."""
    provenance = store.provenance()
    return dict(zip(provenance["dataset"], provenance["sha256"], strict=True))
