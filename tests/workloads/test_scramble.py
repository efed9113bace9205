"""The Feistel permutation that gives each rank its key id: a bijection, keyed by the seed, without a table."""

import subprocess
import sys

import numpy as np
import pytest

from workloads import Poisson, Workload, Zipf, rng_for
from workloads.popularity import MAX_KEYS, FeistelPermutation

# Every size up to 300, and the edges of the bit lengths where the cycle walk is longest or none.
SMALL_SIZES = [*range(1, 301), 511, 512, 513, 1023, 1024, 1025, 4095, 4097, 65_537]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_feistel_is_a_bijection_on_every_small_size(seed):
    for size in SMALL_SIZES:
        images = FeistelPermutation.keyed(size, rng_for(seed, "test"))(np.arange(size))
        assert np.array_equal(np.sort(images), np.arange(size)), size


def test_feistel_is_injective_and_in_range_on_a_huge_catalogue():
    values = np.unique(rng_for(3, "values").integers(0, 10**12, 200_000))
    images = FeistelPermutation.keyed(10**12, rng_for(3, "test"))(values)
    assert images.min() >= 0 and images.max() < 10**12
    assert len(np.unique(images)) == len(values)
    edges = FeistelPermutation.keyed(MAX_KEYS, rng_for(3, "test"))(np.array([0, MAX_KEYS - 1]))
    assert edges.min() >= 0 and edges.max() < MAX_KEYS


def test_feistel_is_determined_by_its_seed():
    ranks = np.arange(10_000)
    one = FeistelPermutation.keyed(10**9, rng_for(7, "workload.scramble.default"))(ranks)
    again = FeistelPermutation.keyed(10**9, rng_for(7, "workload.scramble.default"))(ranks)
    other = FeistelPermutation.keyed(10**9, rng_for(8, "workload.scramble.default"))(ranks)
    assert np.array_equal(one, again)
    assert np.mean(one == other) < 0.01


def test_feistel_is_the_same_in_another_process():
    code = (
        "import numpy as np\n"
        "from workloads import rng_for\n"
        "from workloads.popularity import FeistelPermutation\n"
        "print(FeistelPermutation.keyed(10**12, rng_for(7, 'k'))(np.arange(20)).tolist())\n"
    )
    here = FeistelPermutation.keyed(10**12, rng_for(7, "k"))(np.arange(20)).tolist()
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert there.strip() == str(here)


def test_the_hottest_ranks_are_scattered_over_a_huge_id_space():
    """The ids of ranks 0..999 of 10**12 keys look uniform on [0, 10**12): about 100 per tenth."""
    images = FeistelPermutation.keyed(10**12, rng_for(1, "test"))(np.arange(1000))
    per_tenth = np.bincount(images // 10**11, minlength=10)
    assert per_tenth.min() > 60 and per_tenth.max() < 140


def test_a_stream_over_a_trillion_keys_asks_for_scrambled_ids_in_range():
    """The hottest key of a Zipf(1.2) stream is requested most; its id is the scramble of rank 0, not 0."""
    keys = np.concatenate([b.key for b in Workload(Zipf(10**12, 1.2), Poisson(1.0)).batches(1, 100_000)])
    assert keys.min() >= 0 and keys.max() < 10**12
    values, counts = np.unique(keys, return_counts=True)
    hottest = values[np.argmax(counts)]
    assert hottest == FeistelPermutation.keyed(10**12, rng_for(1, "workload.scramble.default"))(np.array([0]))[0]
    assert hottest != 0


@pytest.mark.parametrize("size", [1, 2, 3, 1000, 65_537, 10**9, MAX_KEYS])
def test_the_compiled_network_gives_numpys_ids(size):
    """workloads/_scramble.pyx is the numpy network in C: the same id for every value (cycle walks included)."""
    pytest.importorskip("workloads._scramble")
    scramble = FeistelPermutation.keyed(size, rng_for(size, "test"))
    values = np.unique(np.concatenate([np.arange(min(size, 5000)), rng_for(1, "values").integers(0, size, 20_000)]))
    assert np.array_equal(scramble(values), scramble.permute_numpy(values))


@pytest.mark.parametrize("rounds", [0, 1, 3, 4, 5])
def test_the_compiled_network_gives_numpys_ids_at_every_length(rounds):
    """Four values go through the compiled rounds side by side: every remainder of four, walks included."""
    pytest.importorskip("workloads._scramble")
    for size in (5, 600, 10**7):  # the network lands outside [0, size) 37 to 41% of the time
        scramble = FeistelPermutation.keyed(size, rng_for(size, "test"), rounds=rounds)
        for length in (*range(10), 1001, 50_000):
            values = rng_for(length, "values").integers(0, size, length)
            assert np.array_equal(scramble(values), scramble.permute_numpy(values)), (size, length)
