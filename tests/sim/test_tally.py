"""The compiled recorder (sim/_compiled/tally.pyx) counts a batch exactly as the reference Recorder._count.

Random batches with everything a batch can hold (writes, requests no node
served, near and gutter hits, stale and coalesced reads, latencies unknown
until later, zero, subnormal or past the timeout, several intervals in a
batch, arrivals at the same instant) go through both; every counter, every
float sum (to the bit: numpy's pairwise summation), every interval and every
histogram bucket must be the same.  Whole runs of the two loops (whose
recorders these are) are compared in tests/sim/test_compiled_loop.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import BackendSpec, ClusterSpec, Scenario
from sim.compiled_model import CompiledRecorder, tally
from sim.metrics import Recorder
from sim.scenario import Gutter, Warmup
from sim.vocabulary import BACKEND, COALESCED, EXPIRED, HIT, NEAR, READ_THROUGH, REHASH, STALE, TO_GUTTER, WARM, WRITE
from workloads import Constant, Poisson, Workload, Zipf

pytestmark = pytest.mark.skipif(tally is None, reason="the compiled engine is not built")

NODES = 3

#: a request's possible flags, as the request loops set them
FLAG_CHOICES = np.array(
    [
        HIT,
        HIT | STALE,
        HIT | NEAR,
        HIT | NEAR | STALE,
        BACKEND,
        BACKEND | EXPIRED,
        COALESCED,
        WRITE | BACKEND,
        HIT | WARM,
        HIT | WARM | STALE,
    ],
    dtype=np.uint8,
)


def scenario(interval, timeout_s: float, node_concurrency: int, gutter: bool, read_through: bool) -> Scenario:
    cluster = ClusterSpec(
        nodes=NODES,
        capacity=100,
        node_concurrency=node_concurrency,
        failover=TO_GUTTER if gutter else REHASH,
        gutter=Gutter(nodes=1) if gutter else None,
        warmup=Warmup(READ_THROUGH, for_s=10.0) if read_through else Warmup(),
    )
    return Scenario(
        workload=Workload(Zipf(1000, 0.9), Poisson(1000.0)),
        cluster=cluster,
        backend=BackendSpec(latency=Constant(0.005), concurrency=8),
        requests=10_000,
        warmup=100,
        interval=interval,
        timeout_s=timeout_s,
    )


def random_batch(rng: np.random.Generator, start: int, clock: float, n: int, gutter: bool) -> tuple:
    gaps = rng.exponential(0.003, n) * (rng.random(n) < 0.9)  # a tenth arrive with the one before
    times = clock + np.cumsum(gaps)
    flags = rng.choice(FLAG_CHOICES, n)
    nodes = rng.integers(-1, NODES + (1 if gutter else 0), n)  # (node NODES: the gutter node)
    nodes[(flags & NEAR) != 0] = -1  # a near hit has no node
    latency = rng.lognormal(-6.0, 1.5, n)
    kind = rng.random(n)
    latency[kind < 0.1] = math.nan  # known later
    latency[(kind >= 0.1) & (kind < 0.13)] = 0.0
    latency[(kind >= 0.13) & (kind < 0.15)] = 1e-310  # subnormal: its bucket by frexp
    sizes = rng.integers(1, 10_000, n)
    backend_busy = np.where((flags & BACKEND) != 0, rng.exponential(0.01, n), 0.0)
    node_busy = rng.exponential(0.0001, n)
    cold = rng.random(n) < 0.3
    return start, times, nodes, flags, latency, sizes, backend_busy, node_busy, cold


def the_state(recorder: Recorder) -> dict:
    """Everything a recorder has counted, in plain values."""
    series = recorder.series
    state = {
        name: value.tolist() if isinstance(value, np.ndarray) else value
        for name, value in vars(recorder).items()
        if name not in ("scenario", "series", "known", "buckets", "gutter_from", "read_through")
    }
    state["series"] = (series.start, series.last, series.tick, series.width)
    state["intervals"] = {
        key: (
            interval.requests,
            interval.reads,
            interval.hits,
            interval.backend,
            interval.backend_busy,
            interval.cold_misses,
            interval.gutter_hits,
            interval.near_hits,
            interval.latency.zeros,
            interval.latency.nonzero()[0].tolist(),
            interval.latency.nonzero()[1].tolist(),
        )
        for key, interval in series.intervals.items()
    }
    return state


CASES = [  # interval, timeout_s, node_concurrency, near, gutter, read_through
    (1.0, 0.0, 0, False, False, False),
    ("auto", 0.004, 2, True, True, True),
    (0.05, 0.01, 0, True, False, False),  # many intervals in a batch
    ("auto", 0.0, 1, False, True, False),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_compiled_tally_counts_as_the_reference(case):
    interval, timeout_s, node_concurrency, near, gutter, read_through = CASES[case]
    rng = np.random.default_rng(case)
    spec = scenario(interval, timeout_s, node_concurrency, gutter, read_through)
    reference, compiled = recorders = [Recorder(spec), CompiledRecorder(spec)]
    for recorder in recorders:  # (a near cache needs client groups, which the recorder does not read)
        recorder.near = near
    start, clock = 0, 0.0
    for n in (50, 1, 3000, 700, 12_000):
        batch = random_batch(rng, start, clock, n, gutter)
        for recorder in recorders:
            recorder.add(*batch[:7], batch[7] if node_concurrency else None, batch[8])
        assert the_state(compiled) == the_state(reference)
        start, clock = start + n, float(batch[1][-1])
    assert compiled.read_seconds > 0 and compiled.awaited > 0 and len(compiled.series.intervals) > 1
    assert compiled.gutter_hits > 0 if gutter else compiled.gutter_hits == 0
    assert compiled.warm_hits > 0 if read_through else compiled.warm_hits == 0
    assert compiled.timeouts > 0 if timeout_s else compiled.timeouts == 0


def test_a_negative_latency_is_refused_as_the_reference_refuses_it():
    spec = scenario(1.0, 0.0, 0, False, False)
    batch = (0, np.array([0.0, 0.5]), np.zeros(2, dtype=np.int64), np.array([HIT, HIT], dtype=np.uint8))
    rest = (np.array([0.001, -0.002]), np.ones(2, dtype=np.int64), np.zeros(2))
    for recorder in (Recorder(spec), CompiledRecorder(spec)):
        recorder.warmup = 0
        with pytest.raises(ValueError, match="a latency must be a number >= 0"):
            recorder.add(*batch, *rest)


def test_sums_are_numpy_sums_to_the_bit():
    from sim._compiled.tally import numpy_sum

    rng = np.random.default_rng(7)
    for n in [1, 7, 8, 9, 127, 128, 129, 1000, 8191, 8193, 65_536, 100_003]:
        values = rng.lognormal(-5.0, 3.0, n)
        assert numpy_sum(values) == float(values.sum())
