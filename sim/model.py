"""The fast SimPy model: events only where time must pass.  Its Python loop, the reference.

(Over 450 lines: the request loop and the hooks of each feature into it read best in one place.)

The obvious SimPy model gives every request a process (see sim/naive.py).  It
is easy to trust and slow.  This one produces the same hits and latencies
(the tests check it) with far fewer events:

* requests come in numpy batches and are walked by one loop, not one process
  each; their random numbers (keys, sizes, round trips, service times, TTLs)
  and their routing are drawn per batch, vectorized (sim/draws.py, which the
  naive model draws through too; everything else it does its own way);
* a hit's latency is arithmetic, and so is a miss's: a FCFS queue with c
  servers is a heap of server-free times (sim/backend.py);
* only what must happen *later* is scheduled, on the model's one calendar
  (sim/calendar.py): the backend's answer filling the cache, a miss reaching
  the backend after queueing at its node, a write landing, an entry expiring
  (with active expiry).  Failures and bulk updates are SimPy processes, whose
  events the calendar merges in time order with its own;
* runs of hits never touch the calendar nor SimPy: the loop advances them
  only when the next scheduled thing is due before the next request.

A request's life.  It arrives at time t at the node its balancer picks and
is looked up at once.  With a node queue it then waits for one of the node's
workers and takes its node service time.  A hit answers after that plus the
client-node round trip.  A read miss goes on to the backend (or, with
coalescing, joins a fetch of the same key already in flight); when the
backend answers, the value is stored on the key's replicas and the client
gets it one round trip later.  A write goes to the backend; when it lands,
cached copies are invalidated or updated (or left stale).

A fleet that changes (sim/fleet.py: nodes added and removed, resized,
restarted, failing over to the backend or a gutter pool, warmed up, evicting
in batches) is applied by sim/fleet_model.py's part of the Model at the
instants the schedule gives; in the loop it is a few more decisions: a read
whose node is a gutter node, a miss filled from a warming node's previous
owner (read-through), a batch eviction's node time.

With a near cache per client group (sim/near.py) a read first looks there;
every answer reaches it when the client receives it (`_answer`), and landed
writes and invalidating bulk updates reach it too.

This loop is the readable one, and it runs every policy: users' own, and the
policies that read the clock (Redis's, memcached's).  Built-in policies run
the same model with its request loop compiled (sim/compiled_model.py), which
sim/engine.py's ``run`` picks when it can; the tests hold the two to
identical results.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Container, Generator, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import simpy

from policies.base import Key
from sim.autoscale import SignalWindow
from sim.backend import FCFSServers
from sim.calendar import Calendar
from sim.cluster import build_nodes
from sim.draw_ahead import draws_of, wanted
from sim.draws import Draws, RequestDraws
from sim.fleet_model import FleetChanges
from sim.membership import Membership
from sim.metrics import Recorder, RunResult
from sim.near import NearCaches
from sim.node import CacheNode
from sim.routing import catalogue_sample
from sim.scenario import Scenario
from sim.versions import Versions
from sim.vocabulary import ACTIVE, BACKEND, COALESCED, EXPIRED, HIT, INVALIDATE, LEAVE_STALE, STALE, WARM, WRITE

if TYPE_CHECKING:
    from workloads.stream import Workload
    from workloads.traces.workload import TraceWorkload


def has_writes(workload: Workload | TraceWorkload) -> bool:
    """Whether a workload may issue writes (a trace without key classes: assume it may)."""
    if not hasattr(workload, "key_classes"):
        return True
    return any(cls.write_fraction > 0 for cls in workload.key_classes())


def apply_write(
    nodes: Sequence[CacheNode],
    key: int,
    size: int,
    now: float,
    ttl: float,
    write_policy: str,
    versions: Versions | None,
    homes: Container[int] = (),
) -> list[int]:
    """A write has landed at the backend: what happens to cached copies; the nodes that stored it.

    "invalidate" deletes every copy (cache-aside; gutter nodes' too); "update"
    writes through: every copy and the key's home nodes get the new value;
    "none" leaves copies as they are, stale until they expire.
    """
    if versions is not None:
        versions.write_landed(key)
    if write_policy == LEAVE_STALE:
        return []
    if write_policy == INVALIDATE:
        for cache in nodes:
            if key in cache:
                cache.remove(key)
        return []
    stamp = versions.stamp(key) if versions is not None else None
    return [
        index
        for index, cache in enumerate(nodes)
        if cache.up and (index in homes or key in cache) and cache.fill(key, size, now, ttl, stamp)
    ]


def fill_nodes(choices: np.ndarray, node: int, replicas: int) -> tuple[int, ...]:
    """Where a fetched value is stored: the node that missed, and the key's other replicas."""
    if replicas == 1:
        return (node,)
    targets = [node] + [int(c) for c in choices[:replicas] if c >= 0 and c != node]
    return tuple(targets[:replicas])


def write_homes(choices: np.ndarray, replicas: int) -> tuple[int, ...]:
    """The nodes a written value is stored on (write-through): the key's first R choices."""
    return tuple(int(c) for c in choices[:replicas] if c >= 0)


class _Fetch:
    """A backend read in flight: what it fetches for whom, when it completes, who else waits.

    `finish` is None until the read reaches the backend; `targets` are the
    nodes its answer is stored on, the node that fetched first; `stamp` is
    the version of the value as of the request (None without versions).
    """

    __slots__ = ("key", "size", "ttl", "stamp", "targets", "finish", "waiters", "group")

    def __init__(
        self,
        key: int,
        size: int,
        ttl: float,
        stamp: tuple[int, int] | None,
        targets: tuple[int, ...],
        group: int = 0,
    ):
        self.key, self.size, self.ttl, self.stamp, self.targets = key, size, ttl, stamp, targets
        self.finish: float | None = None
        # (request index, arrival, node done, round trip, group) of coalesced requests
        self.waiters: list[tuple[int, float, float, float, int]] = []
        self.group = group  # the client group of the request that fetches (near caches)

    @property
    def node(self) -> int:
        return self.targets[0]


class Model(FleetChanges):
    """The model's state and its run; the request loop in Python (subclasses may compile it)."""

    engine = "python"
    recorder_class = Recorder  # (the compiled loop's counts its batches in C: the same numbers)
    keeps_draws = True  # the calendar holds a batch's Draws until its last fill (sim/draw_ahead.py's copy)
    near = None  # the client groups' near caches (sim/near.py), if the scenario has them

    def __init__(self, scenario: Scenario, seed: int):
        self.scenario, self.seed = scenario, seed
        cluster = scenario.cluster
        self.env = simpy.Environment()
        self.calendar = Calendar(self.env)
        self.membership = Membership.of(cluster, seed)
        self.draws = RequestDraws(scenario, seed, self.membership)
        self.balancer, self.routing = self.draws.balancer, self.draws.routing
        self.ids = self.draws.ids  # node ids (P); gutter nodes come after them
        self.recorder = self.recorder_class(scenario, self.ids)
        self.replicas = cluster.replicas
        self.coalesce = scenario.backend.coalesce
        # Versions, for stale reads: per key, the writes that landed; per class, bulk updates.
        self.track_versions = bool(scenario.updates.every_s) or has_writes(scenario.workload)
        self.fleet_log: list[dict] = []  # fleet.csv's rows
        self.capacity_of = [cluster.capacity] * self.ids  # each node id's capacity now
        self.catalogue = catalogue_sample(scenario.workload) if not self.membership.static else None
        autoscale = cluster.autoscale
        self.signals = (
            SignalWindow(autoscale, scenario.backend.concurrency, cluster.node_concurrency)
            if autoscale is not None and autoscale.reactive
            else None
        )
        self._build()

    def _build(self) -> None:
        """The nodes, queues and books the request loop keeps."""
        cluster = self.scenario.cluster
        self.nodes = build_nodes(cluster, self.seed, self.ids)
        eviction = cluster.eviction
        self.burst_cost = eviction.cost_per_entry_s if eviction and cluster.has_node_queue else 0.0
        self.backend = FCFSServers(self.scenario.backend.concurrency)
        self.node_queues = (
            [FCFSServers(cluster.node_concurrency) for _ in self.nodes] if cluster.has_node_queue else None
        )
        self.in_flight: list[dict[int, _Fetch]] = [{} for _ in self.nodes]  # per node: key -> _Fetch
        self.versions = Versions() if self.track_versions else None
        # Live load, for the dynamic balancers: per node, a heap of answer times, and the
        # requests whose answer time is not known yet.
        self.outstanding_heaps: list[list[float]] | None = [[] for _ in self.nodes] if self.balancer.dynamic else None
        self.unknown_outstanding = [0] * len(self.nodes)
        self.near = NearCaches.of(self.scenario, self.seed, self.calendar, self.versions)

    # -- the run ------------------------------------------------------------
    def run(self) -> RunResult:
        env = self.env
        if not self.membership.static:
            env.process(self._fleet_changes())
        if self.scenario.updates.every_s:
            env.process(self._bulk_updates())
        self.calendar.due = env.peek()  # the processes' first steps, at time 0
        restarts = self.scenario.cluster.restarts
        for draws in self._draws():
            if restarts:
                windows = self.membership.restart_windows(restarts.down_s, float(draws.batch.time[-1]))
                self.recorder.watch_restarts(windows)
            self._walk(draws)
        self._finish()
        result = self.recorder.result(self.fleet_log, self.membership)
        result.engine = self.engine
        return result

    def _draws(self) -> Iterator[Draws]:
        """Each batch's draws, in order; drawn ahead on the second core where the model cannot change them
        (sim/draw_ahead.py)."""
        if self.signals is None:
            ahead = wanted(self.draws, self.membership.static)
            yield from draws_of(self.draws, ahead, copy=self.keeps_draws)
            return
        for batch in self.draws.batches():  # the autoscaler's ticks up to the batch, before its routing is drawn
            self._advance_to(float(batch.time[0]))
            yield self.draws.draw(batch)

    def _advance_to(self, now: float) -> None:
        """Run everything scheduled up to `now`, ours and SimPy's (the autoscaler's ticks among them)."""
        self.calendar.advance(now)

    def _finish(self) -> None:
        """After the last request: run what is still scheduled (the answers the last misses wait for)."""
        self.calendar.drain()

    def _record(self, draws: Draws, flags: np.ndarray, wait: npt.ArrayLike) -> None:
        """Hand a walked batch to the recorder: its flags, and latencies (wait: beyond the round trip)."""
        batch = draws.batch
        # Every request flagged BACKEND was submitted to it with its service time; with
        # node queues, every read at a node took a worker for its node service time.
        backend_busy = np.where(flags & BACKEND, draws.service, 0.0)
        node_busy = None
        if self.scenario.cluster.has_node_queue:
            # (with node queues the draws have node service times)
            node_busy = np.where(((flags & WRITE) == 0) & (draws.read_node >= 0), draws.node_service, 0.0)  # type: ignore[arg-type]
        latency = draws.round_trip + np.asarray(wait)
        if self.signals is not None:
            self._signal_batch(draws, flags, latency, node_busy)
        self.recorder.add(
            batch.start, batch.time, draws.read_node, flags, latency, batch.size, backend_busy, node_busy, draws.cold
        )

    def _latency_known(self, index: int, arrival: float, latency: float) -> None:
        """A read's latency, known only now (it waited on a queue or a fetch in flight)."""
        self.recorder.set_latency(index, arrival, latency)
        if self.signals is not None:
            self.signals.completed(arrival + latency, latency)

    # -- SimPy processes: what is rare (the fleet's changes: sim/fleet_model.py) -----------------
    def _bulk_updates(self) -> Generator[simpy.Event, object, None]:
        """Every `updates.every_s` seconds the listed classes' values change at once."""
        updates = self.scenario.updates
        classes = set(updates.classes)
        while True:
            yield self.env.timeout(updates.every_s)
            self._bulk_update(classes, updates.invalidate)

    def _set_up(self, index: int, up: bool) -> None:
        self.nodes[index].up = up

    def _fail(self, index: int) -> None:
        self.nodes[index].up = False
        self.nodes[index].clear(self.capacity_of[index])

    def _bulk_update(self, classes: set[int], invalidate: bool) -> None:
        self.versions.bulk_updated(classes)  # type: ignore[union-attr]  # bulk updates track versions
        if invalidate:
            for cache in self.nodes:
                cache.drop_classes(classes)
            if self.near is not None:
                self.near.bulk_updated(classes, self.env.now)

    # -- the request loop -----------------------------------------------------
    def _walk(self, draws: Draws) -> None:
        """Serve one batch of requests, in arrival order."""
        batch = draws.batch
        n = len(batch)
        flags = bytearray(n)
        wait = [0.0] * n  # latency beyond the round trip; NaN when known only later
        calendar = self.calendar
        nodes, node_queues, versions, near = self.nodes, self.node_queues, self.versions, self.near
        dynamic, ids = self.balancer.dynamic, self.ids
        read_node, round_trip, node_service = draws.read_node, draws.round_trip, draws.node_service
        # With read-through, a dynamic balancer's pick must be the node the draws warmed: keep theirs.
        self._drawn = read_node.copy() if dynamic and draws.warm_from is not None else read_node
        rows = zip(range(n), batch.time.tolist(), batch.key.tolist(), read_node.tolist(), batch.op.tolist())
        for i, now, key, node, op in rows:
            if now >= calendar.due:
                calendar.advance(now)
            if near is not None and not op and near.serve(i, now, key, draws, flags, wait):
                continue
            if dynamic and 0 <= node < ids:  # (a gutter node is every candidate's stand-in: no choice)
                node = self._choose(draws.choices[i], now)
                read_node[i] = node
            if op:
                flags[i] = WRITE | BACKEND
                self._write(now, key, draws, i, wait)
                continue
            if node < 0:  # every node is down: straight to the backend, nothing cached
                flags[i] = BACKEND
                finish = self.backend.submit(now, draws.service[i])
                wait[i] = finish - now
                if near is not None:
                    self._answer(draws, i, versions.stamp(key) if versions else None, finish + round_trip[i])
                continue
            ready = node_queues[node].submit(now, node_service[i]) if node_queues else now  # type: ignore[index]  # (drawn with queues)
            hit = nodes[node].lookup(key, now)
            if hit:
                stamp = nodes[node].stamps.get(key)
                stale = versions is not None and stamp != versions.stamp(key)
                flags[i] = HIT | STALE if stale else HIT
                wait[i] = ready - now
                if near is not None:
                    self._answer(draws, i, stamp, ready + round_trip[i])
                if dynamic:  # (a dynamic balancer's heaps)
                    heapq.heappush(self.outstanding_heaps[node], ready + round_trip[i])  # type: ignore[index]
                continue
            if hit is None:
                flags[i] = EXPIRED
            self._read_miss(i, now, ready, key, node, draws, flags, wait)
        self._record(draws, np.frombuffer(flags, dtype=np.uint8), wait)

    def _read_miss(
        self, i: int, now: float, ready: float, key: int, node: int, draws: Draws, flags: bytearray, wait: list[float]
    ) -> None:
        """A read missed at `node`: join a fetch in flight, or fill from a warm peer, or fetch."""
        fetch = self.in_flight[node].get(key) if self.coalesce else None
        if fetch is None:
            if draws.warm_from is not None and self._read_through(i, now, ready, key, node, draws, flags, wait):
                return
            flags[i] |= BACKEND
            self._fetch(draws.batch.start + i, now, ready, key, node, draws, i, wait)
            return
        # Joins the fetch in flight: answered when both its node and the fetch are done.
        flags[i] |= COALESCED
        dynamic = self.outstanding_heaps is not None
        if fetch.finish is None:
            wait[i] = math.nan
            group = int(draws.group[i]) if self.near is not None else 0  # type: ignore[index]  # (drawn with client groups)
            fetch.waiters.append((draws.batch.start + i, now, ready, draws.round_trip[i], group))
            self.unknown_outstanding[node] += dynamic
        else:
            done = max(ready, fetch.finish)
            wait[i] = done - now
            if self.near is not None:
                self._answer_late(fetch, int(draws.group[i]), done + draws.round_trip[i])  # type: ignore[index]  # (drawn with client groups)
            if dynamic:  # (a dynamic balancer's heaps)
                heapq.heappush(self.outstanding_heaps[node], done + draws.round_trip[i])  # type: ignore[index]

    def _read_through(
        self, i: int, now: float, ready: float, key: int, node: int, draws: Draws, flags: bytearray, wait: list[float]
    ) -> bool:
        """Read-through warm-up: fill a warming node's miss from the key's previous owner, if it is up and
        holds the key.  The owner sees a hit; the copy keeps its expiry and stamp, stored at once; the
        read pays one more round trip (node to node).  False when it cannot (then the backend)."""
        source = int(draws.warm_from[i])  # type: ignore[index]  # (called only with read-through's draws)
        if source < 0 or source == node or self._drawn[i] != node:
            return False
        owner = self.nodes[source]
        if not owner.up or not owner.live(key, now):
            return False
        owner.lookup(key, now)
        cache = self.nodes[node]
        size = int(draws.batch.size[i])
        stamp = owner.stamps.get(key)
        if cache.fill_copy(key, size, now, owner.expires_at.get(key), owner.ttl_of.get(key), stamp):
            self._stored(node, key, now)
        stale = self.versions is not None and stamp != self.versions.stamp(key)
        flags[i] |= WARM | STALE if stale else WARM
        wait[i] = ready - now + draws.round_trip[i]
        self._answer(draws, i, stamp, ready + 2 * draws.round_trip[i])
        if self.outstanding_heaps is not None:
            heapq.heappush(self.outstanding_heaps[node], ready + 2 * draws.round_trip[i])
        return True

    # -- misses ---------------------------------------------------------------
    def _fetch(
        self, index: int, now: float, ready: float, key: int, node: int, draws: Draws, i: int, wait: list[float]
    ) -> None:
        """Send a read miss to the backend, now or when its node has served it."""
        stamp = self.versions.stamp(key) if self.versions else None  # the value as of the request
        targets = fill_nodes(draws.choices[i], node, self.replicas) if node < self.ids else (node,)
        group = int(draws.group[i]) if self.near is not None else 0  # type: ignore[index]  # (drawn with client groups)
        fetch = _Fetch(key, int(draws.batch.size[i]), self._ttl_of(draws, i), stamp, targets, group)
        if self.coalesce:
            self.in_flight[node][key] = fetch
        service, round_trip = draws.service[i], draws.round_trip[i]
        if ready <= now:
            finish = self.backend.submit(now, service)
            wait[i] = finish - now
            self._answer(draws, i, stamp, finish + round_trip)
            self._answered(fetch, finish)
            if self.outstanding_heaps is not None:
                heapq.heappush(self.outstanding_heaps[node], finish + round_trip)
            return
        # The miss reaches the backend only when its node has served it: scheduled, so the
        # backend sees its arrivals in time order.
        wait[i] = math.nan
        self.unknown_outstanding[node] += self.outstanding_heaps is not None
        self.calendar.at(ready, self._reach_backend, fetch, index, now, service, round_trip)

    def _reach_backend(self, fetch: _Fetch, index: int, arrival: float, service: float, round_trip: float) -> None:
        finish = self.backend.submit(self.calendar.now, service)
        self._latency_known(index, arrival, finish - arrival + round_trip)
        self._answer_late(fetch, fetch.group, finish + round_trip)
        self._settle_outstanding(fetch.node, finish + round_trip)
        self._answered(fetch, finish)

    def _answered(self, fetch: _Fetch, finish: float) -> None:
        """The fetch's answer time is known: so are its waiters' latencies, and its fill is scheduled."""
        fetch.finish = finish
        for index, arrival, ready, round_trip, group in fetch.waiters:
            done = max(ready, finish)
            self._latency_known(index, arrival, done - arrival + round_trip)
            self._answer_late(fetch, group, done + round_trip)
            self._settle_outstanding(fetch.node, done + round_trip)
        fetch.waiters.clear()
        self.calendar.at(finish, self._fill, fetch)

    def _answer(self, draws: Draws, i: int, stamp: tuple[int, int] | None, at: float) -> None:
        """Read i's answer, a value of version `stamp`, reaches its client at `at`: to its near cache."""
        if self.near is not None:
            group = int(draws.group[i])  # type: ignore[index]  # (drawn with client groups)
            self.near.receive(group, int(draws.batch.key[i]), int(draws.batch.size[i]), stamp, at)

    def _answer_late(self, fetch: _Fetch, group: int, at: float) -> None:
        """The same for a read answered by `fetch` (its value, whoever asked): at `at`."""
        if self.near is not None:
            self.near.receive(group, fetch.key, fetch.size, fetch.stamp, at)

    def _fill(self, fetch: _Fetch) -> None:
        """The backend answered: store the value on the targets that are up."""
        finish: float  # (answered: _answered set it before scheduling this fill)
        key, finish = fetch.key, fetch.finish  # type: ignore[assignment]
        for target in fetch.targets:
            cache = self.nodes[target]
            if cache.up and cache.fill(key, fetch.size, finish, fetch.ttl, fetch.stamp):
                self._stored(target, key, finish)
        fetches = self.in_flight[fetch.node]
        if fetches.get(key) is fetch:
            del fetches[key]

    def _stored(self, target: int, key: Key, now: float, written: bool = False) -> None:
        """After a store at `target`: its active expiry (on a gutter node, which keeps no entry past its
        TTL; with expiry "active", of any entry with a TTL but a written value's), and the node time of a
        batch eviction it set off."""
        cache = self.nodes[target]
        if (not written and self.scenario.cluster.expiry == ACTIVE) or cache.max_ttl:
            expiry = cache.expires_at.get(key)
            if expiry is not None:
                self.calendar.at(expiry, self._expire, target, key)
        if cache.burst:
            if self.burst_cost:  # one worker evicts the batch: the requests behind it wait
                self.node_queues[target].submit(now, self.burst_cost * cache.burst)  # type: ignore[index]  # (set with queues)
            cache.burst = 0

    def _ttl_of(self, draws: Draws, i: int) -> float:
        return float(draws.ttl[i]) if draws.ttl is not None else 0.0

    # -- writes ---------------------------------------------------------------
    def _write(self, now: float, key: int, draws: Draws, i: int, wait: list[float]) -> None:
        """A write goes to the backend; when it lands, cached copies are invalidated or updated."""
        finish = self.backend.submit(now, draws.service[i])
        wait[i] = finish - now
        size, ttl = int(draws.batch.size[i]), self._ttl_of(draws, i)
        homes = write_homes(draws.choices[i], self.replicas)
        self.calendar.at(finish, self._land_write, key, size, ttl, homes)

    def _land_write(self, key: int, size: int, ttl: float, homes: tuple[int, ...]) -> None:
        write_policy, now = self.scenario.cluster.write_policy, self.calendar.now
        for index in apply_write(self.nodes, key, size, now, ttl, write_policy, self.versions, homes):
            self._stored(index, key, now, written=True)
        if self.near is not None:
            self.near.written(key, now)

    # -- expiry ---------------------------------------------------------------
    def _expire(self, target: int, key: Key) -> None:
        """Active expiry: drop the entry if its time has come; if a hit extended it, look again then."""
        cache = self.nodes[target]
        expiry = cache.expires_at.get(key)
        if expiry is None:
            return
        if expiry <= self.calendar.now:
            cache.remove(key)
        else:
            self.calendar.at(expiry, self._expire, target, key)

    # -- live load ------------------------------------------------------------
    def _choose(self, choices: np.ndarray, now: float) -> int:
        """A dynamic balancer's pick among the ranked candidates, by requests outstanding now."""
        heaps = self.outstanding_heaps
        counts = {}
        total = 0
        for node, heap in enumerate(heaps):  # type: ignore[arg-type]  # (a dynamic balancer's: set)
            while heap and heap[0] <= now:
                heapq.heappop(heap)
            counts[node] = len(heap) + self.unknown_outstanding[node]
            total += counts[node]
        nodes = self.nodes
        # candidates and choose are a dynamic balancer's (PowerOfTwoChoices, BoundedLoads), the only ones asked
        candidates = [int(c) for c in choices[: self.balancer.candidates] if c >= 0 and nodes[c].up]  # type: ignore[attr-defined]
        alive = max(1, sum(1 for cache in nodes[: self.ids] if cache.up))
        return self.balancer.choose(candidates, counts, total, alive)  # type: ignore[attr-defined]

    def _settle_outstanding(self, node: int, answered_at: float) -> None:
        if self.outstanding_heaps is not None:
            self.unknown_outstanding[node] -= 1
            heapq.heappush(self.outstanding_heaps[node], answered_at)
