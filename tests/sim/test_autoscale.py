"""The autoscaler (sim/autoscale.py): both models decide the same, and the decisions follow the rules.

The Python loop (sim/fleet_model.py; the compiled loop hands it each tick)
and the naive model (sim/naive_fleet.py) each decide at the ticks their own way, from the signals sim/autoscale.py
defines over what they record; they must give the same hits, latencies and
fleet.csv rows.  On a step in load the node count follows within one interval
plus the provisioning delay, stays within its bounds and keeps the cooldown;
a schedule reproduces its node counts hour by hour.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import BackendSpec, ClusterSpec, run, run_naive
from sim.autoscale import SignalWindow, schedule_changes, wants
from sim.model import Model
from sim.scenario import Autoscale, Change, Restarts, Warmup
from tests.sim.test_fleet_models import assert_same, compiled_runs
from tests.sim.test_model_vs_naive import scenario
from workloads import Exponential, Lognormal, Poisson, Workload, Zipf

# A band the default scenario (5,000 requests/s, 32 backend slots) crosses both ways.
REACTIVE = dict(interval_s=0.1, window_s=0.2, step=1, min_nodes=1, max_nodes=5, cooldown_s=0.2, provision_s=0.05)

CASES = {
    "backend utilisation, scale out": dict(
        cluster=ClusterSpec(
            nodes=2, capacity=100, autoscale=Autoscale(signal="backend_utilisation", low=0.1, high=0.6, **REACTIVE)
        ),
        backend=BackendSpec(latency=Lognormal(0.005, 0.5), concurrency=4),
    ),
    "hit ratio, inverted band, replicas": dict(
        cluster=ClusterSpec(
            nodes=3, capacity=60, replicas=2, autoscale=Autoscale(signal="hit_ratio", low=0.5, high=0.6, **REACTIVE)
        ),
    ),
    "p99 by completion, node queues, p2c": dict(
        cluster=ClusterSpec(
            nodes=3,
            capacity=100,
            balancer="p2c",
            node_concurrency=1,
            node_service=Exponential(0.0002),
            autoscale=Autoscale(signal="p99_ms", low=2.0, high=6.0, **REACTIVE),
        ),
    ),
    "node utilisation, step 2, coalescing": dict(
        cluster=ClusterSpec(
            nodes=2,
            capacity=100,
            node_concurrency=1,
            node_service=Exponential(0.0003),
            autoscale=Autoscale(signal="node_utilisation", low=0.3, high=0.5, **{**REACTIVE, "step": 2}),
        ),
        backend=BackendSpec(latency=Lognormal(0.005, 0.5), concurrency=8, coalesce=True),
    ),
    "request rate, with rolling restarts": dict(
        cluster=ClusterSpec(
            nodes=4,
            capacity=80,
            restarts=Restarts(every_s=0.5, down_s=0.05, gap_s=0.01),
            autoscale=Autoscale(signal="request_rate", low=1500.0, high=2000.0, **{**REACTIVE, "min_nodes": 2}),
        ),
    ),
    "request rate, scale in with a capacity change": dict(
        cluster=ClusterSpec(
            nodes=5,
            capacity=80,
            changes=(Change(0.7, capacity=50),),
            autoscale=Autoscale(signal="request_rate", low=1100.0, high=3000.0, **REACTIVE),
        ),
        workload=Workload(Zipf(2000, 0.9), Poisson(5000.0), write_fraction=0.05),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_fast_and_naive_models_agree_on_a_reactive_autoscaler(case):
    sc = scenario(**CASES[case], requests=3000, warmup=500)  # 0.7 s: five deciding ticks
    fast, naive = run(sc, seed=7), run_naive(sc, seed=7)
    assert_same(fast, naive)
    if fast.engine == "compiled":  # the Python loop decides the same too
        assert_same(Model(sc, 7).run(), naive)
    decided = [row for row in fast.fleet if row["reason"] in ("scale_out", "scale_in")]
    assert decided and all(isinstance(row["signal"], float) for row in decided)
    assert fast.engine == ("compiled" if compiled_runs(sc) else "python")


HOURS = (2, 2, 3, 3, 1, 1, 4, 2, *([2] * 16))


def test_fast_and_naive_models_agree_on_a_schedule_with_restarts():
    sc = scenario(
        workload=Workload(Zipf(2000, 0.9), Poisson(0.3)),
        cluster=ClusterSpec(
            nodes=2,
            capacity=100,
            restarts=Restarts(every_s=5000.0, down_s=200.0),
            autoscale=Autoscale(mode="schedule", nodes_by_hour=HOURS, provision_s=600.0),
        ),
        requests=8000,
        warmup=500,
        interval=600.0,
    )
    fast, naive = run(sc, seed=5), run_naive(sc, seed=5)
    assert_same_but_edges(fast, naive)
    # The schedule reproduces nodes_by_hour: at each hour the serving count is that hour's.
    scheduled = [row for row in fast.fleet if row["reason"] == "schedule"]
    assert [(row["time_s"], row["kind"], row["nodes"]) for row in scheduled] == [
        (3600.0 * 2, "add", 3),
        (3600.0 * 4, "remove", 1),
        (3600.0 * 6, "add", 4),
        (3600.0 * 7, "remove", 1),  # to 2 nodes, one of them restarting (25,000 s + 200 s in turn)
    ]
    assert scheduled[0]["decided_s"] == 2 * 3600.0 - 600.0 and scheduled[1]["node_ids"] == "1 2"
    assert all(row["signal"] == "" for row in scheduled)
    restarts = [row["time_s"] for row in fast.fleet if row["reason"] == "restart"]
    checked = 0
    for row in fast.timeseries[:-1]:  # (the last row ends at the last arrival)
        quiet = not any(row["t_start"] <= t <= row["t_end"] for t in restarts) and row["t_end"] % 3600
        if quiet:
            assert row["nodes"] == HOURS[int(row["t_start"] // 3600) % 24], row
            checked += 1
    assert checked > 20
    # node-seconds: the schedule's count over time, the provisioning lead included.
    assert fast.node_seconds > 2 * (fast.timeseries[-1]["t_end"] - fast.timeseries[0]["t_start"])


def assert_same_but_edges(fast, naive):
    """assert_same, but for latencies on a histogram bucket's edge.  Over hours of simulated time a latency
    is a difference of two absolute times near 10**4 s (the naive model's env.now - arrival): 12 digits, and
    a value on an edge may fall on either side (rolling restarts alone, without an autoscaler, show it)."""
    (mine, mine_counts), (theirs, their_counts) = fast.latency_histogram.nonzero(), naive.latency_histogram.nonzero()
    assert np.array_equal(mine, theirs) and np.abs(mine_counts - their_counts).sum() <= 4
    naive.latency_histogram, naive.latency_quantiles = fast.latency_histogram, fast.latency_quantiles
    naive.timeseries = [dict(row, p99_ms=mine["p99_ms"]) for row, mine in zip(naive.timeseries, fast.timeseries)]
    assert_same(fast, naive)


def test_schedule_changes_are_deltas_on_the_hour_adds_provisioned_before():
    changes = schedule_changes(Autoscale(mode="schedule", nodes_by_hour=HOURS, provision_s=300.0))
    first = [next(changes) for _ in range(5)]
    assert first == [
        Change(2 * 3600.0 - 300.0, add=1, provision_s=300.0),
        Change(4 * 3600.0, remove=2),
        Change(6 * 3600.0 - 300.0, add=3, provision_s=300.0),
        Change(7 * 3600.0, remove=2),
        Change(26 * 3600.0 - 300.0, add=1, provision_s=300.0),  # the next day, hour 2 again
    ]
    assert list(schedule_changes(Autoscale(mode="schedule", nodes_by_hour=(3,) * 24))) == []


class StepRate:
    """Poisson arrivals whose rate steps at given times: [(from_s, rate), ...] (a test's load step)."""

    def __init__(self, steps):
        self.steps = steps
        self.mean_rate = steps[0][1]

    def stream(self, rng):
        return _StepStream(self.steps, rng)


class _StepStream:
    def __init__(self, steps, rng):
        self.steps, self.rng, self.clock = steps, rng, 0.0

    def take(self, n):
        times = []
        while len(times) < n:
            index = max(i for i, (start, _) in enumerate(self.steps) if start <= self.clock)
            gap = self.rng.exponential(1.0 / self.steps[index][1])
            end = self.steps[index + 1][0] if index + 1 < len(self.steps) else np.inf
            if self.clock + gap >= end:  # memoryless: start again at the step
                self.clock = end
                continue
            self.clock += gap
            times.append(self.clock)
        return np.array(times)


STEP_AT, INTERVAL, PROVISION, COOLDOWN = 1.0, 0.1, 0.05, 0.2


def step_scenario():
    steps = [(0.0, 1000.0), (STEP_AT, 4000.0), (2.0, 200.0)]
    autoscale = Autoscale(
        signal="request_rate",
        low=300.0,
        high=800.0,
        interval_s=INTERVAL,
        window_s=INTERVAL,
        min_nodes=2,
        max_nodes=5,
        cooldown_s=COOLDOWN,
        provision_s=PROVISION,
    )
    return scenario(
        workload=Workload(Zipf(2000, 0.9), StepRate(steps)),
        cluster=ClusterSpec(nodes=2, capacity=100, autoscale=autoscale),
        requests=5300,  # to about 3.5 s
        warmup=0,
        interval=0.05,
    )


def test_on_a_step_in_load_the_fleet_follows_within_bounds_and_cooldown():
    sc = step_scenario()
    result = run(sc, seed=1)
    rows = result.fleet
    adds = [row for row in rows if row["reason"] == "scale_out"]
    removes = [row for row in rows if row["reason"] == "scale_in"]
    # 1,000 requests/s on 2 nodes is in the band; 4,000 is 2,000 a node: the first window that holds
    # only the step, [1.0, 1.1), decides at 1.1 and the node serves after its provisioning.
    assert not [row for row in rows if row["decided_s"] < STEP_AT]
    assert adds[0]["decided_s"] == pytest.approx(STEP_AT + INTERVAL)
    assert adds[0]["time_s"] <= STEP_AT + INTERVAL + PROVISION + 1e-9
    # One node per decision, a cooldown apart, up to max_nodes and no further (4,000 / 5 = 800 is in the band).
    assert [row["nodes"] for row in adds] == [3, 4, 5]
    decisions = sorted(row["decided_s"] for row in adds + removes)
    assert all(b - a >= COOLDOWN - 1e-9 for a, b in zip(decisions, decisions[1:]))
    assert adds[-1]["signal"] == pytest.approx(4000.0 / 4, rel=0.15)
    # 200 requests/s after t = 2 s: the fleet shrinks a node a cooldown apart, newest first, to min_nodes.
    assert [(row["node_ids"], row["nodes"]) for row in removes] == [("4", 4), ("3", 3), ("2", 2)]
    assert removes[0]["time_s"] == removes[0]["decided_s"] == pytest.approx(2.0 + INTERVAL)
    nodes = [row["nodes"] for row in result.timeseries]
    assert min(nodes) == 2 and max(nodes) == 5
    assert_same(result, run_naive(sc, seed=1))


def test_the_band_is_strict_and_inverted_for_the_hit_ratio():
    utilisation = Autoscale(signal="backend_utilisation", low=0.2, high=0.6)
    assert [wants(utilisation, v) for v in (0.1, 0.2, 0.4, 0.6, 0.7)] == [-1, 0, 0, 0, 1]
    hit_ratio = Autoscale(signal="hit_ratio", low=0.5, high=0.8)
    assert [wants(hit_ratio, v) for v in (0.4, 0.5, 0.7, 0.8, 0.9)] == [1, 0, 0, 0, -1]


def test_signals_read_the_window_by_arrival_and_p99_by_completion():
    autoscale = Autoscale(signal="backend_utilisation", interval_s=1.0, window_s=2.0)
    window = SignalWindow(autoscale, backend_concurrency=2, node_concurrency=1)
    # Arrivals in [0, 1), [1, 2), [2, 3): the tick at 2 reads the first two intervals.
    window.arrived([0.5, 1.5, 1.6, 2.5], [2, 1, 2 | 16, 2], [0.4, 9.0, 0.6, 5.0], [0.0, 0.0, 0.0, 0.0])
    assert window.value(2, serving=3) == pytest.approx((0.4 + 0.6) / (2 * 2.0))  # BACKEND flags only
    rate = SignalWindow(Autoscale(signal="request_rate", interval_s=1.0, window_s=2.0), 2, 1)
    rate.arrived([0.5, 1.5, 1.6, 2.5], [2, 1, 16, 2], [0.0] * 4, [0.0] * 4)
    assert rate.value(2, serving=2) == pytest.approx(3 / 2.0 / 2)
    hits = SignalWindow(Autoscale(signal="hit_ratio", interval_s=1.0, window_s=1.0), 2, 1)
    hits.arrived([0.5, 0.6, 0.7], [1, 2, 1 | 16], [0.0] * 3, [0.0] * 3)  # a write is not a read
    assert hits.value(1, serving=1) == pytest.approx(0.5) and hits.value(2, serving=1) is None
    p99 = SignalWindow(Autoscale(signal="p99_ms", interval_s=1.0, window_s=1.0), 2, 1)
    p99.completed(0.9, 0.004)
    p99.completed(1.2, 0.5)  # completes after the tick at 1: not in its window
    assert p99.value(1, serving=1) == pytest.approx(4.0, rel=0.002)


#: per signal, a band the random fleets below cross (most of them both ways)
BANDS = {
    "request_rate": (1300.0, 1500.0),
    "backend_utilisation": (0.4, 0.5),
    "hit_ratio": (0.38, 0.42),
    "p99_ms": (8.0, 14.0),
    "node_utilisation": (0.4, 0.45),
}

autoscalers = st.builds(
    dict,
    signal=st.sampled_from(list(BANDS)),
    window=st.sampled_from([1, 2]),
    step=st.integers(1, 2),
    bounds=st.sampled_from([(1, 4), (2, 5)]),
    cooldown_s=st.sampled_from([0.0, 0.05, 0.1]),
    provision_s=st.sampled_from([0.0, 0.03]),
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    autoscaler=autoscalers,
    balancer=st.sampled_from(["consistent", "modulo", "rendezvous", "p2c"]),
    failover=st.sampled_from(["rehash", "backend"]),
    warmup=st.sampled_from([Warmup(), Warmup("read_through", for_s=0.05), Warmup("precopy", copy_rate=300.0)]),
    restarts=st.sampled_from([None, Restarts(every_s=0.15, down_s=0.03)]),
    seed=st.integers(0, 1000),
)
def test_fast_and_naive_models_agree_on_random_autoscaled_fleets(
    autoscaler, balancer, failover, warmup, restarts, seed
):
    low, high = BANDS[autoscaler["signal"]]
    least, most = autoscaler["bounds"]
    autoscale = Autoscale(
        signal=autoscaler["signal"],
        low=low,
        high=high,
        interval_s=0.05,
        window_s=0.05 * autoscaler["window"],
        step=autoscaler["step"],
        min_nodes=least,
        max_nodes=most,
        cooldown_s=autoscaler["cooldown_s"],
        provision_s=autoscaler["provision_s"],
    )
    sc = scenario(
        workload=Workload(Zipf(300, 0.9), Poisson(5000.0), write_fraction=0.05),
        cluster=ClusterSpec(
            nodes=3,
            capacity=40,
            balancer=balancer,
            failover=failover,
            warmup=warmup,
            restarts=restarts,
            node_concurrency=1,
            node_service=Exponential(0.0003),
            autoscale=autoscale,
        ),
        backend=BackendSpec(latency=Lognormal(0.004, 0.6), concurrency=24),
        requests=1500,
        warmup=300,
    )
    assert_same(run(sc, seed), run_naive(sc, seed))
