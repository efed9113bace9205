"""What a run measures: histogram quantiles within 0.1%, time series over real lengths, utilisation, flat memory."""

import json
import math
import tracemalloc

import numpy as np
import pytest

from sim import CDF_PROBABILITIES, BackendSpec, ClusterSpec, Scenario, run
from sim.histogram import (
    RELATIVE_ERROR,
    SUB_BUCKETS,
    LatencyHistogram,
    bucket_index,
    bucket_indices,
    bucket_midpoints,
    frexp_indices,
)
from sim.metrics import HIT, WRITE, Recorder
from sim.timeseries import MOST_INTERVALS, TimeSeries
from workloads import Constant, Lognormal, Poisson, Workload, Zipf


def histogram_of(values) -> LatencyHistogram:
    histogram = LatencyHistogram()
    histogram.add(values)
    return histogram


def test_buckets_by_hand():
    # 0.75 = 0.75 * 2**0: binade 0, sub-bucket (0.75 - 0.5) * 1024 = 256, index 0 * 512 + 256.
    assert bucket_index(0.75) == 256
    assert bucket_midpoints([256])[0] == (512 + 256 + 0.5) / 1024
    # 1.0 = 0.5 * 2**1 opens binade 1; the largest float below it closes binade 0.
    assert bucket_index(1.0) == 512 and bucket_index(math.nextafter(1.0, 0)) == 511
    assert bucket_midpoints([512])[0] == 1 + 1 / 1024


def test_indices_from_the_bits_are_the_definitions():
    """bucket_indices reads the float's bits; frexp_indices is the definition: the same index for every value."""
    rng = np.random.default_rng(4)
    powers = np.ldexp(1.0, np.arange(-1074, 1024))  # every power of two, subnormal ones included
    values = np.concatenate(
        [
            powers,
            np.nextafter(powers, 0)[1:],  # the largest float of each binade
            np.nextafter(powers, np.inf)[:-1],
            np.exp(rng.uniform(np.log(1e-9), np.log(1e6), 100_000)),
            rng.uniform(0, 5e-310, 1000),  # subnormal
            np.ldexp(1.0 + np.arange(SUB_BUCKETS) / SUB_BUCKETS, -10),  # every sub-bucket's lower edge
        ]
    )
    values = values[values > 0]
    assert np.array_equal(bucket_indices(values), frexp_indices(values))
    assert [bucket_index(v) for v in values[::97].tolist()] == frexp_indices(values[::97]).tolist()


def test_quantiles_within_relative_error_of_the_exact_ones():
    rng = np.random.default_rng(5)
    values = np.concatenate([np.exp(rng.uniform(np.log(1e-7), np.log(1e3), 10_000)), np.zeros(7)])
    histogram = histogram_of(values)
    probabilities = [0, 0.0005, 0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1]
    exact = np.quantile(values, probabilities, method="inverted_cdf")
    found = histogram.quantiles(probabilities)
    assert found[0] == 0.0 == exact[0]  # the zeros come first
    assert np.all(np.abs(found - exact) <= RELATIVE_ERROR * exact)
    assert RELATIVE_ERROR < 0.001
    assert histogram.total == len(values) and LatencyHistogram().quantiles([0.5]).tolist() == [0.0]


def test_histograms_merge_and_round_trip_exactly():
    rng = np.random.default_rng(6)
    first, second = rng.lognormal(-6, 1.0, 3000), rng.lognormal(-2, 0.5, 2000)
    merged = histogram_of(first)
    merged.merge(histogram_of(second))
    one_by_one = LatencyHistogram()
    for value in np.concatenate([second, first]).tolist():
        one_by_one.add_one(value)
    assert merged == one_by_one == histogram_of(np.concatenate([first, second]))
    assert merged != histogram_of(first)
    record = json.loads(json.dumps(merged.to_record()))
    assert LatencyHistogram.from_record(record) == merged
    for damaged in ({**record, "counts": [1.5]}, {**record, "zeros": -1}, {**record, "counts": "1"}):
        with pytest.raises(ValueError):
            LatencyHistogram.from_record(damaged)
    with pytest.raises(ValueError):
        histogram_of([0.1, -0.001])


