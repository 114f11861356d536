"""The real-time side of a running server: event writes with group commit, signals on write, the webhook
outbox's delivery, and the optional watch folder, each on a thread of its own.

Group commit: requests hand their lines (parsed and laid out as columns on their own threads) to one writer
thread and wait. The writer takes everything queued (up to ``MAX_LINES``), stores each tenant's batches as one
load (one transaction), computes the week so far (the new ``/live`` answer, swapped into the cache), answers each
request with its own counts, and raises the signals (at most every ``RAISE_INTERVAL`` per tenant, and as soon as
writes pause). Under load, many requests share a commit, the week comes with at most one commit every
``SIGNAL_INTERVAL`` and the rebuild of products and customers every ``DIMENSIONS_INTERVAL`` (new SKUs get their
products with each week); alone, a request commits at once and writes pausing rebuild what is due.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import defaultdict
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..api.jobs import run_job
from ..api.service import Service, lower_priority
from ..assets import stale
from ..store import IngestError
from ..store.dimensions import add_new_products, refresh_pending
from ..store.sql import transaction
from . import events, sensing, webhooks
from .signals import Rules, raise_signals
from .watch import Watcher

log = logging.getLogger("supplyfit.live")
MAX_LINES = 20_000  # lines in one group commit
SIGNAL_INTERVAL = 0.5  # s: under load, the week so far (/live) is computed at most this often per tenant
# s: under load, signals are raised at most this often per tenant (and when writes pause): a raise reads the plan
# and the signals told this week (a tenth of the writer's time at 100-line batches, raised every SIGNAL_INTERVAL);
# a spike still reaches a webhook within seconds
RAISE_INTERVAL = 2.0
# s: under load, products and customers are rebuilt at most this often per tenant (and when writes pause); each
# rebuild reads every order of every SKU and customer the loads since touched (two fifths of a commit at 100-line
# batches of a real shop's week, rebuilt every SIGNAL_INTERVAL); new SKUs get their products with each week
DIMENSIONS_INTERVAL = 5.0
LIVE_KEY = ("live",)  # cache key of GET /live answers, then (sku, category)


@dataclass(frozen=True)
class LiveOptions:
    """Operator settings: hosts webhooks may target, signal rules, retry schedule, and the watch folder."""

    webhook_allow: frozenset[str] = frozenset()
    rules: Rules = field(default_factory=Rules)
    backoff: webhooks.Backoff = field(default_factory=webhooks.Backoff)
    watch: Path | None = None
    watch_kind: str = "orders"
    watch_tenant: str = "default"
    watch_interval: float = 1.0
    refresh_every: float | None = None  # s between refreshes of stale results (forecasts, plan, ...); None: never


def _elapsed(stamps: dict[str, float], tenant: str, interval: float, clock: float) -> bool:
    """Whether ``interval`` seconds passed on ``clock`` (monotonic) since the tenant's stamp (always without one)."""
    return clock - stamps.get(tenant, 0.0) >= interval


