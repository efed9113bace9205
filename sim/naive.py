"""The obvious SimPy model: one process per request.  The oracle.

(Over 450 lines: the oracle is one function whose request processes share its state, read top to bottom.)

Every request is a process that does, in order, what the request does: it
is looked up at its node on arrival; it queues for a node worker (with a
node queue); on a miss it joins a fetch in flight or queues for a backend
slot, waits its service time and stores the answer on the key's replicas;
then it waits its round trip back to the client.  Node and backend queues
are SimPy Resources; live load is a counter per node.

It is small enough to check by reading, and slow; sim/model.py must give the
same hits and the same latencies for the same scenario and seed, and `kvsim
bench` compares their speed.

The two models share only what they are *given*: the requests with their
random numbers and ranked candidate nodes (sim/draws.py), the fleet's
schedule (sim/membership.py) and its routing (sim/routing.py: rankings,
read targets, keys moved), the version stamps (sim/versions.py), the
policies and how each node's is made (sim/cluster.py), the balancers'
choices (sim/balancer.py) and the metrics (sim/metrics.py).  Everything the
simulator *decides* is written again here, the plain way, and not imported
from the fast model (an import contract forbids it): what a node does with
TTLs and versions, where a fetched value is stored, what a landed write
does, nodes going down and coming back, bulk updates, expiry, queues and
live load; and what the fleet's changes do (sim/naive_fleet.py), gutter
nodes, read-through and pre-copy warm-ups, batch evictions and their node
time, the client groups' near caches (sim/naive_near.py).  So a wrong
decision in the fast model shows as a difference.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Generator
from dataclasses import dataclass

import numpy as np
import simpy

from policies import Policy, PolicyContractError
from policies.base import Key
from sim.autoscale import SignalWindow
from sim.cluster import gutter_makers, policy_makers
from sim.draws import Draws, RequestDraws
from sim.membership import Membership
from sim.metrics import Recorder, RunResult
from sim.naive_fleet import NaiveFleet
from sim.naive_near import NaiveNear
from sim.routing import catalogue_sample
from sim.scenario import Scenario
from sim.versions import Versions
from sim.vocabulary import (
    ACTIVE,
    BACKEND,
    COALESCED,
    EXPIRED,
    HIT,
    INVALIDATE,
    NEAR,
    REFRESH_ON_HIT,
    STALE,
    UPDATE,
    WARM,
    WRITE,
)
from workloads.stream import CLASS_SHIFT

#: a SimPy process: the events it waits for, one after the other
Process = Generator[simpy.Event, object, None]


@dataclass(slots=True)
class _Entry:
    """What a node knows of a key it stored: when it expires, its TTL, the version of its value, its size."""

    expires_at: float
    ttl: float
    stamp: tuple[int, int]
    size: int = 1


class _Node:
    """A cache server, the plain way: its policy, and an entry per key it stored.

    The policy alone says what is cached.  Some policies evict during hits
    without telling anyone, so an entry whose key the policy no longer holds
    is simply ignored, and replaced when the key is stored again.
    """

    def __init__(
        self,
        make_policy: Callable[..., Policy],
        count_bytes: bool,
        refresh_on_hit: bool,
        max_ttl: float = 0.0,
        marks: tuple[float, float] | None = None,
    ):
        self.make_policy = make_policy
        self.policy = make_policy()
        self.count_bytes = count_bytes
        self.refresh_on_hit = refresh_on_hit and not max_ttl
        self.max_ttl = max_ttl  # a gutter node keeps nothing longer
        self.marks = marks  # batch eviction: (high, low) fractions of the capacity
        self.burst = 0  # entries evicted by batch evictions not yet charged
        self.entries: dict[Key, _Entry] = {}
        self.up = True

    def holds(self, key: Key) -> bool:
        return key in self.policy

    def tell_time(self, now: float) -> None:
        """A policy that reads the clock (Redis's, memcached's) hears the time of every read and store."""
        if getattr(self.policy, "timed", False):
            self.policy.advance(now)

    def lookup(self, key: Key, now: float) -> bool | None:
        """A read at `now`: True on a hit, False on a miss, None if the entry had expired (a miss).

        The policy is asked about every read, as it would be with no TTLs;
        an expired entry is dropped first.
        """
        entry = self.entries.get(key)
        expired = entry is not None and entry.expires_at <= now and self.holds(key)
        if expired:
            self.policy.remove(key)
        self.tell_time(now)
        hit = self.policy.lookup(key)
        # (a hit's entry is there: the policy holds only keys this node stored)
        if hit and self.refresh_on_hit and entry.ttl > 0:  # type: ignore[union-attr]
            entry.expires_at = now + entry.ttl  # type: ignore[union-attr]
        return None if expired else hit

    def live(self, key: Key, now: float) -> bool:
        return self.holds(key) and self.entries[key].expires_at > now

    def store(self, key: Key, size: int, now: float, ttl: float, stamp: tuple[int, int]) -> bool:
        """Store a value at `now` for `ttl` seconds (0: for ever); False if the policy refuses it."""
        if self.max_ttl:
            ttl = min(ttl, self.max_ttl) if ttl > 0 else self.max_ttl
        return self._put(key, size, now, _Entry(now + ttl if ttl > 0 else math.inf, ttl, stamp, size))

    def store_copy(self, key: Key, now: float, entry: _Entry) -> bool:
        """Store a copy of another node's entry: its expiry, TTL and stamp."""
        return self._put(key, entry.size, now, _Entry(entry.expires_at, entry.ttl, entry.stamp, entry.size))

    def _put(self, key: Key, size: int, now: float, entry: _Entry) -> bool:
        self.tell_time(now)
        self.policy.insert(key, size if self.count_bytes else 1)
        if self.policy.used > self.policy.capacity:  # the contract, checked after every insert
            raise PolicyContractError(
                f"policy {self.policy.name!r} holds {self.policy.used} units after an insert, "
                f"over its capacity {self.policy.capacity}"
            )
        if self.marks and self.policy.used >= self.marks[0] * self.policy.capacity:
            self.burst += len(self.policy.evict_to(int(self.marks[1] * self.policy.capacity)))
        if not self.holds(key):
            return False
        self.entries[key] = entry
        return True

    def drop(self, key: Key) -> None:
        self.policy.remove(key)

    def drop_classes(self, classes: set[int]) -> None:
        """Drop every cached key of the given key classes."""
        # (the timed model's keys are int64 ids: a policy's keys() are ints here)
        for key in [key for key in self.policy.keys() if key >> CLASS_SHIFT in classes]:  # type: ignore[operator]
            self.policy.remove(key)

    def fail(self, capacity: int) -> None:
        """The node went down (or left): it loses everything, and will come back with a fresh, empty
        policy of `capacity`."""
        self.up = False
        self.policy = self.make_policy(capacity)
        self.entries.clear()


