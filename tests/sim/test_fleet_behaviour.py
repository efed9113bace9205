"""What a living fleet does, against hand traces and theory: a shrink, a cold node refilling, a gutter pool."""

import numpy as np
import pytest

from sim import BackendSpec, ClusterSpec, Scenario, run
from sim.model import Model
from sim.scenario import Change, Gutter, Outage, Restarts
from sim.theory import che_time, che_transient_hit_ratio
from workloads import Constant, Lognormal, Poisson, Uniform, Workload, Zipf


class Probe(Model):
    """The Python loop, keeping every request's arrival, node and flags, and each resize's keys."""

    def __init__(self, *args):
        super().__init__(*args)
        self.times, self.nodes_of, self.flags, self.resizes = [], [], [], []

    def _record(self, draws, flags, wait):
        self.times.append(draws.batch.time.copy())
        self.nodes_of.append(draws.read_node.copy())
        self.flags.append(np.asarray(flags).copy())
        super()._record(draws, flags, wait)

    def _resize(self, index, capacity):
        before = list(self.nodes[index].policy.keys())
        super()._resize(index, capacity)
        self.resizes.append((before, list(self.nodes[index].policy.keys()), self.nodes[index].policy.used))


def test_a_shrink_evicts_exactly_down_to_the_new_capacity_in_lru_order():
    # One LRU node of 8 over 20 keys: at 0.5 s it is resized to 3.  LRU's keys() run least recently
    # used first, so it keeps exactly the three most recently used keys, in their order.
    sc = Scenario(
        workload=Workload(Uniform(20), Poisson(200.0)),
        cluster=ClusterSpec(nodes=1, capacity=8, changes=(Change(0.5, capacity=3),)),
        backend=BackendSpec(latency=Constant(0.0001)),
        hit_latency=Constant(0.0),
        requests=200,
        warmup=0,
    )
    probe = Probe(sc, 1)
    probe.run()
    [(before, after, used)] = probe.resizes
    assert len(before) == 8 and after == before[-3:] and used == 3


def test_a_node_back_from_a_restart_refills_as_the_transient_che_approximation_says():
    zipf = Zipf(5000, 0.8)
    capacity, rate = 300, 50_000.0
    horizon = che_time(zipf.pmf(), capacity)  # requests for a cold cache to fill
    every = 10 * horizon / rate  # ten fills between restarts
    sc = Scenario(
        workload=Workload(zipf, Poisson(rate)),
        cluster=ClusterSpec(nodes=1, capacity=capacity, restarts=Restarts(every_s=every, down_s=0.002)),
        backend=BackendSpec(latency=Constant(1e-7), concurrency=1000),  # a miss fills at once
        hit_latency=Constant(0.0),
        requests=int(80 * every * rate),  # 80 restarts: each bin below averages thousands of requests
        warmup=0,
    )
    probe = Probe(sc, 7)
    result = probe.run()
    times, nodes, flags = (np.concatenate(column) for column in (probe.times, probe.nodes_of, probe.flags))
    returns = [row["time_s"] for row in result.fleet if row["kind"] == "up"]
    assert len(returns) >= 75
    # For each request after a return, the requests since that return (all go to the one node).
    first = np.searchsorted(times, returns)
    latest = np.searchsorted(returns, times, side="right") - 1
    since = np.where(latest >= 0, np.arange(len(times)) - first[np.maximum(latest, 0)], -1)
    served = (nodes >= 0) & (since >= 0)
    edges = horizon * np.array([0.0, 0.125, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0])
    for low, high in zip(edges, edges[1:]):
        inside = served & (since >= low) & (since < high)
        measured = np.mean(flags[inside] & 1)
        predicted = np.mean(che_transient_hit_ratio(zipf.pmf(), capacity, since[inside]))
        assert measured == pytest.approx(predicted, abs=0.02), (low, high)
    assert np.mean(flags[inside] & 1) > 2 * np.mean(flags[served & (since < edges[1])] & 1)


def gutter_scenario(failover: str) -> Scenario:
    """Four nodes; node 0 is down from 1 s to 2 s."""
    return Scenario(
        workload=Workload(Zipf(5000, 0.9), Poisson(20_000.0)),
        cluster=ClusterSpec(
            nodes=4,
            capacity=300,
            failures=(Outage(0, 1.0, 2.0),),
            failover=failover,
            gutter=Gutter(nodes=2, capacity=150, ttl_s=0.2) if failover == "gutter" else None,
        ),
        backend=BackendSpec(latency=Lognormal(0.005, 0.5), concurrency=64),
        requests=50_000,
        warmup=10_000,
        interval=0.25,
    )


def backend_during_outage(result) -> float:
    rows = [row for row in result.timeseries if 1.0 <= row["t_start"] and row["t_end"] <= 2.0]
    return sum(row["backend_rps"] * (row["t_end"] - row["t_start"]) for row in rows)


def test_a_gutter_pool_spares_the_backend_during_an_outage_and_keeps_nothing_past_its_ttl():
    straight = run(gutter_scenario("backend"), 3)
    probe = Model(gutter_scenario("gutter"), 3)
    held = []

    def inspect():  # every 10 ms: each gutter entry stored less than ttl_s ago, and not expired
        while True:
            yield probe.env.timeout(0.01)
            now = probe.env.now
            for node in probe.nodes[probe.ids :]:
                for key in node.policy.keys():
                    assert now < node.expires_at[key] <= now + 0.2
                    held.append(key)

    probe.env.process(inspect())
    pooled = probe.run()
    assert pooled.gutter_hits > 0 and len(held) > 1000
    assert backend_during_outage(pooled) < 0.9 * backend_during_outage(straight)
    assert straight.gutter_hits == 0
