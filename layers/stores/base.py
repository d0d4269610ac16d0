"""What every store offers, and the column conventions they share.

Two stores hold the same tables: :class:`layers.stores.postgis.PostgisStore` and
:class:`layers.stores.embedded.EmbeddedStore`. Both return every table through :func:`conform`,
so the same load gives the same frames back from either.
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import JSON, Boolean, DateTime, Float, Integer

from domain.datasets import DATASET_NAME_PATTERN
from layers.errors import LayerError
from layers.features.source import FeatureSource
from layers.queries import ReadRequest, read_request
from layers.runs import NATIONAL_SCOPE, RunRecord, table_bytes
from layers.schema import SRID
from layers.tables import stored_columns, table_named

PROVENANCE_TABLE = "dataset_provenance"
ATTEMPTS_TABLE = "load_attempts"
RETIRED_TABLE = "retired_datasets"
ANSWERS_TABLE = "api_answers"
#: Shared API answers kept at most; the oldest go first.
MAX_ANSWERS = 500
_HEX = re.compile(r"^[0-9a-f]{1,64}$")


def conform(frame: pd.DataFrame, table_name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Select and type the columns of ``table_name`` the same way in every store.

    Text stays ``object`` with None for missing, integers become nullable ``Int64``, floats
    ``float64``, booleans ``bool``, JSON a dict, and ``geom`` a GeoSeries in EPSG:4326.
    """
    table = table_named(table_name)
    names = columns or stored_columns(table_name)
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise ValueError(f"{table_name}: frame lacks column(s) {', '.join(missing)}")
    # Columns are built apart and assembled once: inserting them one by one into a frame
    # costs more than the query for small reads.
    columns_out: dict[str, pd.Series] = {}
    for name in names:
        column_type = table.c[name].type
        values = frame[name].reset_index(drop=True)
        if name == "geom":
            continue
        if isinstance(column_type, Boolean):
            columns_out[name] = values.fillna(False).astype(bool)
        elif isinstance(column_type, Integer):
            columns_out[name] = (
                values if values.dtype == "Int64" else pd.to_numeric(values).round().astype("Int64")
            )
        elif isinstance(column_type, Float):
            columns_out[name] = (
                values if values.dtype == "float64" else pd.to_numeric(values).astype("float64")
            )
        elif isinstance(column_type, DateTime):
            columns_out[name] = pd.to_datetime(values, utc=True)
        elif isinstance(column_type, JSON):
            columns_out[name] = values.map(lambda v: json.loads(v) if isinstance(v, str) else v)
        else:
            text_values = values.to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]
            columns_out[name] = pd.Series(text_values, dtype=object, name=name)
    out = pd.DataFrame(columns_out, index=pd.RangeIndex(len(frame)))
    if "geom" in names:
        geometry = gpd.GeoSeries(frame["geom"].reset_index(drop=True).array, crs=f"EPSG:{SRID}")
        out["geom"] = geometry
        spatial: pd.DataFrame = gpd.GeoDataFrame(out[names], geometry="geom", crs=f"EPSG:{SRID}")
        return spatial
    selected: pd.DataFrame = out[names]
    return selected