def _homes(choices: np.ndarray, replicas: int) -> list[int]:
    """A key's home nodes: its first `replicas` candidates (fewer when fewer nodes are up)."""
    return [int(node) for node in choices[:replicas] if node >= 0]


def _fill_targets(choices: np.ndarray, node: int, replicas: int) -> list[int]:
    """Where a fetched value is stored: the node that fetched it, then the key's other homes, R in all."""
    targets = [node]
    for home in _homes(choices, replicas):
        if home != node and len(targets) < replicas:
            targets.append(home)
    return targets


def run_naive(scenario: Scenario, seed: int) -> RunResult:
    env = simpy.Environment()
    cluster, updates = scenario.cluster, scenario.updates
    membership = Membership.of(cluster, seed)
    draws = RequestDraws(scenario, seed, membership)
    balancer, ids = draws.balancer, draws.ids
    marks = (cluster.eviction.high_watermark, cluster.eviction.low_watermark) if cluster.eviction else None
    nodes = [
        _Node(make, cluster.capacity_bytes, cluster.ttl_mode == REFRESH_ON_HIT, marks=marks)
        for make in policy_makers(cluster, seed, ids)
    ]
    gutter_ttl = cluster.gutter.ttl_s if cluster.gutter else 0.0
    nodes += [_Node(make, cluster.capacity_bytes, False, max_ttl=gutter_ttl) for make in gutter_makers(cluster, seed)]
    capacities = [cluster.capacity] * ids
    backend = simpy.Resource(env, capacity=scenario.backend.concurrency)
    workers = (
        [simpy.Resource(env, capacity=cluster.node_concurrency) for _ in nodes] if cluster.has_node_queue else None
    )
    coalesce = scenario.backend.coalesce
    versions = Versions()
    near = None
    if scenario.near is not None:
        near = NaiveNear(env, scenario, seed, versions, lambda make: _Node(make, cluster.capacity_bytes, False))
    # per node: key -> event that fires when its fetch is done
    in_flight: list[dict[int, simpy.Event]] = [{} for _ in nodes]
    busy = [0] * len(nodes)  # requests sent to each node and not yet answered
    total = scenario.total_requests
    flags = np.zeros(total, dtype=np.uint8)
    latency = np.zeros(total)
    read_node = np.zeros(total, dtype=np.int64)
    backend_busy = np.zeros(total)  # how long each request held a backend slot
    node_busy = np.zeros(total) if workers else None  # and a node worker

    def backend_call(i: int, service: float) -> Process:
        with backend.request() as slot:
            yield slot
            began = env.now
            yield env.timeout(service)
            backend_busy[i] = env.now - began

    def store(targets: list[int], key: int, size: int, ttl: float, stamp: tuple[int, int]) -> None:
        """Store a fetched value on the target nodes that are up, each expiring on its own."""
        for target in targets:
            if nodes[target].up and nodes[target].store(key, size, env.now, ttl, stamp):
                stored(target, key)

    def stored(target: int, key: Key, written: bool = False) -> None:
        """After a store: active expiry (any gutter entry's; with expiry "active", any entry's with a TTL
        but a written value's); a batch eviction's node time."""
        node = nodes[target]
        if (not written and cluster.expiry == ACTIVE and node.entries[key].ttl > 0) or node.max_ttl:
            env.process(expire(node, key))
        # (a node bursts only with batch eviction: cluster.eviction is set)
        if node.burst and workers and cluster.eviction.cost_per_entry_s:  # type: ignore[union-attr]
            env.process(evicting(target, node.burst * cluster.eviction.cost_per_entry_s))  # type: ignore[union-attr]
        node.burst = 0

    def evicting(target: int, seconds: float) -> Process:
        """A batch eviction holds one of the node's workers."""
        with workers[target].request() as worker:  # type: ignore[index]  # (called with workers only)
            yield worker
            yield env.timeout(seconds)

    def expire(node: _Node, key: Key) -> Process:
        """Active expiry: drop `key` when its entry runs out (later, if hits restart its TTL)."""
        while node.holds(key):
            expires_at = node.entries[key].expires_at
            if expires_at <= env.now:
                node.drop(key)
                return
            yield env.timeout(expires_at - env.now)

    def land_write(key: int, size: int, ttl: float, homes: Container[int]) -> None:
        """A write reached the backend: the value's version moves on, and cached copies follow."""
        versions.write_landed(key)
        if cluster.write_policy == INVALIDATE:
            for node in nodes:
                if node.holds(key):
                    node.drop(key)
        elif cluster.write_policy == UPDATE:  # write through: copies and the key's homes get the value
            for index, node in enumerate(nodes):
                if node.up and (index in homes or node.holds(key)):
                    if node.store(key, size, env.now, ttl, versions.stamp(key)):
                        stored(index, key, written=True)
        if near is not None:
            near.written(key)

    def read_through(key: int, node: int, source: int, drawn: int) -> tuple[int, int] | None:
        """A warming node's miss, filled from the key's previous owner when it is up and holds the key:
        the stamp of the value it served, or None when it could not be."""
        owner = nodes[source] if 0 <= source != node and drawn == node else None
        if owner is None or not owner.up or not owner.live(key, env.now):
            return None
        owner.lookup(key, env.now)  # the owner serves it: a hit in its policy
        entry = owner.entries[key]
        if nodes[node].store_copy(key, env.now, entry):
            stored(node, key)
        return entry.stamp

    def heard(i: int, service: float, node_service: float) -> None:
        """The autoscaler's window hears request i at its arrival (its flags are known then)."""
        if signals is not None:
            served = not (flags[i] & WRITE) and read_node[i] >= 0 and workers
            signals.arrived([env.now], [flags[i]], [service], [node_service if served else 0.0])

    def request(
        i: int,
        key: int,
        choices: np.ndarray,
        spray_node: int,
        size: int,
        op: int,
        round_trip: float,
        service: float,
        node_service: float,
        ttl: float,
        warm_source: int,
        group: int,
    ) -> Process:
        nonlocal active  # type: ignore[misc]  # (bound below, before any request runs: mypy looks only above)
        active += 1
        arrival = env.now
        node = spray_node
        read_node[i] = -1
        trips = 1  # round trips the answer takes: two when a warming node asks a peer
        near_stale = near.lookup(group, key) if near is not None and not op else None  # None: no near hit
        served = versions.stamp(key)  # the version of the value the client gets (read from the backend)
        if op:
            flags[i] = WRITE | BACKEND
            heard(i, service, node_service)
            yield from backend_call(i, service)
            land_write(key, size, ttl, _homes(choices, cluster.replicas))
        elif near_stale is not None:  # its group's near cache answers: no node, no round trip
            flags[i] = HIT | NEAR | (STALE if near_stale else 0)
            node = -1
            heard(i, service, node_service)
        elif node < 0:
            flags[i] = BACKEND
            heard(i, service, node_service)
            yield from backend_call(i, service)
        else:
            if balancer.dynamic and node < ids:
                # candidates and choose are a dynamic balancer's (PowerOfTwoChoices, BoundedLoads)
                candidates = [int(c) for c in choices[: balancer.candidates] if c >= 0 and nodes[c].up]  # type: ignore[attr-defined]
                alive = max(1, sum(n.up for n in nodes[:ids]))
                node = balancer.choose(candidates, dict(enumerate(busy)), sum(busy), alive)  # type: ignore[attr-defined]
            if balancer.dynamic:
                busy[node] += 1
            cache = nodes[node]
            found = cache.lookup(key, env.now)
            fetch = fetching = None
            if found:
                served = cache.entries[key].stamp
                flags[i] = HIT | (STALE if served != versions.stamp(key) else 0)
            else:
                flags[i] = EXPIRED if found is None else 0
                fetch = in_flight[node].get(key) if coalesce else None
                copied = None if fetch is not None else read_through(key, node, warm_source, spray_node)
                if fetch is not None:
                    flags[i] |= COALESCED
                elif copied is not None:
                    served = copied
                    flags[i] |= WARM | (STALE if copied != versions.stamp(key) else 0)
                    trips = 2
                else:
                    flags[i] |= BACKEND
                    stamp = versions.stamp(key)  # the value as of now
                    fetching = env.event()
                    if coalesce:
                        in_flight[node][key] = fetching
            read_node[i] = node
            heard(i, service, node_service)
            if workers:
                with workers[node].request() as worker:
                    yield worker
                    began = env.now
                    yield env.timeout(node_service)
                    node_busy[i] = env.now - began  # type: ignore[index]  # (made with workers)
            if fetching is not None:
                yield from backend_call(i, service)
                targets = _fill_targets(choices, node, cluster.replicas) if node < ids else [node]
                store(targets, key, size, ttl, stamp)
                if in_flight[node].get(key) is fetching:
                    del in_flight[node][key]
                fetching.succeed((stamp, size))  # what the requests that joined it receive
            elif fetch is not None:
                if not fetch.triggered:
                    yield fetch
                served, size = fetch.value  # type: ignore[misc]  # (a fetch succeeds with (stamp, size))
        read_node[i] = node
        if near_stale is not None:
            assert near is not None  # (a near hit needs a near cache)
            yield env.timeout(near.latency)
            latency[i] = near.latency
        else:
            for _ in range(trips):
                yield env.timeout(round_trip)
            latency[i] = env.now - arrival
            if near is not None and not op:
                near.answer(group, key, size, served)
        if signals is not None and not op:
            signals.completed(env.now, latency[i])
        if balancer.dynamic and not op and node >= 0:
            busy[node] -= 1
        active -= 1

    def bulk_updates() -> Process:
        """Every `every_s` seconds the listed classes' values change; with invalidate, their copies go."""
        while True:
            yield env.timeout(updates.every_s)
            versions.bulk_updated(set(updates.classes))
            if updates.invalidate:
                for node in nodes:
                    node.drop_classes(set(updates.classes))
                if near is not None:
                    near.bulk_updated(updates.classes)

    def source() -> Process:
        """The requests, each at its arrival; a batch's draws are made when its first request is due, after
        the autoscaler's ticks up to then (it may change the fleet that routes them)."""
        for batch in draws.batches():
            if signals is not None:
                first = float(batch.time[0])
                yield env.timeout(first - env.now)
                while fleet.next_tick <= first:
                    yield fleet.ticked
            batch_draws = draws.draw(batch)
            batches.append(batch_draws)
            for j in range(len(batch)):
                yield env.timeout(batch.time[j] - env.now)
                ttl = float(batch_draws.ttl[j]) if batch_draws.ttl is not None else 0.0
                node_service = float(batch_draws.node_service[j]) if batch_draws.node_service is not None else 0.0
                env.process(
                    request(
                        batch.start + j,
                        int(batch.key[j]),
                        batch_draws.choices[j],
                        int(batch_draws.read_node[j]),
                        int(batch.size[j]),
                        int(batch.op[j]),
                        float(batch_draws.round_trip[j]),
                        float(batch_draws.service[j]),
                        node_service,
                        ttl,
                        -1 if batch_draws.warm_from is None else int(batch_draws.warm_from[j]),
                        0 if batch_draws.group is None else int(batch_draws.group[j]),
                    )
                )

    active = 0  # request processes not finished
    batches: list[Draws] = []  # the draws of each batch, drawn as the source reaches it
    autoscale = cluster.autoscale
    signals = (
        SignalWindow(autoscale, scenario.backend.concurrency, cluster.node_concurrency)
        if autoscale is not None and autoscale.reactive
        else None
    )
    initial = membership.state_at(0.0)
    for index, node in enumerate(nodes[:ids]):
        node.up = index in initial.up
    catalogue = None if membership.static else catalogue_sample(scenario.workload)
    fleet = NaiveFleet(env, nodes, capacities, draws.routing, catalogue, cluster.warmup, stored, ids, signals)
    env.process(fleet.process(membership))
    if updates.every_s:
        env.process(bulk_updates())
    env.run(until=env.process(source()))
    while active:
        env.step()

    recorder = Recorder(scenario, ids)
    for batch_draws in batches:
        batch = batch_draws.batch
        span = slice(batch.start, batch.start + len(batch))
        if cluster.restarts:
            recorder.watch_restarts(membership.restart_windows(cluster.restarts.down_s, float(batch.time[-1])))
        recorder.add(
            batch.start,
            batch.time,
            read_node[span],
            flags[span],
            latency[span],
            batch.size,
            backend_busy[span],
            None if node_busy is None else node_busy[span],
            batch_draws.cold,
        )
    return recorder.result(fleet.log, membership)
