"""Storing and reading per-commune accessibility results (table ``accessibility``)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from layers.stores.base import Store
from layers.tables import stored_columns

TABLE = "accessibility"
SOURCE = "geogaps accessibility (MCP_Geometric + exactextract)"


def dataset_name(facility: str, resolution_m: int) -> str:
    """Dataset holding one destination kind at one resolution."""
    return f"accesibilidad_{facility}_{resolution_m}m"


def save_accessibility(store: Store, table: pd.DataFrame, parameters: dict[str, Any]) -> list[str]:
    """Store each (kind, resolution) of ``table`` as its own dataset, replacing earlier runs.

    The provenance sha256 is that of the rows themselves, so a score run records exactly which
    accessibility results it read. A regional run (``parameters["region"]``) is stored under its
    own name (``…_region05``) and never replaces the national dataset.

    Returns
    -------
    list of str
        The datasets written.
    """
    columns = [c for c in stored_columns(TABLE) if c != "dataset"]
    written = []
    region = parameters.get("region")
    for key, rows in table.groupby(["facility", "resolution_m"], sort=True):
        facility, resolution = str(key[0]), int(str(key[1]))
        name = dataset_name(facility, resolution)
        if region:
            name = f"{name}_region{region}"
        frame = rows[columns].reset_index(drop=True)
        digest = hashlib.sha256(
            pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
        ).hexdigest()
        provenance = {
            "dataset": name,
            "kind": "accessibility",
            "table_name": TABLE,
            "source": SOURCE,
            "file_name": "computed",
            "sha256": digest,
            "loaded_at": datetime.now(UTC),
            "rows_read": len(frame),
            "rows_loaded": len(frame),
            "rows_rejected": 0,
            "report": {"parameters": parameters, "notes": []},
        }
        store.replace_dataset(TABLE, name, frame, provenance)
        written.append(name)
    return written