def small_scenario(**overrides) -> Scenario:
    base = dict(
        workload=Workload(Zipf(2000, 0.9), Poisson(5000.0)),
        cluster=ClusterSpec(nodes=2, capacity=100),
        backend=BackendSpec(latency=Constant(0.005), concurrency=16),
        hit_latency=Lognormal(0.0002, 0.3),
        requests=20_000,
        warmup=5_000,
    )
    return Scenario(**{**base, **overrides})


def test_a_latency_known_later_is_recorded_once_in_its_arrivals_interval():
    recorder = Recorder(small_scenario(warmup=1, interval=1.0))
    recorder.set_latency(1, 1.0, 0.003)  # before its batch is added: held until it is
    recorder.set_latency(0, 0.0, 9.0)  # warm-up: not measured
    nan = math.nan
    recorder.add(
        0,
        np.array([0.0, 1.0, 2.5, 3.0]),
        np.zeros(4, dtype=np.int64),
        np.array([HIT, 0, HIT, 0], dtype=np.uint8),
        np.array([nan, nan, 0.002, nan]),
        np.ones(4, dtype=np.int64),
        np.zeros(4),
    )
    with pytest.raises(RuntimeError, match="never recorded"):
        recorder.result()  # request 3 has not been given yet
    recorder.set_latency(3, 3.0, 0.007)
    result = recorder.result()
    assert result.requests == 3 and result.latency_histogram == histogram_of([0.003, 0.002, 0.007])
    assert result.mean_ms == pytest.approx(4.0)
    assert [row["p99_ms"] for row in result.timeseries] == pytest.approx([3.0, 2.0, 7.0], rel=RELATIVE_ERROR)
    # Measuring starts at 1.0 and ends a tick (the smallest gap, 0.5 s) after the last arrival.
    assert [(row["t_start"], row["t_end"]) for row in result.timeseries] == [(1.0, 2.0), (2.0, 3.0), (3.0, 3.5)]


def first_measured_arrival(scenario: Scenario, seed: int) -> float:
    for batch in scenario.workload.batches(seed, scenario.total_requests):
        if batch.start + len(batch) > scenario.warmup:
            return float(batch.time[scenario.warmup - batch.start])
    raise AssertionError("no measured request")


def test_time_series_rates_divide_by_each_rows_real_length():
    scenario = small_scenario()
    result = run(scenario, seed=2)
    rows = result.timeseries
    lengths = np.array([row["t_end"] - row["t_start"] for row in rows])
    # "auto": about 50 rows of a power of two of seconds, from the first measured arrival to the last.
    assert MOST_INTERVALS // 2 < len(rows) <= MOST_INTERVALS
    width = lengths[1:-1].max()
    assert math.log2(width).is_integer() and np.allclose(lengths[1:-1], width)
    assert rows[0]["t_start"] == first_measured_arrival(scenario, 2)
    assert rows[-1]["t_end"] - rows[0]["t_start"] == pytest.approx(scenario.requests / 5000.0, rel=0.03)
    assert sum(row["requests"] for row in rows) == scenario.requests
    sent = sum(row["backend_rps"] * length for row, length in zip(rows, lengths))
    assert sent == pytest.approx(result.backend_requests, rel=1e-9)
    # One 60-second interval over a 4-second run: the rate divides by 4 seconds, not 60.
    (whole,) = run(Scenario(**{**scenario.__dict__, "interval": 60.0}), seed=2).timeseries
    assert whole["backend_rps"] == pytest.approx(result.backend_requests / (rows[-1]["t_end"] - rows[0]["t_start"]))


