"""A living fleet in every model: the same hits, latencies and fleet.csv, feature by feature and mixed.

The Python loop (sim/model.py with sim/fleet_model.py) and the naive model
(sim/naive.py with sim/naive_fleet.py) decide each feature their own way:
nodes joining, leaving, resized, restarted, failing over to the backend or
a gutter pool, warmed by read-through or pre-copy, evicting in batches.
The compiled loop runs these scenarios when it declares it implements them
(sim/vocabulary.py's FLEET_FEATURES, under "fleet", and the clients' near
caches, CLIENT_FEATURES under "client"); the others run on the Python loop,
and the run says why (`engine_note`).  Where the compiled loop runs, the
cases compare all three: compiled loop, Python loop, naive model; the random
fleets draw near caches and bulk updates too.
"""

import os

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import sim.compiled_model as compiled_model
from policies import engine, make_policy
from policies.compiled import kernel_of
from sim import BackendSpec, ClusterSpec, engine_for, run, run_naive
from sim.compiled_model import Engine
from sim.engine import engine_choice
from sim.model import Model
from sim.scenario import Autoscale, BulkUpdates, Change, Eviction, Gutter, Near, Outage, Restarts, Targets, Warmup
from sim.vocabulary import FLEET_FEATURES
from tests.sim.test_model_vs_naive import scenario
from workloads import Exponential, Lognormal, Poisson, UniformRange, Workload, Zipf

FLEET_CASES = {
    "scale out then in, consistent": dict(
        cluster=ClusterSpec(
            nodes=3,
            capacity=80,
            changes=(Change(0.4, add=2, provision_s=0.1), Change(0.8, remove=1), Change(1.0, remove=(0,))),
        ),
    ),
    "scale out, modulo, replicas 2": dict(
        cluster=ClusterSpec(nodes=3, capacity=80, balancer="modulo", replicas=2, changes=(Change(0.5, add=1),)),
    ),
    "rendezvous, an id removed and taken again": dict(
        cluster=ClusterSpec(
            nodes=4,
            capacity=60,
            balancer="rendezvous",
            changes=(Change(0.4, remove=(1,)), Change(0.9, add=1)),
        ),
    ),
    "capacity shrinks for the fleet, grows for one node": dict(
        cluster=ClusterSpec(
            nodes=3,
            capacity=120,
            policy="s3fifo",
            changes=(Change(0.5, capacity=40), Change(0.9, capacity=150, nodes=(1,)), Change(1.1, add=1)),
        ),
    ),
    "capacity shrink with TTLs and active expiry, lirs": dict(
        cluster=ClusterSpec(
            nodes=2, capacity=150, policy="lirs", ttl=0.2, expiry="active", changes=(Change(0.6, capacity=30),)
        ),
    ),
    "rolling restarts": dict(
        cluster=ClusterSpec(nodes=3, capacity=100, restarts=Restarts(every_s=0.6, down_s=0.08, gap_s=0.02)),
    ),
    "rolling restarts in random order, failing over to the backend": dict(
        cluster=ClusterSpec(
            nodes=4, capacity=60, restarts=Restarts(every_s=0.5, down_s=0.1, order="random"), failover="backend"
        ),
    ),
    "outages to the gutter pool": dict(
        cluster=ClusterSpec(
            nodes=3,
            capacity=100,
            failures=(Outage(0, 0.3, 0.9), Outage(2, 0.5, 0.7)),
            failover="gutter",
            gutter=Gutter(nodes=2, capacity=40, ttl_s=0.05),
        ),
    ),
    "gutter pool with writes that update, TTLs, p2c": dict(
        workload=Workload(Zipf(2000, 0.9), Poisson(5000.0), write_fraction=0.1),
        cluster=ClusterSpec(
            nodes=3,
            capacity=100,
            balancer="p2c",
            ttl=0.3,
            write_policy="update",
            failures=(Outage(1, 0.3, 1.0),),
            failover="gutter",
            gutter=Gutter(nodes=1, capacity=60, policy="fifo", ttl_s=0.1),
        ),
    ),
    "read-through warm-up after a join and a return": dict(
        cluster=ClusterSpec(
            nodes=3,
            capacity=100,
            ttl=0.5,
            changes=(Change(0.5, add=1),),
            failures=(Outage(1, 0.7, 0.8),),
            warmup=Warmup("read_through", for_s=0.3),
        ),
        workload=Workload(Zipf(2000, 0.9), Poisson(5000.0), write_fraction=0.05),
    ),
    "read-through from the gutter pool, no TTL but the gutter's": dict(
        # The returning node copies the gutter's entries with their capped expiry (a CI draw found
        # the compiled members could not keep one without a cluster TTL).
        cluster=ClusterSpec(
            nodes=2,
            capacity=10,
            failures=(Outage(0, 0.05, 0.15),),
            failover="gutter",
            gutter=Gutter(nodes=1, capacity=20, ttl_s=0.03),
            warmup=Warmup("read_through", for_s=0.1),
        ),
        workload=Workload(Zipf(300, 0.9), Poisson(5000.0)),
        backend=BackendSpec(latency=Lognormal(0.004, 0.6), concurrency=32, coalesce=True),
        requests=1500,
        warmup=300,
    ),
    "read-through with bounded loads and node queues": dict(
        cluster=ClusterSpec(
            nodes=3,
            capacity=100,
            balancer="bounded",
            node_concurrency=1,
            node_service=Exponential(0.0001),
            changes=(Change(0.5, add=1),),
            warmup=Warmup("read_through", for_s=0.4),
        ),
    ),
    "pre-copy after provisioning and outages, byte capacity": dict(
        cluster=ClusterSpec(
            nodes=3,
            capacity=200_000,
            capacity_bytes=True,
            changes=(Change(0.4, add=1, provision_s=0.2),),
            restarts=Restarts(every_s=0.9, down_s=0.05),
            warmup=Warmup("precopy", copy_rate=2000.0),
        ),
        workload=Workload(Zipf(2000, 0.8), Poisson(5000.0), Lognormal(4096, 1.0)),
    ),
    "batch eviction with node time": dict(
        cluster=ClusterSpec(
            nodes=2,
            capacity=100,
            node_concurrency=1,
            node_service=Exponential(0.0001),
            eviction=Eviction(high_watermark=1.0, low_watermark=0.7, cost_per_entry_s=0.0002),
        ),
    ),
    "batch eviction, arc, watermarks below full, with targets": dict(
        cluster=ClusterSpec(nodes=2, capacity=100, policy="arc", eviction=Eviction(0.9, 0.5)),
        targets=Targets(p99_ms=3.0, hit_ratio=0.5),
        interval=0.1,
    ),
}


