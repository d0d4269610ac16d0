"""Stored score runs: one typed record for both stores, and result tables as Parquet bytes."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from layers.errors import LayerError

NATIONAL_SCOPE = "nacional"


class RunConflictError(LayerError):
    """A run with this id is stored with different results; it is never overwritten."""


class RunRecord(BaseModel):
    """One stored gap-scoring run, identical from PostGIS and from the embedded store.

    Attributes
    ----------
    run_id : str
        sha256 of everything that determines the result (inputs, parameters, catalogue,
        software and library versions).
    scope : str
        ``nacional`` or the two-digit region code the run compared.
    created_at : datetime
        When the run was first stored (UTC).
    software_version : str
        geogaps version.
    seed : int
        Seed of the Monte Carlo draws.
    parameters : dict
        Scoring parameters, catalogue version and catalogue override.
    inputs : dict
        Dataset name → sha256 of the file each table the scoring read was loaded from.
    result_sha256 : str
        Digest of the canonical result tables.
    versions : dict
        Versions of the libraries that shape results.
    ranked_counts : dict
        Communes ranked per score id (the N of "n de N").
    """

    model_config = ConfigDict(frozen=True)

    run_id: str
    scope: str = NATIONAL_SCOPE
    created_at: datetime
    software_version: str
    seed: int
    parameters: dict[str, Any]
    inputs: dict[str, str]
    result_sha256: str
    versions: dict[str, str] = Field(default_factory=dict)
    ranked_counts: dict[str, int] = Field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Any) -> RunRecord:
        """Build a record from a stored row (a mapping), tolerating NULL JSON columns."""
        values = {str(k): v for k, v in dict(row).items()}
        for name in ("versions", "ranked_counts"):
            if values.get(name) is None:
                values[name] = {}
        created = values.get("created_at")
        if isinstance(created, pd.Timestamp):
            values["created_at"] = created.to_pydatetime()
        return cls.model_validate(values)

    def __getitem__(self, key: str) -> Any:
        """``record["run_id"]`` as well as ``record.run_id`` (callers written for dict runs)."""
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def row(self) -> dict[str, Any]:
        """Values of the ``score_runs`` row."""
        return self.model_dump()

    def summary(self) -> dict[str, Any]:
        """JSON-ready description of the run, for API responses and listings."""
        return self.model_dump(mode="json")


def scope_of(region: str | None) -> str:
    """The scope a run with ``region`` has."""
    return NATIONAL_SCOPE if region is None else region


def table_bytes(frame: pd.DataFrame) -> bytes:
    """A result table as Parquet bytes; geometries, if any, travel as WKB."""
    plain = pd.DataFrame(frame).copy()
    for column in plain.columns:
        if hasattr(plain[column], "geom_type"):
            plain[column] = plain[column].to_wkb()
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(plain, preserve_index=False), sink, compression="zstd")
    return sink.getvalue()


def table_from_bytes(content: bytes) -> pd.DataFrame:
    """The table :func:`table_bytes` stored."""
    frame: pd.DataFrame = pq.read_table(io.BytesIO(content)).to_pandas()
    return frame


def sha256_of(content: bytes) -> str:
    """Hex sha256 of some bytes."""
    return hashlib.sha256(content).hexdigest()


def same_run(record: RunRecord, stored_sha256: str) -> bool:
    """False (nothing to do) when the stored run has the same results; an error otherwise.

    Raises
    ------
    RunConflictError
        The run id is stored with other results: a run is never overwritten.
    """
    if stored_sha256 == record.result_sha256:
        return False
    raise RunConflictError(
        f"la corrida {record.run_id[:12]} ya está guardada con otros resultados "
        f"(guardado {stored_sha256[:12]}, nuevo {record.result_sha256[:12]}); una corrida "
        "nunca se sobrescribe"
    )
