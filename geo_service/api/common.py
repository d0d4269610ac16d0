"""What every API router shares: the store, JSON without NaN, pages, caches and the API key."""

from __future__ import annotations

import functools
import hmac
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date, datetime
from typing import Annotated, Any, TypeVar, cast

import numpy as np
import pandas as pd
from fastapi import Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from analysis import ScoringResult, load_catalogue
from analysis.formatting import rank_of
from geo_service.errors import BadApiKeyError, BadParameterError, NotFoundError, WritesDisabledError
from geo_service.scoring import stored_result
from geo_service.settings import Settings
from layers.runs import NATIONAL_SCOPE, RunRecord
from layers.store import Store

T = TypeVar("T")

MAX_PAGE = 10_000
#: How long a worker reuses the newest run and the data state it looked up.
RECENT_SECONDS = 1.0


def clean(value: Any) -> Any:
    """``value`` with NaN/Infinity/NA as None and numpy/pandas scalars as Python ones."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.isoformat()
    return value


class SafeJSONResponse(JSONResponse):
    """JSON that never holds NaN or Infinity (they become null)."""

    def render(self, content: Any) -> bytes:
        """Serialise ``content`` with NaN and Infinity as null."""
        return json.dumps(
            clean(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode("utf-8")


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a frame as JSON-ready dicts (no geometry)."""
    plain = pd.DataFrame(frame).drop(columns=["geom"], errors="ignore")
    result: list[dict[str, Any]] = clean(plain.to_dict("records"))
    return result


def page_links(request: Request, total: int, limit: int, offset: int) -> dict[str, Any]:
    """``total``, ``limit``, ``offset`` and the ``next`` page's URL (None on the last page)."""
    following = offset + limit
    next_url = (
        str(request.url.include_query_params(offset=following, limit=limit))
        if following < total
        else None
    )
    return {"total": total, "limit": limit, "offset": offset, "next": next_url}


class LruCache:
    """A small thread-safe least-recently-used cache."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        """The value under ``key`` (None when absent)."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` under ``key``, dropping the least recently used beyond the size."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def get_or_make(self, key: Hashable, make: Callable[[], T]) -> T:
        """The value under ``key``, made (and kept) by ``make()`` when absent."""
        found = self.get(key)
        if found is not None:
            return cast(T, found)
        value = make()
        self.put(key, value)
        return value

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()


class ServingState:
    """Process-wide caches.

    Stored runs never change (same id, same bytes), so a run's tables are cached by id;
    data-derived values are keyed by the store state (provenance hash).
    """

    def __init__(self) -> None:
        self.results = LruCache(8)
        self.run_stats = LruCache(64)
        self.inputs = LruCache(2)
        self.gaps = LruCache(256)
        self.profiles = LruCache(1024)
        self.compute_lock = threading.Lock()
        self._recent: dict[Hashable, tuple[float, Any]] = {}
        self._recent_lock = threading.Lock()

    def recent(self, key: Hashable, make: Callable[[], T], seconds: float = RECENT_SECONDS) -> T:
        """``make()``, reused for ``seconds``.

        The newest run and the data state are looked up at most once a second per worker
        instead of on every request.
        """
        now = time.monotonic()
        with self._recent_lock:
            found = self._recent.get(key)
        if found is not None and now - found[0] < seconds:
            return cast(T, found[1])
        value = make()
        with self._recent_lock:
            self._recent[key] = (now, value)
        return value

    def forget_recent(self) -> None:
        """Look the newest run and the data state up again (after a write)."""
        with self._recent_lock:
            self._recent.clear()


def get_store(request: Request) -> Store:
    """The store opened by the application's lifespan."""
    store: Store = request.app.state.store
    return store


def get_serving(request: Request) -> ServingState:
    """The application's caches."""
    state: ServingState = request.app.state.serving
    return state


def get_settings(request: Request) -> Settings:
    """The application's settings."""
    settings: Settings = request.app.state.settings
    return settings


def require_api_key(
    request: Request,
    x_api_key: Annotated[
        str | None, Header(description="Clave de escritura (GEOGAPS_API_KEY).")
    ] = None,
) -> None:
    """Writes need ``X-API-Key`` equal to ``GEOGAPS_API_KEY``; without a key they are off."""
    configured = get_settings(request).api_key
    if configured is None or not configured.get_secret_value():
        raise WritesDisabledError(
            "escrituras deshabilitadas: configure GEOGAPS_API_KEY en el servidor para habilitarlas"
        )
    if x_api_key is None or not hmac.compare_digest(
        x_api_key.encode("utf-8"), configured.get_secret_value().encode("utf-8")
    ):
        raise BadApiKeyError("falta la cabecera X-API-Key o no coincide con la clave del servidor")