def assert_same(fast, naive):
    assert fast.requests == naive.requests
    for name in ("hits", "backend_requests", "coalesced", "expired", "stale", "writes", "node_requests", "node_hits"):
        assert getattr(fast, name) == getattr(naive, name), name
    for name in ("cold_misses", "gutter_hits", "warm_hits", "changes", "fleet", "restarts", "near_hits", "near_stale"):
        assert getattr(fast, name) == getattr(naive, name), name
    for name in ("node_seconds", "byte_seconds", "object_seconds", "violation_s"):
        assert getattr(fast, name) == pytest.approx(getattr(naive, name), rel=1e-9), name
    assert fast.latency_histogram == naive.latency_histogram
    assert fast.latency_quantiles == naive.latency_quantiles
    assert fast.mean_ms == pytest.approx(naive.mean_ms, rel=1e-9)
    assert fast.backend_utilisation == pytest.approx(naive.backend_utilisation, rel=1e-9)
    assert fast.node_utilisations == pytest.approx(naive.node_utilisations, rel=1e-9)
    assert len(fast.timeseries) == len(naive.timeseries)
    for mine, theirs in zip(fast.timeseries, naive.timeseries):
        assert mine == pytest.approx(theirs, rel=1e-9)


#: the living fleet's features the compiled loop runs (capacity changes too): the others fall back
COMPILED_FEATURES = {"changes", "restarts", "autoscale", "failover", "warmup", "eviction"}


def compiled_runs(sc):
    """Whether `run` must pick the compiled loop for `sc` (when it is built and chosen)."""
    features = set(sc.cluster.fleet_features)
    built = Engine is not None and engine() == "compiled"
    return built and features <= COMPILED_FEATURES  # (every kernel evicts to a size; near caches run there too)


@pytest.mark.parametrize("case", list(FLEET_CASES))
def test_fast_and_naive_models_agree_on_a_living_fleet(case):
    sc = scenario(**FLEET_CASES[case])
    fast, naive = run(sc, seed=11), run_naive(sc, seed=11)
    assert_same(fast, naive)
    assert fast.engine == engine_for(sc) == ("compiled" if compiled_runs(sc) else "python")
    assert (fast.engine_note == "") == (fast.engine == "compiled")  # a fallback says why
    if fast.engine == "compiled":  # and the Python loop agrees with both
        assert_same(Model(sc, 11).run(), naive)
    assert 0 < fast.hits < fast.requests


FEATURE_OF = {
    "changes": ClusterSpec(changes=(Change(1.0, add=1),)),
    "restarts": ClusterSpec(restarts=Restarts(every_s=1.0, down_s=0.1)),
    "failover": ClusterSpec(failover="backend"),
    "warmup": ClusterSpec(warmup=Warmup("read_through", for_s=1.0)),
    "eviction": ClusterSpec(eviction=Eviction(1.0, 0.9)),
    "autoscale": ClusterSpec(autoscale=Autoscale(mode="schedule", nodes_by_hour=(4,) * 24)),
}


