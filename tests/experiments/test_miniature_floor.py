"""Miniature simulation with a floor on the miniature's size (experiments/analysis/miniature.py).

At a fixed rate R the noise of a miniature is largest where R * C is a few
dozen objects; sampling each capacity at max(R, min_objects / C) brings
every capacity's error within the issue's 0.01 on a generated trace where
one rate does not (measured over hash salts: see the module docstring).
"""

import numpy as np
import pytest

from experiments.analysis.miniature import capacity_rates, miniature_mrc
from experiments.analysis.mrc import replay_mrc
from tests.trace_files import zipf_keys

POLICIES = ("lru", "s3fifo", "arc", "wtinylfu")
BOUND = 0.01
SALTS = [0, 0x9E3779B97F4A7C15, 0x3C6EF372FE94F82A]


def test_each_capacity_is_sampled_at_the_larger_of_the_rate_and_the_floor():
    rates = capacity_rates([200, 1000, 10_000, 100_000, 200_000], 0.01, 500)
    assert rates.tolist() == [1.0, 0.5, 0.05, 0.01, 0.01]
    assert capacity_rates([200, 100_000], 0.01, 0).tolist() == [0.01, 0.01]
    with pytest.raises(ValueError, match="min_objects must be a nonnegative integer; got -1"):
        capacity_rates([100], 0.01, -1)


def test_the_curve_is_each_capacity_replayed_at_its_own_rate():
    keys = zipf_keys(80_000, keys=20_000, alpha=0.9, seed=8)
    source = [(keys, np.ones(len(keys), dtype=np.int64))]
    capacities = [150, 2000, 8000]  # rates 1 (an exact replay), 0.1 and 0.05 at R = 0.05 with a floor of 200
    curve = miniature_mrc("s3fifo", source, capacities, 0.05, 200, salt=SALTS[1])
    for capacity, rate, misses in zip(capacities, [1.0, 0.1, 0.05], curve.misses):
        alone = replay_mrc("s3fifo", source, [capacity], rate=rate, salt=SALTS[1])
        assert misses == alone.misses[0]
    assert replay_mrc("s3fifo", source, [150]).misses[0] == curve.misses[0]
    assert curve.method == "mini" and curve.rate == 0.05 and curve.requests == len(keys)
    assert curve.notes == ["capacities 150, 2000 sampled at rates up to 1 (miniatures of at least 200 objects)"]


def test_every_rate_comes_from_one_read_of_the_source():
    keys = zipf_keys(20_000, keys=2000, seed=1)
    chunks = [(keys[i : i + 3000], np.ones(len(keys[i : i + 3000]), dtype=np.int64)) for i in range(0, len(keys), 3000)]
    once = miniature_mrc("lru", iter(chunks), [10, 50, 400], 0.1, 100)  # rates 1, 1 and 0.25: nested samples
    assert once.misses.tolist() == miniature_mrc("lru", chunks, [10, 50, 400], 0.1, 100).misses.tolist()
    assert once.misses[:2].tolist() == replay_mrc("lru", chunks, [10, 50]).misses.tolist()
    assert once.misses[2] == replay_mrc("lru", chunks, [400], rate=0.25).misses[0]


@pytest.fixture(scope="module")
def zipf_trace():
    keys = zipf_keys(600_000, keys=150_000, alpha=0.9, seed=3)
    return [(keys, np.ones(len(keys), dtype=np.int64))]


@pytest.mark.parametrize("policy", POLICIES)
def test_the_floor_brings_the_error_within_the_bound(policy, zipf_trace):
    # 150,000 keys: a 1% sample holds 1,500 of them, so this trace needs miniatures of 1,000 objects
    capacities = np.geomspace(1000, 60_000, 6).astype(int)  # miniatures of 10 to 600 objects at 1%
    full = replay_mrc(policy, zipf_trace, capacities).miss_ratio
    for salt in SALTS:
        floored = miniature_mrc(policy, zipf_trace, capacities, 0.01, 1000, salt=salt)
        assert np.abs(floored.miss_ratio - full).mean() <= BOUND, (policy, salt)
    # Without the floor, one rate is not enough for these small capacities.
    plain = [
        np.abs(replay_mrc(policy, zipf_trace, capacities, rate=0.01, salt=s).miss_ratio - full).mean() for s in SALTS
    ]
    assert max(plain) > BOUND