StoreDep = Annotated[Store, Depends(get_store)]
ServingDep = Annotated[ServingState, Depends(get_serving)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
WriteAccess = Depends(require_api_key)

RegionQuery = Annotated[
    str | None,
    Query(
        pattern=r"^(0[1-9]|1[0-6])$",
        description="Código de región de dos dígitos (01 a 16).",
        examples=["04"],
    ),
]
RunIdQuery = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9a-f]{64}$",
        description="Id de una corrida guardada; por omisión, la nacional más reciente.",
    ),
]
LimitQuery = Annotated[
    int, Query(ge=1, le=MAX_PAGE, description="Filas por página (máximo 10 000).")
]
OffsetQuery = Annotated[int, Query(ge=0, le=10_000_000, description="Filas a saltar.")]


def resolve_run(
    store: Store,
    run_id: str | None,
    scope: str = NATIONAL_SCOPE,
    serving: ServingState | None = None,
) -> RunRecord:
    """The run asked for, or the newest of ``scope``; NotFoundError saying what to do."""
    try:
        if run_id is not None:
            return store.run(run_id)
        if serving is None:
            return store.newest_run(scope)
        return serving.recent(("newest", scope), lambda: store.newest_run(scope))
    except LookupError as error:
        raise NotFoundError(f"{error}; ejecute `geogaps score` o POST /runs primero") from None


def run_result(store: Store, serving: ServingState, run: RunRecord) -> ScoringResult:
    """The stored run's tables (indicators, contributions, clusters...), cached by run id."""
    try:
        return serving.results.get_or_make(run.run_id, lambda: stored_result(store, run))
    except LookupError as error:
        raise NotFoundError(str(error)) from None


def run_stats(store: Store, serving: ServingState, run: RunRecord) -> dict[tuple[str, str], int]:
    """Communes ranked per (challenge, region) in a run, for "n de N" regional ranks."""

    def count() -> dict[tuple[str, str], int]:
        rows = store.run_results(run.run_id, order=["challenge", "cut"])[
            ["challenge", "cut", "rank", "region_code"]
        ]
        ranked = rows[rows["rank"].notna()]
        regions = ranked["region_code"].fillna(ranked["cut"].str[:2])
        counts = ranked.groupby([ranked["challenge"], regions]).size()
        return {(str(key[0]), str(key[1])): int(n) for key, n in counts.items()}  # type: ignore[index]

    return serving.run_stats.get_or_make(run.run_id, count)


@functools.lru_cache(maxsize=1)
def catalogue_score_ids() -> tuple[str, ...]:
    """Score ids (challenges and composite) of the packaged catalogue."""
    return tuple(load_catalogue().score_ids)


def check_challenge(challenge: str | None, catalogue_ids: tuple[str, ...] | None = None) -> None:
    """422 naming an unknown challenge and the valid ones."""
    catalogue_ids = catalogue_ids or catalogue_score_ids()
    if challenge is not None and challenge not in catalogue_ids:
        raise BadParameterError(
            f"desafío desconocido {challenge!r}; los desafíos son {', '.join(catalogue_ids)}"
        )


def score_rows(
    frame: pd.DataFrame,
    run: RunRecord | None,
    stats: dict[tuple[str, str], int],
    national_totals: dict[str, int],
) -> list[dict[str, Any]]:
    """Score rows of the contract: name, national and regional rank as "3 de 15"."""
    rows: list[dict[str, Any]] = []
    regional_scope = run is not None and run.scope != NATIONAL_SCOPE
    for row in records(frame.drop(columns=["run_id"], errors="ignore")):
        region = row.get("region_code") or str(row["cut"])[:2]
        row["region_code"] = region
        national_total = None if regional_scope else national_totals.get(row["challenge"])
        region_total = stats.get((row["challenge"], region))
        if regional_scope:
            # A regional run ranks within its region only.
            row["rank_region"] = row.get("rank")
            for name in ("median_rank", "rank_p05", "rank_p95", "top_tier_share"):
                row.setdefault(f"{name}_region", row.get(name))
                if row.get(f"{name}_region") is None:
                    row[f"{name}_region"] = row.get(name)
        row["national_total"] = national_total
        row["region_total"] = region_total
        row["rank_label"] = (
            rank_of(row["rank"], national_total)
            if row.get("rank") is not None and national_total
            else None
        )
        row["rank_region_label"] = (
            rank_of(row["rank_region"], region_total)
            if row.get("rank_region") is not None and region_total
            else None
        )
        rows.append(row)
    return rows
