"""The embedded store: one GeoParquet file per table in a local folder, no server needed."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import JSON

from layers.schema import ScoreRun
from layers.store import (
    PROVENANCE_TABLE,
    Store,
    conform,
    row_order,
    stored_columns,
    table_named,
)


class EmbeddedStore(Store):
    """Tables as GeoParquet (or Parquet) files under ``root``.

    A dataset replaces its rows by rewriting its table's file to a temporary name and renaming it
    over the old one, so a failed load leaves the previous file intact.
    """

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"EmbeddedStore({self.root})"

    def _path(self, table_name: str) -> Path:
        return self.root / f"{table_name}.parquet"

    def replace_dataset(
        self, table_name: str, dataset: str, frame: pd.DataFrame, provenance: dict[str, Any]
    ) -> None:
        """Replace ``dataset``'s rows of ``table_name`` and record its provenance."""
        rows = conform(frame.assign(dataset=dataset), table_name)
        self.forget_reference(table_name)
        current = self.read_table(table_name)
        kept = current[current["dataset"] != dataset]
        combined = _concat(kept, rows, table_name)
        combined = combined.sort_values("dataset", kind="stable").reset_index(drop=True)
        self._write(table_name, combined)
        history = self.provenance()
        record = conform(pd.DataFrame([provenance]), PROVENANCE_TABLE)
        updated = _concat(history[history["dataset"] != dataset], record, PROVENANCE_TABLE)
        self._write(PROVENANCE_TABLE, updated.sort_values("dataset").reset_index(drop=True))

    def save_score_run(self, run: dict[str, Any], results: pd.DataFrame) -> None:
        """Store a score run and its results (replacing a run with the same id)."""
        runs = self.read_table(ScoreRun.__tablename__)
        runs = _concat(
            runs[runs["run_id"] != run["run_id"]],
            conform(pd.DataFrame([run]), "score_runs"),
            "score_runs",
        )
        stored = self.read_table("score_results")
        stored = _concat(
            stored[stored["run_id"] != run["run_id"]],
            conform(results, "score_results"),
            "score_results",
        )
        self._write("score_results", stored)
        self._write("score_runs", runs)

    def read_score_run(self, run_id: str | None = None) -> tuple[dict[str, Any], pd.DataFrame]:
        """Return a stored run (the newest when ``run_id`` is None) and its results."""
        runs = self.read_table("score_runs")
        if run_id is not None:
            runs = runs[runs["run_id"] == run_id]
        if runs.empty:
            raise LookupError("no score run stored" if run_id is None else f"no run {run_id}")
        run = {str(k): v for k, v in runs.sort_values("created_at").iloc[-1].items()}
        results = self.read_table("score_results")
        return run, results[results["run_id"] == run["run_id"]].reset_index(drop=True)

    def read_table(self, table_name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Return a table; an empty frame with the model's columns when nothing was loaded."""
        table_named(table_name)
        names = columns or stored_columns(table_name)
        path = self._path(table_name)
        if not path.exists():
            empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in names})
            if "geom" in names:
                empty["geom"] = gpd.GeoSeries([], crs="EPSG:4326")
            return conform(empty, table_name, columns=names)
        order = [c for c in row_order(table_name) if c != "id"]
        wanted = list(dict.fromkeys(names + order))
        if "geom" in names:
            frame = gpd.read_parquet(path, columns=wanted)
        else:
            frame = pd.read_parquet(path, columns=wanted)
        # Files keep insertion order, which is the id order within a dataset.
        frame = frame.sort_values(order, kind="stable")
        return conform(frame, table_name, columns=names)

    def count_rows(self, table_name: str) -> int:
        """Number of rows in a table."""
        return len(
            self.read_table(
                table_name, ["dataset"] if "dataset" in stored_columns(table_name) else None
            )
        )

    def _write(self, table_name: str, frame: pd.DataFrame) -> None:
        json_columns = [c.name for c in table_named(table_name).columns if isinstance(c.type, JSON)]
        frame = frame.assign(
            **{c: frame[c].map(lambda v: json.dumps(v, sort_keys=True)) for c in json_columns}
        )
        handle, temporary = tempfile.mkstemp(dir=self.root, suffix=".parquet.tmp")
        os.close(handle)
        try:
            if isinstance(frame, gpd.GeoDataFrame):
                frame.to_parquet(temporary, index=False)
            else:
                pd.DataFrame(frame).to_parquet(temporary, index=False)
            os.replace(temporary, self._path(table_name))
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)


def _concat(first: pd.DataFrame, second: pd.DataFrame, table_name: str) -> pd.DataFrame:
    """Concatenate two conformed frames without pandas' empty-frame dtype warnings."""
    parts = [part for part in (first, second) if not part.empty]
    if not parts:
        return first
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    return conform(pd.concat(parts, ignore_index=True), table_name)