@pytest.mark.skipif(Engine is None or engine() != "compiled", reason="the compiled loop is not running")
@pytest.mark.parametrize("feature", sorted(COMPILED_FEATURES))
def test_the_compiled_loop_runs_the_fleet_features_it_declares(feature):
    sc = scenario(cluster=FEATURE_OF[feature], requests=300, warmup=0)
    assert engine_choice(sc) == ("compiled", "")
    result = run(sc, seed=3)
    assert (result.engine, result.engine_note) == ("compiled", "")
    # A capacity change runs there too (the kernels evict to a size).
    resized = scenario(cluster=ClusterSpec(changes=(Change(0.01, capacity=50),)), requests=300, warmup=0)
    assert engine_choice(resized) == ("compiled", "")


def test_the_compiled_loop_declares_every_fleet_feature():
    """Each feature has its case above; none falls back now (the test that checked each fallback's note
    has become the one below, for the policies whose kernels cannot evict to a size)."""
    assert set(FEATURE_OF) == set(FLEET_FEATURES) == COMPILED_FEATURES


@pytest.mark.skipif(Engine is None or engine() != "compiled", reason="the compiled loop is not running")
@pytest.mark.parametrize("what", ["eviction", "capacity"])
def test_the_compiled_loop_declines_a_resize_its_policys_kernel_cannot_do_saying_which(what, monkeypatch):
    """Every built-in kernel evicts to a size now: a stand-in kernel without evict_to (Belady's, whose
    policy is offline) shows what a new policy's kernel without one would get."""
    stand_in = kernel_of(make_policy("belady", 10))
    assert not stand_in.EVICTS_TO
    monkeypatch.setattr(compiled_model, "kernel_of", lambda reference: stand_in)
    if what == "eviction":
        cluster, why = ClusterSpec(eviction=Eviction(1.0, 0.9)), "batch eviction"
    else:
        cluster, why = ClusterSpec(changes=(Change(0.01, capacity=50),)), "a capacity change"
    sc = scenario(cluster=cluster, requests=300, warmup=0)
    note = f"policy {sc.cluster.policy!r}'s kernel cannot evict to a size yet ({why})"
    assert engine_choice(sc) == ("python", note)
    result = run(sc, seed=3)
    assert (result.engine, result.engine_note) == ("python", note)
    # Outages of a fixed set of nodes are no living fleet: they stay in the compiled loop.
    outages = scenario(cluster=ClusterSpec(failures=(Outage(0, 0.01, 0.02),)), requests=300, warmup=0)
    assert outages.cluster.fleet_features == () and engine_choice(outages) == ("compiled", "")


def test_the_cases_exercise_what_they_claim():
    results = {case: run(scenario(**FLEET_CASES[case]), seed=11) for case in FLEET_CASES}
    scale = results["scale out then in, consistent"]
    assert [(row["kind"], row["node_ids"], row["nodes"]) for row in scale.fleet] == [
        ("add", "3 4", 5),
        ("remove", "4", 4),
        ("remove", "0", 3),
    ]
    assert scale.fleet[0]["decided_s"] == 0.4 and scale.fleet[0]["time_s"] == pytest.approx(0.5)
    assert scale.cold_misses > 0 and scale.fleet[0]["orphaned"] > 0
    assert results["rolling restarts"].restarts and results["rolling restarts"].changes >= 6
    gutter = results["outages to the gutter pool"]
    assert gutter.gutter_hits > 0 and len(gutter.node_requests) == 5
    assert results["read-through warm-up after a join and a return"].warm_hits > 0
    assert results["read-through with bounded loads and node queues"].warm_hits > 0
    from_gutter = results["read-through from the gutter pool, no TTL but the gutter's"]
    assert from_gutter.warm_hits > 0 and from_gutter.expired > 0
    assert results["batch eviction, arc, watermarks below full, with targets"].violation_s > 0
    capacity = results["capacity shrinks for the fleet, grows for one node"]
    assert [row["kind"] for row in capacity.fleet] == ["capacity", "capacity", "add"]


def test_batch_eviction_costs_node_time():
    case = FLEET_CASES["batch eviction with node time"]
    free = dict(case, cluster=ClusterSpec(**{**case["cluster"].__dict__, "eviction": Eviction(1.0, 0.7, 0.0)}))
    costly, cheap = run(scenario(**case), seed=3), run(scenario(**free), seed=3)
    # The bursts held a worker: the requests behind them waited (and their misses filled later).
    assert costly.mean_ms > cheap.mean_ms and costly.p99_ms > cheap.p99_ms


