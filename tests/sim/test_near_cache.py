"""Near caches (sim/near.py, sim/naive_near.py): the same answers in both models, by hand, and by formula.

The Python loop and the naive model write the near cache's rules each their
own way, and the compiled loop runs them in C; all three must agree exactly.  A hand-traced case pins every rule down
(a near hit, a stale one in the invalidation's delay, a fill refused because
the group already heard of a newer version, LRU order in the near cache);
with no delay no near read is ever stale; with a delay, the stale near reads
match the count a formula gives.
"""

import math

import numpy as np
import pytest

import sim.metrics
from policies import engine
from sim import BackendSpec, ClusterSpec, Scenario, engine_for, run, run_naive
from sim.draws import RequestDraws
from sim.engine import engine_choice
from sim.membership import Membership
from sim.model import Model
from sim.scenario import BulkUpdates, Change, Near, Outage, Warmup
from sim.vocabulary import BACKEND, HIT, NEAR, STALE, WRITE
from tests.sim.test_fleet_models import assert_same, compiled_runs
from tests.sim.test_model_vs_naive import scenario
from workloads import Constant, Poisson, RequestBatch, Uniform, Workload, Zipf

WRITES = Workload(Zipf(2000, 0.9), Poisson(5000.0), write_fraction=0.1)

NEAR_CASES = {
    "lru near caches, no writes": dict(clients=4, near=Near(capacity=50)),
    "writes, a delay, near TTL and hit latency": dict(
        workload=WRITES,
        clients=3,
        near=Near(capacity=80, ttl_s=0.2, invalidation_delay_s=0.01, hit_latency_s=0.00005),
    ),
    "writes without delay, coalescing, a busy backend": dict(
        workload=WRITES,
        clients=3,
        near=Near(capacity=80, policy="s3fifo"),
        backend=BackendSpec(concurrency=4, coalesce=True),
    ),
    "cluster TTLs, writes that update, replicas, fifo near caches": dict(
        workload=WRITES,
        cluster=ClusterSpec(nodes=3, capacity=150, ttl=0.1, replicas=2, write_policy="update"),
        clients=5,
        near=Near(capacity=40, policy="fifo", ttl_s=0.05, invalidation_delay_s=0.02),
    ),
    "writes left stale in the cluster, p2c, node queues": dict(
        workload=WRITES,
        cluster=ClusterSpec(
            nodes=3,
            capacity=100,
            write_policy="none",
            balancer="p2c",
            node_concurrency=1,
            node_service=Constant(0.0001),
        ),
        clients=2,
        near=Near(capacity=100, invalidation_delay_s=0.05),
    ),
    "bulk updates that invalidate, a fleet that grows (read-through) and loses a node": dict(
        workload=Workload(Zipf(2000, 0.9), Poisson(5000.0), write_fraction=0.02),
        cluster=ClusterSpec(
            nodes=3,
            capacity=100,
            changes=(Change(0.5, add=1),),
            failures=(Outage(1, 0.8, 1.1),),
            warmup=Warmup("read_through", for_s=0.3),
        ),
        updates=BulkUpdates(every_s=0.3, classes=(0,), invalidate=True),
        clients=4,
        near=Near(capacity=60, invalidation_delay_s=0.03),
    ),
    "bulk updates that do not invalidate, a fleet scale-in": dict(
        cluster=ClusterSpec(nodes=4, capacity=100, changes=(Change(0.6, remove=1),)),
        updates=BulkUpdates(every_s=0.25, classes=(0,), invalidate=False),
        clients=3,
        near=Near(capacity=60, ttl_s=0.1),
    ),
}


@pytest.mark.parametrize("case", list(NEAR_CASES))
def test_the_three_models_agree_with_near_caches(case):
    sc = scenario(**NEAR_CASES[case])
    fast, python, naive = run(sc, seed=11), Model(sc, 11).run(), run_naive(sc, seed=11)
    for result in (fast, python):
        assert_same(result, naive)
        assert (result.near_hits, result.near_stale, result.near_hit_ratio) == (
            naive.near_hits,
            naive.near_stale,
            naive.near_hit_ratio,
        )
        assert [row["near_hits"] for row in result.timeseries] == [row["near_hits"] for row in naive.timeseries]
    assert fast == python if fast.engine == "compiled" else True  # the two loops: every field, exactly
    assert sum(row["near_hits"] for row in fast.timeseries) == fast.near_hits
    # Near hits are hits (the client's view) but at no node: the nodes' hits are the others.
    assert fast.hits == sum(fast.node_hits) + fast.near_hits
    assert 0 < fast.near_hits < fast.hits
    # The compiled loop runs near caches wherever it is built and chosen (engine() says which runs).
    assert fast.engine == engine_for(sc) == ("compiled" if compiled_runs(sc) else "python")
    assert (fast.engine == "compiled") == (engine() == "compiled")
    assert (fast.engine_note == "") == (fast.engine == "compiled")