class LiveEngine:
    """Threads of the real-time side; :meth:`start` after the service opens, :meth:`stop` before it closes."""

    def __init__(self, service: Service, options: LiveOptions):
        self.service, self.options = service, options
        self._queue: queue.Queue[tuple[str, events.Batch, Future] | None] = queue.Queue()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._weeks: dict[str, tuple[int, sensing.Week, bytes]] = {}  # generation, week, its /live body
        # the week of a write whose signals are not raised yet (None: not computed, the signals read it)
        self._unsignalled: dict[str, sensing.Week | None] = {}
        self._computed: dict[str, float] = {}  # when each tenant's week was last computed (monotonic)
        self._rebuilt: dict[str, float] = {}  # when each tenant's products and customers were last rebuilt
        self._deferred: set[str] = set()  # tenants whose loads left products and customers to a later rebuild
        self._lagging: set[str] = set()  # tenants whose /live answer is held from before their last write
        self._signalled: dict[str, float] = {}  # when each tenant's signals were last raised (monotonic)
        self._seen = events.SeenIds()  # the stored event ids' hashes: this thread is their one writer

    def start(self) -> None:
        self._forget_aborted()
        targets = [("writer", self._write_loop), ("webhooks", self._deliver_loop)]
        if self.options.watch is not None:
            targets.append(("watch", self._watch_loop))
        if self.options.refresh_every:
            targets.append(("refresh", self._refresh_loop))
        for name, target in targets:
            t = threading.Thread(target=target, name=f"supplyfit-live-{name}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._queue.put(None)
        for t in self._threads:
            t.join(timeout=30)
        while not self._queue.empty():  # queued behind the stop: refused, not left waiting
            item = self._queue.get_nowait()
            if item is not None:
                item[2].set_exception(RuntimeError("the server is shutting down"))

    def week(self, tenant: str) -> sensing.Week:
        """The tenant's week so far: as computed after its last write of events while no other write came since
        (a read then filters it, instead of querying), else read now."""
        generation, known, _ = self._weeks.get(tenant, (-1, None, b""))
        if known is not None and generation == self.service.results.generation(tenant):
            return known
        return sensing.week(self.service.cursor(), tenant)

    def submit(self, tenant: str, batch: events.Batch) -> Future:
        """Queue a batch of lines; the future's result is its :class:`Counts` once they are durable."""
        fut: Future = Future()
        if self._stop.is_set():
            fut.set_exception(RuntimeError("the server is shutting down"))
        else:
            self._queue.put((tenant, batch, fut))
        return fut

    def _forget_aborted(self) -> None:
        """Event ids of loads that never committed (the store undid their rows on opening) are not seen."""
        with self.service.write_lock:
            self.service.store.con.execute(
                "DELETE FROM live_events WHERE load_id NOT IN (SELECT load_id FROM loads WHERE status = 'ok')"
            )

    # ---- scheduled refresh -------------------------------------------------------------------------------
    def _refresh_loop(self) -> None:
        """Every ``refresh_every`` seconds, run the stages of each tenant whose results are stale (or that has
        orders and no results yet) as a job: expensive results follow the data on the operator's schedule, never on
        a request. Jobs show in ``GET /api/v1/jobs`` like those a user starts."""
        assert self.options.refresh_every
        while not self._stop.wait(self.options.refresh_every):
            for tenant in self.due():
                if self._stop.is_set():
                    return
                run_job(self.service, self.service.jobs.add(tenant, "all"), tenant)

    def due(self) -> list[str]:
        """Tenants whose results are stale, or who have orders and no forecasts yet."""
        cur = self.service.cursor()
        tenants = [t for (t,) in cur.execute("SELECT DISTINCT tenant FROM orders ORDER BY 1").fetchall()]
        out = []
        for tenant in tenants:
            store = self.service.store.scoped(tenant, cur)
            if stale(store) or not store.has_result("forecasts"):
                out.append(tenant)
        return out

    # ---- writer ------------------------------------------------------------------------------------------
    def _write_loop(self) -> None:
        lower_priority()
        self._catch_up()
        while True:
            try:
                item = self._queue.get(timeout=SIGNAL_INTERVAL)
            except queue.Empty:  # quiet: rebuild and tell what the last writes called for
                self._tend(quiet=True)
                continue
            if item is None:
                return
            taken, lines = [item], len(item[1])
            while lines < MAX_LINES:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                taken.append(nxt)
                lines += len(nxt[1])
            by_tenant: dict[str, list[tuple[str, events.Batch, Future]]] = defaultdict(list)
            for t in taken:
                by_tenant[t[0]].append(t)
            for tenant, items in by_tenant.items():
                self._commit(tenant, items)
            self._tend()

    def _tend(self, quiet: bool = False) -> None:
        """What is due after a group, or when writes pause (``quiet``): the weeks held back, the rebuilds left
        to later, the signals not raised (all of them when quiet). An error is logged, never raised: every
        write waits on this thread."""
        try:
            self._catch_up_weeks(rebuild=quiet)
            clock = time.monotonic()
            for tenant in list(self._unsignalled):
                if quiet or _elapsed(self._signalled, tenant, RAISE_INTERVAL, clock):
                    self._signal(tenant)
        except Exception:
            log.exception("catching up after writes failed")

    def _catch_up(self) -> None:
        """Raise the signals of every tenant's week so far at start: those a process that stopped between storing
        events and raising them did not, and those of orders loaded from files (the live view scores them, so its
        signals must not wait for a first event)."""
        probe = self.service.store.scoped("")
        try:
            tenants = [r[0] for r in probe.con.execute("SELECT DISTINCT tenant FROM orders ORDER BY 1").fetchall()]
        finally:
            probe.close()
        for tenant in tenants:
            self._signal(tenant)

    def _commit(self, tenant: str, items: list[tuple[str, events.Batch, Future]]) -> None:
        """Store the items as one load and answer each request. Then, under the write lock (no other write
        between), compute the week so far once and swap it in as the cached ``/live`` answer while clearing the
        tenant's other answers (reads keep hitting the cache), and raise the signals. While more writes queue
        behind this one, the week is computed at most every ``SIGNAL_INTERVAL`` (the cached ``/live`` lags by
        that much; at 100-line batches the week was a sixth of the writer's time), the signals raised at most
        every ``RAISE_INTERVAL``, and products and customers rebuilt at most every ``DIMENSIONS_INTERVAL`` (they
        were two fifths of a commit on a real shop's orders). A group the store refuses (a batch of ambiguous text
        numbers) is retried batch by batch, so only that batch fails."""
        svc = self.service
        store = svc.store.scoped(tenant)
        try:
            # products and customers are rebuilt every DIMENSIONS_INTERVAL, not with each commit: a rebuild reads
            # all orders of the SKUs and customers the loads since touched
            clock = time.monotonic()
            due = _elapsed(self._computed, tenant, SIGNAL_INTERVAL, clock)
            rebuild = _elapsed(self._rebuilt, tenant, DIMENSIONS_INTERVAL, clock)
            try:
                counts = events.store_events(
                    store, [batch for _, batch, _ in items], svc.write_lock, rebuild, self._seen
                )
            except IngestError as e:
                if len(items) == 1:
                    items[0][2].set_exception(e)
                for one in items if len(items) > 1 else []:
                    self._commit(tenant, [one])
                return
            except Exception as e:
                log.exception("tenant=%s: storing events failed", tenant)
                for _, _, fut in items:
                    fut.set_exception(e)
                return
            if rebuild:
                self._rebuilt[tenant] = clock
                self._deferred.discard(tenant)
            else:
                self._deferred.add(tenant)
            fresh = due or self._queue.empty()
            now: sensing.Week | None = None
            try:
                if fresh:
                    now = self._swap_week(store)
                else:
                    self._hold_week(tenant)
            finally:
                for (_, _, fut), c in zip(items, counts):
                    fut.set_result(c)
            self._unsignalled[tenant] = now
            if fresh and _elapsed(self._signalled, tenant, RAISE_INTERVAL, time.monotonic()):
                self._signal(tenant)
        except Exception:  # the events are stored and answered; the next write computes the week again
            log.exception("tenant=%s: computing the week failed", tenant)
        finally:
            store.close()

    def _swap_week(self, store: Any, rebuild: bool = False) -> sensing.Week:
        """Compute the tenant's week so far and swap it in as its cached ``/live`` answer, clearing its other
        answers, all under the write lock; if that fails, the answers are cleared (a read computes them).
        First the products and customers that writes left to rebuild are rebuilt (``rebuild``), or only the new
        SKUs among them get their products (the week's categories need them)."""
        svc, tenant = self.service, store.tenant
        swapped = False
        try:
            with svc.write_lock:
                if rebuild:  # marked first: a rebuild that fails is tried again DIMENSIONS_INTERVAL later
                    self._rebuilt[tenant] = time.monotonic()
                with transaction(store.con):
                    (refresh_pending if rebuild else add_new_products)(store.con, tenant)
                if rebuild:  # no other answer from before the rebuild is served meanwhile; /live keeps its last
                    self._deferred.discard(tenant)
                    self._publish_last(tenant)
                known = self._weeks.get(tenant)
                since = None if known is None or known[1].skus.empty else known[1].skus["now"].iloc[0]
                now = sensing.week(store.con, tenant, since)
                self._publish(tenant, now, sensing.answer(now))
                self._computed[tenant] = time.monotonic()
                swapped = True
        finally:
            if not swapped:
                svc.results.clear(tenant)
        self._lagging.discard(tenant)
        return now

    def _hold_week(self, tenant: str) -> None:
        """Clear the tenant's cached answers but keep its last computed week as the ``/live`` answer, until
        :meth:`_catch_up_weeks` computes it again; its signals then read the week themselves."""
        with self.service.write_lock:
            self._publish_last(tenant)
        self._lagging.add(tenant)

    def _publish_last(self, tenant: str) -> None:
        """:meth:`_publish` the tenant's last computed week again: its other answers cleared, /live kept."""
        _, week, body = self._weeks.get(tenant, (-1, None, b""))
        self._publish(tenant, week, body)

    def _publish(self, tenant: str, week: sensing.Week | None, body: bytes) -> None:
        """Clear the tenant's cached answers and keep ``body`` (of ``week``) as its ``/live`` answer in the same
        step (none without a week): a read meanwhile gets the new answer or the old, never a miss. A miss under
        load computed the week on the read path, and every read waited for it (half a second at 100-line batches,
        most of the read p99)."""
        entries = {} if week is None else {(tenant, *LIVE_KEY, None, None): body}
        generation = self.service.results.replace(tenant, entries)
        if week is not None:
            self._weeks[tenant] = (generation, week, body)

    def _catch_up_weeks(self, rebuild: bool = False) -> None:
        """Compute the week of each tenant whose last one is held and older than ``SIGNAL_INTERVAL`` (its own
        next write may never come while other tenants keep the queue busy), rebuilding its products and customers
        if they are due. With ``rebuild`` (writes paused), also each tenant whose rebuild was left to later."""
        clock = time.monotonic()
        tenants = {t for t in self._lagging if _elapsed(self._computed, t, SIGNAL_INTERVAL, clock)}
        tenants |= {t for t in self._deferred if _elapsed(self._rebuilt, t, DIMENSIONS_INTERVAL, clock)}
        if rebuild:
            tenants |= self._deferred
        for tenant in sorted(tenants):
            store = self.service.store.scoped(tenant)
            try:
                due = rebuild or _elapsed(self._rebuilt, tenant, DIMENSIONS_INTERVAL, clock)
                self._unsignalled[tenant] = self._swap_week(store, due)
            except Exception:
                log.exception("tenant=%s: computing the week failed", tenant)
            finally:
                store.close()

    def _signal(self, tenant: str) -> None:
        """Raise the signals of the tenant's week so far (as its last write left it, else read now), with their
        outbox rows, and wake the delivery."""
        week = self._unsignalled.pop(tenant, None)
        self._signalled[tenant] = time.monotonic()
        store = self.service.store.scoped(tenant)
        try:
            with self.service.write_lock:
                if raise_signals(store, self.options.rules, None if week is None else week.skus):
                    self._wake.set()
        except Exception:  # the next write or quiet moment tries again
            log.exception("tenant=%s: raising signals failed", tenant)
        finally:
            store.close()

    # ---- webhook delivery --------------------------------------------------------------------------------
    def _deliver_loop(self) -> None:
        store = self.service.store.scoped("")
        try:
            while not self._stop.is_set():
                sent = self._deliver_due(store)
                if not sent:
                    self._wake.wait(0.5)
                    self._wake.clear()
        finally:
            store.close()

    def _deliver_due(self, store: Any) -> int:
        try:
            due = webhooks.due(store)
        except Exception:
            log.exception("reading the webhook outbox failed")
            return 0
        for d in due:
            if self._stop.is_set():
                break
            error = webhooks.send(d, self.options.webhook_allow)
            if error:
                log.warning("webhook %s signal %s attempt %d: %s", d.webhook_id, d.signal_id, d.attempts + 1, error)
            with self.service.write_lock:
                webhooks.record(store, d, error, self.options.backoff)
        return len(due)

    # ---- watch folder ------------------------------------------------------------------------------------
    def _watch_loop(self) -> None:
        opts = self.options
        assert opts.watch is not None
        Watcher(opts.watch, lambda p: self.service.load(opts.watch_tenant, p, opts.watch_kind, name=p.name)).run(
            self._stop, opts.watch_interval
        )
