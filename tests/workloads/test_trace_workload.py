"""A trace drives the SimPy model: arrivals from its timestamps, and the hits of a replay."""

import numpy as np
import pytest

from experiments.analysis import replay
from policies import make_policy
from sim import BackendSpec, ClusterSpec, Scenario, run
from tests.trace_files import write_csv, write_txt
from workloads import Constant
from workloads.traces import TraceError, TraceWorkload


@pytest.fixture
def trace(tmp_path):
    rng = np.random.default_rng(5)
    n = 4000
    keys = rng.zipf(1.3, n) % 400
    times = 10_000 + np.cumsum(rng.integers(0, 3, n))  # milliseconds, with ties
    sizes = (keys * 37) % 500 + 1
    return write_csv(tmp_path / "t.csv", keys, times, sizes), keys, times, sizes


@pytest.mark.parametrize("capacity, capacity_bytes", [(50, False), (5000, True)])
def test_instant_fills_give_the_hits_of_replay(trace, capacity, capacity_bytes):
    """With a backend that answers at once, the timed model is a replay: same hits, same bytes."""
    path, keys, _, sizes = trace
    scenario = Scenario(
        workload=TraceWorkload(path, time_unit="ms"),
        cluster=ClusterSpec(nodes=1, capacity=capacity, capacity_bytes=capacity_bytes, policy="lru"),
        backend=BackendSpec(latency=Constant(0.0)),
        hit_latency=Constant(0.0),
        requests=len(keys),
        warmup=0,
    )
    result = run(scenario, seed=1)
    expected = replay(make_policy("lru", capacity), keys, sizes, count_bytes=capacity_bytes)
    assert result.requests == len(keys)
    assert result.hits == expected.hits
    assert result.byte_hit_ratio == pytest.approx(1 - expected.byte_miss_ratio, abs=1e-12)


def test_arrival_times_come_from_the_trace(trace):
    path, keys, times, sizes = trace
    workload = TraceWorkload(path, time_unit="ms")
    batches = list(workload.batches(seed=1, total=len(keys), chunk=1000))
    got = np.concatenate([b.time for b in batches])
    assert got == pytest.approx((times - times[0]) / 1000.0)
    assert np.concatenate([b.size for b in batches]).tolist() == sizes.tolist()
    # Seconds per unit as a number; the seed does not matter for trace timestamps.
    other = np.concatenate([b.time for b in TraceWorkload(path, time_unit=0.5).batches(seed=9, total=10)])
    assert other == pytest.approx((times[:10] - times[0]) * 0.5)


def test_total_beyond_the_trace_stops_at_its_end(trace):
    path, keys, _, _ = trace
    workload = TraceWorkload(path)
    assert sum(len(b) for b in workload.batches(1, total=len(keys) + 500, chunk=999)) == len(keys)
    assert sum(len(b) for b in workload.batches(1, total=1234, chunk=1000)) == 1234
    result = run(Scenario(workload=workload, requests=len(keys) + 500, warmup=0), seed=1)
    assert result.requests == len(keys)


def test_a_trace_without_timestamps_needs_a_rate(tmp_path):
    path = write_txt(tmp_path / "k.txt", [1, 2, 3, 1] * 250)
    with pytest.raises(TraceError, match="no timestamps; give a request rate"):
        TraceWorkload(path)
    workload = TraceWorkload(path, rate=100.0)
    first = np.concatenate([b.time for b in workload.batches(3, 1000, chunk=128)])
    assert (np.diff(first) >= 0).all() and 5 < first[-1] < 15  # Poisson at 100/s: about 10 s
    again = np.concatenate([b.time for b in workload.batches(3, 1000, chunk=1000)])
    assert first == pytest.approx(again, rel=1e-12)  # the chunk size does not change the draws


def test_time_going_backwards(tmp_path):
    path = write_csv(tmp_path / "t.csv", [1, 2, 3, 4], times=[5, 6, 4, 7])
    with pytest.raises(TraceError, match=r"t\.csv: line 4: timestamp goes back in time"):
        list(TraceWorkload(path).batches(1, 10))
    clamped = np.concatenate([b.time for b in TraceWorkload(path, disorder="clamp").batches(1, 10)])
    assert clamped.tolist() == [0.0, 1.0, 1.0, 2.0]


def test_bad_parameters(trace):
    path = trace[0]
    with pytest.raises(TraceError, match="time_unit must be one of s, ms, us, ns"):
        TraceWorkload(path, time_unit="hours")
    with pytest.raises(TraceError, match="rate must be > 0"):
        TraceWorkload(path, rate=0)
    with pytest.raises(FileNotFoundError):
        TraceWorkload(path.with_name("missing.csv"))
    with pytest.raises(TraceError, match="no column 'nope'"):
        TraceWorkload(path, options={"key": "nope"})