@pytest.mark.skipif(engine() != "compiled", reason="the compiled loop is not running")
def test_a_near_cache_whose_policy_reads_the_clock_runs_the_python_loop_saying_why():
    sc = scenario(**dict(NEAR_CASES["lru near caches, no writes"], near=Near(capacity=50, policy="redis-lru")))
    note = "the near cache's policy 'redis-lru' reads the clock"
    assert engine_choice(sc) == ("python", note)
    result = run(sc, seed=2)
    assert (result.engine, result.engine_note) == ("python", note)
    assert_same(result, run_naive(sc, seed=2))


def test_the_cases_exercise_what_they_claim():
    results = {case: run(scenario(**NEAR_CASES[case]), seed=11) for case in NEAR_CASES}
    assert results["lru near caches, no writes"].near_stale == 0
    assert results["writes, a delay, near TTL and hit latency"].near_stale > 0
    assert results["writes without delay, coalescing, a busy backend"].near_stale == 0  # no delay: never stale
    assert results["writes without delay, coalescing, a busy backend"].stale > 0  # (the cluster may be)
    assert results["bulk updates that invalidate, a fleet that grows (read-through) and loses a node"].near_stale > 0
    assert results["bulk updates that do not invalidate, a fleet scale-in"].near_stale > 0
    grown = results["bulk updates that invalidate, a fleet that grows (read-through) and loses a node"]
    assert grown.warm_hits > 0 and grown.changes >= 3


def test_a_near_cache_needs_client_groups():
    with pytest.raises(ValueError, match="clients"):
        scenario(near=Near())


class Scripted:
    """A request stream written out by hand: (time, key, write?) rows, one batch."""

    def __init__(self, rows):
        self.rows = rows

    def batches(self, seed, total):
        times, keys, ops = (np.array(column) for column in zip(*self.rows))
        yield RequestBatch(
            times.astype(float), keys.astype(np.int64), np.ones(len(keys), np.int64), ops.astype(np.int8)
        )


A, B, C, D = 1, 2, 3, 4

#: (time, key, write), and what happens: the flags and latency (ms) of each request
HAND_TRACED = [
    (0.000, A, 0, BACKEND, 5.0),  # near miss, cluster miss; A reaches the near cache at 0.005 (version 0)
    (0.010, A, 0, HIT | NEAR, 0.5),  # near hit
    (0.020, B, 0, BACKEND, 5.0),  # B reaches the near cache at 0.025
    (0.030, A, 1, WRITE | BACKEND, 5.0),  # lands at 0.034 (A: version 1); the cluster keeps A (write_policy none)
    (0.040, A, 0, HIT | NEAR | STALE, 0.5),  # the invalidation reaches the group only at 0.084: stale
    (0.090, A, 0, HIT | STALE, 1.0),  # dropped at 0.084; the cluster's copy is stale; not stored (older than heard)
    (0.100, A, 0, HIT | STALE, 1.0),  # so again a near miss
    (0.110, B, 0, HIT | NEAR, 0.5),
    (0.120, C, 0, BACKEND, 5.0),  # C joins B in the near cache (two entries fit)
    (0.130, C, 0, HIT | NEAR, 0.5),
    (0.140, D, 0, BACKEND, 5.0),  # D evicts the least recently used: B (last read at 0.110, C at 0.130)
    (0.150, B, 0, HIT, 1.0),  # a near miss, a fresh cluster hit
]


def python_loop(sc, seed):
    return Model(sc, seed).run()


