"""The one cache of a server worker (and of a command that wants one).

Every value is kept under ``(namespace, state, key)``:

* ``state`` is the store's **data state** (:meth:`layers.store.Store.state_key`, a digest of the
  provenance) for values derived from the loaded data — they stop matching as soon as a dataset
  is loaded, replaced or removed — or a **run id** for values of a stored run, which never
  changes (same id, same bytes);
* each namespace is a small least-recently-used map of its own size (:data:`SIZES`), so a burst
  of one kind of request never evicts another kind's values;
* values that are bytes can also be **shared with every other worker** through the store
  (:meth:`Caches.shared`: PostGIS table ``api_answers``, or ``answers/`` files in the embedded
  store), so an answer one worker computed is not computed again by the others;
* ``scores_answer``, ``priorities_answer`` and ``profile_answer`` keep whole HTTP answers
  rendered once (JSON bytes, gzip bytes, ETag: :class:`geo_service.api.responses.RenderedAnswer`)
  under the run id, or the data state for profiles; :meth:`Caches.known` and its two uses
  (:meth:`Caches.known_newest_run_id`, :meth:`Caches.known_data_state`) give the state without
  any input/output, so a kept answer is sent without a query.

One :class:`Caches` lives on the application (``app.state.caches``, made in the lifespan); the
services take it as an argument, so the API and the commands share the same code paths, and a
test gets a fresh cache with a fresh app.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from layers.stores import Store

T = TypeVar("T")

# uvicorn configures this logger: its lines show up with the server's own.
logger = logging.getLogger("uvicorn.error")

#: Entries kept per namespace (the least recently used go first); unknown namespaces keep 8.
SIZES: Mapping[str, int] = {
    "run_result": 8,  # a stored run's tables, by run id
    "run_stats": 64,  # communes ranked per (challenge, region), by run id
    "run_notes": 64,  # a run's notes alone (what /scores shows), by run id
    "run_profiles": 4,  # a run's stored profile bodies, by run id
    "built_profiles": 256,  # profiles rebuilt for runs saved before profiles were kept
    "profile_answer": 1024,  # rendered profiles, by (run, commune) and data state
    "scores_answer": 128,  # rendered /scores pages (up to 1 MiB each), by run id and request
    "priorities_answer": 64,  # rendered /priorities answers, by run id and query
    "data_changes": 64,  # what changed since a run, by run and data state
    "commune_context": 2,  # every commune's identity, APR, facilities, projects
    "analysis_inputs": 2,  # inputs and raw indicators of a data state
    "scope_graph": 34,  # neighbour graphs of the nation and each region, by data state
    "gaps": 256,  # /gaps rows by parameters (also shared through the store)
    "page": 32,  # map pages, layers, medians, insets and PNGs
    "decision": 8,  # default scores and the national eligibility
    "siting": 16,  # siting reports by parameters
    "indicators": 2,  # raw indicators for the robustness analysis
    "tiles": 512,  # vector tiles by (collection, z, x, y), data state and newest run
}
DEFAULT_SIZE = 8
#: How long a worker reuses a looked-up newest run or data state.
RECENT_SECONDS = 1.0


class Caches:
    """Values by namespace, data state (or run id) and key; optionally shared through the store.

    Parameters
    ----------
    sizes : Mapping[str, int], optional
        Entries kept per namespace; :data:`SIZES` when omitted.
    """

    def __init__(self, sizes: Mapping[str, int] | None = None) -> None:
        self.sizes = dict(SIZES if sizes is None else sizes)
        self._spaces: dict[str, OrderedDict[tuple[str, Hashable], Any]] = {}
        self._lock = threading.Lock()
        self._recent: dict[Hashable, tuple[float, Any]] = {}
        #: Held while a request computes and stores a score run (one at a time per worker).
        self.compute_lock = threading.Lock()
        #: Per value being made: its lock and how many threads hold or wait for it.
        self._making: dict[tuple[str, str, Hashable], tuple[threading.RLock, int]] = {}

    def _space(self, namespace: str) -> OrderedDict[tuple[str, Hashable], Any]:
        return self._spaces.setdefault(namespace, OrderedDict())

    @contextmanager
    def making(self, namespace: str, key: Hashable, *, state: str = "") -> Iterator[None]:
        """Held while one thread makes the value of ``key``: others asking wait, then reuse it.

        Without it, eight clients asking for an answer that just went stale (a new run) would
        render it eight times at once, each slower for the others.
        """
        ident = (namespace, state, key)
        with self._lock:
            lock, users = self._making.get(ident, (threading.RLock(), 0))
            self._making[ident] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._lock:
                lock, users = self._making[ident]
                if users == 1:
                    del self._making[ident]
                else:
                    self._making[ident] = (lock, users - 1)

    def get(self, namespace: str, key: Hashable, *, state: str = "") -> Any | None:
        """The value kept under ``key`` for ``state``, or None."""
        with self._lock:
            space = self._space(namespace)
            if (state, key) not in space:
                return None
            space.move_to_end((state, key))
            return space[(state, key)]

    def holds(self, namespace: str, key: Hashable, *, state: str = "") -> bool:
        """Whether a value is kept under ``key`` for ``state`` (None included)."""
        with self._lock:
            return (state, key) in self._space(namespace)

    def put(self, namespace: str, key: Hashable, value: Any, *, state: str = "") -> None:
        """Keep ``value``, dropping the namespace's least recently used beyond its size."""
        size = self.sizes.get(namespace, DEFAULT_SIZE)
        with self._lock:
            space = self._space(namespace)
            space[(state, key)] = value
            space.move_to_end((state, key))
            while len(space) > size:
                space.popitem(last=False)

    def get_or_make(
        self, namespace: str, key: Hashable, make: Callable[[], T], *, state: str = ""
    ) -> T:
        """The value under ``key`` for ``state``, made (and kept, None included) when absent."""
        with self._lock:
            space = self._space(namespace)
            if (state, key) in space:
                space.move_to_end((state, key))
                return cast(T, space[(state, key)])
        value = make()
        self.put(namespace, key, value, state=state)
        return value

    def shared(
        self,
        store: Store,
        namespace: str,
        key: str,
        make: Callable[[], T],
        *,
        state: str,
        encode: Callable[[T], bytes],
        decode: Callable[[bytes], T],
    ) -> tuple[T, bool]:
        """A value from this worker, else from another worker (the store), else made and shared.

        Returns the value and whether it was already computed (here or by another worker). A
        store that cannot keep or read answers only costs a recomputation.
        """
        found = self.get(namespace, key, state=state)
        if found is not None:
            return cast(T, found), True
        digest = hashlib.sha256(f"{namespace}|{key}".encode()).hexdigest()
        value: T | None = None
        try:
            content = store.answer(state, digest)
            value = None if content is None else decode(content)
        except Exception as error:  # a cache failure must never fail the request
            logger.warning("respuesta compartida ilegible (%s): se calcula de nuevo", error)
        was_cached = value is not None
        if value is None:
            value = make()
            try:
                store.keep_answer(state, digest, encode(value))
            except Exception as error:
                logger.warning("no se pudo compartir la respuesta (%s): %s", namespace, error)
        self.put(namespace, key, value, state=state)
        return value, was_cached

    def recent(self, key: Hashable, make: Callable[[], T], seconds: float = RECENT_SECONDS) -> T:
        """``make()``, reused for ``seconds`` (the newest run, the data state)."""
        now = time.monotonic()
        with self._lock:
            found = self._recent.get(key)
        if found is not None and now - found[0] < seconds:
            return cast(T, found[1])
        value = make()
        with self._lock:
            self._recent[key] = (now, value)
        return value

    def known(self, key: Hashable, seconds: float = RECENT_SECONDS) -> Any | None:
        """The value :meth:`recent` would reuse under ``key`` now, or None; never looks it up.

        Lets a request that only needs cached values be answered without any input/output.
        """
        with self._lock:
            found = self._recent.get(key)
        if found is None or time.monotonic() - found[0] >= seconds:
            return None
        return found[1]

    def newest_run(self, scope: str, find: Callable[[], T]) -> T:
        """The newest run of ``scope`` (``find()``), looked up at most once a second."""
        return self.recent(("newest", scope), find)

    def known_newest_run_id(self, scope: str) -> str | None:
        """The id of the newest run of ``scope`` if looked up within the last second, else None."""
        run = self.known(("newest", scope))
        return None if run is None else str(run.run_id)

    def data_state(self, store: Store) -> str:
        """The store's data state, looked up at most once a second."""
        return self.recent("data_state", store.state_key)

    def known_data_state(self) -> str | None:
        """The data state if looked up within the last second, else None."""
        state = self.known("data_state")
        return None if state is None else str(state)

    def forget_recent(self) -> None:
        """Look the newest run and the data state up again (after a write)."""
        with self._lock:
            self._recent.clear()

    def forget(self, *namespaces: str) -> None:
        """Drop every value of ``namespaces`` (memory back after the data changed)."""
        with self._lock:
            for namespace in namespaces:
                self._spaces.pop(namespace, None)