class Store(ABC):
    """A place where datasets are loaded and read back."""

    def __init__(self) -> None:
        self._reference_cache: dict[tuple[str, tuple[str, ...]], pd.DataFrame] = {}

    @abstractmethod
    def feature_source(self) -> FeatureSource:
        """What answers OGC API – Features items and vector tiles from this store."""

    def migrate(self) -> None:  # noqa: B027 - only PostGIS has a schema to migrate
        """Prepare the store's schema (no-op for stores without one)."""

    def close(self) -> None:  # noqa: B027 - only PostGIS holds connections
        """Release resources."""

    @abstractmethod
    def write_lock(self) -> AbstractContextManager[None]:
        """Hold the store's single writer lock (re-entrant within this store object).

        Everything a load reads to decide what to write (the "unchanged?" check, the rows it
        replaces) must be read inside it, so two writers never interleave.
        """

    @abstractmethod
    def replace_dataset(
        self,
        table_name: str,
        dataset: str,
        frame: pd.DataFrame,
        provenance: dict[str, Any],
        attempt: dict[str, Any] | None = None,
        replaces: str | None = None,
    ) -> None:
        """Atomically replace ``dataset``'s rows and record its provenance (and the attempt).

        Rows of ``dataset`` in any other data table are deleted in the same commit: a dataset
        belongs to one table, so changing its kind moves it. With ``replaces``, that other
        dataset is retired in the same commit (see :meth:`retirement`): its rows and provenance
        leave the data tables for :data:`RETIRED_TABLE`, and a ``retired`` attempt is logged.
        """

    def retirement(self, old: str, by: str, at: datetime) -> tuple[str, dict[str, Any]]:
        """The table of dataset ``old`` and the :data:`RETIRED_TABLE` row that keeps it.

        Called inside the write lock by :meth:`replace_dataset`; the row holds the retired
        rows as Parquet bytes and the provenance they were loaded with.

        Raises
        ------
        LayerError
            When ``old`` is not a loaded dataset.
        """
        previous = self.provenance_of(old)
        if previous is None:
            raise LayerError(
                f"--replaces {old}: no hay ningún conjunto activo con ese nombre; vea los "
                "nombres con geogaps status"
            )
        table_name = str(previous["table_name"])
        rows = self.read(table_name, equals={"dataset": old})
        kept = json.loads(json.dumps(previous, default=_json_value))
        record = {
            "dataset": old,
            "retired_at": at,
            "replaced_by": by,
            "table_name": table_name,
            "rows": len(rows),
            "provenance": kept,
            "content": table_bytes(rows),
        }
        return table_name, record

    def retired_datasets(self) -> pd.DataFrame:
        """Datasets retired by a replacement load, without their rows, oldest first."""
        columns = ["dataset", "retired_at", "replaced_by", "table_name", "rows", "provenance"]
        return self.read(RETIRED_TABLE, columns=columns, order=["retired_at", "dataset"])

    @abstractmethod
    def remove_dataset(self, dataset: str, attempt: dict[str, Any]) -> int:
        """Delete a dataset's rows and provenance in one commit; return the rows deleted.

        Raises a :class:`layers.errors.LayerError` when no such dataset is loaded.
        """

    @abstractmethod
    def record_attempt(self, attempt: dict[str, Any]) -> None:
        """Append one row to the load attempts (refused loads included)."""

    def load_attempts(self) -> pd.DataFrame:
        """Every recorded load attempt, oldest first within each dataset."""
        return self.read_table(ATTEMPTS_TABLE)

    def unresolved_refusals(self) -> pd.DataFrame:
        """Each dataset's newest load attempt, when that attempt was refused or failed.

        A file refused outright leaves no rows and no provenance; this is where it shows, until
        a later attempt of the same dataset loads (or the dataset is removed). Attempts under a
        name that is not a dataset name (``../x``, markup) stay in :meth:`load_attempts` only:
        no such dataset can exist, and the name is not echoed to every reader of ``/datasets``.
        """
        attempts = self.load_attempts()
        if attempts.empty:
            return attempts
        named = attempts["dataset"].astype(str).str.lower().str.fullmatch(DATASET_NAME_PATTERN)
        attempts = attempts[named.fillna(False).astype(bool)]
        newest = attempts.sort_values("attempted_at", kind="stable").groupby("dataset").tail(1)
        refused = newest[newest["status"].isin(["refused", "failed"])]
        return refused.sort_values("dataset").reset_index(drop=True)

    def read_table(self, table_name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Return all rows of a table (a GeoDataFrame when it has a geometry)."""
        return self.read(table_name, columns=columns)

    def read(
        self,
        table: str,
        *,
        region: str | None = None,
        cuts: Iterable[str] | None = None,
        bbox: Sequence[float] | None = None,
        columns: Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        order: Sequence[str] | None = None,
        equals: dict[str, object] | None = None,
    ) -> pd.DataFrame:
        """Rows of ``table`` matching every filter given, sorted and paged.

        Parameters
        ----------
        table : str
            A table of :mod:`layers.schema`.
        region : str, optional
            Two-digit region code: rows whose CUT starts with it.
        cuts : iterable of str, optional
            Only these communes.
        bbox : sequence of four floats, optional
            ``min_lon, min_lat, max_lon, max_lat``: rows whose geometry intersects the box.
        columns : sequence of str, optional
            Columns to return (all stored columns otherwise).
        limit, offset : int, optional
            The page of rows, after sorting.
        order : sequence of str, optional
            Sort columns, ``-name`` for descending; the stores' common row order otherwise.
        equals : dict, optional
            Extra ``column == value`` filters (``run_id``, ``challenge``, ``category``...).

        Returns
        -------
        pandas.DataFrame
            Conformed rows (a GeoDataFrame when ``geom`` is among the columns).

        Raises
        ------
        domain.errors.InvalidInputError
            An unknown column, a malformed region, CUT or bbox (a ValueError).
        domain.errors.NotFoundError
            An unknown table.
        """
        request = read_request(
            table,
            region=region,
            cuts=cuts,
            bbox=bbox,
            columns=columns,
            limit=limit,
            offset=offset,
            order=order,
            equals=equals,
        )
        return self._read(request)

    def count(
        self,
        table: str,
        *,
        region: str | None = None,
        cuts: Iterable[str] | None = None,
        bbox: Sequence[float] | None = None,
        equals: dict[str, object] | None = None,
    ) -> int:
        """Number of rows :meth:`read` would return with the same filters and no page."""
        return self._count(read_request(table, region=region, cuts=cuts, bbox=bbox, equals=equals))

    @abstractmethod
    def _read(self, request: ReadRequest) -> pd.DataFrame:
        """Answer a validated read request: filter, sort, page and conform the rows."""

    @abstractmethod
    def _count(self, request: ReadRequest) -> int:
        """Number of rows matching a validated request's filters (its page ignored)."""

    # -- score runs ------------------------------------------------------------------------

    @abstractmethod
    def save_run(
        self,
        record: RunRecord,
        results: pd.DataFrame,
        tables: Mapping[str, pd.DataFrame] | None = None,
    ) -> bool:
        """Store a run, its ``score_results`` rows and its result tables.

        Returns False when the same run (same id, same result digest) was already stored, which
        leaves it untouched. Raises :class:`layers.runs.RunConflictError` when a run with that
        id is stored with different results: a run is never overwritten.
        """

    @abstractmethod
    def run(self, run_id: str) -> RunRecord:
        """The stored run ``run_id``; :class:`layers.errors.UnknownRunError` if there is none."""

    @abstractmethod
    def newest_run(self, scope: str = NATIONAL_SCOPE) -> RunRecord:
        """The newest run of ``scope`` (``nacional`` or a region code); UnknownRunError if none."""

    @abstractmethod
    def runs(
        self, scope: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[RunRecord]:
        """Stored runs, newest first, optionally of one scope."""

    @abstractmethod
    def count_runs(self, scope: str | None = None) -> int:
        """Number of stored runs, optionally of one scope."""

    @abstractmethod
    def run_tables(
        self, run_id: str, names: Sequence[str] | None = None
    ) -> dict[str, pd.DataFrame]:
        """The result tables stored with a run (all, or those named), by name."""

    def run_results(
        self,
        run_id: str,
        *,
        challenge: str | None = None,
        region: str | None = None,
        cuts: Iterable[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        order: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The ``score_results`` rows of one run, filtered through the stores' indexes."""
        equals: dict[str, object] = {"run_id": run_id}
        if challenge is not None:
            equals["challenge"] = challenge
        return self.read(
            "score_results",
            region=region,
            cuts=cuts,
            limit=limit,
            offset=offset,
            order=order or ["challenge", "rank", "cut"],
            equals=equals,
        )

    def count_results(
        self, run_id: str, *, challenge: str | None = None, region: str | None = None
    ) -> int:
        """Number of ``score_results`` rows :meth:`run_results` would return unpaged."""
        equals: dict[str, object] = {"run_id": run_id}
        if challenge is not None:
            equals["challenge"] = challenge
        return self.count("score_results", region=region, equals=equals)

    def read_score_run(self, run_id: str | None = None) -> tuple[RunRecord, pd.DataFrame]:
        """A stored run (the newest national one when ``run_id`` is None) and all its results."""
        record = self.newest_run() if run_id is None else self.run(run_id)
        return record, self.run_results(record.run_id, order=["challenge", "cut"])

    # -- shared answers (a cache every server worker reads) --------------------------------

    @abstractmethod
    def answer(self, state: str, key: str) -> bytes | None:
        """The answer kept under ``key`` for data state ``state``, or None.

        ``state`` is :meth:`state_key` when the answer was computed and ``key`` a hex digest
        of its parameters; answers of other states are never returned.
        """

    @abstractmethod
    def keep_answer(self, state: str, key: str, content: bytes) -> None:
        """Keep an answer for every worker.

        Answers of other states and the oldest beyond :data:`MAX_ANSWERS` are dropped; keeping
        a key twice keeps the first.
        """

    def ping(self) -> None:  # noqa: B027 - the embedded store is always reachable
        """Raise if the store cannot answer (the database is down, the folder is gone)."""

    def state_key(self) -> str:
        """A key that changes whenever a dataset is (re)loaded: sha256 of the provenance."""
        provenance = self.read(PROVENANCE_TABLE, columns=["dataset", "sha256", "loaded_at"])
        text = provenance.to_csv(index=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def provenance(self) -> pd.DataFrame:
        """Provenance of every loaded dataset, one row each."""
        return self.read_table(PROVENANCE_TABLE)

    def provenance_of(self, dataset: str) -> dict[str, Any] | None:
        """The provenance row of one dataset, or None if it was never loaded."""
        rows = self.read(PROVENANCE_TABLE, equals={"dataset": dataset})
        return None if rows.empty else {str(k): v for k, v in rows.iloc[0].items()}

    def rows_of_other_datasets(
        self,
        table_name: str,
        columns: Sequence[str],
        datasets: Sequence[str | None],
        cuts: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """Distinct ``dataset`` and ``columns`` of the rows of ``table_name`` not in ``datasets``.

        What a load is checked against (one source per fact, unique keys); None in
        ``datasets`` is ignored. ``cuts``, when given, keeps only the rows of those communes.
        """
        existing = self.read_table(table_name, ["dataset", *columns])
        others = existing[~existing["dataset"].isin([d for d in datasets if d is not None])]
        if cuts is not None:
            others = others[others["cut"].isin(list(cuts))]
        distinct = others.drop_duplicates().sort_values(["dataset", *columns], kind="stable")
        return distinct.reset_index(drop=True)

    def dataset_sha256(self, dataset: str) -> str | None:
        """sha256 of the file a dataset was last loaded from, or None if never loaded."""
        previous = self.provenance_of(dataset)
        return None if previous is None else str(previous["sha256"])

    def known_cuts(self) -> set[str]:
        """Commune codes of the official code list and of the loaded boundaries."""
        codes = self.read_reference("territorial_codes", ["cut"])["cut"]
        communes = self.read_reference("communes", ["cut"])["cut"]
        return set(codes) | set(communes)

    def read_reference(self, table_name: str, columns: list[str]) -> pd.DataFrame:
        """Read a table that validation consults again and again (codes, commune outlines).

        The copy is kept until this store replaces a dataset of that table, so loading a whole
        folder reads the 345 commune polygons once instead of once per spatial dataset.
        """
        key = (table_name, tuple(columns))
        if key not in self._reference_cache:
            self._reference_cache[key] = self.read_table(table_name, columns)
        return self._reference_cache[key]

    def read_reference_for(
        self, table_name: str, columns: list[str], cuts: Iterable[str]
    ) -> pd.DataFrame:
        """The rows of ``cuts`` only of a reference table (``columns`` must include ``cut``).

        Taken from the cached copy when :meth:`read_reference` already holds one; otherwise a
        filtered read, so a load whose points sit in a few communes reads their outlines
        instead of all 345.
        """
        wanted = sorted(set(cuts))
        cached = self._reference_cache.get((table_name, tuple(columns)))
        codes = self._reference_cache.get((table_name, ("cut",)))
        if cached is None and codes is not None and len(wanted) > len(codes) / 2:
            # Most communes asked for (a national file): read them all once, into the cache,
            # so a later read_reference of the whole table (nearest commune) costs nothing.
            cached = self.read_reference(table_name, columns)
        if cached is None and not wanted:
            # No commune asked for (every row refused): the empty frame keeps the columns and
            # types of the full read, which a filter on an empty list cannot give every store.
            cached = self.read_reference(table_name, columns)
        if cached is not None:
            return cached[cached["cut"].isin(wanted)]
        return self.read(table_name, cuts=wanted, columns=columns)

    def forget_reference(self, table_name: str) -> None:
        """Drop cached copies of ``table_name`` (called after its rows change)."""
        for key in [k for k in self._reference_cache if k[0] == table_name]:
            del self._reference_cache[key]


def _json_value(value: Any) -> Any:
    """JSON form of the numpy and pandas values a provenance row holds."""
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def retired_attempt(record: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The ``retired`` load attempt logged when a replacement load retires a dataset."""
    provenance = record["provenance"]
    return {
        "dataset": record["dataset"],
        "attempted_at": at,
        "kind": provenance.get("kind"),
        "file_name": provenance.get("file_name"),
        "sha256": provenance.get("sha256"),
        "status": "retired",
        "reason": f"reemplazado por {record['replaced_by']!r} (--replaces)",
        "rows_read": None,
        "rows_loaded": record["rows"],
    }


def checked_hex(*values: str) -> None:
    """Refuse a state or answer key that is not a hex digest (they become file names)."""
    for value in values:
        if not _HEX.match(value):
            raise ValueError(f"not a hex digest: {value!r}")
