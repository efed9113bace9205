"""The obvious SimPy model: one process per request.  The oracle.

Every request is a process that does, in order, what the request does: it
is looked up at its node on arrival; it queues for a node worker (with a
node queue); on a miss it joins a fetch in flight or queues for a backend
slot, waits its service time and stores the answer on the key's replicas;
then it waits its round trip back to the client.  Node and backend queues
are SimPy Resources; live load is a counter per node.

It is small enough to check by reading, and slow; sim/model.py must give the
same hits and the same latencies for the same scenario and seed, and `kvsim
bench` compares their speed.  Both draw their random numbers through
`RequestDraws` and share the processes for failures and bulk updates.
"""

from __future__ import annotations

import numpy as np
import simpy

from sim.cluster import build_nodes
from sim.membership import Membership
from sim.metrics import BACKEND, COALESCED, EXPIRED, HIT, STALE, WRITE, Recorder, RunResult
from sim.model import (
    RequestDraws,
    Versions,
    alive_count,
    apply_write,
    bulk_updates,
    fill_nodes,
    has_writes,
    membership_changes,
    write_homes,
)
from sim.scenario import Scenario


def run_naive(scenario: Scenario, seed: int) -> RunResult:
    env = simpy.Environment()
    cluster = scenario.cluster
    nodes = build_nodes(cluster, seed)
    membership = Membership(cluster.nodes, cluster.outages, cluster.mtbf, cluster.mttr, seed)
    draws = RequestDraws(scenario, seed, membership)
    balancer = draws.balancer
    backend = simpy.Resource(env, capacity=scenario.backend.concurrency)
    workers = (
        [simpy.Resource(env, capacity=cluster.node_concurrency) for _ in nodes] if cluster.has_node_queue else None
    )
    coalesce = scenario.backend.coalesce
    versions = Versions() if scenario.updates.every or has_writes(scenario.workload) else None
    in_flight = [{} for _ in nodes]  # per node: key -> event that fires when its fetch is done
    busy = [0] * len(nodes)  # requests sent to each node and not yet answered
    total = scenario.total_requests
    flags = np.zeros(total, dtype=np.uint8)
    latency = np.zeros(total)
    read_node = np.zeros(total, dtype=np.int64)

    def backend_call(service):
        with backend.request() as slot:
            yield slot
            yield env.timeout(service)

    def expire_later(node, key, when):
        yield env.timeout(when - env.now)
        expiry = nodes[node].expires_at.get(key)
        if expiry is not None:
            if expiry <= env.now:
                nodes[node].remove(key)
            else:
                env.process(expire_later(node, key, expiry))

    def request(i, key, choices, spray_node, size, op, round_trip, service, node_service, ttl):
        nonlocal active
        active += 1
        arrival = env.now
        node = spray_node
        if op:
            flags[i] = WRITE | BACKEND
            yield from backend_call(service)
            apply_write(
                nodes, key, size, env.now, ttl, cluster.write_policy, versions, write_homes(choices, cluster.replicas)
            )
        elif node < 0:
            flags[i] = BACKEND
            yield from backend_call(service)
        else:
            if balancer.dynamic:
                candidates = [int(c) for c in choices[: balancer.candidates] if c >= 0]
                node = balancer.choose(candidates, dict(enumerate(busy)), sum(busy), alive_count(nodes))
                busy[node] += 1
            cache = nodes[node]
            found = cache.lookup(key, env.now)
            fetch = fetching = None
            if found:
                stale = versions is not None and cache.stamps.get(key) != versions.stamp(key)
                flags[i] = HIT | (STALE if stale else 0)
            else:
                flags[i] = EXPIRED if found is None else 0
                fetch = in_flight[node].get(key) if coalesce else None
                if fetch is not None:
                    flags[i] |= COALESCED
                else:
                    flags[i] |= BACKEND
                    stamp = versions.stamp(key) if versions is not None else None  # the value as of now
                    fetching = env.event()
                    if coalesce:
                        in_flight[node][key] = fetching
            if workers:
                with workers[node].request() as worker:
                    yield worker
                    yield env.timeout(node_service)
            if fetching is not None:
                yield from backend_call(service)
                for target in fill_nodes(choices, node, cluster.replicas):
                    stored = nodes[target].up and nodes[target].fill(key, size, env.now, ttl, stamp)
                    if stored and ttl > 0 and cluster.active_expiry:
                        env.process(expire_later(target, key, env.now + ttl))
                if in_flight[node].get(key) is fetching:
                    del in_flight[node][key]
                fetching.succeed()
            elif fetch is not None and not fetch.triggered:
                yield fetch
        read_node[i] = node
        yield env.timeout(round_trip)
        latency[i] = env.now - arrival
        if balancer.dynamic and not op and node >= 0:
            busy[node] -= 1
        active -= 1

    def source(batches):
        for batch_draws in batches:
            batch = batch_draws.batch
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
                    )
                )

    active = 0  # request processes not finished
    batches = list(draws)
    if not membership.static:
        env.process(membership_changes(env, membership, nodes))
    if scenario.updates.every:
        env.process(bulk_updates(env, scenario.updates, nodes, versions))
    env.run(until=env.process(source(batches)))
    while active:
        env.step()

    recorder = Recorder(scenario.requests, scenario.warmup, len(nodes), scenario.timeout, scenario.interval)
    for batch_draws in batches:
        batch = batch_draws.batch
        span = slice(batch.start, batch.start + len(batch))
        recorder.add(batch.start, batch.time, read_node[span], flags[span].tobytes(), latency[span], batch.size)
    return recorder.result()
