"""The fast SimPy model: events only where time must pass.

The obvious SimPy model gives every request a process (see sim/naive.py).  It
is easy to trust and slow.  This one produces the same hits and latencies
(the tests check it) with far fewer events:

* requests come in numpy batches and are walked by one loop, not one process
  each; their random numbers (keys, sizes, round trips, service times) are
  drawn per batch, vectorized;
* a hit's latency is arithmetic (its network round trip), and so is a miss's:
  the backend's FCFS queue is a heap of server-free times (sim/backend.py);
* only what must happen *later* is a SimPy event: the backend's answer filling
  the cache at the time it arrives;
* the loop hands control to SimPy only when the next scheduled event is due
  before the next request (``env.peek()``), so runs of hits never touch the
  scheduler.

A request's life: it arrives at its node at time t and is looked up at once.
A hit answers after the client-node round trip.  A miss is sent to the
backend (or, with coalescing, joins a fetch of the same key already in
flight); the cache is filled when the backend answers, and the client gets
its answer one round trip after that.
"""

from __future__ import annotations

import math

import numpy as np
import simpy

from sim.backend import FCFSServers
from sim.cluster import build_balancer, build_nodes
from sim.metrics import Recorder, RunResult
from sim.scenario import Scenario
from workloads.rng import rng_for


def run(scenario: Scenario, seed: int) -> RunResult:
    """Simulate `scenario` with random streams of `seed`; a pure function of both."""
    env = simpy.Environment()
    nodes = build_nodes(scenario.cluster, seed)
    recorder = Recorder(scenario.requests, scenario.warmup, len(nodes))
    env.process(_clients(env, scenario, seed, nodes, recorder))
    env.run()
    recorder.expired = sum(node.expired for node in nodes)
    return recorder.result()


def request_draws(scenario: Scenario, seed: int):
    """The request stream with each request's random round trip and service time.

    Yields (batch, node index per request, round trip s, backend service s).
    Both models draw through here, so they see the same numbers.
    """
    balancer = build_balancer(scenario.cluster)
    round_trip_rng = rng_for(seed, "network.hit_latency")
    service_rng = rng_for(seed, "backend.latency")
    for batch in scenario.workload.batches(seed, scenario.total_requests):
        n = len(batch)
        yield (
            batch,
            balancer.route(batch.key),
            scenario.hit_latency.sample(round_trip_rng, n),
            scenario.backend.latency.sample(service_rng, n),
        )


def _clients(env: simpy.Environment, scenario: Scenario, seed: int, nodes, recorder: Recorder):
    """The one process that walks every request of the run."""
    backend = FCFSServers(scenario.backend.concurrency)
    coalesce = scenario.backend.coalesce
    ttl = scenario.cluster.ttl > 0
    lookups = [node.lookup if ttl else _ignore_time(node.policy.lookup) for node in nodes]
    in_flight = [{} for _ in nodes]  # per node: key -> time its fetch completes
    next_due = math.inf  # time of the earliest scheduled event

    def filler(node_index, key, size, finish):
        def fill(_event):
            nodes[node_index].fill(key, size, finish)
            fetches = in_flight[node_index]
            if fetches.get(key) == finish:
                del fetches[key]

        return fill

    for batch, node_of, round_trip, service in request_draws(scenario, seed):
        n = len(batch)
        wait = np.zeros(n)  # time beyond the round trip: queueing + service
        hit = np.zeros(n, dtype=bool)
        to_backend = np.zeros(n, dtype=bool)
        coalesced = np.zeros(n, dtype=bool)
        rows = zip(batch.time.tolist(), batch.key.tolist(), node_of.tolist(), batch.size.tolist())
        for i, (now, key, node, size) in enumerate(rows):
            if now >= next_due:
                # Let SimPy run every event due by now (fills, expiries, ...).
                yield env.timeout(now - env.now)
                next_due = env.peek()
            if lookups[node](key, now):
                hit[i] = True
                continue
            fetches = in_flight[node]
            if coalesce and key in fetches:
                wait[i] = fetches[key] - now
                coalesced[i] = True
                continue
            finish = backend.submit(now, service[i])
            wait[i] = finish - now
            to_backend[i] = True
            fetches[key] = finish
            env.timeout(finish - env.now).callbacks.append(filler(node, key, size, finish))
            if finish < next_due:
                next_due = finish
        recorder.add(batch.start, node_of, batch.size, hit, round_trip + wait, to_backend, coalesced)


def _ignore_time(lookup):
    """Adapt a policy's lookup(key) to the node's lookup(key, now) when nothing expires."""
    return lambda key, now: lookup(key)
