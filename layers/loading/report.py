"""What loading one dataset did, and what decides whether a file changed since its last load."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from layers.readers import Kind
from layers.readers.files import sha256_of
from layers.validation import ValidationOutcome, parse_crs

#: Version of the readers and validation rules; bump it when a change alters what a file
#: loads as, so unchanged files are reloaded once.
READER_VERSION = "4"
#: Files that belong to a main file of the same name (a Shapefile is several files).
SIDECAR_SUFFIXES = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".qmd")


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
    #: The active dataset this load retires (``--replaces``), if any.
    replaces: str | None = None

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
        loaded_at = datetime.now(UTC)
        replaced = (
            None
            if self.replaces is None
            else {"dataset": self.replaces, "retired_at": loaded_at.isoformat()}
        )
        return {
            "dataset": self.dataset,
            "kind": self.kind,
            "table_name": self.table_name,
            "source": self.source,
            "file_name": self.path.name,
            "sha256": self.sha256,
            "loaded_at": loaded_at,
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
                "replaces": replaced,
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
            reason=None if self.replaces is None else f"reemplaza a {self.replaces!r} (--replaces)",
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
