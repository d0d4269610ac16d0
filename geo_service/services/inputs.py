"""Reading the analysis inputs out of a store (the seam between layers/ and analysis/)."""

from __future__ import annotations

from dataclasses import fields

import pandas as pd

from analysis.inputs import AnalysisInputs
from domain import is_region_code
from domain.errors import NotFoundError
from layers.errors import DependencyError
from layers.stores import Store

#: Tables the gap analysis reads (the fields of :class:`AnalysisInputs`).
INPUT_TABLES = tuple(field.name for field in fields(AnalysisInputs))


def read_analysis_inputs(store: Store) -> AnalysisInputs:
    """Read every table the analysis needs; refuse an empty store with what to do."""
    tables = {name: store.read_table(name) for name in INPUT_TABLES}
    if tables["communes"].empty:
        raise DependencyError(
            "no hay comunas cargadas: ejecute `geogaps load` antes de calcular puntajes"
        )
    return AnalysisInputs(**tables)


def input_provenance(store: Store) -> dict[str, str]:
    """Dataset name → sha256 of the file it was loaded from, for the tables scoring reads."""
    provenance = store.read(
        "dataset_provenance", columns=["dataset", "table_name", "sha256"], order=["dataset"]
    )
    read = provenance[provenance["table_name"].isin(INPUT_TABLES)]
    return dict(zip(read["dataset"], read["sha256"], strict=True))


def scope_communes(store: Store, region: str | None) -> pd.DataFrame:
    """``cut, name, region_code`` of the communes of one region (or all), sorted by CUT.

    Raises
    ------
    NotFoundError
        If no commune is loaded, or none of ``region``.
    """
    if region is not None and not is_region_code(region):
        raise NotFoundError(f"región desconocida {region!r}")
    communes = store.read("communes", region=region, columns=["cut", "name", "region_code"])
    if communes.empty:
        if region is not None and store.count("communes") > 0:
            raise NotFoundError(f"región desconocida {region!r}")
        raise NotFoundError("no hay comunas cargadas: ejecute `geogaps load`")
    return communes.sort_values("cut").reset_index(drop=True)
