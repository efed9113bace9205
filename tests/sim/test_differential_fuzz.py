"""Differential fuzzing: random valid inputs at their extremes, the two engines' answers equal.

Hypothesis draws timed-model scenarios (every built-in policy that a timed
model can run, capacity 1 and beyond the catalogue, objects or bytes with
sizes up to the largest capacity, TTLs of 1e-9 s and 1e9 s, up to 64 nodes
over a catalogue of one object, every node down at once, zero and one
requests, writes, coalescing, node queues) and runs each on the compiled
loop and on the Python loop: the RunResults must be equal, field for field,
or both runs must fail with the same error.  It also draws traces (keys,
sizes up to far beyond int64, capacities up to the largest accepted) and
replays them through every compiled policy and its Python reference: the
same hits, the same cached keys, the same used units.

CI runs a short budget; KVSIM_FUZZ_EXAMPLES sets the examples per test (a
long campaign: KVSIM_FUZZ_EXAMPLES=2000).
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments.analysis.replay import replay_hits
from policies import PolicyError, engine, make_fast_policy, make_policy, policy_class
from policies.compiled import compiled_names
from policies.limits import MAX_CAPACITY
from sim import BackendSpec, ClusterSpec, Scenario
from sim.compiled_model import CompiledModel, Engine
from sim.model import Model
from sim.scenario import Outage
from workloads import Constant, Exponential, Lognormal, Poisson, UniformRange, Workload, Zipf

pytestmark = pytest.mark.skipif(Engine is None or engine() != "compiled", reason="the compiled engine is not running")

EXAMPLES = int(os.environ.get("KVSIM_FUZZ_EXAMPLES", "25"))
fuzz = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

#: what a timed model can run: every built-in policy but the offline one
TIMED_POLICIES = [name for name in compiled_names() if not policy_class(name).offline]


def outcome(model_class, scenario, seed):
    """The run's result, or its error as (type, message): what the two engines must share."""
    try:
        return model_class(scenario, seed).run()
    except (PolicyError, ValueError, MemoryError) as error:
        return type(error).__name__, str(error)


@st.composite
def scenarios(draw):
    nodes = draw(st.sampled_from([1, 2, 3, 64]))
    capacity_bytes = draw(st.booleans())
    if capacity_bytes:
        capacity = draw(st.sampled_from([1, 4096, 10**6, 10**9, MAX_CAPACITY]))
        sizes = draw(st.sampled_from([Constant(1), Lognormal(4096, 1.5), Constant(MAX_CAPACITY), Constant(2**40)]))
    else:
        capacity = draw(st.sampled_from([1, 2, 7, 100, 10**6, MAX_CAPACITY]))
        sizes = Constant(1)
    everyone_down = nodes <= 3 and draw(st.booleans())
    failures = tuple(Outage(n, 0.0) for n in range(nodes)) if everyone_down else ()
    if nodes >= 2 and not failures and draw(st.booleans()):
        failures = (Outage(0, 0.01, 0.05),)
    cluster = ClusterSpec(
        nodes=nodes,
        capacity=capacity,
        capacity_bytes=capacity_bytes,
        policy=draw(st.sampled_from(TIMED_POLICIES)),
        balancer=draw(st.sampled_from(["consistent", "modulo", "random", "p2c", "bounded"])),
        replicas=min(nodes, draw(st.integers(1, 3))),
        ttl=draw(st.sampled_from([0.0, 1e-9, 0.01, 1e9])),
        ttl_mode=draw(st.sampled_from(["insert", "refresh"])),
        expiry=draw(st.sampled_from(["lazy", "active"])),
        node_concurrency=draw(st.sampled_from([0, 1])),
        node_service=Exponential(0.0002),
        write_policy=draw(st.sampled_from(["invalidate", "update", "none"])),
        failures=failures,
    )
    keys = draw(st.sampled_from([1, 2, 50, 3000]))
    workload = Workload(
        Zipf(keys, draw(st.sampled_from([0.0, 0.9, 1.4]))),
        Poisson(draw(st.sampled_from([50.0, 5000.0]))),
        sizes,
        write_fraction=draw(st.sampled_from([0.0, 0.2])),
    )
    requests = draw(st.sampled_from([0, 1, 2, 400]))
    return Scenario(
        workload=workload,
        cluster=cluster,
        backend=BackendSpec(
            latency=Lognormal(0.004, 0.6), concurrency=draw(st.sampled_from([1, 8])), coalesce=draw(st.booleans())
        ),
        hit_latency=UniformRange(0.0001, 0.0003),
        requests=requests,
        warmup=draw(st.sampled_from([0, requests // 2])),
    )


@fuzz
@given(scenario=scenarios(), seed=st.integers(0, 2**32 - 1))
def test_both_loops_agree_on_random_extreme_scenarios(scenario, seed):
    compiled, python = outcome(CompiledModel, scenario, seed), outcome(Model, scenario, seed)
    assert compiled == python
    if not isinstance(compiled, tuple):
        assert (compiled.engine, python.engine) == ("compiled", "python")
        assert compiled.latency_histogram == python.latency_histogram
        assert compiled.timeseries == python.timeseries


SIZES = st.one_of(st.integers(1, 9), st.integers(1, 2**20), st.sampled_from([MAX_CAPACITY, 2**62, 2**63 - 1]))


@fuzz
@given(
    name=st.sampled_from(compiled_names()),
    requests=st.lists(st.tuples(st.integers(0, 60), SIZES), max_size=400),
    capacity=st.sampled_from([1, 2, 5, 40, 10**6, MAX_CAPACITY]),
    count_bytes=st.booleans(),
)
def test_both_engines_replay_random_traces_alike(name, requests, capacity, count_bytes):
    keys = np.array([key for key, _ in requests], dtype=np.int64)
    # a trace's sizes are int64 (workloads/traces.py): the largest ones stand for "beyond any cache"
    sizes = np.array([min(size, 2**63 - 1) for _, size in requests], dtype=np.int64)
    params = {"future": keys.tolist()} if policy_class(name).offline else {}
    reference, fast = make_policy(name, capacity, **params), make_fast_policy(name, capacity, **params)
    expected = replay_hits(reference, keys, sizes, count_bytes)
    np.testing.assert_array_equal(replay_hits(fast, keys, sizes, count_bytes), expected)
    assert (fast.keys(), fast.used, len(fast)) == (reference.keys(), reference.used, len(reference))
