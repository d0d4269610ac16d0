"""Files of the embedded store: atomic, durable writes and filtered Parquet reads."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from layers.queries import ReadRequest
from layers.stores.base import conform


def parquet_filter(request: ReadRequest) -> Any:
    """The pyarrow filter expression of a read (None when it filters nothing)."""
    parts = [pc.field(name) == value for name, value in request.equals.items()]
    if request.cut_range is not None:
        low, high = request.cut_range
        parts += [pc.field("cut") >= low, pc.field("cut") < high]
    if request.cuts is not None:
        parts.append(pc.field("cut").isin(list(request.cuts)))
    if not parts:
        return None
    expression = parts[0]
    for part in parts[1:]:
        expression = expression & part
    return expression


def has_bbox_covering(path: Path) -> bool:
    """Whether a GeoParquet file declares a bbox covering column for its geometry."""
    metadata = pq.read_schema(path).metadata or {}
    geo = json.loads(metadata.get(b"geo", b"{}"))
    return "covering" in geo.get("columns", {}).get("geom", {})


def write_atomically(path: Path, write: Callable[[str], object]) -> None:
    """Write a file under a temporary name, then rename it into place."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_synced(path: str | Path, content: bytes) -> None:
    """Write ``content`` to ``path`` and flush it to the disk."""
    with open(path, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def fsync_file(path: str | Path) -> None:
    """Flush a written file to the disk."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def sync_folder(folder: Path) -> None:
    """Make the renames in ``folder`` durable (a no-op where folders cannot be synced)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def concat_conformed(first: pd.DataFrame, second: pd.DataFrame, table_name: str) -> pd.DataFrame:
    """Concatenate two conformed frames without pandas' empty-frame dtype warnings."""
    parts = [part for part in (first, second) if not part.empty]
    if not parts:
        return first
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    return conform(pd.concat(parts, ignore_index=True), table_name)
