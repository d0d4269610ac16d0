"""The embedded store: one GeoParquet file per table in a local folder, no server needed."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely
from filelock import FileLock, Timeout
from sqlalchemy import JSON

from layers.constraints import violations
from layers.errors import LayerError, StoreMissingError, StoreWriteError, UnknownRunError
from layers.features.embedded import EmbeddedFeatures
from layers.features.source import FeatureSource
from layers.queries import ReadRequest
from layers.runs import NATIONAL_SCOPE, RunRecord, same_run, table_bytes, table_from_bytes
from layers.schema import DATA_TABLES, Base, ScoreResult, ScoreRun
from layers.stores.base import (
    ATTEMPTS_TABLE,
    MAX_ANSWERS,
    PROVENANCE_TABLE,
    RETIRED_TABLE,
    Store,
    checked_hex,
    conform,
    retired_attempt,
)
from layers.stores.embedded_files import (
    concat_conformed,
    fsync_file,
    has_bbox_covering,
    parquet_filter,
    sync_folder,
    write_atomically,
    write_synced,
)
from layers.tables import stored_columns, table_named

MANIFEST = "manifest.json"
LOCK_FILE = ".write.lock"
#: A table's file of one commit: ``communes.g00000012.parquet``.
_VERSIONED = re.compile(r"^(?P<table>[a-z_0-9]+)\.g(?P<generation>\d+)\.parquet$")
_RUN_ID = re.compile(r"^[0-9a-f]{64}$")


class EmbeddedStore(Store):
    """Tables as GeoParquet (or Parquet) files under ``root``, committed through a manifest.

    Every write goes under one file lock (``.write.lock``): it writes each changed table to a new
    versioned file (``communes.g00000012.parquet``), then commits them all at once by replacing
    ``manifest.json`` (the map of table → file) with ``os.replace``. A reader resolves a table
    through the manifest (:meth:`_path`), so it sees either every file of a commit or none; a
    writer killed before the manifest is replaced leaves the previous state intact, and its
    stray files are removed the next time the store is opened.
    """

    def __init__(self, root: Path, *, create: bool = True) -> None:
        """Open the store in folder ``root``.

        With ``create`` (loading data) a missing folder is made; without it (serving, reading)
        a missing or unreadable folder makes every operation raise :class:`StoreMissingError`,
        so a store moved away while serving answers "unavailable", never empty data, and is
        never silently recreated by a write.
        """
        super().__init__()
        self.root = Path(root)
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.root / LOCK_FILE))
        if self._present():
            self._clean_up()

    def _present(self) -> bool:
        return self.root.is_dir() and os.access(self.root, os.R_OK | os.W_OK | os.X_OK)

    def _check_present(self) -> None:
        """Raise :class:`StoreMissingError` when the folder is gone or cannot be used."""
        if not self._present():
            raise StoreMissingError(self.root)

    def ping(self) -> None:
        """Raise when the folder is gone, unreadable, or its manifest cannot be read."""
        self._manifest()

    def __repr__(self) -> str:
        return f"EmbeddedStore({self.root})"

    def feature_source(self) -> FeatureSource:
        """OGC items and tiles computed from this store's reads with shapely."""
        return EmbeddedFeatures(self)

    def _path(self, table_name: str) -> Path:
        """The file holding a table as of the last commit (the one resolver of table files).

        Stores written before the manifest existed keep ``<table>.parquet``; a table never
        written resolves to that name too, which does not exist, so it reads as empty.
        """
        entry = self._manifest()["tables"].get(table_name)
        return self.root / (entry or f"{table_name}.parquet")

    # -- writes: one lock, one manifest commit ---------------------------------------------

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """Hold the store's file lock (re-entrant: nested writes of this object share it)."""
        self._check_present()
        with self._lock:
            yield

    def replace_dataset(
        self,
        table_name: str,
        dataset: str,
        frame: pd.DataFrame,
        provenance: dict[str, Any],
        attempt: dict[str, Any] | None = None,
        replaces: str | None = None,
    ) -> None:
        """Replace ``dataset``'s rows and its provenance (and log the attempt) in one commit.

        Its rows in any other data table go in the same commit (a change of kind moves it), and
        so does the retirement of ``replaces``. Keys and ranges are checked on the whole
        resulting table, as PostGIS would.
        """
        rows = conform(frame.assign(dataset=dataset), table_name)
        with self.write_lock():
            changes: dict[str, pd.DataFrame] = {}
            leaving = {dataset}
            history = self.provenance()
            logged = self.read_table(ATTEMPTS_TABLE)
            if replaces is not None:
                at = provenance["loaded_at"]
                old_table, record = self.retirement(replaces, dataset, at)
                old_rows = self.read_table(old_table)
                changes[old_table] = old_rows[old_rows["dataset"] != replaces]
                changes[RETIRED_TABLE] = concat_conformed(
                    self.read_table(RETIRED_TABLE),
                    conform(pd.DataFrame([record]), RETIRED_TABLE),
                    RETIRED_TABLE,
                )
                logged = concat_conformed(
                    logged,
                    conform(pd.DataFrame([retired_attempt(record, at)]), ATTEMPTS_TABLE),
                    ATTEMPTS_TABLE,
                )
                leaving.add(replaces)
            for other in self._tables_holding(dataset, except_table=table_name):
                current = changes.get(other, self.read_table(other))
                changes[other] = current[current["dataset"] != dataset].reset_index(drop=True)
            current = changes.get(table_name, self.read_table(table_name))
            kept = current[current["dataset"] != dataset]
            combined = concat_conformed(kept, rows, table_name)
            combined = combined.sort_values("dataset", kind="stable").reset_index(drop=True)
            problems = violations(table_name, combined)
            if problems:
                raise StoreWriteError(
                    f"el conjunto {dataset!r} no se cargó y no se cambió nada: "
                    f"{'; '.join(problems)}"
                )
            changes[table_name] = combined
            loaded = conform(pd.DataFrame([provenance]), PROVENANCE_TABLE)
            updated = concat_conformed(
                history[~history["dataset"].isin(leaving)], loaded, PROVENANCE_TABLE
            )
            changes[PROVENANCE_TABLE] = updated.sort_values("dataset").reset_index(drop=True)
            if attempt is not None:
                logged = concat_conformed(
                    logged, conform(pd.DataFrame([attempt]), ATTEMPTS_TABLE), ATTEMPTS_TABLE
                )
            if attempt is not None or replaces is not None:
                changes[ATTEMPTS_TABLE] = logged
            self._commit(changes)

    def remove_dataset(self, dataset: str, attempt: dict[str, Any]) -> int:
        """Delete a dataset's rows and provenance in one commit; return the rows deleted."""
        with self.write_lock():
            history = self.provenance()
            if not (history["dataset"] == dataset).any():
                raise LayerError(
                    f"no hay ningún conjunto llamado {dataset!r}; "
                    "vea los nombres con geogaps status"
                )
            changes: dict[str, pd.DataFrame] = {}
            removed = 0
            for table_name in self._tables_holding(dataset):
                current = self.read_table(table_name)
                mine = current["dataset"] == dataset
                removed += int(mine.sum())
                changes[table_name] = current[~mine].reset_index(drop=True)
            changes[PROVENANCE_TABLE] = history[history["dataset"] != dataset].reset_index(
                drop=True
            )
            changes[ATTEMPTS_TABLE] = self._attempts_with({**attempt, "rows_loaded": removed})
            self._commit(changes)
            return removed

    def record_attempt(self, attempt: dict[str, Any]) -> None:
        """Append one row to the load attempts."""
        with self.write_lock():
            self._commit({ATTEMPTS_TABLE: self._attempts_with(attempt)})

    def _attempts_with(self, attempt: dict[str, Any]) -> pd.DataFrame:
        record = conform(pd.DataFrame([attempt]), ATTEMPTS_TABLE)
        return concat_conformed(self.read_table(ATTEMPTS_TABLE), record, ATTEMPTS_TABLE)

    def _tables_holding(self, dataset: str, except_table: str | None = None) -> list[str]:
        """Data tables that have rows of ``dataset`` (by its provenance: one table each)."""
        history = self.provenance()
        tables = history.loc[history["dataset"] == dataset, "table_name"]
        return [t for t in tables if t != except_table and t in DATA_TABLES]

    def _manifest(self) -> dict[str, Any]:
        self._check_present()
        path = self.root / MANIFEST
        if not path.exists():
            return {"generation": 0, "tables": {}, "previous": {}}
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return manifest

    def _commit(self, frames: Mapping[str, pd.DataFrame]) -> None:
        """Write new versions of ``frames``' tables and make them current all at once."""
        with self.write_lock():
            manifest = self._manifest()
            if manifest["generation"] == 0:
                # A store from before the manifest: adopt its plain files.
                manifest["tables"] = {
                    p.stem: p.name
                    for p in self.root.glob("*.parquet")
                    if p.stem in Base.metadata.tables
                }
            generation = int(manifest["generation"]) + 1
            tables = dict(manifest["tables"])
            for table_name, frame in frames.items():
                name = f"{table_name}.g{generation:08d}.parquet"
                self._write_file(table_name, frame, self.root / name)
                tables[table_name] = name
                self.forget_reference(table_name)
            committed = {"generation": generation, "tables": tables, "previous": manifest["tables"]}
            write_atomically(
                self.root / MANIFEST,
                lambda path: write_synced(path, json.dumps(committed, indent=1).encode()),
            )
            sync_folder(self.root)
            self._collect_garbage(committed)

    def _collect_garbage(self, manifest: dict[str, Any]) -> None:
        """Delete table files neither this commit nor the one before refers to.

        The previous commit's files stay, so a reader that resolved a table just before this
        commit can still open it.
        """
        referenced = set(manifest["tables"].values()) | set(manifest["previous"].values())
        for path in self.root.glob("*.parquet"):
            if path.name not in referenced and (
                _VERSIONED.match(path.name) or path.stem in Base.metadata.tables
            ):
                path.unlink(missing_ok=True)

    def _clean_up(self) -> None:
        """Remove what an interrupted writer left behind, unless a writer is running now."""
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return
        try:
            for stray in self.root.glob("*.tmp"):
                stray.unlink(missing_ok=True)
            if (self.root / MANIFEST).exists():
                self._collect_garbage(self._manifest())
        finally:
            self._lock.release()

    # -- score runs: one folder per run, so reading a run never reads another -------------

    def _run_dir(self, run_id: str) -> Path:
        self._check_present()
        if not _RUN_ID.match(run_id):
            raise UnknownRunError(f"no hay corrida {run_id}")
        return self.root / "runs" / run_id

    def save_run(
        self,
        record: RunRecord,
        results: pd.DataFrame,
        tables: Mapping[str, pd.DataFrame] | None = None,
    ) -> bool:
        """Store a run: its tables in ``runs/<run_id>/``, then its row in ``score_runs``.

        The row is written last, so a reader never sees a run whose files are incomplete.
        """
        try:
            return same_run(record, self.run(record.run_id).result_sha256)
        except UnknownRunError:
            pass
        folder = self._run_dir(record.run_id)
        folder.mkdir(parents=True, exist_ok=True)
        write_atomically(
            folder / "score_results.parquet",
            pd.DataFrame(conform(results, "score_results")).to_parquet,
        )
        for name, frame in (tables or {}).items():
            write_atomically(folder / f"{name}.parquet", partial(_write_bytes, table_bytes(frame)))
        runs = self.read_table(ScoreRun.__tablename__)
        added = conform(pd.DataFrame([record.row()]), ScoreRun.__tablename__)
        self._write(ScoreRun.__tablename__, concat_conformed(runs, added, ScoreRun.__tablename__))
        return True

    def _run_rows(self, expression: Any, columns: list[str] | None = None) -> pd.DataFrame:
        """Rows of ``score_runs`` matching a pyarrow expression."""
        path = self._path(ScoreRun.__tablename__)
        if not path.exists():
            return pd.DataFrame(columns=columns or stored_columns(ScoreRun.__tablename__))
        rows: pd.DataFrame = pq.read_table(path, columns=columns, filters=expression).to_pandas()
        return rows

    def _record(self, run_id: str) -> RunRecord:
        rows = self._run_rows(pc.field("run_id") == run_id)
        if rows.empty:
            raise UnknownRunError(f"no hay corrida {run_id}")
        frame = conform(rows, ScoreRun.__tablename__)
        return RunRecord.from_row(frame.iloc[0].to_dict())

    def run(self, run_id: str) -> RunRecord:
        """The stored run ``run_id``."""
        return self._record(run_id)

    def newest_run(self, scope: str = NATIONAL_SCOPE) -> RunRecord:
        """The newest run of ``scope`` (reads three small columns, then one row)."""
        rows = self._run_rows(pc.field("scope") == scope, ["run_id", "created_at"])
        if rows.empty:
            raise UnknownRunError(f"no hay corridas guardadas del ámbito {scope!r}")
        newest = rows.sort_values(["created_at", "run_id"]).iloc[-1]
        return self._record(str(newest["run_id"]))

    def runs(
        self, scope: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[RunRecord]:
        """Stored runs, newest first."""
        expression = None if scope is None else pc.field("scope") == scope
        rows = self._run_rows(expression)
        if rows.empty:
            return []
        frame = conform(rows, ScoreRun.__tablename__)
        frame = frame.sort_values(["created_at", "run_id"], ascending=[False, True])
        end = None if limit is None else offset + limit
        return [RunRecord.from_row(row) for row in frame.iloc[offset:end].to_dict("records")]

    def count_runs(self, scope: str | None = None) -> int:
        """Number of stored runs."""
        expression = None if scope is None else pc.field("scope") == scope
        return len(self._run_rows(expression, ["run_id"]))

    def run_tables(
        self, run_id: str, names: Sequence[str] | None = None
    ) -> dict[str, pd.DataFrame]:
        """Result tables stored with a run."""
        folder = self._run_dir(run_id)
        paths = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
        wanted = None if names is None else set(names)
        return {
            path.stem: table_from_bytes(path.read_bytes())
            for path in paths
            if path.stem != "score_results" and (wanted is None or path.stem in wanted)
        }

    # -- reads -----------------------------------------------------------------------------

    def _answers_dir(self, state: str) -> Path:
        self._check_present()
        return self.root / "answers" / state

    def answer(self, state: str, key: str) -> bytes | None:
        """The shared answer under ``key`` for ``state`` (a file), or None."""
        checked_hex(state, key)
        try:
            return (self._answers_dir(state) / key).read_bytes()
        except FileNotFoundError:
            return None

    def keep_answer(self, state: str, key: str, content: bytes) -> None:
        """Write the answer atomically (first writer wins) and prune stale and surplus ones."""
        checked_hex(state, key)
        folder = self._answers_dir(state)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / key
        if not target.exists():
            write_atomically(target, lambda path: write_synced(path, content))
        for other in folder.parent.iterdir():
            if other != folder:
                shutil.rmtree(other, ignore_errors=True)
        kept = sorted(
            (p for p in folder.iterdir() if not p.name.endswith(".tmp")),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for path in kept[MAX_ANSWERS:]:
            path.unlink(missing_ok=True)

    def _read(self, request: ReadRequest) -> pd.DataFrame:
        """Rows matching the filters, then sorted and paged.

        Filters are pushed into the Parquet reader (row-group statistics and the GeoParquet
        bbox covering column).
        """
        frame = self._filtered(request)
        sort = [(c, d) for c, d in request.order_pairs if c in frame.columns]
        if sort:
            frame = frame.sort_values(
                [c for c, _ in sort],
                ascending=[not d for _, d in sort],
                kind="stable",
                na_position="last",
            )
        start = request.offset or 0
        end = None if request.limit is None else start + request.limit
        frame = frame.iloc[start:end]
        return conform(frame, request.table, columns=request.columns)

    def _count(self, request: ReadRequest) -> int:
        """Number of rows matching the filters."""
        narrow = (
            ["cut"] if "cut" in stored_columns(request.table) else stored_columns(request.table)[:1]
        )
        request = replace(request, columns=narrow, order=[])
        return len(self._filtered(request))

    def _files_of(self, request: ReadRequest) -> list[Path]:
        """The files holding a read's rows (one per run for ``score_results``)."""
        if request.table != ScoreResult.__tablename__:
            return [self._path(request.table)]
        run_id = request.equals.get("run_id")
        if run_id is not None:
            try:
                return [self._run_dir(str(run_id)) / "score_results.parquet"]
            except UnknownRunError:
                return []
        self._check_present()
        return sorted((self.root / "runs").glob("*/score_results.parquet"))

    def _filtered(self, request: ReadRequest) -> pd.DataFrame:
        names = request.columns
        order = [c for c, _ in request.order_pairs if c != "id"]
        wanted = list(
            dict.fromkeys(names + [c for c in order if c in stored_columns(request.table)])
        )
        paths = [p for p in self._files_of(request) if p.exists()]
        if not paths:
            empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in wanted})
            if "geom" in wanted:
                empty["geom"] = gpd.GeoSeries([], crs="EPSG:4326")
            return empty
        expression = parquet_filter(request)
        frames = [self._read_file(path, wanted, expression, request) for path in paths]
        frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        if request.bbox is not None and len(frame):
            # The covering columns pruned by envelope; keep the exact intersections.
            keep = shapely.intersects(frame["geom"].array, shapely.box(*request.bbox))
            frame = frame[keep]
        return frame.reset_index(drop=True)

    def _read_file(
        self, path: Path, wanted: list[str], expression: Any, request: ReadRequest
    ) -> pd.DataFrame:
        if "geom" in wanted or request.bbox is not None:
            columns = wanted if "geom" in wanted else [*wanted, "geom"]
            covered = has_bbox_covering(path)
            spatial: pd.DataFrame = gpd.read_parquet(
                path,
                columns=columns,
                filters=expression,
                bbox=request.bbox if covered else None,
            )
            return spatial
        rows: pd.DataFrame = pq.read_table(path, columns=wanted, filters=expression).to_pandas()
        return rows

    def count_rows(self, table_name: str) -> int:
        """Number of rows in a table."""
        return len(
            self.read_table(
                table_name, ["dataset"] if "dataset" in stored_columns(table_name) else None
            )
        )

    def _write(self, table_name: str, frame: pd.DataFrame) -> None:
        """Commit a new version of one table."""
        self._commit({table_name: frame})

    def _write_file(self, table_name: str, frame: pd.DataFrame, target: Path) -> None:
        json_columns = [c.name for c in table_named(table_name).columns if isinstance(c.type, JSON)]
        frame = frame.assign(
            **{c: frame[c].map(lambda v: json.dumps(v, sort_keys=True)) for c in json_columns}
        )
        handle, temporary = tempfile.mkstemp(dir=self.root, suffix=".parquet.tmp")
        os.close(handle)
        try:
            if isinstance(frame, gpd.GeoDataFrame):
                # Bbox covering columns and modest row groups let filtered reads skip rows.
                frame.to_parquet(
                    temporary, index=False, write_covering_bbox=True, row_group_size=8192
                )
            else:
                pd.DataFrame(frame).to_parquet(temporary, index=False)
            fsync_file(temporary)
            os.replace(temporary, target)
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)


def _write_bytes(content: bytes, path: str) -> None:
    Path(path).write_bytes(content)