@pytest.mark.parametrize("model", [run, python_loop, run_naive])
def test_a_hand_traced_near_cache(model, monkeypatch):
    sc = Scenario(
        workload=Scripted([(t, key, op) for t, key, op, _, _ in HAND_TRACED]),
        cluster=ClusterSpec(nodes=1, capacity=10, write_policy="none"),
        backend=BackendSpec(latency=Constant(0.004), concurrency=8),
        hit_latency=Constant(0.001),
        requests=len(HAND_TRACED),
        warmup=0,
        clients=1,
        near=Near(capacity=2, invalidation_delay_s=0.05, hit_latency_s=0.0005),
    )
    seen = []
    add = sim.metrics.Recorder.add

    def spy(self, start, times, nodes, flags, latency, *rest):
        seen.extend(zip(np.asarray(flags).tolist(), np.asarray(latency).tolist()))
        return add(self, start, times, nodes, flags, latency, *rest)

    monkeypatch.setattr(sim.metrics.Recorder, "add", spy)
    result = model(sc, seed=1)
    assert [flags for flags, _ in seen] == [flags for *_, flags, _ in HAND_TRACED]
    assert [latency * 1000 for _, latency in seen] == pytest.approx([ms for *_, ms in HAND_TRACED], rel=1e-9)
    assert (result.hits, result.near_hits, result.near_stale, result.stale) == (7, 4, 1, 2)
    assert result.near_hit_ratio == pytest.approx(4 / 11)
    assert result.node_hits == [3]
    assert result.engine == {run: engine_for(sc), python_loop: "python", run_naive: result.engine}[model]


def stale_scenario(delay: float, rate=20_000.0, keys=200, write_fraction=0.01, clients=2, requests=200_000):
    """Uniform reads and writes over `keys` keys; the cluster and every near cache hold them all."""
    return Scenario(
        workload=Workload(Uniform(keys), Poisson(rate), write_fraction=write_fraction),
        cluster=ClusterSpec(nodes=2, capacity=keys),
        backend=BackendSpec(latency=Constant(0.002), concurrency=64),
        requests=requests,
        warmup=20_000,
        clients=clients,
        near=Near(capacity=keys, invalidation_delay_s=delay),
    )


def test_without_delay_no_near_read_is_stale():
    result = run(stale_scenario(0.0, requests=60_000), seed=5)
    assert result.near_hits > 40_000 and result.writes > 500
    assert result.near_stale == 0


def test_stale_near_reads_match_the_expected_count():
    """Stale near reads with delay d: the formula, and its statistical error.

    Keys: K, uniform; requests: Poisson at rate lambda, a fraction f writes.
    Per key, writes land at rate w = f lambda / K (a Poisson process shifted
    by the constant backend time stays Poisson), and reads arrive at rate
    rho = (1 - f) lambda / K, rho / G from each of G groups.  When a write
    lands at L, every group holding the key now holds an old version until
    the invalidation arrives at L + d; every read of the key in [L, L + d)
    from a group holding it is a stale near hit (nothing else removes it:
    the near caches hold every key, and no TTL).  So, per write,

        E[stale] = rho d p,

    p the probability that a group holds the key when the write lands.  A
    group loses the key at each invalidation's arrival (rate w) and gets it
    back when its next read of it (after 1 / (rho / G) on average) is
    answered (a miss at the cluster, which the write emptied: round trip +
    backend time, s), so it lacks it a share w (G / rho + s) of the time:
    p = 1 - w (G / rho + s).  Over W measured writes, stale ~ W rho d p.
    (Neglected: windows of two writes of a key overlapping, w d = 1%, and
    fills from fetches in flight when a write lands, w s < 0.5%.)

    The stale reads of different writes are independent Poisson counts
    given W, so the standard deviation of the total is sqrt(W rho d p).
    The test allows 4 standard deviations plus 2% for the neglected terms.
    """
    rate, keys, f, clients, d, s = 20_000.0, 200, 0.01, 2, 0.01, 0.0022
    result = run(stale_scenario(d, rate, keys, f, clients), seed=7)
    w, rho = f * rate / keys, (1 - f) * rate / keys
    p = 1 - w * (clients / rho + s)
    expected = result.writes * rho * d * p
    allowed = 4 * math.sqrt(expected) + 0.02 * expected
    assert abs(result.near_stale - expected) < allowed, (result.near_stale, expected, allowed)


def test_client_groups_are_drawn_uniformly_from_their_own_stream():
    """Groups change no other number: a run with groups and no near cache is the run without them (on the
    compiled loop, which runs it); each group gets its share of the requests, within 4 standard deviations."""
    plain = scenario()
    grouped = scenario(clients=8)
    assert run(grouped, seed=3) == run(plain, seed=3)
    groups = np.concatenate([draws.group for draws in RequestDraws(grouped, 3, Membership.of(grouped.cluster, 3))])
    again = np.concatenate([draws.group for draws in RequestDraws(grouped, 3, Membership.of(grouped.cluster, 3))])
    assert np.array_equal(groups, again) and len(groups) == grouped.total_requests
    counts = np.bincount(groups, minlength=8)
    n, share = len(groups), 1 / 8
    assert len(counts) == 8 and np.all(np.abs(counts - n * share) < 4 * math.sqrt(n * share * (1 - share)))
