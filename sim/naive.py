"""The obvious SimPy model: one process per request.  The oracle.

Every request is a process that looks the key up, waits for its round trip
(a hit) or queues for a backend slot, waits its service time, fills the cache
and then waits its round trip (a miss).  It is small enough to check by
reading, and slow; sim/model.py must give the same hits and the same
latencies for the same scenario and seed, and `kvsim bench` compares their
speed.
"""

from __future__ import annotations

import numpy as np
import simpy

from sim.cluster import build_nodes
from sim.metrics import Recorder, RunResult
from sim.model import request_draws
from sim.scenario import Scenario


def run_naive(scenario: Scenario, seed: int) -> RunResult:
    env = simpy.Environment()
    nodes = build_nodes(scenario.cluster, seed)
    backend = simpy.Resource(env, capacity=scenario.backend.concurrency)
    coalesce = scenario.backend.coalesce
    in_flight = [{} for _ in nodes]  # per node: key -> event that fires when its fetch is done
    total = scenario.total_requests
    hit = np.zeros(total, dtype=bool)
    to_backend = np.zeros(total, dtype=bool)
    coalesced = np.zeros(total, dtype=bool)
    latency = np.zeros(total)

    def request(i, key, node, size, round_trip, service):
        arrival = env.now
        if nodes[node].lookup(key, env.now):
            hit[i] = True
        elif coalesce and key in in_flight[node]:
            coalesced[i] = True
            yield in_flight[node][key]
        else:
            to_backend[i] = True
            done = in_flight[node][key] = env.event()
            with backend.request() as slot:
                yield slot
                yield env.timeout(service)
            nodes[node].fill(key, size, env.now)
            if in_flight[node].get(key) is done:
                del in_flight[node][key]
            done.succeed()
        yield env.timeout(round_trip)
        latency[i] = env.now - arrival

    def source(batches):
        for batch, node_of, round_trip, service in batches:
            for j in range(len(batch)):
                yield env.timeout(batch.time[j] - env.now)
                env.process(request(batch.start + j, int(batch.key[j]), int(node_of[j]),
                                    int(batch.size[j]), float(round_trip[j]), float(service[j])))

    batches = list(request_draws(scenario, seed))
    env.process(source(batches))
    env.run()

    recorder = Recorder(scenario.requests, scenario.warmup, len(nodes))
    for batch, node_of, _, _ in batches:
        span = slice(batch.start, batch.start + len(batch))
        recorder.add(batch.start, node_of, batch.size, hit[span], latency[span], to_backend[span], coalesced[span])
    recorder.expired = sum(node.expired for node in nodes)
    return recorder.result()
