"""The fast SimPy model: events only where time must pass.

The obvious SimPy model gives every request a process (see sim/naive.py).  It
is easy to trust and slow.  This one produces the same hits and latencies
(the tests check it) with far fewer events:

* requests come in numpy batches and are walked by one loop, not one process
  each; their random numbers (keys, sizes, round trips, service times, TTLs)
  and their routing are drawn per batch, vectorized (sim/draws.py, which the
  naive model draws through too; everything else it does its own way);
* a hit's latency is arithmetic, and so is a miss's: a FCFS queue with c
  servers is a heap of server-free times (sim/backend.py);
* only what must happen *later* is a SimPy event: the backend's answer
  filling the cache, a miss reaching the backend after queueing at its node,
  a write landing, a node failing or coming back, a bulk update, an entry
  expiring (with active expiry);
* the loop hands control to SimPy only when the next scheduled event is due
  before the next request (``env.peek()``), so runs of hits never touch the
  scheduler.

A request's life.  It arrives at time t at the node its balancer picks and
is looked up at once.  With a node queue it then waits for one of the node's
workers and takes its node service time.  A hit answers after that plus the
client-node round trip.  A read miss goes on to the backend (or, with
coalescing, joins a fetch of the same key already in flight); when the
backend answers, the value is stored on the key's replicas and the client
gets it one round trip later.  A write goes to the backend; when it lands,
cached copies are invalidated or updated (or left stale).
"""

from __future__ import annotations

import heapq
import itertools
import math
from heapq import heappush

import numpy as np
import simpy

from sim.backend import FCFSServers
from sim.cluster import build_nodes
from sim.draws import Draws, RequestDraws
from sim.membership import Membership
from sim.metrics import BACKEND, COALESCED, EXPIRED, HIT, STALE, WRITE, Recorder, RunResult
from sim.scenario import Scenario
from sim.versions import Versions
from workloads.stream import CLASS_SHIFT


def run(scenario: Scenario, seed: int) -> RunResult:
    """Simulate `scenario` with the random streams of `seed`; a pure function of both."""
    return _FastModel(scenario, seed).run()


def has_writes(workload) -> bool:
    """Whether a workload may issue writes (a trace without key classes: assume it may)."""
    if not hasattr(workload, "key_classes"):
        return True
    return any(cls.write_fraction > 0 for cls in workload.key_classes())


def apply_write(nodes, key, size, now, ttl, write_policy, versions: Versions | None, homes=()) -> None:
    """A write has landed at the backend: what happens to cached copies.

    "invalidate" deletes every copy (cache-aside); "update" writes through:
    every copy and the key's home nodes get the new value; "none" leaves
    copies as they are, stale until they expire.
    """
    if versions is not None:
        versions.write_landed(key)
    if write_policy == "none":
        return
    if write_policy == "invalidate":
        for cache in nodes:
            if key in cache:
                cache.remove(key)
        return
    stamp = versions.stamp(key) if versions is not None else None
    for index, cache in enumerate(nodes):
        if cache.up and (index in homes or key in cache):
            cache.fill(key, size, now, ttl, stamp)


def membership_changes(env, membership: Membership, nodes):
    """A SimPy process applying the failure schedule: a node that goes down loses its cache."""
    alive = set(membership.alive_at(0.0))
    for index, cache in enumerate(nodes):
        cache.up = index in alive
    for when in membership.change_times():
        yield env.timeout(when - env.now)
        now_alive = set(membership.alive_at(env.now))
        for index in alive - now_alive:
            nodes[index].up = False
            nodes[index].clear()
        for index in now_alive - alive:
            nodes[index].up = True
        alive = now_alive


def bulk_updates(env, updates, nodes, versions: Versions):
    """A SimPy process: every `updates.every_s` seconds the listed classes' values change at once."""
    classes = set(updates.classes)
    while True:
        yield env.timeout(updates.every_s)
        versions.bulk_updated(classes)
        if updates.invalidate:
            for cache in nodes:
                for key in cache.policy.keys():
                    if key >> CLASS_SHIFT in classes:
                        cache.remove(key)


def fill_nodes(choices, node, replicas: int) -> tuple:
    """Where a fetched value is stored: the node that missed, and the key's other replicas."""
    if replicas == 1:
        return (node,)
    targets = [node] + [int(c) for c in choices[:replicas] if c >= 0 and c != node]
    return tuple(targets[:replicas])


def write_homes(choices, replicas: int) -> tuple:
    """The nodes a written value is stored on (write-through): the key's first R choices."""
    return tuple(int(c) for c in choices[:replicas] if c >= 0)


