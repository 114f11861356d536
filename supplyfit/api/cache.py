"""Caches of the service, each bounded by bytes: answers, verified keys and recommenders.

Every cache here is an LRU over an estimate of its entries' sizes, so a few large answers cannot grow the
process without limit (a bound by count does not bound memory). Writes only ever come from this process
(DuckDB allows one writer), so invalidation is exact: each write bumps a generation and drops its entries.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

import numpy as np

V = TypeVar("V")
log = logging.getLogger("supplyfit.api")
ENTRY_OVERHEAD = 200  # bytes of key, tuple and dict slot per entry, roughly


def approx_bytes(obj: Any, depth: int = 2) -> int:
    """An estimate of the memory ``obj`` holds: arrays and sparse matrices by their buffers, containers by
    their elements, other objects by their attributes (``depth`` levels down)."""
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return len(obj) + 33
    if isinstance(obj, str):
        return len(obj) * (1 if obj.isascii() else 4) + 49
    if isinstance(obj, np.ndarray):
        return obj.nbytes + 112
    if all(hasattr(obj, a) for a in ("data", "indices", "indptr")):  # a scipy CSR/CSC matrix
        return sum(approx_bytes(getattr(obj, a), 0) for a in ("data", "indices", "indptr"))
    size = sys.getsizeof(obj, 64)
    if depth <= 0:
        return size
    if isinstance(obj, dict):
        return size + sum(approx_bytes(k, 0) + approx_bytes(v, depth - 1) for k, v in obj.items())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return size + sum(approx_bytes(v, depth - 1) for v in obj)
    if hasattr(obj, "__dict__"):
        return size + approx_bytes(vars(obj), depth)
    return size


class ByteLRU(Generic[V]):
    """Least-recently-used entries within ``max_bytes`` in all; an entry larger than ``max_entry`` (by default
    a quarter of the bound: it would evict most of the others) is not kept. Thread-safe."""

    def __init__(self, max_bytes: int, max_entry: int | None = None):
        self.max_bytes, self.bytes = max_bytes, 0
        self.max_entry = max_bytes // 4 if max_entry is None else max_entry
        self._data: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is None:
                return None
            self._data.move_to_end(key)
            return hit[0]

    def put(self, key: Hashable, value: V, size: int) -> bool:
        """Keep ``value`` as ``size`` bytes (plus its entry's overhead); False when it is too large to keep."""
        size += ENTRY_OVERHEAD
        with self._lock:
            self._pop(key)
            if size > self.max_entry:
                return False
            self._data[key] = (value, size)
            self.bytes += size
            while self.bytes > self.max_bytes:
                self._pop(next(iter(self._data)))
            return True

    def drop(self, match: Callable[[Any, V], bool]) -> int:
        """Remove the entries for which ``match(key, value)`` holds; their count."""
        with self._lock:
            gone = [k for k, (v, _) in self._data.items() if match(k, v)]
            for k in gone:
                self._pop(k)
            return len(gone)

    def _pop(self, key: Hashable) -> None:
        old = self._data.pop(key, None)
        if old is not None:
            self.bytes -= old[1]


class ResultCache:
    """Encoded answers keyed by tenant first, then query. Every write clears its tenant's entries and bumps
    its generation, so a hit is never stale (an answer begun before a write is not kept) and one tenant's
    load leaves the others warm."""

    def __init__(self, max_bytes: int = 64 << 20):
        self.lru: ByteLRU[Any] = ByteLRU(max_bytes)
        self._generations: dict[str, int] = {}
        self._lock = threading.Lock()

    def generation(self, tenant: str) -> int:
        return self._generations.get(tenant, 0)

    def get(self, key: tuple) -> Any:
        return self.lru.get(key)

    def put(self, key: tuple, value: Any, generation: int) -> None:
        """Keep ``value`` unless its tenant was written since ``generation`` was read."""
        with self._lock:
            if generation == self.generation(key[0]):
                self.lru.put(key, value, approx_bytes(value))

    def clear(self, tenant: str) -> None:
        self.replace(tenant, {})

    def replace(self, tenant: str, entries: dict[tuple, Any]) -> int:
        """Clear the tenant's answers and keep ``entries`` (keys of that tenant) in their place, in one step: a
        read meanwhile finds the new answer, never a miss that would compute it again. The new generation."""
        with self._lock:
            generation = self._generations[tenant] = self.generation(tenant) + 1
            self.lru.drop(lambda k, _v: k[0] == tenant)
            for key, value in entries.items():
                self.lru.put(key, value, approx_bytes(value))
            return generation


class SingleFlight(Generic[V]):
    """Values built at most once per key at a time, kept in a :class:`ByteLRU` (any value that fits the whole
    bound): callers that ask for a key being built wait for that build instead of starting their own (a
    thundering herd costs one build)."""

    def __init__(self, max_bytes: int):
        self.lru: ByteLRU[V] = ByteLRU(max_bytes, max_entry=max_bytes)
        self.builds: dict[Hashable, int] = {}  # builds per key, for tests and the log
        self._pending: dict[Hashable, Future] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], V], replaces: Callable[[Any], bool] | None = None) -> V:
        """The value for ``key``, built by ``build`` if no one holds or is building it; a new value drops the
        entries for which ``replaces(key)`` holds (older versions of the same thing)."""
        hit = self.lru.get(key)
        if hit is not None:
            return hit
        with self._lock:
            hit = self.lru.get(key)
            if hit is not None:
                return hit
            pending = self._pending.get(key)
            owner = pending is None
            if owner:
                pending = self._pending[key] = Future()
        assert pending is not None
        if not owner:
            return pending.result()
        try:
            value = build()
            with self._lock:
                self.builds[key] = self.builds.get(key, 0) + 1
                if replaces is not None:
                    self.lru.drop(lambda k, _v: k != key and replaces(k))
                    self.builds = {k: n for k, n in self.builds.items() if k == key or not replaces(k)}
                if not self.lru.put(key, value, approx_bytes(value)):
                    log.warning("%s is larger than the cache of %d MB: not kept", key, self.lru.max_bytes >> 20)
            pending.set_result(value)
            return value
        except BaseException as e:
            pending.set_exception(e)
            raise
        finally:
            with self._lock:
                del self._pending[key]
