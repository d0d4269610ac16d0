"""Reading the analysis inputs out of a store (the seam between layers/ and analysis/)."""

from __future__ import annotations

from dataclasses import fields

from analysis.inputs import AnalysisInputs
from layers.errors import DependencyError
from layers.stores import Store

#: Tables the gap analysis reads (the fields of :class:`AnalysisInputs`).
INPUT_TABLES = tuple(field.name for field in fields(AnalysisInputs))


def read_analysis_inputs(store: Store) -> AnalysisInputs:
    """Read every table the analysis needs; refuse an empty store with what to do."""
    tables = {name: store.read_table(name) for name in INPUT_TABLES}
    if tables["communes"].empty:
        raise DependencyError("no communes loaded: run `geogaps load` before scoring")
    return AnalysisInputs(**tables)


def input_provenance(store: Store) -> dict[str, str]:
    """Dataset name → sha256 of the file it was loaded from, for the tables scoring reads."""
    provenance = store.read(
        "dataset_provenance", columns=["dataset", "table_name", "sha256"], order=["dataset"]
    )
    read = provenance[provenance["table_name"].isin(INPUT_TABLES)]
    return dict(zip(read["dataset"], read["sha256"], strict=True))
