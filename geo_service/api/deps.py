"""What every API router shares: the store, JSON without NaN, pages, caches and the API key."""

from __future__ import annotations

import functools
import hmac
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from analysis import ScoringResult, load_catalogue
from geo_service.errors import BadApiKeyError, BadParameterError, NotFoundError, WritesDisabledError
from geo_service.services.rows import clean, region_counts
from geo_service.services.runs import stored_result
from geo_service.settings import Settings
from layers.runs import NATIONAL_SCOPE, RunRecord
from layers.stores import Store

T = TypeVar("T")

MAX_PAGE = 10_000
#: How long a worker reuses the newest run and the data state it looked up.
RECENT_SECONDS = 1.0


class SafeJSONResponse(JSONResponse):
    """JSON that never holds NaN or Infinity (they become null)."""

    def render(self, content: Any) -> bytes:
        """Serialise ``content`` with NaN and Infinity as null."""
        return json.dumps(
            clean(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode("utf-8")


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

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` under ``key``, dropping the least recently used beyond the size."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def get_or_make(self, key: Hashable, make: Callable[[], T]) -> T:
        """The value under ``key``, made (and kept, None included) by ``make()`` when absent."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return cast(T, self._items[key])
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
        #: Rendered profile bodies by (run, data state, commune).
        self.profiles = LruCache(1024)
        #: Run halves of profiles built for runs saved before profiles were kept.
        self.built_profiles = LruCache(256)
        self.run_profiles = LruCache(4)
        self.context = LruCache(2)
        self.changes = LruCache(64)
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
        rows = store.run_results(run.run_id, order=["challenge", "cut"])
        return region_counts(rows[["challenge", "cut", "rank", "region_code"]])

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