def test_pre_copy_fills_a_node_before_it_serves():
    case = FLEET_CASES["pre-copy after provisioning and outages, byte capacity"]
    cold = dict(case, cluster=ClusterSpec(**{**case["cluster"].__dict__, "warmup": Warmup()}))
    warmed, unwarmed = run(scenario(**case), seed=5), run(scenario(**cold), seed=5)
    assert warmed.cold_misses < unwarmed.cold_misses
    assert warmed.hits > unwarmed.hits


fleets = st.builds(
    dict,
    nodes=st.integers(2, 4),
    capacity=st.integers(10, 80),
    policy=st.sampled_from(["lru", "fifo", "s3fifo", "arc", "lirs", "random", "wtinylfu", "slru", "twoq"]),
    balancer=st.sampled_from(["consistent", "modulo", "rendezvous", "random", "p2c", "bounded"]),
    replicas=st.integers(1, 2),
    ttl=st.sampled_from([0.0, 0.05]),
    expiry=st.sampled_from(["lazy", "active"]),
    node_concurrency=st.sampled_from([0, 1]),
    write_policy=st.sampled_from(["invalidate", "update"]),
    changes=st.sampled_from(
        [(), (Change(0.1, add=1, provision_s=0.05),), (Change(0.12, remove=1), Change(0.2, capacity=8))]
    ),
    restarts=st.sampled_from([None, Restarts(every_s=0.15, down_s=0.03, gap_s=0.01)]),
    failures=st.sampled_from([(), (Outage(0, 0.05, 0.15),)]),
    failover=st.sampled_from(["rehash", "backend", "gutter"]),
    warmup=st.sampled_from([Warmup(), Warmup("read_through", for_s=0.1), Warmup("precopy", copy_rate=300.0)]),
    eviction=st.sampled_from([None, Eviction(1.0, 0.8, 0.0001)]),
)


#: the clients' near caches drawn beside a fleet (sim/near.py): none, or one per group of a few kinds
nears = st.sampled_from(
    [
        None,
        Near(capacity=20),
        Near(capacity=30, policy="s3fifo", ttl_s=0.05, invalidation_delay_s=0.02, hit_latency_s=0.00005),
        Near(capacity=15, policy="fifo", invalidation_delay_s=0.01),
        Near(capacity=25, policy="wtinylfu", ttl_s=0.03, invalidation_delay_s=0.005),
    ]
)

#: bulk updates of key class 0 (the whole catalogue), which reach near caches when they invalidate
bulk_updates = st.sampled_from(
    [BulkUpdates(), BulkUpdates(every_s=0.08, classes=(0,)), BulkUpdates(every_s=0.06, classes=(0,), invalidate=False)]
)

LIVING_FLEET_DRAWS = dict(
    cluster=fleets,
    coalesce=st.booleans(),
    write_fraction=st.sampled_from([0.0, 0.1]),
    seed=st.integers(0, 1000),
    near=nears,
    clients=st.integers(1, 3),
    updates=bulk_updates,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**LIVING_FLEET_DRAWS)
def test_fast_and_naive_models_agree_on_random_living_fleets(cluster, coalesce, write_fraction, seed, **clients):
    agree_on_a_living_fleet(cluster, coalesce, write_fraction, seed, **clients)


@pytest.mark.skipif(not os.environ.get("KVSIM_LONG_TESTS"), reason="a long campaign: KVSIM_LONG_TESTS=1 runs it")
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**LIVING_FLEET_DRAWS)
def test_a_campaign_of_random_living_fleets(cluster, coalesce, write_fraction, seed, **clients):
    agree_on_a_living_fleet(cluster, coalesce, write_fraction, seed, **clients)


def agree_on_a_living_fleet(cluster, coalesce, write_fraction, seed, near, clients, updates):
    """The three models agree on one drawn fleet (its near caches and bulk updates with it)."""
    cluster = dict(cluster, replicas=min(cluster["replicas"], cluster["nodes"] - 1))
    if cluster["failover"] == "gutter":
        cluster["gutter"] = Gutter(nodes=1, capacity=20, ttl_s=0.03)
    sc = scenario(
        workload=Workload(Zipf(300, 0.9), Poisson(5000.0), write_fraction=write_fraction),
        cluster=ClusterSpec(**cluster, node_service=Exponential(0.0003)),
        backend=BackendSpec(latency=Lognormal(0.004, 0.6), concurrency=3, coalesce=coalesce),
        hit_latency=UniformRange(0.0001, 0.0003),
        requests=1500,
        warmup=300,
        updates=updates,
        clients=clients,
        near=near,
    )
    fast, naive = run(sc, seed), run_naive(sc, seed)
    assert_same(fast, naive)
    assert fast.engine == ("compiled" if compiled_runs(sc) else "python")
    if fast.engine == "compiled":  # and the Python loop agrees with both
        assert_same(Model(sc, seed).run(), naive)
    event(f"{fast.engine} loop, {'near caches' if near else 'no near cache'}")  # (--hypothesis-show-statistics)
