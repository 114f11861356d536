"""The API's result cache: per-tenant invalidation, and no stale answer from a query that raced a write."""

from supplyfit.api.app import ResultCache


def test_clear_drops_only_that_tenants_answers():
    cache = ResultCache()
    for tenant in ("a", "b"):
        cache.put((tenant, "json", "q"), tenant.upper(), cache.generation(tenant))
    cache.clear("a")
    assert cache.get(("a", "json", "q")) is None and cache.get(("b", "json", "q")) == "B"


def test_an_answer_begun_before_a_write_is_not_kept():
    cache = ResultCache()
    started = cache.generation("a")  # a query starts ...
    cache.clear("a")                 # ... a load of the same tenant lands meanwhile ...
    cache.put(("a", "json", "q"), "old rows", started)
    assert cache.get(("a", "json", "q")) is None
    cache.put(("a", "json", "q"), "new rows", cache.generation("a"))
    assert cache.get(("a", "json", "q")) == "new rows"


def test_size_bound_evicts_least_recent():
    cache = ResultCache(size=2)
    for q in ("q1", "q2"):
        cache.put(("a", q), q, 0)
    cache.get(("a", "q1"))
    cache.put(("a", "q3"), "q3", 0)
    assert cache.get(("a", "q2")) is None and cache.get(("a", "q1")) == "q1"