def test_timestamps_in_whole_seconds_give_rows_of_whole_seconds():
    series = TimeSeries()
    times = np.repeat(np.arange(0.0, 10.0), 3)  # three requests in each second, the last at t = 9
    yes = np.ones(len(times), dtype=bool)
    series.add(times, yes, yes, yes, np.full(len(times), 0.5), np.full(len(times), 0.001))
    rows = series.rows(backend_servers=1)
    assert [(row["t_start"], row["t_end"]) for row in rows] == [(t, t + 1.0) for t in range(10)]
    assert {row["backend_rps"] for row in rows} == {3.0} and {row["backend_utilisation"] for row in rows} == {1.5}


def test_backend_utilisation_is_offered_load_over_capacity():
    # Constant 5 ms backend: offered load = misses/s x 5 ms / servers.
    for servers in (16, 2):
        scenario = small_scenario(backend=BackendSpec(latency=Constant(0.005), concurrency=servers))
        result = run(scenario, seed=4)
        window = result.timeseries[-1]["t_end"] - result.timeseries[0]["t_start"]
        assert result.backend_utilisation == pytest.approx(result.backend_requests * 0.005 / (servers * window))
        expected = 5000.0 * (1 - result.hit_ratio) * 0.005 / servers
        assert result.backend_utilisation == pytest.approx(expected, rel=0.03)
    assert result.backend_utilisation > 1 and result.node_utilisation == 0.0  # 2 servers: overloaded
    queued = run(small_scenario(cluster=ClusterSpec(nodes=2, capacity=100, node_concurrency=1)), seed=4)
    assert queued.node_utilisation == max(queued.node_utilisations) == 0.0  # node service 0 s
    busy = ClusterSpec(nodes=2, capacity=100, node_concurrency=2, node_service=Constant(0.0001))
    loaded = run(small_scenario(cluster=busy), seed=4)
    window = loaded.timeseries[-1]["t_end"] - loaded.timeseries[0]["t_start"]
    expected = [requests * 0.0001 / (2 * window) for requests in loaded.node_requests]
    assert loaded.node_utilisations == pytest.approx(expected)
    assert loaded.node_utilisation == pytest.approx(max(expected))


def test_latency_quantiles_trace_the_cdf():
    result = run(small_scenario(requests=5000, warmup=1000), seed=3)
    quantiles = result.latency_quantiles
    assert len(quantiles) == len(CDF_PROBABILITIES) and list(CDF_PROBABILITIES) == sorted(CDF_PROBABILITIES)
    assert np.all(np.diff(quantiles) >= 0)
    by_probability = dict(zip(CDF_PROBABILITIES, quantiles))
    assert (by_probability[0.5], by_probability[0.99], by_probability[0.999]) == (
        result.p50_ms,
        result.p99_ms,
        result.p999_ms,
    )
    assert "latency_quantiles" not in result.row()  # results.csv keeps its columns


def recording_peak(requests: int) -> int:
    """Peak bytes allocated while a Recorder takes `requests` measured requests, in batches of 65,536."""
    recorder = Recorder(small_scenario(warmup=0))
    rng = np.random.default_rng(1)
    tracemalloc.start()
    for start in range(0, requests, 1 << 16):
        n = min(1 << 16, requests - start)
        recorder.add(
            start,
            start / 5000.0 + np.arange(n) / 5000.0,
            rng.integers(0, 2, n),
            np.where(rng.random(n) < 0.9, HIT, 0).astype(np.uint8) | np.where(rng.random(n) < 0.05, WRITE, 0),
            np.exp(rng.uniform(np.log(1e-4), np.log(2.0), n)),  # a fixed range: the histograms' size
            np.ones(n, dtype=np.int64),
            np.zeros(n),
        )
    recorder.result()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_recording_memory_does_not_grow_with_the_number_of_requests():
    small, large = recording_peak(500_000), recording_peak(4_000_000)
    # Keeping each request (time, latency, node, flags: 17 bytes) would add about 60 MB; what
    # varies is the number of intervals (33 to 64, halved at each widening), a few MB at most.
    assert large - small < 0.1 * 17 * 3_500_000
