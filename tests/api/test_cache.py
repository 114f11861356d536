"""The API's caches: per-tenant invalidation, no stale answer from a query that raced a write, byte bounds,
and one build per key under concurrent callers."""

import threading
import time

import numpy as np

from supplyfit.api.cache import ByteLRU, ResultCache, SingleFlight, approx_bytes


def test_clear_drops_only_that_tenants_answers():
    cache = ResultCache()
    for tenant in ("a", "b"):
        cache.put((tenant, "json", "q"), tenant.upper(), cache.generation(tenant))
    cache.clear("a")
    assert cache.get(("a", "json", "q")) is None and cache.get(("b", "json", "q")) == "B"


def test_an_answer_begun_before_a_write_is_not_kept():
    cache = ResultCache()
    started = cache.generation("a")  # a query starts ...
    cache.clear("a")  # ... a load of the same tenant lands meanwhile ...
    cache.put(("a", "json", "q"), "old rows", started)
    assert cache.get(("a", "json", "q")) is None
    cache.put(("a", "json", "q"), "new rows", cache.generation("a"))
    assert cache.get(("a", "json", "q")) == "new rows"


def test_byte_bound_evicts_least_recent_and_never_exceeds():
    lru = ByteLRU(10_000)
    for q in ("q1", "q2", "q3"):
        assert lru.put(q, q, 2_000)
    lru.get("q1")
    lru.put("q4", "q4", 2_000)
    lru.put("q5", "q5", 2_000)  # 5 x 2,200 bytes > 10,000: the least recent (q2) goes
    assert lru.get("q2") is None and lru.get("q1") == "q1" and lru.bytes <= 10_000
    assert not lru.put("huge", "x", 9_000) and lru.get("huge") is None  # over a quarter of the bound


def test_result_cache_stays_under_its_bound_with_many_large_answers():
    cache = ResultCache(max_bytes=1 << 20)
    for i in range(200):
        cache.put(("a", i), (False, b"x" * 50_000), 0)
    assert cache.lru.bytes <= 1 << 20 and len(cache.lru) == 20  # 20 x (50,033 + 200) bytes fit, 21 do not


def test_approx_bytes_counts_array_buffers():
    class Model:
        def __init__(self):
            self.w = np.zeros((1000, 100))
            self.index = {str(i): i for i in range(100)}

    assert 800_000 <= approx_bytes(Model()) < 820_000


def test_single_flight_builds_once_for_concurrent_callers():
    flight: SingleFlight[str] = SingleFlight(1 << 20)
    started = threading.Event()

    def build() -> str:
        started.set()
        time.sleep(0.2)  # long enough for every caller to arrive while it runs
        return "model"

    got = []
    threads = [threading.Thread(target=lambda: got.append(flight.get(("t", 1), build))) for _ in range(20)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert got == ["model"] * 20 and flight.builds == {("t", 1): 1}
    flight.get(("t", 2), lambda: "model 2", replaces=lambda k: k[0] == "t")
    assert flight.lru.get(("t", 1)) is None and flight.builds == {("t", 2): 1}


def test_replace_swaps_a_tenants_answers_in_one_step():
    cache = ResultCache()
    for tenant in ("a", "b"):
        for q in ("live", "products"):
            cache.put((tenant, q), f"old {tenant} {q}", cache.generation(tenant))
    started = cache.generation("a")  # a read of tenant a begins before the write
    generation = cache.replace("a", {("a", "live"): "new live"})
    assert generation == cache.generation("a") == started + 1
    assert cache.get(("a", "live")) == "new live" and cache.get(("a", "products")) is None
    assert cache.get(("b", "products")) == "old b products"
    cache.put(("a", "products"), "stale", started)  # the read that began before is not kept
    assert cache.get(("a", "products")) is None
