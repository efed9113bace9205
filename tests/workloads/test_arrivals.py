"""On/off arrivals (MMPP-2) drawn as they are taken: the law's mean rate, and memory that follows the batch."""

from __future__ import annotations

import tracemalloc

import numpy as np

from workloads import OnOff
from workloads.rng import rng_for


def test_the_mean_rate_is_the_laws():
    # on 9,000/s for 0.05 s on average, off 1,000/s for 0.1 s: (9000 x 0.05 + 1000 x 0.1) / 0.15 = 3,667/s
    # Over 4 x 2**20 arrivals (about 1,100 s and 7,500 on/off cycles), within 2% (about 2.5 standard errors).
    process = OnOff(9000.0, 1000.0, 0.05, 0.1)
    spans = []
    for seed in range(4):
        stream = process.stream(rng_for(seed, "arrivals"))
        spans.append([stream.take(65536) for _ in range(16)][-1][-1])
    rate = 4 * 2**20 / sum(spans)
    assert abs(rate - process.mean_rate) / process.mean_rate < 0.02, (rate, process.mean_rate)


def test_arrivals_are_in_time_order_across_batches_and_bursty():
    stream = OnOff(9000.0, 0.0, 0.05, 0.1).stream(rng_for(1, "arrivals"))
    times = np.concatenate([stream.take(n) for n in (1, 7, 1000, 65536, 3)])
    assert len(times) == 1 + 7 + 1000 + 65536 + 3 and np.all(np.diff(times) >= 0)
    gaps = np.diff(times)
    # Off phases without arrivals leave gaps of about 0.1 s among on gaps of about 0.1 ms.
    assert np.mean(gaps > 0.02) > 0.001 and np.median(gaps) < 0.001


def test_a_phase_of_a_billion_arrivals_costs_the_memory_of_the_batch():
    """A phase of 10**7 s at 10**6 requests a second holds 10**13 arrivals: drawn as taken, not at once (the
    stream used to draw a whole phase's arrivals, 100 TiB of them for such a phase)."""
    stream = OnOff(1e6, 0.0, 1e7, 1e7).stream(rng_for(2, "arrivals"))
    stream.on = True  # start inside a long on phase
    tracemalloc.start()
    try:
        times = stream.take(10_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(times) == 10_000 and peak < 2_000_000  # a few arrays of the batch, not of the phase
    assert 0.005 < times[-1] - times[0] < 0.015  # 10,000 arrivals at 10**6 a second: about 10 ms