def alive_count(nodes) -> int:
    return max(1, sum(1 for cache in nodes if cache.up))


class _Fetch:
    """A backend read in flight: when it completes (None until it reaches the backend) and who waits."""

    __slots__ = ("finish", "waiters")

    def __init__(self):
        self.finish = None
        self.waiters = []  # (request index, arrival, node done, round trip) of coalesced requests


class _FastModel:
    def __init__(self, scenario: Scenario, seed: int):
        self.scenario, self.seed = scenario, seed
        cluster = scenario.cluster
        self.env = simpy.Environment()
        self.nodes = build_nodes(cluster, seed)
        self.membership = Membership(cluster.nodes, cluster.failures, cluster.mtbf_s, cluster.mttr_s, seed)
        self.draws = RequestDraws(scenario, seed, self.membership)
        self.balancer = self.draws.balancer
        self.recorder = Recorder(scenario)
        self.backend = FCFSServers(scenario.backend.concurrency)
        self.node_queues = (
            [FCFSServers(cluster.node_concurrency) for _ in self.nodes] if cluster.has_node_queue else None
        )
        self.in_flight = [{} for _ in self.nodes]  # per node: key -> _Fetch
        self.replicas = cluster.replicas
        # Versions, for stale reads: per key, the writes that landed; per class, bulk updates.
        self.track_versions = bool(scenario.updates.every_s) or has_writes(scenario.workload)
        self.versions = Versions() if self.track_versions else None
        # Live load, for the dynamic balancers: per node, a heap of answer times.
        self.outstanding_heaps = [[] for _ in self.nodes] if self.balancer.dynamic else None
        self.unknown_outstanding = [0] * len(self.nodes)
        self.pending = 0  # scheduled events whose outcome a request's latency waits for
        self.fills: list = []  # the fill calendar: a heap of (time, order, action, arguments)
        self._order = itertools.count()  # ties on the calendar go in scheduling order
        self.coalesce = scenario.backend.coalesce
        # The lean loop serves configs without TTL, versions, live-load balancing, node queues, failures
        # or policies that read the clock (CacheNode tells them the time).
        self.plain = not (
            any(node.timed for node in self.nodes)
            or cluster.has_ttl
            or self.track_versions
            or self.balancer.dynamic
            or self.node_queues
            or not self.membership.static
        )

    # -- the run ------------------------------------------------------------
    def run(self) -> RunResult:
        env = self.env
        if not self.membership.static:
            env.process(membership_changes(env, self.membership, self.nodes))
        if self.scenario.updates.every_s:
            env.process(bulk_updates(env, self.scenario.updates, self.nodes, self.versions))
        self.next_due = env.peek()
        for draws in self.draws:
            self._walk(draws)
        while self.pending:
            self._step()
        return self.recorder.result()

    def _at(self, when: float, action, *args) -> None:
        """Schedule `action(*args)` at time `when` on the fill calendar."""
        heapq.heappush(self.fills, (when, next(self._order), action, args))

    def _step(self) -> None:
        """Run the earliest scheduled thing: a fill, or a SimPy event (fills first at equal times)."""
        if self.fills and self.fills[0][0] <= self.env.peek():
            _, _, action, args = heapq.heappop(self.fills)
            action(*args)
        else:
            self.env.step()

    def _advance(self, now: float) -> float:
        """Run everything scheduled up to `now`; return the time of the next scheduled thing.

        The request loop is not a SimPy process: it drives the environment with
        ``step()``, which costs one call per event and nothing per request.
        Fills, the one thing every miss schedules, live on a calendar of their
        own (a heap) merged in time order with SimPy's: a heap entry costs a
        fraction of a SimPy event, and misses are most of the events.
        """
        env, fills = self.env, self.fills
        event_time = env.peek()
        while True:
            fill_time = fills[0][0] if fills else math.inf
            if fill_time <= event_time:
                if fill_time > now:
                    return fill_time
                _, _, action, args = heapq.heappop(fills)
                action(*args)
                if not self.plain:  # a fill may have scheduled an event (an expiry)
                    event_time = env.peek()
            elif event_time > now:
                return event_time
            else:
                env.step()
                event_time = env.peek()

    def _walk(self, draws: Draws) -> None:
        """Serve one batch of requests, in arrival order."""
        batch = draws.batch
        n = len(batch)
        flags = bytearray(n)
        wait = [0.0] * n  # latency beyond the round trip; NaN when known only later
        if self.plain:
            self._walk_plain(draws, flags, wait)
        else:
            self._walk_general(draws, flags, wait)
        flags = np.frombuffer(flags, dtype=np.uint8)
        # Every request flagged BACKEND was submitted to it with its service time; with
        # node queues, every read at a node took a worker for its node service time.
        backend_busy = np.where(flags & BACKEND, draws.service, 0.0)
        node_busy = None
        if self.node_queues:
            node_busy = np.where(((flags & WRITE) == 0) & (draws.read_node >= 0), draws.node_service, 0.0)
        latency = draws.round_trip + np.array(wait)
        self.recorder.add(batch.start, batch.time, draws.read_node, flags, latency, batch.size, backend_busy, node_busy)

    def _walk_plain(self, draws, flags, wait) -> None:
        """The common case, kept lean: fixed routing, no TTL, no writes, no node queues.

        Every request starts flagged a hit, so the loop writes flags only for misses.
        """
        batch = draws.batch
        flags[:] = bytes([HIT]) * len(batch)
        lookups = [node.policy.lookup for node in self.nodes]
        inserts = [node.policy.insert for node in self.nodes]
        by_bytes = self.scenario.cluster.capacity_bytes
        calendar, order = self.fills, self._order
        submit = self.backend.submit
        shared_miss = self.coalesce or self.replicas > 1
        service = draws.service.tolist()
        sizes = batch.size.tolist()
        next_due = self.next_due
        for i, now, key, node in zip(
            range(len(batch)), batch.time.tolist(), batch.key.tolist(), draws.read_node.tolist()
        ):
            if now >= next_due:
                next_due = self._advance(now)
            if lookups[node](key):
                continue
            if shared_miss:
                flags[i] = 0
                due = self._read_miss(i, now, now, key, node, draws, flags, wait)
            else:
                flags[i] = BACKEND
                due = submit(now, service[i])
                wait[i] = due - now
                heappush(calendar, (due, next(order), inserts[node], (key, sizes[i] if by_bytes else 1)))
            if due < next_due:
                next_due = due
        self.next_due = next_due

    def _walk_general(self, draws, flags, wait) -> None:
        """Every feature: live-load balancing, writes, node queues, TTL, versions, failures."""
        batch = draws.batch
        nodes = self.nodes
        node_queues = self.node_queues
        dynamic = self.balancer.dynamic
        versions = self.versions
        read_node = draws.read_node
        round_trip = draws.round_trip
        node_service = draws.node_service
        next_due = self.next_due
        rows = zip(range(len(batch)), batch.time.tolist(), batch.key.tolist(), read_node.tolist(), batch.op.tolist())
        for i, now, key, node, op in rows:
            if now >= next_due:
                next_due = self._advance(now)
            if dynamic and node >= 0:
                node = self._choose(draws.choices[i], now)
                read_node[i] = node
            if op:
                flags[i] = WRITE | BACKEND
                next_due = min(next_due, self._write(now, key, draws, i, wait))
                continue
            if node < 0:  # every node is down: straight to the backend, nothing cached
                flags[i] = BACKEND
                wait[i] = self.backend.submit(now, draws.service[i]) - now
                continue
            ready = node_queues[node].submit(now, node_service[i]) if node_queues else now
            hit = nodes[node].lookup(key, now)
            if hit:
                stale = versions is not None and nodes[node].stamps.get(key) != versions.stamp(key)
                flags[i] = HIT | STALE if stale else HIT
                wait[i] = ready - now
                if dynamic:
                    heapq.heappush(self.outstanding_heaps[node], ready + round_trip[i])
                continue
            if hit is None:
                flags[i] = EXPIRED
            due = self._read_miss(i, now, ready, key, node, draws, flags, wait)
            if due < next_due:
                next_due = due
        self.next_due = next_due

    def _read_miss(self, i, now, ready, key, node, draws, flags, wait) -> float:
        """A read missed at `node`: join a fetch in flight, or fetch.  Returns the next event's time."""
        fetch = self.in_flight[node].get(key) if self.coalesce else None
        if fetch is None:
            flags[i] |= BACKEND
            return self._fetch(draws.batch.start + i, now, ready, key, node, draws, i, wait)
        # Joins the fetch in flight: answered when both its node and the fetch are done.
        flags[i] |= COALESCED
        dynamic = self.outstanding_heaps is not None
        if fetch.finish is None:
            wait[i] = math.nan
            fetch.waiters.append((draws.batch.start + i, now, ready, draws.round_trip[i]))
            self.unknown_outstanding[node] += dynamic
        else:
            done = max(ready, fetch.finish)
            wait[i] = done - now
            if dynamic:
                heapq.heappush(self.outstanding_heaps[node], done + draws.round_trip[i])
        return math.inf

    # -- misses ---------------------------------------------------------------
    def _fetch(self, index, now, ready, key, node, draws, i, wait) -> float:
        """Send a read miss to the backend; return the time of the event it scheduled."""
        fetch = _Fetch()
        if self.coalesce:
            self.in_flight[node][key] = fetch
        targets = fill_nodes(draws.choices[i], node, self.replicas)
        size, ttl = int(draws.batch.size[i]), self._ttl_of(draws, i)
        stamp = self.versions.stamp(key) if self.versions else None  # the value as of the request
        if ready <= now:
            finish = self.backend.submit(now, draws.service[i])
            wait[i] = finish - now
            self._schedule_fill(fetch, finish, key, size, ttl, stamp, targets, node)
            if self.outstanding_heaps is not None:
                heapq.heappush(self.outstanding_heaps[node], finish + draws.round_trip[i])
            return finish
        # The miss reaches the backend only when its node has served it: an event, so the
        # backend sees its arrivals in time order.
        wait[i] = math.nan
        service, round_trip = draws.service[i], draws.round_trip[i]
        self.unknown_outstanding[node] += self.outstanding_heaps is not None
        self.pending += 1

        def reach_backend(_event):
            self.pending -= 1
            finish = self.backend.submit(ready, service)
            self.recorder.set_latency(index, now, finish - now + round_trip)
            self._settle_outstanding(node, finish + round_trip)
            self._schedule_fill(fetch, finish, key, size, ttl, stamp, targets, node)

        self.env.timeout(ready - self.env.now).callbacks.append(reach_backend)
        return ready

    def _schedule_fill(self, fetch, finish, key, size, ttl, stamp, targets, node) -> None:
        fetch.finish = finish
        for index, arrival, ready, round_trip in fetch.waiters:
            done = max(ready, finish)
            self.recorder.set_latency(index, arrival, done - arrival + round_trip)
            self._settle_outstanding(node, done + round_trip)
        fetch.waiters.clear()
        self.pending += 1

        def fill():
            self.pending -= 1
            for target in targets:
                cache = self.nodes[target]
                if (
                    cache.up
                    and cache.fill(key, size, finish, ttl, stamp)
                    and ttl > 0
                    and self.scenario.cluster.expiry == "active"
                ):
                    self._schedule_expiry(target, key, finish + ttl)
            fetches = self.in_flight[node]
            if fetches.get(key) is fetch:
                del fetches[key]

        self._at(finish, fill)

    def _ttl_of(self, draws, i) -> float:
        return float(draws.ttl[i]) if draws.ttl is not None else 0.0

    # -- writes ---------------------------------------------------------------
    def _write(self, now, key, draws, i, wait) -> float:
        """A write goes to the backend; when it lands, cached copies are invalidated or updated."""
        finish = self.backend.submit(now, draws.service[i])
        wait[i] = finish - now
        size, ttl = int(draws.batch.size[i]), self._ttl_of(draws, i)
        write_policy = self.scenario.cluster.write_policy
        homes = write_homes(draws.choices[i], self.replicas)

        def land(_event):
            apply_write(self.nodes, key, size, finish, ttl, write_policy, self.versions, homes)

        self.env.timeout(finish - self.env.now).callbacks.append(land)
        return finish

    # -- expiry ---------------------------------------------------------------
    def _schedule_expiry(self, target, key, when) -> None:
        def expire(_event):
            cache = self.nodes[target]
            expiry = cache.expires_at.get(key)
            if expiry is None:
                return
            if expiry <= self.env.now:
                cache.remove(key)
            else:  # refreshed by a hit since: look again when the new TTL runs out
                self._schedule_expiry(target, key, expiry)

        self.env.timeout(when - self.env.now).callbacks.append(expire)

    # -- live load ------------------------------------------------------------
    def _choose(self, choices, now) -> int:
        """A dynamic balancer's pick among the ranked candidates, by requests outstanding now."""
        heaps = self.outstanding_heaps
        counts = {}
        total = 0
        for node, heap in enumerate(heaps):
            while heap and heap[0] <= now:
                heapq.heappop(heap)
            counts[node] = len(heap) + self.unknown_outstanding[node]
            total += counts[node]
        candidates = [int(c) for c in choices[: self.balancer.candidates] if c >= 0]
        return self.balancer.choose(candidates, counts, total, alive_count(self.nodes))

    def _settle_outstanding(self, node, answered_at) -> None:
        if self.outstanding_heaps is not None:
            self.unknown_outstanding[node] -= 1
            heapq.heappush(self.outstanding_heaps[node], answered_at)
